//! gantry-image: Container images to ECR over the registry protocol: daemonless push, skip what is there, promote by digest.
//!
//! Work in progress: see docs/actions/ once it lands.
