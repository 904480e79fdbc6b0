//! The AWS edge: one file per service, domain types in and out.

pub(crate) mod cloudfront;
pub(crate) mod s3;
