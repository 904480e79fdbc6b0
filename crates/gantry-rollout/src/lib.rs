//! gantry-rollout: Guarded ECS rollout: follows its own deployment, bakes against alarms, and rolls itself back.
//!
//! Work in progress: see docs/actions/ once it lands.
