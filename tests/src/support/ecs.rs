//! ECS fixtures in the shared moto: a cluster with the network a service needs.

use super::process::moto_fixture;
/// An ECS cluster in moto with the network an ECS service needs (see [`ecs_fixture`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EcsFixture {
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
    pub cluster_name: String,
    pub cluster_arn: String,
}

/// Creates a VPC, a subnet, a security group and an ECS cluster `name` in the local moto.
/// Use a [`unique_name`]: the emulator is shared by every test.
pub fn ecs_fixture(name: &str) -> EcsFixture {
    moto_fixture(&["ecs", "--name", name])
}
