//! Integration tests of gantry-image (one binary).
