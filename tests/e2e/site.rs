//! End-to-end tests of actions/site against local AWS.
