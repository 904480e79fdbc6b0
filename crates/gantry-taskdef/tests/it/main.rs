//! Integration tests of gantry-taskdef (one binary).
