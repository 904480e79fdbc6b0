//! One owner of the task definition: a stack whose template declares `TaskDefinitionArn` and
//! sets an ECS service's task definition from it keeps that service on the revision it runs now
//! (the one gantry's last release put there), unless the run gives the parameter itself
//! (infra/README.md, "One owner of the task definition"). Pure: the command reads the stack's
//! resources and the service, this decides.

use crate::template::Template;
use serde_json::Value;

/// The parameter that carries the service's task definition (infra/templates/service.yaml).
pub const PARAMETER: &str = "TaskDefinitionArn";

/// The ECS service of a template whose `TaskDefinition` comes from [`PARAMETER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    /// The service's logical id.
    pub service: String,
    pub cluster: Option<ClusterRef>,
}

/// The service's `Cluster` property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRef {
    /// `!Ref X` of a resource of the same template: its physical id (a cluster's name).
    Resource(String),
    /// A literal name or ARN.
    Literal(String),
}

/// The service whose task definition the parameter sets; `None` when the template does not
/// declare the parameter or no `AWS::ECS::Service` refers to it. With several, the first.
pub fn service_of(template: &Template) -> Option<ServiceRef> {
    if !template.parameters.contains_key(PARAMETER) {
        return None;
    }
    let (id, decl) = template.resources.iter().find(|(_, r)| {
        r.resource_type == "AWS::ECS::Service"
            && r.properties
                .get("TaskDefinition")
                .is_some_and(|v| refers_to(v, PARAMETER))
    })?;
    let cluster = match decl.properties.get("Cluster") {
        Some(Value::String(s)) => Some(ClusterRef::Literal(s.clone())),
        Some(v) => ref_target(v)
            .filter(|t| template.resources.contains_key(*t))
            .map(|t| ClusterRef::Resource(t.to_owned())),
        None => None,
    };
    Some(ServiceRef {
        service: id.clone(),
        cluster,
    })
}

/// Whether `v` contains `Ref NAME` (long or short form) anywhere, e.g. inside `Fn::If`.
fn refers_to(v: &Value, name: &str) -> bool {
    if ref_target(v) == Some(name) {
        return true;
    }
    match v {
        Value::Array(items) => items.iter().any(|i| refers_to(i, name)),
        Value::Object(m) => m.values().any(|i| refers_to(i, name)),
        _ => false,
    }
}

fn ref_target(v: &Value) -> Option<&str> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    m.get("Ref").or_else(|| m.get("!Ref"))?.as_str()
}

/// The cluster and service to describe: the cluster from a long service ARN
/// (`…:service/CLUSTER/NAME`), else the `Cluster` property as resolved by the caller, else the
/// account's default cluster (`None`).
pub fn describe_target(
    service_physical_id: &str,
    cluster: Option<&str>,
) -> (Option<String>, String) {
    let from_arn = service_physical_id
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":service/"))
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(c, _)| c.to_owned());
    (
        from_arn.or_else(|| cluster.map(str::to_owned)),
        service_physical_id.to_owned(),
    )
}

/// What the plan does with [`PARAMETER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Given by the environment file, the flags or an earlier stack's output: sent as given.
    Given,
    /// The stack does not exist yet: the template's default (its bootstrap definition).
    NewStack,
    /// The service runs a task definition this stack registered itself (the bootstrap one,
    /// before the first release): the parameter stays at its default, so the re-plan is empty.
    StackOwned { arn: String },
    /// Pass the revision the service runs.
    Running { arn: String, service: String },
    /// The stack exists but its service, or the service's task definition, was not found.
    NotFound { why: String },
}

impl Keep {
    /// The value to send, if any.
    pub fn value(&self) -> Option<&str> {
        match self {
            Keep::Running { arn, .. } => Some(arn),
            _ => None,
        }
    }

    /// One sentence for the plan's summary and log; `None` when nothing was decided.
    pub fn describe(&self) -> Option<String> {
        match self {
            Keep::Given | Keep::NewStack => None,
            Keep::StackOwned { arn } => Some(format!(
                "`{PARAMETER}` left empty: the service runs the stack's own bootstrap task definition `{arn}` (no release yet)."
            )),
            Keep::Running { arn, service } => Some(format!(
                "`{PARAMETER}` = `{arn}`: the task definition ECS service `{service}` runs now, passed so the stack keeps it there."
            )),
            Keep::NotFound { why } => Some(format!(
                "`{PARAMETER}` not passed: {why}; the template's default applies."
            )),
        }
    }
}

