//! Reading a task definition: a register-shaped file, or `describe-task-definition` output with
//! or without its `{"taskDefinition": …, "tags": […]}` wrapper; JSON or YAML.

use crate::model::{self, Model, REGISTER};
use serde_json::{Map, Value};

/// A task definition in the register request's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub def: Map<String, Value>,
    /// Describe-only keys that were dropped (`registeredAt`, `revision`, …).
    pub dropped: Vec<String>,
}

/// Why a file could not be read as a task definition. Every variant is an input error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{source_name} is not valid {format}: {message}")]
    Syntax {
        source_name: String,
        format: &'static str,
        message: String,
    },
    #[error("{source_name}: {}", problems.join("; "))]
    Shape {
        source_name: String,
        problems: Vec<String>,
    },
}

/// Parses `text` (YAML when `yaml`, else JSON) from `source_name` into a register-shaped task
/// definition, checked strictly against the ECS model.
pub fn parse(text: &str, source_name: &str, yaml: bool) -> Result<Loaded, LoadError> {
    let value: Value = if yaml {
        serde_yaml_ng::from_str(text).map_err(|e| LoadError::Syntax {
            source_name: source_name.to_owned(),
            format: "YAML",
            message: e.to_string(),
        })?
    } else {
        serde_json::from_str(text).map_err(|e| LoadError::Syntax {
            source_name: source_name.to_owned(),
            format: "JSON",
            // serde_json says "… at line L column C".
            message: e.to_string(),
        })?
    };
    from_value(value, source_name)
}

/// [`parse`] for a value already in memory (e.g. a live `DescribeTaskDefinition` response).
pub fn from_value(value: Value, source_name: &str) -> Result<Loaded, LoadError> {
    let m = model::model();
    let shape_error = |problems: Vec<String>| LoadError::Shape {
        source_name: source_name.to_owned(),
        problems,
    };
    let Value::Object(mut top) = value else {
        return Err(shape_error(vec![
            "expected a JSON object (a task definition, or describe-task-definition output)".into(),
        ]));
    };
    // The describe wrapper: {"taskDefinition": {…}, "tags": [...]}.
    if top.get("taskDefinition").is_some_and(Value::is_object) {
        let allowed = m.members("DescribeTaskDefinitionResponse");
        let unknown: Vec<String> = top
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| unknown_key_message(k, &allowed))
            .collect();
        if !unknown.is_empty() {
            return Err(shape_error(unknown));
        }
        let tags = top.remove("tags");
        let Some(Value::Object(mut inner)) = top.remove("taskDefinition") else {
            return Err(shape_error(vec![
                "`taskDefinition` is not an object".into(),
            ]));
        };
        if let Some(tags) = tags.filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
            inner.insert("tags".into(), tags);
        }
        top = inner;
    }
    let dropped = drop_describe_only(m, &mut top);
    let problems: Vec<String> = model::check(m, REGISTER, &Value::Object(top.clone()))
        .iter()
        .map(ToString::to_string)
        .collect();
    if !problems.is_empty() {
        return Err(shape_error(problems));
    }
    Ok(Loaded { def: top, dropped })
}

fn unknown_key_message(k: &str, allowed: &[&str]) -> String {
    match model::nearest(k, allowed) {
        Some(n) => format!("`{k}`: unknown key `{k}` — did you mean `{n}`?"),
        None => format!(
            "`{k}`: unknown key `{k}`; known keys: {}",
            allowed.join(", ")
        ),
    }
}

/// Removes the keys only describe output carries; returns their names.
pub fn drop_describe_only(m: &Model, def: &mut Map<String, Value>) -> Vec<String> {
    let mut dropped = Vec::new();
    for k in m.describe_only_keys() {
        if def.shift_remove(k).is_some() {
            dropped.push(k.to_owned());
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn describe_output_with_wrapper_becomes_register_shape_with_tags() {
        let text = json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
                "family": "web",
                "revision": 7,
                "status": "ACTIVE",
                "containerDefinitions": [{"name": "app", "image": "nginx:1.27"}],
                "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
                "compatibilities": ["EC2", "FARGATE"],
                "registeredAt": "2026-11-01T10:00:00.000Z",
                "registeredBy": "arn:aws:iam::123456789012:role/deploy"
            },
            "tags": [{"key": "team", "value": "web"}]
        })
        .to_string();
        let l = parse(&text, "td.json", false).unwrap();
        assert_eq!(
            Value::Object(l.def),
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx:1.27"}],
                   "tags": [{"key": "team", "value": "web"}]})
        );
        let mut dropped = l.dropped;
        dropped.sort();
        assert_eq!(
            dropped,
            vec![
                "compatibilities",
                "registeredAt",
                "registeredBy",
                "requiresAttributes",
                "revision",
                "status",
                "taskDefinitionArn"
            ]
        );
    }

    #[test]
    fn describe_output_without_wrapper_drops_describe_only_keys() {
        let text = json!({
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
            "family": "web",
            "revision": 7,
            "status": "INACTIVE",
            "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "cpu": 0}],
            "compatibilities": ["EC2"],
            "registeredAt": 1_764_300_000.5,
            "deregisteredAt": 1_764_400_000.5
        })
        .to_string();
        let l = parse(&text, "td.json", false).unwrap();
        assert_eq!(
            Value::Object(l.def),
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "cpu": 0}]})
        );
        let mut dropped = l.dropped;
        dropped.sort();
        assert_eq!(
            dropped,
            vec![
                "compatibilities",
                "deregisteredAt",
                "registeredAt",
                "revision",
                "status",
                "taskDefinitionArn"
            ]
        );
    }

    #[test]
    fn a_realistic_file_parses_as_it_is() {
        let text = serde_json::to_string_pretty(&crate::fixtures::realistic()).unwrap();
        let l = parse(&text, "td.json", false).unwrap();
        assert_eq!(l.def, crate::fixtures::realistic());
        assert!(l.dropped.is_empty());
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let e = parse("{\n  \"family\": \"web\",\n  oops\n}", "td.json", false).unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"td.json is not valid JSON: key must be a string at line 3 column 3");
    }

    #[test]
    fn yaml_is_accepted() {
        let l = parse(
            "family: web\ncontainerDefinitions:\n  - name: app\n    image: nginx\n    memory: 512\n",
            "td.yaml",
            true,
        )
        .unwrap();
        assert_eq!(l.def["containerDefinitions"][0]["memory"], 512);
    }

    #[test]
    fn unknown_and_missing_keys_are_reported() {
        let e = parse(r#"{"family": "web"}"#, "td.json", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "td.json: missing required key `containerDefinitions`"
        );
        let e = parse(
            r#"{"taskDefinition": {"family": "web", "containerDefinitions": []}, "tagz": []}"#,
            "td.json",
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("`tagz`: unknown key `tagz` — did you mean `tags`?"),
            "{e}"
        );
    }
}
