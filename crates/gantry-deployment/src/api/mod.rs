//! The GitHub edge: deployments and their statuses, domain types in and out, through the kit's
//! GitHub client.

pub mod deployments;
