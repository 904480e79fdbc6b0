//! The AWS SDK edge: one file per service, domain types in and out.

pub mod ecs;
