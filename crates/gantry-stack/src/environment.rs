//! An environment file (`infra/environments/<env>.json`): its stacks in deploy order, the region
//! of each, and how each template parameter gets its value — set in the file, or wired from the
//! output of the same name of an earlier stack (infra/README.md, "Decision").

use crate::template::Template;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

/// The file as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentFile {
    pub project: String,
    pub environment: String,
    pub region: String,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub termination_protection: bool,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    pub stacks: Vec<StackEntry>,
}

/// One stack of the file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct StackEntry {
    pub layer: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub parameters: IndexMap<String, Value>,
}

/// A stack to plan: where it lives, its template and where each parameter comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSpec {
    pub name: String,
    /// The environment file's layer (`None` for a single stack given by flags).
    pub layer: Option<String>,
    /// `None`: the region of the credentials (single-stack mode without `--region`).
    pub region: Option<String>,
    pub template: Template,
    /// Values set explicitly (file or flags), in order.
    pub given: IndexMap<String, String>,
    /// Declared parameters that take an earlier stack's output of the same name.
    pub wired: Vec<String>,
    pub tags: Vec<(String, String)>,
}

impl StackSpec {
    /// A stack given by flags: parameters and tags as given, nothing wired.
    pub fn single(
        name: String,
        region: Option<String>,
        template: Template,
        given: IndexMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> Self {
        Self {
            name,
            layer: None,
            region,
            template,
            given,
            wired: Vec::new(),
            tags,
        }
    }
}

/// Why an environment's stacks cannot be wired (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WiringError {
    #[error("stack `{stack}` sets parameter `{parameter}`, which its template does not declare")]
    Undeclared { stack: String, parameter: String },
    #[error(
        "stack `{stack}` needs parameter `{parameter}` (no default): it is not set in the environment file and no earlier stack has an output of that name"
    )]
    Missing { stack: String, parameter: String },
    #[error("parameter `{parameter}` of stack `{stack}` is not a string, number or boolean")]
    NotAScalar { stack: String, parameter: String },
}

/// The stack name of a layer: `PROJECT-ENV-LAYER`.
pub fn stack_name(file: &EnvironmentFile, layer: &str) -> String {
    format!("{}-{}-{}", file.project, file.environment, layer)
}

/// Resolves every stack of `file` with its template (`templates[i]` is the template of
/// `file.stacks[i]`). `ProjectName` and `EnvironmentName` come from the file's top level when
/// a template declares them.
pub fn stacks(
    file: &EnvironmentFile,
    templates: Vec<Template>,
) -> Result<Vec<StackSpec>, WiringError> {
    let tags: Vec<(String, String)> = file
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut earlier_outputs: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (entry, template) in file.stacks.iter().zip(templates) {
        let name = stack_name(file, &entry.layer);
        let mut given = IndexMap::new();
        for (key, value) in [
            ("ProjectName", &file.project),
            ("EnvironmentName", &file.environment),
        ] {
            if template.parameters.contains_key(key) {
                given.insert(key.to_owned(), value.clone());
            }
        }
        for (key, value) in &entry.parameters {
            if !template.parameters.contains_key(key) {
                return Err(WiringError::Undeclared {
                    stack: name,
                    parameter: key.clone(),
                });
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(WiringError::NotAScalar {
                        stack: name,
                        parameter: key.clone(),
                    });
                }
            };
            given.insert(key.clone(), text);
        }
        let mut wired = Vec::new();
        for (key, decl) in &template.parameters {
            if given.contains_key(key) {
                continue;
            }
            if earlier_outputs.contains(key) {
                wired.push(key.clone());
            } else if !decl.has_default {
                return Err(WiringError::Missing {
                    stack: name,
                    parameter: key.clone(),
                });
            }
        }
        earlier_outputs.extend(template.outputs.iter().cloned());
        out.push(StackSpec {
            name,
            layer: Some(entry.layer.clone()),
            region: Some(entry.region.clone().unwrap_or_else(|| file.region.clone())),
            template,
            given,
            wired,
            tags: tags.clone(),
        });
    }
    Ok(out)
}

/// Wired parameters with no value at run time: the earlier stack is not deployed yet, or its
/// output is conditional and absent. Only those without a default block a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub parameters: Vec<String>,
}

/// The parameters to send for `spec`, given the outputs of the stacks before it (later stacks'
/// outputs override earlier ones of the same name). A wired parameter whose output is absent is
/// left to its default when it has one.
pub fn parameters(
    spec: &StackSpec,
    outputs: &IndexMap<String, String>,
) -> Result<Vec<(String, String)>, Unresolved> {
    let mut params: Vec<(String, String)> = spec
        .given
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut missing = Vec::new();
    for key in &spec.wired {
        match outputs.get(key) {
            Some(v) => params.push((key.clone(), v.clone())),
            None if spec.template.parameters[key].has_default => {}
            None => missing.push(key.clone()),
        }
    }
    if missing.is_empty() {
        Ok(params)
    } else {
        Err(Unresolved {
            parameters: missing,
        })
    }
}

