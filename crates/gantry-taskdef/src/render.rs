//! Rendering (images, environment, secrets, env files, task-level overrides) and the semantic
//! checks the model alone cannot express. Pure: data in, data out.

use crate::model::{self, REGISTER};
use serde_json::{Map, Value, json};

/// What `--image`, `--env-var`, `--secret`, `--env-file`, … ask to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Overrides {
    /// (container, image)
    pub(crate) images: Vec<(String, String)>,
    /// (container, key, value) from `--env-file`, in file order; applied before `env`.
    pub(crate) env_files: Vec<(String, String, String)>,
    /// (container, key, value) from `--env-var`.
    pub(crate) env: Vec<(String, String, String)>,
    /// (container, key, ARN)
    pub(crate) secrets: Vec<(String, String, String)>,
    pub(crate) family: Option<String>,
    pub(crate) cpu: Option<String>,
    pub(crate) memory: Option<String>,
    pub(crate) task_role_arn: Option<String>,
    pub(crate) execution_role_arn: Option<String>,
    /// (key, value)
    pub(crate) tags: Vec<(String, String)>,
}

/// A problem in the task definition or the overrides (an input error, exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The input it concerns: `task-definition`, `images`, `env-vars`, …
    pub(crate) input: &'static str,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl Invalid {
    fn new(input: &'static str, message: impl Into<String>) -> Self {
        Self {
            input,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A warning that does not stop the run.
pub(crate) type Warning = String;

/// Container names in order.
pub(crate) fn container_names(def: &Map<String, Value>) -> Vec<String> {
    def.get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn container_mut<'a>(
    def: &'a mut Map<String, Value>,
    name: &str,
    input: &'static str,
) -> Result<&'a mut Map<String, Value>, Invalid> {
    let names = container_names(def);
    def.get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .and_then(|cs| {
            cs.iter_mut()
                .filter_map(Value::as_object_mut)
                .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        })
        .ok_or_else(|| {
            Invalid::new(
                input,
                format!("no container named `{name}` in the task definition"),
            )
            .hint(format!("containers there: {}", quoted(&names)))
        })
}

/// Sets `key` in the `list` (`environment` or `secrets`) of objects with a `name`: replaced in
/// place when present, appended otherwise, so the order of the file is kept.
fn merge_named(c: &mut Map<String, Value>, list: &str, value_key: &str, key: &str, value: &str) {
    let entry = json!({"name": key, value_key: value});
    let items = c
        .entry(list.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !items.is_array() {
        *items = Value::Array(Vec::new());
    }
    if let Some(items) = items.as_array_mut() {
        match items
            .iter_mut()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(key))
        {
            Some(slot) => *slot = entry,
            None => items.push(entry),
        }
    }
}

/// Applies the overrides. Errors name the input and the containers that exist.
pub(crate) fn render(
    mut def: Map<String, Value>,
    o: &Overrides,
) -> Result<Map<String, Value>, Invalid> {
    for (name, image) in &o.images {
        container_mut(&mut def, name, "images")?.insert("image".into(), image.clone().into());
    }
    let env = o.env_files.iter().map(|e| ("env-files", e));
    let env = env.chain(o.env.iter().map(|e| ("env-vars", e)));
    for (input, (name, k, v)) in env {
        merge_named(
            container_mut(&mut def, name, input)?,
            "environment",
            "value",
            k,
            v,
        );
    }
    for (name, k, arn) in &o.secrets {
        // A secret named like a plain variable replaces it: ECS refuses a name in both lists.
        let c = container_mut(&mut def, name, "secrets")?;
        if let Some(env) = c.get_mut("environment").and_then(Value::as_array_mut) {
            env.retain(|e| e.get("name").and_then(Value::as_str) != Some(k));
        }
        merge_named(c, "secrets", "valueFrom", k, arn);
    }
    let set = |def: &mut Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            def.insert(k.into(), Value::String(v.clone()));
        }
    };
    set(&mut def, "family", &o.family);
    set(&mut def, "cpu", &o.cpu);
    set(&mut def, "memory", &o.memory);
    set(&mut def, "taskRoleArn", &o.task_role_arn);
    set(&mut def, "executionRoleArn", &o.execution_role_arn);
    for (k, v) in &o.tags {
        let tags = def
            .entry("tags".to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(tags) = tags.as_array_mut() {
            let entry = json!({"key": k, "value": v});
            match tags
                .iter_mut()
                .find(|t| t.get("key").and_then(Value::as_str) == Some(k))
            {
                Some(slot) => *slot = entry,
                None => tags.push(entry),
            }
        }
    }
    Ok(def)
}

