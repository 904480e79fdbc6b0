//! gantry-rollout integration tests: ECS and CloudWatch behaviour moto cannot show (circuit
//! breaker, ServiceDeployment API, throttling, expiring credentials, RunTask exit codes) with
//! aws-smithy-mocks sequences shaped like the documented responses, and the binary's bad-input
//! contract.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

mod cli;
mod fake;
mod mocked;