/// Names of the parameters of `spec` that are `NoEcho` (masked in every diff).
pub fn no_echo(spec: &StackSpec) -> Vec<String> {
    spec.template
        .parameters
        .iter()
        .filter(|(_, d)| d.no_echo)
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::parse;

    fn file(json: &str) -> EnvironmentFile {
        serde_json::from_str(json).unwrap()
    }

    const FILE: &str = r#"{
      "Project": "gantry", "Environment": "dev", "Region": "eu-west-1", "AccountId": "111111111111",
      "Tags": {"Project": "gantry", "Environment": "dev"},
      "Stacks": [
        {"Layer": "edge", "Region": "us-east-1", "Parameters": {"Rate": 1000}},
        {"Layer": "network", "Parameters": {"VpcCidr": "10.10.0.0/16"}},
        {"Layer": "service"}
      ]}"#;

    fn templates() -> Vec<Template> {
        vec![
            parse("Parameters: {ProjectName: {Type: String}, Rate: {Type: Number}}\nResources: {A: {Type: AWS::SNS::Topic}}\nOutputs: {AclArn: {Value: x}}\n").unwrap(),
            parse("Parameters: {EnvironmentName: {Type: String}, VpcCidr: {Type: String}, AclArn: {Type: String, Default: ''}}\nResources: {V: {Type: AWS::EC2::VPC}}\nOutputs: {VpcId: {Value: x}, SubnetIds: {Value: y}}\n").unwrap(),
            parse("Parameters: {VpcId: {Type: String}, SubnetIds: {Type: String}, Size: {Type: Number, Default: 1}}\nResources: {S: {Type: AWS::ECS::Service}}\n").unwrap(),
        ]
    }

    #[test]
    fn order_regions_names_and_wiring() {
        let specs = stacks(&file(FILE), templates()).unwrap();
        let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gantry-dev-edge",
                "gantry-dev-network",
                "gantry-dev-service"
            ]
        );
        let regions: Vec<_> = specs.iter().map(|s| s.region.as_deref().unwrap()).collect();
        assert_eq!(regions, ["us-east-1", "eu-west-1", "eu-west-1"]);
        assert_eq!(
            specs[0].given.iter().collect::<Vec<_>>(),
            [
                (&"ProjectName".to_string(), &"gantry".to_string()),
                (&"Rate".to_string(), &"1000".to_string())
            ]
        );
        assert_eq!(specs[1].given["EnvironmentName"], "dev");
        assert_eq!(specs[1].wired, ["AclArn"]);
        assert_eq!(specs[2].wired, ["VpcId", "SubnetIds"]);
        assert_eq!(
            specs[2].tags,
            [
                ("Project".into(), "gantry".into()),
                ("Environment".into(), "dev".into())
            ]
        );
    }

    #[test]
    fn undeclared_and_missing_parameters_are_named() {
        let f = file(&FILE.replace(
            r#""VpcCidr": "10.10.0.0/16""#,
            r#""VpcCidr": "10.10.0.0/16", "Typo": "x""#,
        ));
        assert_eq!(
            stacks(&f, templates()),
            Err(WiringError::Undeclared {
                stack: "gantry-dev-network".into(),
                parameter: "Typo".into()
            })
        );
        // The service's VpcId only exists as an output of a stack *after* it: not wired.
        let mut t = templates();
        t.swap(1, 2);
        let f = file(&FILE.replace(
            r#""Parameters": {"VpcCidr": "10.10.0.0/16"}"#,
            "\"Parameters\": {}",
        ));
        assert_eq!(
            stacks(&f, t),
            Err(WiringError::Missing {
                stack: "gantry-dev-network".into(),
                parameter: "VpcId".into()
            })
        );
    }

    #[test]
    fn parameters_take_outputs_and_report_what_is_missing() {
        let specs = stacks(&file(FILE), templates()).unwrap();
        let mut outputs = IndexMap::new();
        // Network's AclArn has a default: absent output leaves it out.
        assert_eq!(
            parameters(&specs[1], &outputs).unwrap(),
            [
                ("EnvironmentName".into(), "dev".into()),
                ("VpcCidr".into(), "10.10.0.0/16".into())
            ]
        );
        outputs.insert("VpcId".to_string(), "vpc-1".to_string());
        assert_eq!(
            parameters(&specs[2], &outputs),
            Err(Unresolved {
                parameters: vec!["SubnetIds".into()]
            })
        );
        outputs.insert("SubnetIds".to_string(), "s-1,s-2".to_string());
        assert_eq!(
            parameters(&specs[2], &outputs).unwrap(),
            [
                ("VpcId".into(), "vpc-1".into()),
                ("SubnetIds".into(), "s-1,s-2".into())
            ]
        );
    }

    #[test]
    fn the_committed_environment_files_parse() {
        for env in ["dev", "staging", "prod"] {
            let path = crate::repo_file(&format!("infra/environments/{env}.json"));
            let f: EnvironmentFile =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            assert_eq!(f.environment, env);
            assert!(!f.stacks.is_empty());
        }
    }
}
