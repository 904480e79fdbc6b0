//! "Register only when changed": the normal form both sides are compared in (what ECS fills in
//! on registration, list ordering, empty values), and a readable diff as JSON paths.

use crate::model::{self, join};
use crate::render::{cpu_units, memory_mib};
use serde_json::{Map, Value};

/// The normal form of a register-shaped task definition: describe-only keys dropped, the
/// defaults ECS fills in removed (container `cpu: 0`, `essential: true`,
/// `versionConsistency: enabled`, `protocol: tcp`, `hostPort: 0`,
/// health-check interval 30 / timeout 5 / retries 3, EFS root `/`, `networkMode` made explicit),
/// `environment`, `secrets` and `tags` sorted by name, cpu/memory units as numbers, and null,
/// empty arrays and empty objects removed.
pub fn normalise(def: &Map<String, Value>) -> Value {
    let mut d = def.clone();
    model::model().describe_only_keys().iter().for_each(|k| {
        d.shift_remove(*k);
    });
    let fargate = d
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|c| c == "FARGATE"));
    if !d.get("networkMode").is_some_and(Value::is_string) {
        let mode = if fargate { "awsvpc" } else { "bridge" };
        d.insert("networkMode".into(), mode.into());
    }
    let mode = d
        .get("networkMode")
        .and_then(Value::as_str)
        .unwrap_or("bridge")
        .to_owned();
    if let Some(Value::Array(c)) = d.get_mut("requiresCompatibilities") {
        c.sort_by_key(Value::to_string);
    }
    if let Some(cpu) = d.get("cpu").and_then(Value::as_str).and_then(cpu_units) {
        d.insert("cpu".into(), cpu.to_string().into());
    }
    if let Some(mem) = d.get("memory").and_then(Value::as_str).and_then(memory_mib) {
        d.insert("memory".into(), mem.to_string().into());
    }
    remove_if(&mut d, "enableFaultInjection", &Value::Bool(false));
    sort_by_key(d.get_mut("tags"), "key");
    if let Some(Value::Array(volumes)) = d.get_mut("volumes") {
        for v in volumes.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(Value::Object(efs)) = v.get_mut("efsVolumeConfiguration") {
                remove_if(efs, "rootDirectory", &Value::from("/"));
            }
        }
    }
    if let Some(Value::Array(cs)) = d.get_mut("containerDefinitions") {
        for c in cs.iter_mut().filter_map(Value::as_object_mut) {
            remove_if(c, "cpu", &Value::from(0));
            remove_if(c, "essential", &Value::Bool(true));
            remove_if(c, "versionConsistency", &Value::from("enabled"));
            sort_by_key(c.get_mut("environment"), "name");
            sort_by_key(c.get_mut("secrets"), "name");
            if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    remove_if(p, "protocol", &Value::from("tcp"));
                    // 0 asks for a dynamic host port, as an absent hostPort does.
                    remove_if(p, "hostPort", &Value::from(0));
                    // awsvpc and host tasks bind the container port; ECS fills hostPort in.
                    if mode != "bridge" && p.get("hostPort") == p.get("containerPort") {
                        p.shift_remove("hostPort");
                    }
                }
            }
            if let Some(Value::Object(h)) = c.get_mut("healthCheck") {
                remove_if(h, "interval", &Value::from(30));
                remove_if(h, "timeout", &Value::from(5));
                remove_if(h, "retries", &Value::from(3));
            }
        }
    }
    prune_empty(Value::Object(d)).unwrap_or(Value::Null)
}

fn remove_if(m: &mut Map<String, Value>, key: &str, default: &Value) {
    if m.get(key) == Some(default) {
        m.shift_remove(key);
    }
}

fn sort_by_key(list: Option<&mut Value>, key: &str) {
    if let Some(Value::Array(items)) = list {
        items.sort_by(|a, b| {
            let k = |v: &Value| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
            k(a).cmp(&k(b))
        });
    }
}

/// Drops null, empty arrays and empty objects, recursively (an emptied container stays as `{}`
/// only inside a list, where its position matters).
fn prune_empty(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .map(|i| prune_empty(i).unwrap_or(Value::Object(Map::new())))
                .collect();
            Some(Value::Array(kept))
        }
        Value::Object(m) => {
            let kept: Map<String, Value> = m
                .into_iter()
                .filter_map(|(k, v)| prune_empty(v).map(|v| (k, v)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other),
    }
}