/// Fargate's valid task sizes: (cpu units, memory MiB choices).
pub(crate) fn fargate_pairs() -> Vec<(u32, Vec<u32>)> {
    let range = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect();
    vec![
        (256, vec![512, 1024, 2048]),
        (512, range(1024, 4096, 1024)),
        (1024, range(2048, 8192, 1024)),
        (2048, range(4096, 16384, 1024)),
        (4096, range(8192, 30720, 1024)),
        (8192, range(16384, 61440, 4096)),
        (16384, range(32768, 122880, 8192)),
    ]
}

/// The pairs as a message: `256: 512, 1024, 2048; 512: 1024–4096 (step 1024); …`.
pub(crate) fn fargate_pairs_text() -> String {
    fargate_pairs()
        .iter()
        .map(|(cpu, mem)| {
            if mem.len() <= 3 {
                let m: Vec<String> = mem.iter().map(ToString::to_string).collect();
                format!("cpu {cpu}: memory {}", m.join(", "))
            } else {
                let step = mem[1] - mem[0];
                format!(
                    "cpu {cpu}: memory {}–{} in steps of {step}",
                    mem[0],
                    mem[mem.len() - 1]
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Task-level cpu as units: `256`, `0.25 vCPU`, `1vcpu`.
pub(crate) fn cpu_units(s: &str) -> Option<u32> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("vcpu") {
        let f: f64 = v.trim().parse().ok()?;
        return Some((f * 1024.0).round() as u32);
    }
    t.parse().ok()
}

/// Task-level memory in MiB: `512`, `2 GB`, `2gb`.
pub(crate) fn memory_mib(s: &str) -> Option<u32> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("gb") {
        let f: f64 = v.trim().parse().ok()?;
        return Some((f * 1024.0).round() as u32);
    }
    if let Some(v) = t.strip_suffix("mb") {
        return v.trim().parse().ok();
    }
    t.parse().ok()
}

/// Checks the model cannot express. Returns warnings; the first error stops.
pub(crate) fn check(def: &Map<String, Value>) -> Result<Vec<Warning>, Invalid> {
    let m = model::model();
    let problems = model::check(m, REGISTER, &Value::Object(def.clone()));
    if let Some(p) = problems.first() {
        return Err(Invalid::new("task-definition", p.to_string()));
    }
    let family = def.get("family").and_then(Value::as_str).unwrap_or("");
    if let Some(why) = family_problem(family) {
        return Err(Invalid::new("family", why).hint(FAMILY_RULE));
    }
    for (key, problem) in [
        ("cpu", task_cpu_problem as fn(&str) -> Option<String>),
        ("memory", task_memory_problem),
        ("taskRoleArn", role_arn_problem),
        ("executionRoleArn", role_arn_problem),
    ] {
        if let Some(why) = def.get(key).and_then(Value::as_str).and_then(problem) {
            return Err(
                Invalid::new("task-definition", format!("`{key}`: {why}")).hint(match key {
                    "cpu" => TASK_CPU_RULE,
                    "memory" => TASK_MEMORY_RULE,
                    _ => ROLE_ARN_RULE,
                }),
            );
        }
    }
    for (i, t) in def
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = t.get("key").and_then(Value::as_str).unwrap_or("");
        if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
            return Err(Invalid::new(
                "task-definition",
                format!("`tags[{i}].key`: `{key}` starts with `aws:`, which AWS reserves for its own tags"),
            )
            .hint("choose a key without the `aws:` prefix (in any case)"));
        }
    }
    let containers: Vec<&Map<String, Value>> = def
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    if containers.is_empty() {
        return Err(
            Invalid::new("task-definition", "`containerDefinitions` is empty").hint(
                "a task definition needs at least one container with a `name` and an `image`",
            ),
        );
    }
    if let Some(i) = containers.iter().position(|c| {
        c.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    }) {
        return Err(Invalid::new(
            "task-definition",
            format!("`containerDefinitions[{i}]` has no `name`"),
        )
        .hint("give each container a `name` (letters, digits, `-` and `_`)"));
    }
    let names = container_names(def);
    let mut seen = Vec::new();
    for n in &names {
        if seen.contains(&n) {
            return Err(Invalid::new(
                "task-definition",
                format!("container name `{n}` is used more than once"),
            )
            .hint("give each container in `containerDefinitions` its own name"));
        }
        seen.push(n);
    }
    let mut warnings = Vec::new();
    let task_memory = def
        .get("memory")
        .and_then(Value::as_str)
        .and_then(memory_mib);
    let mut reserved = 0i64;
    for (i, c) in containers.iter().enumerate() {
        let cname = c.get("name").and_then(Value::as_str).unwrap_or("?");
        reserved += check_container_memory(c, i, cname, task_memory)?;
        if !c.contains_key("image") {
            return Err(Invalid::new(
                "task-definition",
                format!("`containerDefinitions[{i}]` (`{cname}`) has no `image`"),
            )
            .hint("set `image` in the file or pass `--image NAME=URI`"));
        }
        for (j, d) in c
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let target = d.get("containerName").and_then(Value::as_str).unwrap_or("");
            let path = format!("containerDefinitions[{i}].dependsOn[{j}]");
            let Some(t) = containers
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(target))
            else {
                return Err(Invalid::new(
                    "task-definition",
                    format!(
                        "`{path}`: `{cname}` depends on `{target}`, which is not a container here"
                    ),
                )
                .hint(format!("containers there: {}", quoted(&names))));
            };
            if target == cname {
                return Err(Invalid::new(
                    "task-definition",
                    format!("`{path}`: `{cname}` depends on itself"),
                ));
            }
            let condition = d.get("condition").and_then(Value::as_str).unwrap_or("");
            if condition == "HEALTHY" && !t.contains_key("healthCheck") {
                return Err(Invalid::new(
                    "task-definition",
                    format!(
                        "`{path}`: `{cname}` waits for `{target}` to be HEALTHY, but `{target}` has no `healthCheck`"
                    ),
                )
                .hint(format!(
                    "add a `healthCheck` to `{target}`, or use condition START, COMPLETE or SUCCESS"
                )));
            }
        }
        for e in c
            .get("environment")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let value = e.get("value").and_then(Value::as_str).unwrap_or("");
            if looks_like_secret_arn(value) {
                let key = e.get("name").and_then(Value::as_str).unwrap_or("?");
                warnings.push(format!(
                    "container `{cname}`: environment `{key}` is an ARN ({value}); the task sees the ARN, \
                     not the secret — move it to `secrets` (`valueFrom`) to inject its value"
                ));
            }
        }
    }
    if let Some(task) = task_memory.filter(|t| reserved > i64::from(*t)) {
        return Err(Invalid::new(
            "task-definition",
            format!(
                "the containers reserve {reserved} MiB (memoryReservation, else memory), more than the task's memory `{task}` MiB"
            ),
        )
        .hint("lower the containers' memory or memoryReservation, or raise the task's memory"));
    }
    let fargate = def
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|c| c == "FARGATE"));
    if fargate {
        let cpu = def.get("cpu").and_then(Value::as_str);
        let memory = def.get("memory").and_then(Value::as_str);
        let pair = cpu.and_then(cpu_units).zip(memory.and_then(memory_mib));
        let valid = pair.is_some_and(|(c, mm)| {
            fargate_pairs()
                .iter()
                .any(|(pc, mems)| *pc == c && mems.contains(&mm))
        });
        if !valid {
            return Err(Invalid::new(
                "task-definition",
                format!(
                    "cpu `{}` with memory `{}` is not a size Fargate runs (requiresCompatibilities: FARGATE)",
                    cpu.unwrap_or("(unset)"),
                    memory.unwrap_or("(unset)")
                ),
            )
            .hint(format!("valid pairs: {}", fargate_pairs_text())));
        }
    }
    Ok(warnings)
}

