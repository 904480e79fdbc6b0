//! gantry-invalidate integration tests: AWS behaviour moto cannot show (repeated
//! CallerReference, TooManyInvalidationsInProgress, throttling) with aws-smithy-mocks shaped like
//! CloudFront's documented responses, and the binary's bad-input contract.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

mod cli;
mod mocked;
