//! Inputs checked as GitHub checks them before a run starts: `workflow_dispatch` inputs from the
//! command line (strings), and `workflow_call` inputs from the caller's `with:` (pure).

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::model::{InputKind, InputSpec};

/// A value converted to its input's type; `what` names it in messages.
fn convert(what: &str, kind: &InputKind, value: &Json) -> Result<Json, String> {
    let text = match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    };
    match kind {
        InputKind::String | InputKind::Environment => Ok(Json::String(text)),
        InputKind::Choice(options) => {
            if options.contains(&text) {
                Ok(Json::String(text))
            } else {
                Err(format!(
                    "{what}: '{text}' is not one of its choices: {}",
                    options.join(", ")
                ))
            }
        }
        InputKind::Boolean => match (value, text.as_str()) {
            (Json::Bool(b), _) => Ok(Json::Bool(*b)),
            (_, "true") => Ok(Json::Bool(true)),
            (_, "false") => Ok(Json::Bool(false)),
            _ => Err(format!(
                "{what}: '{text}' is not a boolean (accepted: true, false)"
            )),
        },
        InputKind::Number => match value {
            Json::Number(_) => Ok(value.clone()),
            _ => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(|n| {
                    // Integral numbers stay integers, as GitHub shows them.
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                        .map_or(Json::Number(n.clone()), |f| Json::from(f as i64))
                })
                .ok_or_else(|| format!("{what}: '{text}' is not a number")),
        },
    }
}

/// Checks and types the inputs of a run: the given ones, then the defaults (already evaluated).
/// `environments`, when known, are the names an `environment` input accepts.
pub fn check(
    kind: &str,
    specs: &IndexMap<String, InputSpec>,
    given: &IndexMap<String, Json>,
    defaults: &IndexMap<String, String>,
    environments: Option<&[String]>,
) -> Result<IndexMap<String, Json>, String> {
    let unknown: Vec<&String> = given
        .keys()
        .filter(|k| !specs.keys().any(|s| s.eq_ignore_ascii_case(k)))
        .collect();
    if let Some(first) = unknown.first() {
        let valid: Vec<&str> = specs.keys().map(String::as_str).collect();
        return Err(format!(
            "{kind} input '{first}' is not defined by the workflow (its inputs: {})",
            if valid.is_empty() {
                "none".to_owned()
            } else {
                valid.join(", ")
            }
        ));
    }
    let mut out = IndexMap::new();
    for (name, spec) in specs {
        let what = format!("{kind} input '{name}' ({})", spec.kind.as_str());
        let value = given
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone());
        let value = match (value, defaults.get(name)) {
            (Some(v), _) => v,
            (None, Some(d)) => Json::String(d.clone()),
            (None, None) if spec.required => {
                return Err(format!("{what} is required and was not given"));
            }
            // GitHub gives an unset input its type's empty value.
            (None, None) => match spec.kind {
                InputKind::Boolean => Json::Bool(false),
                InputKind::Number => Json::from(0),
                _ => Json::String(String::new()),
            },
        };
        let value = convert(&what, &spec.kind, &value)?;
        if let (InputKind::Environment, Some(envs), Json::String(name)) =
            (&spec.kind, environments, &value)
            && !name.is_empty()
            && !envs.iter().any(|e| e.eq_ignore_ascii_case(name))
        {
            return Err(format!(
                "{what}: '{name}' is not an environment of the vars/secrets files (known: {})",
                envs.join(", ")
            ));
        }
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// The inputs as `github.event.inputs` holds them for `workflow_dispatch`: strings.
pub fn as_event_strings(inputs: &IndexMap<String, Json>) -> serde_json::Map<String, Json> {
    inputs
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), Json::String(s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(kind: InputKind, required: bool, default: Option<&str>) -> InputSpec {
        InputSpec {
            description: None,
            kind,
            required,
            default: default.map(str::to_owned),
        }
    }

    fn specs() -> IndexMap<String, InputSpec> {
        let mut s = IndexMap::new();
        s.insert(
            "target".into(),
            spec(
                InputKind::Choice(vec!["staging".into(), "prod".into()]),
                true,
                None,
            ),
        );
        s.insert(
            "dry-run".into(),
            spec(InputKind::Boolean, false, Some("false")),
        );
        s.insert("count".into(), spec(InputKind::Number, false, None));
        s.insert("env".into(), spec(InputKind::Environment, false, None));
        s
    }

    fn given(pairs: &[(&str, Json)]) -> IndexMap<String, Json> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn run(pairs: &[(&str, Json)]) -> Result<IndexMap<String, Json>, String> {
        let defaults: IndexMap<String, String> = [("dry-run".to_owned(), "false".to_owned())]
            .into_iter()
            .collect();
        let envs = vec!["staging".to_owned(), "prod".to_owned()];
        check(
            "workflow_dispatch",
            &specs(),
            &given(pairs),
            &defaults,
            Some(&envs),
        )
    }

    #[test]
    fn types_given_values_and_fills_defaults() {
        let out = run(&[
            ("target", json!("prod")),
            ("count", json!("3")),
            ("ENV", json!("Prod")),
        ])
        .unwrap();
        assert_eq!(
            Json::Object(out.into_iter().collect()),
            json!({"target": "prod", "dry-run": false, "count": 3, "env": "Prod"})
        );
    }

    #[test]
    fn refuses_before_any_job_runs() {
        insta::assert_snapshot!(run(&[]).unwrap_err(), @"workflow_dispatch input 'target' (choice) is required and was not given");
        insta::assert_snapshot!(run(&[("target", json!("dev"))]).unwrap_err(), @"workflow_dispatch input 'target' (choice): 'dev' is not one of its choices: staging, prod");
        insta::assert_snapshot!(run(&[("target", json!("prod")), ("dry-run", json!("yes"))]).unwrap_err(), @"workflow_dispatch input 'dry-run' (boolean): 'yes' is not a boolean (accepted: true, false)");
        insta::assert_snapshot!(run(&[("target", json!("prod")), ("count", json!("many"))]).unwrap_err(), @"workflow_dispatch input 'count' (number): 'many' is not a number");
        insta::assert_snapshot!(run(&[("target", json!("prod")), ("env", json!("qa"))]).unwrap_err(), @"workflow_dispatch input 'env' (environment): 'qa' is not an environment of the vars/secrets files (known: staging, prod)");
        insta::assert_snapshot!(run(&[("target", json!("prod")), ("colour", json!("red"))]).unwrap_err(), @"workflow_dispatch input 'colour' is not defined by the workflow (its inputs: target, dry-run, count, env)");
    }

    #[test]
    fn event_inputs_are_strings() {
        let out = run(&[("target", json!("prod")), ("dry-run", json!(true))]).unwrap();
        let event = as_event_strings(&out);
        assert_eq!(event["dry-run"], json!("true"));
        assert_eq!(event["count"], json!("0"));
    }
}