/// What a task definition family may be.
pub(crate) const FAMILY_RULE: &str = "use 1–255 letters, digits, `-` and `_`, e.g. `web-api`";
const TASK_CPU_RULE: &str =
    "task cpu is CPU units from 128 to 196608 (`256`, `1024`) or vCPUs (`1 vCPU`, `0.25 vcpu`)";
const TASK_MEMORY_RULE: &str =
    "task memory is a whole number of MiB (`512`, `2048`) or GB (`2 GB`, `0.5GB`), more than 0";
const ROLE_ARN_RULE: &str =
    "give the role's full ARN, e.g. `arn:aws:iam::123456789012:role/web-task`";
/// Docker 20.10 and later reserve 6 MiB for a container, so AWS documents it as the least a
/// container's `memory` or `memoryReservation` may be.
const MIN_CONTAINER_MIB: i64 = 6;

/// Why `family` is not one ECS registers (its length, then its characters), or None.
pub(crate) fn family_problem(family: &str) -> Option<String> {
    let n = family.chars().count();
    if n == 0 {
        return Some("family is empty".into());
    }
    if n > 255 {
        return Some(format!(
            "family is {n} characters long; ECS allows at most 255"
        ));
    }
    let bad: String = family
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        .take(5)
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "family `{family}` has characters ECS does not allow ({})",
            bad.chars()
                .map(|c| format!("`{}`", c.escape_default()))
                .collect::<Vec<_>>()
                .join(" ")
        )
    })
}

