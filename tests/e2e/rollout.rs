//! End-to-end tests of actions/rollout against local AWS.
