//! gantry-site: Static frontend to S3: content-addressed, phased publish with cache rules, safe prune, instant rollback and planned invalidation.
//!
//! Work in progress: see docs/actions/ once it lands.
