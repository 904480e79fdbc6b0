//! gantry-taskdef: ECS task definitions: render many containers, validate strictly against the ECS model, register only when changed, prune safely.
//!
//! Work in progress: see docs/actions/ once it lands.
