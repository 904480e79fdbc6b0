//! Integration tests of gantry-site (one binary).