/// One difference: a JSON path, the old value (None: absent) and the new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| match v {
            None => "(absent)".to_owned(),
            Some(v) => {
                let s = v.to_string();
                if s.chars().count() > 160 {
                    format!("{}…", s.chars().take(160).collect::<String>())
                } else {
                    s
                }
            }
        };
        write!(
            f,
            "{}: {} → {}",
            self.path,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// The differences between two (normalised) task definitions. Lists of objects with a unique
/// `name` (containers, environment, secrets, volumes) or `key` (tags) are matched by it, so a
/// path reads `containerDefinitions[api].environment[LOG_LEVEL].value`.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_at("", old, new, &mut out);
    out
}

fn keyed(items: &[Value]) -> Option<Vec<(String, &Value)>> {
    for key in ["name", "key"] {
        let names: Option<Vec<(String, &Value)>> = items
            .iter()
            .map(|i| {
                i.get(key)
                    .and_then(Value::as_str)
                    .map(|n| (n.to_owned(), i))
            })
            .collect();
        if let Some(names) = names {
            let mut uniq: Vec<&String> = names.iter().map(|(n, _)| n).collect();
            uniq.sort();
            uniq.dedup();
            if uniq.len() == names.len() {
                return Some(names);
            }
        }
    }
    None
}

fn diff_at(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) => diff_at(&join(path, k), av, bv, out),
                    None => out.push(Change {
                        path: join(path, k),
                        old: Some(av.clone()),
                        new: None,
                    }),
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    out.push(Change {
                        path: join(path, k),
                        old: None,
                        new: Some(bv.clone()),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => match (keyed(a), keyed(b)) {
            (Some(ka), Some(kb)) => {
                for (n, av) in &ka {
                    let p = format!("{path}[{n}]");
                    match kb.iter().find(|(m, _)| m == n) {
                        Some((_, bv)) => diff_at(&p, av, bv, out),
                        None => out.push(Change {
                            path: p,
                            old: Some((*av).clone()),
                            new: None,
                        }),
                    }
                }
                for (n, bv) in &kb {
                    if !ka.iter().any(|(m, _)| m == n) {
                        out.push(Change {
                            path: format!("{path}[{n}]"),
                            old: None,
                            new: Some((*bv).clone()),
                        });
                    }
                }
            }
            _ => {
                for i in 0..a.len().max(b.len()) {
                    let p = format!("{path}[{i}]");
                    match (a.get(i), b.get(i)) {
                        (Some(x), Some(y)) => diff_at(&p, x, y, out),
                        (x, y) => out.push(Change {
                            path: p,
                            old: x.cloned(),
                            new: y.cloned(),
                        }),
                    }
                }
            }
        },
        _ => out.push(Change {
            path: path.to_owned(),
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

/// The diff of the rendered definition against a live one, normalised on both sides.
pub fn changes(live: Option<&Map<String, Value>>, rendered: &Map<String, Value>) -> Vec<String> {
    // Against nothing there is no diff to read: the whole definition is new.
    let Some(live) = live else {
        return Vec::new();
    };
    diff(&normalise(live), &normalise(rendered))
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Register or reuse: a new revision unless one is live and equal (and not forced).
pub fn should_register(live_exists: bool, changes: &[String], force: bool) -> bool {
    force || !live_exists || !changes.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn what_ecs_fills_in_compares_equal() {
        let mine = obj(json!({
            "family": "web",
            "cpu": "0.25 vCPU",
            "memory": "512",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{
                "name": "app", "image": "nginx:1.27",
                "portMappings": [{"containerPort": 80}],
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "healthCheck": {"command": ["CMD", "true"]}
            }]
        }));
        // What DescribeTaskDefinition returns for it (AWS and moto fill in defaults).
        let live = obj(json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
            "family": "web", "revision": 3, "status": "ACTIVE",
            "networkMode": "awsvpc",
            "cpu": "256", "memory": "512",
            "requiresCompatibilities": ["FARGATE"],
            "compatibilities": ["EC2", "FARGATE"],
            "volumes": [], "placementConstraints": [],
            "containerDefinitions": [{
                "name": "app", "image": "nginx:1.27", "cpu": 0, "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "mountPoints": [], "volumesFrom": [], "systemControls": [],
                "healthCheck": {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3}
            }],
            "registeredAt": "2026-11-28T10:00:00Z"
        }));
        assert_eq!(normalise(&mine), normalise(&live));
    }

    /// What AWS's describe output adds to a registered definition.
    fn as_aws_returns(def: &Map<String, Value>) -> Map<String, Value> {
        let mut d = def.clone();
        d.insert(
            "taskDefinitionArn".into(),
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:9".into(),
        );
        d.insert("revision".into(), 9.into());
        d.insert("status".into(), "ACTIVE".into());
        d.insert("compatibilities".into(), json!(["EC2", "FARGATE"]));
        d.insert("volumes".into(), json!([]));
        d.insert("placementConstraints".into(), json!([]));
        d.insert("enableFaultInjection".into(), false.into());
        for c in d["containerDefinitions"].as_array_mut().unwrap() {
            let c = c.as_object_mut().unwrap();
            c.insert("cpu".into(), 0.into());
            c.entry("essential").or_insert(true.into());
            c.insert("mountPoints".into(), json!([]));
            c.insert("volumesFrom".into(), json!([]));
            c.insert("systemControls".into(), json!([]));
            c.insert("versionConsistency".into(), "enabled".into());
            c.entry("portMappings").or_insert(json!([]));
            c.entry("environment").or_insert(json!([]));
            if let Some(Value::Array(env)) = c.get_mut("environment") {
                env.reverse();
            }
            for p in c["portMappings"].as_array_mut().unwrap() {
                p["hostPort"] = p["containerPort"].clone();
            }
            if let Some(Value::Object(h)) = c.get_mut("healthCheck") {
                h.entry("interval").or_insert(30.into());
                h.insert("timeout".into(), 5.into());
                h.insert("retries".into(), 3.into());
            }
        }
        d
    }

    #[test]
    fn a_realistic_definition_equals_what_aws_returns_for_it() {
        let mine = crate::fixtures::realistic();
        let live = as_aws_returns(&mine);
        assert_ne!(Value::Object(mine.clone()), Value::Object(live.clone()));
        assert_eq!(normalise(&mine), normalise(&live));
        assert!(diff(&normalise(&live), &normalise(&mine)).is_empty());

        let o = crate::render::Overrides {
            images: vec![(
                "worker".into(),
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-worker:new".into(),
            )],
            ..Default::default()
        };
        let rendered = crate::render::render(mine, &o).unwrap();
        let lines: Vec<String> = diff(&normalise(&live), &normalise(&rendered))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            vec![
                "containerDefinitions[worker].image: \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-worker:old\" → \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-worker:new\""
            ]
        );
    }

    #[test]
    fn bridge_host_ports_and_real_changes_differ() {
        let a = obj(json!({"family": "w", "containerDefinitions": [
            {"name": "app", "image": "x:1", "portMappings": [{"containerPort": 80}]}]}));
        let b = obj(json!({"family": "w", "containerDefinitions": [
            {"name": "app", "image": "x:1", "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}));
        assert_ne!(
            normalise(&a),
            normalise(&b),
            "in bridge mode a static host port matters"
        );
        let c = obj(json!({"family": "w", "containerDefinitions": [
            {"name": "app", "image": "x:1", "essential": false}]}));
        let d =
            obj(json!({"family": "w", "containerDefinitions": [{"name": "app", "image": "x:1"}]}));
        assert_ne!(normalise(&c), normalise(&d));
    }

    #[test]
    fn diff_reads_as_paths_keyed_by_name() {
        let old = json!({"family": "web", "containerDefinitions": [
            {"name": "api", "image": "api:1", "environment": [{"name": "LOG", "value": "info"}, {"name": "OLD", "value": "x"}]},
            {"name": "sidecar", "image": "envoy:1"}
        ]});
        let new = json!({"family": "web", "cpu": "256", "containerDefinitions": [
            {"name": "api", "image": "api:2", "environment": [{"name": "LOG", "value": "debug"}]},
            {"name": "sidecar", "image": "envoy:1"},
            {"name": "worker", "image": "w:1"}
        ]});
        let lines: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(lines.join("\n"), @r#"
        containerDefinitions[api].image: "api:1" → "api:2"
        containerDefinitions[api].environment[LOG].value: "info" → "debug"
        containerDefinitions[api].environment[OLD]: {"name":"OLD","value":"x"} → (absent)
        containerDefinitions[worker]: (absent) → {"name":"worker","image":"w:1"}
        cpu: (absent) → "256"
        "#);
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn tags_compare_by_key_whatever_their_order() {
        let with = |tags: Value| {
            obj(json!({"family": "w", "tags": tags,
                       "containerDefinitions": [{"name": "app", "image": "x:1"}]}))
        };
        let a = with(json!([{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}]));
        let b = with(json!([{"key": "env", "value": "prod"}, {"key": "team", "value": "web"}]));
        assert_eq!(normalise(&a), normalise(&b));
        let c = with(json!([{"key": "env", "value": "dev"}, {"key": "team", "value": "web"}]));
        let lines: Vec<String> = diff(&normalise(&a), &normalise(&c))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines, vec![r#"tags[env].value: "prod" → "dev""#]);
    }

    #[test]
    fn a_revision_is_registered_when_changed_new_or_forced() {
        assert!(should_register(false, &[], false), "nothing live");
        assert!(!should_register(true, &[], false), "live and equal");
        assert!(should_register(true, &["`cpu`: 256 → 512".into()], false));
        assert!(should_register(true, &[], true), "forced");
    }
}
