//! End-to-end tests of actions/task-definition against local AWS.