/// Why a task-level `cpu` is not CPU units or vCPUs in ECS's range, or None.
pub(crate) fn task_cpu_problem(cpu: &str) -> Option<String> {
    match cpu_units(cpu) {
        None => Some(format!("`{cpu}` is not CPU units or vCPUs")),
        Some(u) if !(128..=196_608).contains(&u) => {
            Some(format!("`{cpu}` is {u} CPU units; ECS takes 128 to 196608"))
        }
        Some(_) => None,
    }
}

/// Why a task-level `memory` is not a positive amount of MiB or GB, or None.
pub(crate) fn task_memory_problem(memory: &str) -> Option<String> {
    match memory_mib(memory) {
        None => Some(format!("`{memory}` is not an amount of MiB or GB")),
        Some(0) => Some(format!("`{memory}` is no memory at all")),
        Some(_) => None,
    }
}

/// Why `arn` is not an IAM role's full ARN (`arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`),
/// or None. ECS takes a role's short name for `taskRoleArn` too; gantry asks for the full ARN
/// so the account is explicit and a typo is caught here rather than at register time.
pub(crate) fn role_arn_problem(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|rest| {
            let name = rest.rsplit('/').next().unwrap_or("");
            !name.is_empty()
                && name.len() <= 64
                && rest.len() <= 576
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        });
    (!ok).then(|| format!("`{arn}` is not an IAM role ARN"))
}

/// A container's `memory` and `memoryReservation` (at least 6 MiB, the hard limit above the
/// soft one and within the task's memory); returns what it reserves.
fn check_container_memory(
    c: &Map<String, Value>,
    i: usize,
    cname: &str,
    task_memory: Option<u32>,
) -> Result<i64, Invalid> {
    let get = |k: &str| c.get(k).and_then(Value::as_i64);
    let (memory, reservation) = (get("memory"), get("memoryReservation"));
    for (key, v) in [("memory", memory), ("memoryReservation", reservation)] {
        if let Some(v) = v.filter(|v| *v < MIN_CONTAINER_MIB) {
            return Err(Invalid::new(
                "task-definition",
                format!("`containerDefinitions[{i}].{key}` (`{cname}`): {v} MiB is less than the {MIN_CONTAINER_MIB} MiB a container needs"),
            )
            .hint("give at least 6 MiB (Docker reserves 6 MiB per container), or leave it out on Fargate"));
        }
    }
    if let (Some(m), Some(r)) = (memory, reservation)
        && m <= r
    {
        return Err(Invalid::new(
            "task-definition",
            format!("`containerDefinitions[{i}]` (`{cname}`): memory {m} MiB is not above memoryReservation {r} MiB"),
        )
        .hint("the hard limit `memory` must be greater than the soft limit `memoryReservation`"));
    }
    if let (Some(m), Some(t)) = (memory, task_memory)
        && m > i64::from(t)
    {
        return Err(Invalid::new(
            "task-definition",
            format!("`containerDefinitions[{i}].memory` (`{cname}`): {m} MiB is more than the task's memory `{t}` MiB"),
        )
        .hint("lower the container's memory or raise the task's"));
    }
    Ok(reservation.or(memory).unwrap_or(0))
}

fn looks_like_secret_arn(v: &str) -> bool {
    let v = v.trim();
    v.starts_with("arn:")
        && (v.contains(":secretsmanager:") || v.contains(":ssm:") && v.contains(":parameter/"))
}

