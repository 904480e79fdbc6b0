//! Integration tests of gantry-rollout (one binary).
