//! gantry-image integration tests: the binary's bad-input contract (nothing called), reading
//! images from disk, and the ECR cases moto cannot show (a repository created by a concurrent
//! run) with aws-smithy-mocks shaped like ECR's responses.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

mod cli;
mod mocked;
mod sources;
