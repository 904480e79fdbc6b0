//! The test fixtures themselves: what `ecs_fixture` creates is really in moto.

use std::collections::BTreeMap;

use gantry_tests::{EcsFixture, ecs_fixture, moto_fixture, unique_name};

#[derive(Debug, serde::Deserialize)]
struct Described {
    cluster_arn: Option<String>,
    cluster_status: Option<String>,
    subnets: BTreeMap<String, String>,
    security_groups: BTreeMap<String, String>,
}

#[test]
fn ecs_fixture_creates_a_cluster_with_its_network() {
    let name = unique_name("fixture");
    let fixture: EcsFixture = ecs_fixture(&name);
    assert_eq!(fixture.cluster_name, name);
    assert!(fixture.cluster_arn.ends_with(&format!(":cluster/{name}")));

    let seen: Described = moto_fixture(&["describe-cluster", "--name", &name]);
    assert_eq!(
        seen.cluster_arn.as_deref(),
        Some(fixture.cluster_arn.as_str())
    );
    assert_eq!(seen.cluster_status.as_deref(), Some("ACTIVE"));
    assert_eq!(
        seen.subnets,
        BTreeMap::from([(fixture.subnet_id.clone(), fixture.vpc_id.clone())])
    );
    assert_eq!(
        seen.security_groups,
        BTreeMap::from([(fixture.security_group_id, fixture.vpc_id)])
    );
}

#[test]
fn describe_cluster_finds_nothing_for_an_unknown_name() {
    let seen: Described = moto_fixture(&["describe-cluster", "--name", &unique_name("absent")]);
    assert_eq!(seen.cluster_arn, None);
    assert!(seen.subnets.is_empty());
}