/// Decides [`Keep`] from what the command found: whether the parameter has a value already,
/// whether the stack exists, the service's running task definition and the task definitions
/// the stack itself holds (`AWS::ECS::TaskDefinition` physical ids).
pub fn decide(
    given: bool,
    stack_exists: bool,
    service: Option<&str>,
    running: Option<&str>,
    own: &[String],
) -> Keep {
    if given {
        return Keep::Given;
    }
    if !stack_exists {
        return Keep::NewStack;
    }
    let Some(service) = service else {
        return Keep::NotFound {
            why: "the stack has no such ECS service".into(),
        };
    };
    match running {
        None => Keep::NotFound {
            why: format!("ECS service `{service}` was not found or is inactive"),
        },
        Some(arn) if own.iter().any(|o| o == arn) => Keep::StackOwned {
            arn: arn.to_owned(),
        },
        Some(arn) => Keep::Running {
            arn: arn.to_owned(),
            service: service.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::parse;

    const SERVICE: &str = r#"
Parameters:
  TaskDefinitionArn: {Type: String, Default: ""}
Conditions:
  Bootstrap: !Equals [!Ref TaskDefinitionArn, ""]
Resources:
  Cluster: {Type: AWS::ECS::Cluster}
  TaskDefinition: {Type: AWS::ECS::TaskDefinition, Condition: Bootstrap, Properties: {Family: api}}
  Worker:
    Type: AWS::ECS::Service
    Properties: {Cluster: !Ref Cluster, TaskDefinition: !Ref TaskDefinition}
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      TaskDefinition: !If [Bootstrap, !Ref TaskDefinition, !Ref TaskDefinitionArn]
"#;

    #[test]
    fn the_service_is_the_one_whose_task_definition_is_the_parameter() {
        let t = parse(SERVICE).unwrap();
        assert_eq!(
            service_of(&t),
            Some(ServiceRef {
                service: "Service".into(),
                cluster: Some(ClusterRef::Resource("Cluster".into()))
            })
        );
        // The committed service template.
        let real =
            std::fs::read_to_string(crate::repo_file("infra/templates/service.yaml")).unwrap();
        let s = service_of(&parse(&real).unwrap()).unwrap();
        assert_eq!(s.service, "Service");
        assert_eq!(s.cluster, Some(ClusterRef::Resource("Cluster".into())));
    }

    #[test]
    fn no_parameter_or_no_service_using_it_is_none() {
        let no_param = SERVICE.replace(
            "  TaskDefinitionArn: {Type: String, Default: \"\"}\n",
            "  Other: {Type: String}\n",
        );
        assert_eq!(service_of(&parse(&no_param).unwrap()), None);
        let unused = "Parameters: {TaskDefinitionArn: {Type: String}}\nResources:\n  S: {Type: AWS::ECS::Service, Properties: {TaskDefinition: fixed}}\n";
        assert_eq!(service_of(&parse(unused).unwrap()), None);
        let long = "Parameters: {TaskDefinitionArn: {Type: String}}\nResources:\n  S: {Type: AWS::ECS::Service, Properties: {Cluster: prod, TaskDefinition: {Ref: TaskDefinitionArn}}}\n";
        assert_eq!(
            service_of(&parse(long).unwrap()),
            Some(ServiceRef {
                service: "S".into(),
                cluster: Some(ClusterRef::Literal("prod".into()))
            })
        );
    }

    #[test]
    fn the_cluster_comes_from_a_long_arn_else_the_property() {
        assert_eq!(
            describe_target(
                "arn:aws:ecs:eu-west-1:111111111111:service/gantry-dev/api",
                Some("x")
            ),
            (
                Some("gantry-dev".into()),
                "arn:aws:ecs:eu-west-1:111111111111:service/gantry-dev/api".into()
            )
        );
        assert_eq!(
            describe_target(
                "arn:aws:ecs:eu-west-1:111111111111:service/api",
                Some("gantry-dev")
            ),
            (
                Some("gantry-dev".into()),
                "arn:aws:ecs:eu-west-1:111111111111:service/api".into()
            )
        );
        assert_eq!(describe_target("api", None), (None, "api".into()));
    }

    #[test]
    fn decide_keeps_the_running_revision_and_nothing_else() {
        let rev = "arn:aws:ecs:eu-west-1:1:task-definition/api:7";
        let boot = "arn:aws:ecs:eu-west-1:1:task-definition/api:1";
        let own = vec![boot.to_owned()];
        assert_eq!(
            decide(true, true, Some("c/api"), Some(rev), &own),
            Keep::Given
        );
        assert_eq!(decide(false, false, None, None, &own), Keep::NewStack);
        assert_eq!(
            decide(false, true, Some("c/api"), Some(rev), &own),
            Keep::Running {
                arn: rev.into(),
                service: "c/api".into()
            }
        );
        assert_eq!(
            decide(false, true, Some("c/api"), Some(rev), &own).value(),
            Some(rev)
        );
        let owned = decide(false, true, Some("c/api"), Some(boot), &own);
        assert_eq!(owned, Keep::StackOwned { arn: boot.into() });
        assert_eq!(owned.value(), None);
        assert!(matches!(
            decide(false, true, Some("c/api"), None, &own),
            Keep::NotFound { .. }
        ));
        assert!(matches!(
            decide(false, true, None, None, &own),
            Keep::NotFound { .. }
        ));
        assert!(
            decide(false, true, Some("c/api"), Some(rev), &own)
                .describe()
                .unwrap()
                .contains(rev)
        );
        assert_eq!(Keep::Given.describe(), None);
    }
}