/// Checks an image reference (`[registry[:port]/]repo[/…][:tag][@sha256:<64 hex>]`).
pub(crate) fn check_image_reference(r: &str) -> Result<(), String> {
    if r.is_empty() || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("empty or contains whitespace".into());
    }
    let (rest, digest) = match r.split_once('@') {
        Some((rest, d)) => (rest, Some(d)),
        None => (r, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return Err(format!("digest `{d}` is not `sha256:<hex>`"));
        };
        let ok = match algo {
            "sha256" => hex.len() == 64,
            "sha512" => hex.len() == 128,
            _ => false,
        };
        if !ok
            || !hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Err(format!(
                "digest `{d}` is not `sha256:` and 64 lower-case hex digits"
            ));
        }
    }
    let mut parts: Vec<&str> = rest.split('/').collect();
    let last = parts.pop().unwrap_or("");
    let (repo_last, tag) = match last.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (last, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err(format!(
                "tag `{t}` is not valid (letters, digits, `_`, `.`, `-`; at most 128)"
            ));
        }
    }
    let domain = match parts.first() {
        Some(first) if first.contains('.') || first.contains(':') || *first == "localhost" => {
            Some(parts.remove(0))
        }
        _ => None,
    };
    if let Some(d) = domain {
        let (host, port) = d.split_once(':').map_or((d, None), |(h, p)| (h, Some(p)));
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            || port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "registry `{d}` is not a host name with an optional port"
            ));
        }
    }
    parts.push(repo_last);
    for component in parts {
        let ok = !component.is_empty()
            && component
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && component
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && component
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "repository part `{component}` is not lower-case letters, digits and `._-`"
            ));
        }
    }
    Ok(())
}

/// A rendered, validated task definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    pub(crate) def: Map<String, Value>,
    pub(crate) warnings: Vec<Warning>,
    /// Describe-only keys dropped on loading.
    pub(crate) dropped: Vec<String>,
}

impl Rendered {
    pub(crate) fn family(&self) -> &str {
        self.def.get("family").and_then(Value::as_str).unwrap_or("")
    }
}

