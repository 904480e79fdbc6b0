//! AWS's own service model of ECS (botocore's `data/ecs/2014-11-13/service-2.json`, trimmed by
//! `scripts/refresh-ecs-model` to the shapes a task definition reaches), and the strict
//! validation of a task definition JSON against it.
//!
//! Every key, type and enum here comes from the vendored file: nothing is restated by hand.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The vendored model file (see `scripts/refresh-ecs-model`).
pub const MODEL_JSON: &str = include_str!("../data/ecs-service-2.json");

/// One shape of the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Structure {
        /// Member name → shape name, in the model's order.
        members: Vec<(String, String)>,
        required: Vec<String>,
        /// Exactly one member may be set.
        union: bool,
    },
    List {
        member: String,
        /// Fewest and most items (`Tags`: at most 50).
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: String,
        value: String,
    },
    String {
        enumeration: Vec<String>,
        /// Shortest and longest length in characters (`TagKey`: 1 to 128).
        min: Option<i64>,
        max: Option<i64>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Double,
    Timestamp,
}

/// The parsed model: shapes by name.
#[derive(Debug)]
pub struct Model {
    shapes: BTreeMap<String, Shape>,
    pub botocore: String,
}

/// The model, parsed once from the vendored file.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        #[allow(clippy::expect_used)]
        Model::parse(MODEL_JSON).expect("the vendored ECS model parses (scripts/refresh-ecs-model)")
    })
}

fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl Model {
    /// Parses a botocore service model (full or trimmed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let raw = v
            .get("shapes")
            .and_then(Value::as_object)
            .ok_or("no `shapes`")?;
        let target = |s: &Value, k: &str| -> Result<String, String> {
            s.get(k)
                .and_then(|r| r.get("shape"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("shape without `{k}`"))
        };
        let mut shapes = BTreeMap::new();
        for (name, s) in raw {
            let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
            let shape = match ty {
                "structure" => Shape::Structure {
                    members: s
                        .get("members")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .map(|(k, r)| {
                                    let t = r.get("shape").and_then(Value::as_str).unwrap_or("");
                                    (k.clone(), t.to_owned())
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    required: names(s.get("required")),
                    union: s.get("union").and_then(Value::as_bool).unwrap_or(false),
                },
                "list" => Shape::List {
                    member: target(s, "member")?,
                    min: s.get("min").and_then(Value::as_i64),
                    max: s.get("max").and_then(Value::as_i64),
                },
                "map" => Shape::Map {
                    key: target(s, "key")?,
                    value: target(s, "value")?,
                },
                "string" => Shape::String {
                    enumeration: names(s.get("enum")),
                    min: s.get("min").and_then(Value::as_i64),
                    max: s.get("max").and_then(Value::as_i64),
                },
                "integer" | "long" => Shape::Integer {
                    min: s.get("min").and_then(Value::as_i64),
                    max: s.get("max").and_then(Value::as_i64),
                },
                "boolean" => Shape::Boolean,
                "double" | "float" => Shape::Double,
                "timestamp" => Shape::Timestamp,
                other => return Err(format!("shape {name}: unknown type `{other}`")),
            };
            shapes.insert(name.clone(), shape);
        }
        let botocore = v
            .pointer("/metadata/trimmedFrom")
            .and_then(Value::as_str)
            .unwrap_or("botocore")
            .to_owned();
        Ok(Self { shapes, botocore })
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// Member names of a structure shape.
    pub fn members(&self, name: &str) -> Vec<&str> {
        match self.shape(name) {
            Some(Shape::Structure { members, .. }) => {
                members.iter().map(|(k, _)| k.as_str()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Keys `DescribeTaskDefinition` returns that `RegisterTaskDefinition` does not accept
    /// (`taskDefinitionArn`, `revision`, `status`, `registeredAt`, …).
    pub fn describe_only_keys(&self) -> Vec<&str> {
        let register = self.members(REGISTER);
        self.members("TaskDefinition")
            .into_iter()
            .filter(|k| !register.contains(k))
            .collect()
    }

    /// The allowed values of an enum string shape reached by `path` of member names from
    /// `root` (e.g. `["containerDefinitions", "dependsOn", "condition"]`).
    pub fn enum_at(&self, root: &str, path: &[&str]) -> Vec<&str> {
        let mut shape = root.to_owned();
        for key in path {
            shape = match self.shape(&shape) {
                Some(Shape::List { member, .. }) => {
                    let Some(Shape::Structure { members, .. }) = self.shape(member) else {
                        return Vec::new();
                    };
                    match members.iter().find(|(k, _)| k == key) {
                        Some((_, t)) => t.clone(),
                        None => return Vec::new(),
                    }
                }
                Some(Shape::Structure { members, .. }) => {
                    match members.iter().find(|(k, _)| k == key) {
                        Some((_, t)) => t.clone(),
                        None => return Vec::new(),
                    }
                }
                _ => return Vec::new(),
            };
        }
        match self.shape(&shape) {
            Some(Shape::String { enumeration, .. }) => {
                enumeration.iter().map(String::as_str).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The request shape a task definition file must fit.
pub const REGISTER: &str = "RegisterTaskDefinitionRequest";

/// One way the JSON does not fit the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path, e.g. `containerDefinitions[0].portMappings[1].protocol`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

/// Checks `value` against shape `shape` recursively: structures have only known members and
/// their required ones, lists are arrays, maps are objects of the value shape, enums hold one of
/// their values, and strings, integers and booleans are of that JSON type.
pub fn check(model: &Model, shape: &str, value: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    check_at(model, shape, value, "", &mut out);
    out
}

/// `path.key`, or `key` at the top (a JSON path as problems and diffs print it).
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_at(model: &Model, shape: &str, v: &Value, path: &str, out: &mut Vec<Problem>) {
    let Some(s) = model.shape(shape) else {
        return;
    };
    let mut problem = |message: String| {
        out.push(Problem {
            path: path.to_owned(),
            message,
        });
    };
    match s {
        Shape::Structure {
            members,
            required,
            union,
        } => {
            let Some(obj) = v.as_object() else {
                return problem(format!("expected an object, found {}", kind(v)));
            };
            for r in required {
                if !obj.contains_key(r) {
                    out.push(Problem {
                        path: path.to_owned(),
                        message: format!("missing required key `{r}`"),
                    });
                }
            }
            if *union && obj.len() > 1 {
                out.push(Problem {
                    path: path.to_owned(),
                    message: format!(
                        "set exactly one of {}",
                        members
                            .iter()
                            .map(|(k, _)| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            for (k, child) in obj {
                let here = join(path, k);
                match members.iter().find(|(m, _)| m == k) {
                    Some((_, t)) => check_at(model, t, child, &here, out),
                    None => {
                        let known: Vec<&str> = members.iter().map(|(m, _)| m.as_str()).collect();
                        let message = match nearest(k, &known) {
                            Some(n) => format!("unknown key `{k}` — did you mean `{n}`?"),
                            None => {
                                format!("unknown key `{k}`; known keys here: {}", known.join(", "))
                            }
                        };
                        out.push(Problem {
                            path: here,
                            message,
                        });
                    }
                }
            }
        }
        Shape::List { member, min, max } => {
            let Some(items) = v.as_array() else {
                return problem(format!("expected an array, found {}", kind(v)));
            };
            let n = items.len() as i64;
            if let Some(m) = max.filter(|m| n > *m) {
                problem(format!("{n} items; at most {m} allowed"));
            } else if let Some(m) = min.filter(|m| n < *m) {
                problem(format!("{n} items; at least {m} needed"));
            }
            for (i, item) in items.iter().enumerate() {
                check_at(model, member, item, &format!("{path}[{i}]"), out);
            }
        }
        Shape::Map { key, value } => {
            let Some(obj) = v.as_object() else {
                return problem(format!(
                    "expected an object of name → value, found {}",
                    kind(v)
                ));
            };
            for (k, child) in obj {
                check_at(model, key, &Value::String(k.clone()), path, out);
                check_at(model, value, child, &join(path, k), out);
            }
        }
        Shape::String {
            enumeration,
            min,
            max,
        } => match v.as_str() {
            None => {
                let hint = match v {
                    Value::Number(n) => format!(" (write it as a string: \"{n}\")"),
                    _ => String::new(),
                };
                problem(format!("expected a string, found {}{hint}", kind(v)));
            }
            Some(s) if !enumeration.is_empty() && !enumeration.iter().any(|e| e == s) => {
                let known: Vec<&str> = enumeration.iter().map(String::as_str).collect();
                let suggestion = nearest(s, &known)
                    .map(|n| format!(" — did you mean `{n}`?"))
                    .unwrap_or_default();
                problem(format!(
                    "`{s}` is not one of {}{suggestion}",
                    known.join(", ")
                ));
            }
            Some(s) => {
                let n = s.chars().count() as i64;
                if let Some(m) = max.filter(|m| n > *m) {
                    problem(format!("{n} characters; at most {m} allowed"));
                } else if let Some(m) = min.filter(|m| n < *m) {
                    problem(format!("{n} characters; at least {m} needed"));
                }
            }
        },
        Shape::Integer { min, max } => match v.as_i64() {
            None => problem(format!("expected an integer, found {}", kind(v))),
            Some(n) => {
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    problem(format!(
                        "{n} is out of range ({}..={})",
                        min.map(|m| m.to_string()).unwrap_or_default(),
                        max.map(|m| m.to_string()).unwrap_or_default()
                    ));
                }
            }
        },
        Shape::Boolean => {
            if !v.is_boolean() {
                problem(format!("expected true or false, found {}", kind(v)));
            }
        }
        Shape::Double => {
            if !v.is_number() {
                problem(format!("expected a number, found {}", kind(v)));
            }
        }
        Shape::Timestamp => {
            if !(v.is_number() || v.is_string()) {
                problem(format!("expected a timestamp, found {}", kind(v)));
            }
        }
    }
}

/// Levenshtein distance (case-insensitive).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let (best, d) = known
        .iter()
        .map(|k| (*k, edit_distance(name, k)))
        .min_by_key(|(_, d)| *d)?;
    let limit = (name.chars().count().max(best.chars().count()) / 3).max(1);
    (d <= limit).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_vendored_model_has_the_task_definition_shapes() {
        let m = model();
        let register = m.members(REGISTER);
        assert!(register.contains(&"family") && register.contains(&"containerDefinitions"));
        assert!(m.members("ContainerDefinition").contains(&"healthCheck"));
        let mut describe_only = m.describe_only_keys();
        describe_only.sort_unstable();
        for k in [
            "compatibilities",
            "deregisteredAt",
            "registeredAt",
            "registeredBy",
            "requiresAttributes",
            "revision",
            "status",
            "taskDefinitionArn",
        ] {
            assert!(describe_only.contains(&k), "{k} in {describe_only:?}");
        }
        assert!(!describe_only.contains(&"family"));
        assert_eq!(
            m.enum_at(
                REGISTER,
                &["containerDefinitions", "dependsOn", "condition"]
            ),
            vec!["START", "COMPLETE", "SUCCESS", "HEALTHY"]
        );
        assert!(m.botocore.starts_with("botocore"));
    }

    #[test]
    fn unknown_keys_name_the_path_and_the_nearest_key() {
        let p = check(
            model(),
            REGISTER,
            &json!({"family": "web", "containerDefinitons": []}),
        );
        let texts: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert!(texts.contains(&"missing required key `containerDefinitions`".to_owned()));
        assert!(
            texts.contains(
                &"`containerDefinitons`: unknown key `containerDefinitons` — did you mean `containerDefinitions`?"
                    .to_owned()
            ),
            "{texts:?}"
        );
        let p = check(
            model(),
            REGISTER,
            &json!({"family": "web", "containerDefinitions": [
                {"name": "a", "image": "x", "portMappings": [{"containerPort": 80, "protocl": "tcp"}]}
            ]}),
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "containerDefinitions[0].portMappings[0].protocl");
        assert!(p[0].message.contains("did you mean `protocol`"));
    }

    #[test]
    fn types_enums_maps_and_ranges() {
        let p = check(
            model(),
            REGISTER,
            &json!({
                "family": "web",
                "cpu": 256,
                "networkMode": "awsvcp",
                "containerDefinitions": [{
                    "name": "a", "image": "x", "essential": "yes", "memory": "512",
                    "dockerLabels": {"team": 7},
                    "environment": {"A": "1"},
                    "portMappings": [{"containerPort": 80, "protocol": "sctp"}]
                }]
            }),
        );
        let texts: Vec<String> = p.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(texts.join("\n"), @r#"
        `cpu`: expected a string, found a number (write it as a string: "256")
        `networkMode`: `awsvcp` is not one of bridge, host, awsvpc, none — did you mean `awsvpc`?
        `containerDefinitions[0].essential`: expected true or false, found a string
        `containerDefinitions[0].memory`: expected an integer, found a string
        `containerDefinitions[0].dockerLabels.team`: expected a string, found a number (write it as a string: "7")
        `containerDefinitions[0].environment`: expected an array, found an object
        `containerDefinitions[0].portMappings[0].protocol`: `sctp` is not one of tcp, udp
        "#);
    }

    #[test]
    fn list_and_string_lengths_come_from_the_model() {
        let tags: Vec<Value> = (0..51)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect();
        let p = check(
            model(),
            REGISTER,
            &json!({"family": "web", "containerDefinitions": [], "tags": tags}),
        );
        let texts: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(texts, vec!["`tags`: 51 items; at most 50 allowed"]);
        let p = check(
            model(),
            REGISTER,
            &json!({"family": "web", "containerDefinitions": [], "tags": [
                {"key": "", "value": "v"},
                {"key": "k".repeat(129), "value": "v"},
                {"key": "ok", "value": "é".repeat(256)},
                {"key": "ok2", "value": "v".repeat(257)}
            ]}),
        );
        let texts: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            vec![
                "`tags[0].key`: 0 characters; at least 1 needed",
                "`tags[1].key`: 129 characters; at most 128 allowed",
                "`tags[3].value`: 257 characters; at most 256 allowed",
            ],
            "256 characters (not bytes) fit"
        );
    }

    #[test]
    fn nearest_only_suggests_likely_typos() {
        assert_eq!(
            nearest("containerDefinitons", &["containerDefinitions", "cpu"]),
            Some("containerDefinitions")
        );
        assert_eq!(nearest("Image", &["image", "name"]), Some("image"));
        assert_eq!(nearest("zzzzzz", &["image", "name"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
