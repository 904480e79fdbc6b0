//! A CloudFormation template as gantry reads it: its digest and the parameters, resources and
//! outputs it declares. Short-form intrinsics (`!Ref`, `!Sub` …) are kept as `{"!Ref": …}` so
//! two versions of a resource can be compared.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// CloudFormation's limit for a template passed in the request (`TemplateBody`); larger ones
/// must come from S3 (`TemplateURL`).
pub const MAX_BODY_BYTES: usize = 51_200;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub body: String,
    /// `sha256:<hex>` of the body's bytes.
    pub digest: String,
    pub parameters: IndexMap<String, ParameterDecl>,
    pub resources: IndexMap<String, ResourceDecl>,
    /// Output names (an output with a `Condition` may be absent from a deployed stack).
    pub outputs: Vec<String>,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterDecl {
    pub has_default: bool,
    pub no_echo: bool,
}

/// One declared resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDecl {
    pub resource_type: String,
    pub properties: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("is neither YAML nor JSON: {0}")]
    Syntax(String),
    #[error("is not a mapping at the top level")]
    NotAMapping,
    #[error("has no `Resources` section")]
    NoResources,
    #[error("resource `{0}` has no `Type`")]
    ResourceWithoutType(String),
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", gantry_kit::fmt::hex(&Sha256::digest(bytes)))
}

/// Parses a template body (YAML, which includes JSON).
pub fn parse(body: &str) -> Result<Template, TemplateError> {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(body).map_err(|e| TemplateError::Syntax(e.to_string()))?;
    let Value::Object(top) = to_json(yaml) else {
        return Err(TemplateError::NotAMapping);
    };
    let mut parameters = IndexMap::new();
    if let Some(Value::Object(ps)) = top.get("Parameters") {
        for (name, decl) in ps {
            parameters.insert(
                name.clone(),
                ParameterDecl {
                    has_default: decl.get("Default").is_some(),
                    no_echo: decl.get("NoEcho").is_some_and(truthy),
                },
            );
        }
    }
    let Some(Value::Object(rs)) = top.get("Resources") else {
        return Err(TemplateError::NoResources);
    };
    let mut resources = IndexMap::new();
    for (id, decl) in rs {
        let resource_type = decl
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| TemplateError::ResourceWithoutType(id.clone()))?;
        let properties = match decl.get("Properties") {
            Some(Value::Object(p)) => p.clone(),
            _ => Map::new(),
        };
        resources.insert(
            id.clone(),
            ResourceDecl {
                resource_type: resource_type.to_owned(),
                properties,
            },
        );
    }
    let outputs = match top.get("Outputs") {
        Some(Value::Object(os)) => os.keys().cloned().collect(),
        _ => Vec::new(),
    };
    Ok(Template {
        body: body.to_owned(),
        digest: digest(body.as_bytes()),
        parameters,
        resources,
        outputs,
    })
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// YAML to JSON; a tag `!X v` becomes `{"!X": v}`, scalars keys become strings.
fn to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let mut m = Map::new();
            m.insert(t.tag.to_string(), to_json(t.value));
            Value::Object(m)
        }
    }
}

/// Top-level properties of resource `id` that differ between two templates (added, removed or
/// changed), in the proposed template's order then the removed ones. Empty when the resource is
/// missing from either side.
pub fn changed_properties(deployed: &Template, proposed: &Template, id: &str) -> Vec<String> {
    let (Some(old), Some(new)) = (deployed.resources.get(id), proposed.resources.get(id)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = new
        .properties
        .iter()
        .filter(|(k, v)| old.properties.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(
        old.properties
            .keys()
            .filter(|k| !new.properties.contains_key(*k))
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ProjectName: {Type: String, Default: gantry}
  DbPassword: {Type: String, NoEcho: true}
  Port: {Type: Number, Default: 8080}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${ProjectName}-data"
      Tags: [{Key: a, Value: b}]
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  BucketName: {Value: !Ref Bucket}
"#;

    #[test]
    fn reads_parameters_resources_outputs_and_tags() {
        let t = parse(YAML).unwrap();
        assert_eq!(
            t.parameters.keys().collect::<Vec<_>>(),
            ["ProjectName", "DbPassword", "Port"]
        );
        assert!(t.parameters["ProjectName"].has_default);
        assert!(!t.parameters["DbPassword"].has_default);
        assert!(t.parameters["DbPassword"].no_echo);
        assert_eq!(t.resources["Bucket"].resource_type, "AWS::S3::Bucket");
        assert_eq!(
            t.resources["Bucket"].properties["BucketName"],
            serde_json::json!({"!Sub": "${ProjectName}-data"})
        );
        assert!(t.resources["Topic"].properties.is_empty());
        assert_eq!(t.outputs, ["BucketName"]);
        assert_eq!(t.digest, digest(YAML.as_bytes()));
        assert!(t.digest.starts_with("sha256:") && t.digest.len() == 71);
    }

    #[test]
    fn json_templates_parse_too() {
        let t = parse(r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}}}"#).unwrap();
        assert_eq!(t.resources["Q"].properties["QueueName"], "q");
        assert!(t.parameters.is_empty() && t.outputs.is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_template() {
        assert_eq!(parse("- a\n- b\n"), Err(TemplateError::NotAMapping));
        assert_eq!(parse("Parameters: {}\n"), Err(TemplateError::NoResources));
        assert_eq!(
            parse("Resources: {X: {Properties: {}}}\n"),
            Err(TemplateError::ResourceWithoutType("X".into()))
        );
        assert!(matches!(parse("a: [\n"), Err(TemplateError::Syntax(_))));
    }

    #[test]
    fn changed_properties_compare_expressions() {
        let old = parse(YAML).unwrap();
        let new = parse(
            &YAML
                .replace("${ProjectName}-data", "${ProjectName}-data2")
                .replace(
                    "      Tags: [{Key: a, Value: b}]\n",
                    "      VersioningConfiguration: {Status: Enabled}\n",
                ),
        )
        .unwrap();
        assert_eq!(
            changed_properties(&old, &new, "Bucket"),
            ["BucketName", "VersioningConfiguration", "Tags"]
        );
        assert!(changed_properties(&old, &old, "Bucket").is_empty());
        assert!(changed_properties(&old, &new, "Nope").is_empty());
    }
}