/// Renders a loaded task definition with the overrides and checks the result.
pub(crate) fn prepare(loaded: crate::load::Loaded, o: &Overrides) -> Result<Rendered, Invalid> {
    let def = render(loaded.def, o)?;
    let warnings = check(&def)?;
    Ok(Rendered {
        def,
        warnings,
        dropped: loaded.dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::realistic;

    #[test]
    fn realistic_definition_passes() {
        assert_eq!(check(&realistic()).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn render_sets_images_merges_env_and_secrets_keeping_order() {
        let o = Overrides {
            images: vec![
                (
                    "api".into(),
                    "reg.example.com/shop-api@sha256:".to_owned() + &"a".repeat(64),
                ),
                ("worker".into(), "reg.example.com/shop-worker:2".into()),
            ],
            env: vec![
                ("api".into(), "PORT".into(), "9090".into()),
                ("api".into(), "FEATURE".into(), "on".into()),
            ],
            secrets: vec![(
                "api".into(),
                "LOG_LEVEL".into(),
                "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/log-level".into(),
            )],
            family: Some("shop-api-staging".into()),
            tags: vec![("env".into(), "staging".into())],
            ..Overrides::default()
        };
        let r = render(realistic(), &o).unwrap();
        let api = &r["containerDefinitions"][0];
        assert!(
            api["image"].as_str().unwrap().ends_with(&"a".repeat(64)),
            "digest kept as given"
        );
        assert_eq!(
            r["containerDefinitions"][1]["image"],
            "reg.example.com/shop-worker:2"
        );
        assert_eq!(
            api["environment"],
            json!([{"name": "PORT", "value": "9090"}, {"name": "FEATURE", "value": "on"}]),
            "PORT replaced in place, FEATURE appended, LOG_LEVEL moved to secrets"
        );
        assert_eq!(api["secrets"].as_array().unwrap().len(), 3);
        assert_eq!(api["secrets"][2]["name"], "LOG_LEVEL");
        assert_eq!(r["family"], "shop-api-staging");
        assert_eq!(r["tags"], json!([{"key": "env", "value": "staging"}]));
        check(&r).unwrap();
    }

    #[test]
    fn render_sets_task_size_roles_and_replaces_tags_by_key() {
        let mut d = realistic();
        d.insert(
            "tags".into(),
            json!([{"key": "team", "value": "shop"}, {"key": "env", "value": "dev"}]),
        );
        let o = Overrides {
            cpu: Some("2 vCPU".into()),
            memory: Some("4096".into()),
            task_role_arn: Some("arn:aws:iam::123456789012:role/shop-task".into()),
            execution_role_arn: Some("arn:aws:iam::123456789012:role/shop-exec-2".into()),
            tags: vec![("env".into(), "prod".into()), ("tier".into(), "web".into())],
            ..Overrides::default()
        };
        let r = render(d, &o).unwrap();
        assert_eq!(
            (&r["cpu"], &r["memory"]),
            (&json!("2 vCPU"), &json!("4096"))
        );
        assert_eq!(r["taskRoleArn"], "arn:aws:iam::123456789012:role/shop-task");
        assert_eq!(
            r["executionRoleArn"],
            "arn:aws:iam::123456789012:role/shop-exec-2"
        );
        assert_eq!(
            r["tags"],
            json!([{"key": "team", "value": "shop"}, {"key": "env", "value": "prod"}, {"key": "tier", "value": "web"}])
        );
        check(&r).unwrap();
        // An override that makes the task a size Fargate does not run is refused like the file.
        let o = Overrides {
            memory: Some("512".into()),
            ..Overrides::default()
        };
        let e = check(&render(realistic(), &o).unwrap()).unwrap_err();
        assert!(e.message.contains("cpu `1024` with memory `512`"), "{e:?}");
    }

    #[test]
    fn unknown_container_lists_the_names() {
        let o = Overrides {
            images: vec![("web".into(), "nginx".into())],
            ..Overrides::default()
        };
        let e = render(realistic(), &o).unwrap_err();
        assert_eq!(e.input, "images");
        assert_eq!(e.message, "no container named `web` in the task definition");
        assert_eq!(
            e.hint.unwrap(),
            "containers there: `api`, `worker`, `log_router`"
        );
    }

    #[test]
    fn semantic_errors() {
        let mut d = realistic();
        d["containerDefinitions"][0]["dependsOn"][0]["containerName"] = "router".into();
        let e = check(&d).unwrap_err();
        assert!(
            e.message
                .contains("depends on `router`, which is not a container"),
            "{e:?}"
        );

        let mut d = realistic();
        d["containerDefinitions"][0]
            .as_object_mut()
            .unwrap()
            .shift_remove("healthCheck");
        let e = check(&d).unwrap_err();
        assert!(
            e.message
                .contains("HEALTHY, but `api` has no `healthCheck`"),
            "{e:?}"
        );

        let mut d = realistic();
        d["containerDefinitions"][1]["name"] = "api".into();
        assert!(
            check(&d)
                .unwrap_err()
                .message
                .contains("`api` is used more than once")
        );

        let mut d = realistic();
        d["containerDefinitions"][2]
            .as_object_mut()
            .unwrap()
            .shift_remove("name");
        assert_eq!(
            check(&d).unwrap_err().message,
            "`containerDefinitions[2]` has no `name`"
        );

        let mut d = realistic();
        d["family"] = "shop.api".into();
        assert_eq!(check(&d).unwrap_err().input, "family");

        let mut d = realistic();
        d["memory"] = "1024".into();
        let e = check(&d).unwrap_err();
        assert!(e.message.contains("cpu `1024` with memory `1024`"), "{e:?}");
        assert!(e.hint.unwrap().contains(
            "cpu 256: memory 512, 1024, 2048; cpu 512: memory 1024–4096 in steps of 1024"
        ));

        let mut d = realistic();
        d["cpu"] = "1 vCPU".into();
        d["memory"] = "2 GB".into();
        check(&d).unwrap();
    }

    #[test]
    fn arn_in_environment_warns() {
        let mut d = realistic();
        d["containerDefinitions"][0]["environment"][0]["value"] =
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x".into();
        let w = check(&d).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("environment `LOG_LEVEL` is an ARN"), "{w:?}");
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx",
            "nginx:1.27-alpine",
            "library/nginx",
            "public.ecr.aws/nginx/nginx:stable",
            "127.0.0.1:5000/demo/app:1",
            "localhost/app",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "ghcr.io/acme/app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image_reference(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:latest latest",
            "nginx@sha256:abc",
            "reg.example.com:port/app",
            "app//x",
            "app:-x",
        ] {
            assert!(check_image_reference(bad).is_err(), "{bad}");
        }
    }
}
