//! End-to-end tests of actions/image against local AWS.
