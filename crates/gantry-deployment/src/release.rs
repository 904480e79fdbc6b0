//! gantry's release manifest, `gantry.release/v1`: what an environment runs, written as the
//! payload of each deployment record. Its JSON Schema is docs/schemas/gantry.release.v1.json;
//! [`Release::from_json`] checks every rule of that schema (on write and on read) and names the
//! field that breaks one. A test checks that the two agree on the same documents.

use gantry_kit::arn::TaskDefinitionRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `schema` value of this version.
pub const SCHEMA: &str = "gantry.release/v1";

/// One release: the commit, the image by digest, the task definition, the services it runs on,
/// the frontend release and the stacks — and which run recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Release {
    pub schema: String,
    /// The ref the release was built from (`main`, `refs/tags/v1.2.3`).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The commit, 40 (SHA-1) or 64 (SHA-256) lower-case hex digits.
    pub sha: String,
    /// `registry/repository@sha256:<64 hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default)]
    pub services: Vec<ServiceRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteRelease>,
    #[serde(default)]
    pub stacks: Vec<StackChange>,
    /// The workflow run that recorded this deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The job (`GITHUB_JOB`) that recorded it: with `run-url`, the key a re-run finds its
    /// record by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// An ECS service the release runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRef {
    pub cluster: String,
    pub service: String,
}

/// The frontend release published by the site action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SiteRelease {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    pub release_id: String,
}

/// A CloudFormation change set applied with the release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StackChange {
    pub name: String,
    pub change_set_id: String,
}

/// Why a document is not a valid `gantry.release/v1`; `field` is its JSON path (`site.bucket`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem}")]
pub struct ReleaseError {
    pub field: String,
    pub problem: String,
}

/// What a deployment's payload is, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Release(Box<Release>),
    /// A payload of another schema (or none): left alone, never misread.
    Other,
    /// Claims `gantry.release/v1` but breaks it.
    Invalid(ReleaseError),
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> ReleaseError {
    ReleaseError {
        field: field.into(),
        problem: problem.into(),
    }
}

impl Release {
    /// Parses and validates a release document.
    pub fn from_json(v: &Value) -> Result<Self, ReleaseError> {
        let obj = v
            .as_object()
            .ok_or_else(|| err("(document)", "must be a JSON object"))?;
        match obj.get("schema") {
            Some(Value::String(s)) if s == SCHEMA => {}
            Some(Value::String(s)) => {
                return Err(err("schema", format!("`{s}` is not `{SCHEMA}`")));
            }
            Some(_) => return Err(err("schema", format!("must be the string `{SCHEMA}`"))),
            None => return Err(err("schema", format!("missing; must be `{SCHEMA}`"))),
        }
        shape_check(obj)?;
        let r: Release =
            serde_json::from_value(v.clone()).map_err(|e| err("(document)", e.to_string()))?;
        r.check()?;
        Ok(r)
    }

    /// Reads a deployment payload (REST gives an object, GraphQL a JSON string).
    pub fn read_payload(payload: &Value) -> Payload {
        let doc = match payload {
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(v) => v,
                Err(_) => return Payload::Other,
            },
            other => other.clone(),
        };
        if doc.get("schema").and_then(Value::as_str) != Some(SCHEMA) {
            return Payload::Other;
        }
        match Self::from_json(&doc) {
            Ok(r) => Payload::Release(Box::new(r)),
            Err(e) => Payload::Invalid(e),
        }
    }

    /// The JSON document (one line when printed with `to_string`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// What makes two records the same release, whoever recorded them: commit, image, task
    /// definition and frontend release.
    pub fn identity(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.sha,
            self.image.as_deref().unwrap_or(""),
            self.task_definition_arn.as_deref().unwrap_or(""),
            self.site.as_ref().map_or("", |s| s.release_id.as_str()),
        )
    }

    /// The first 7 characters of the commit, as GitHub shows it.
    pub fn short_sha(&self) -> &str {
        self.sha.get(..7).unwrap_or(&self.sha)
    }

    fn check(&self) -> Result<(), ReleaseError> {
        non_empty("ref", &self.git_ref, 255)?;
        if !is_sha(&self.sha) {
            return Err(err(
                "sha",
                format!(
                    "`{}` is not a commit id (40 or 64 lower-case hex digits)",
                    self.sha
                ),
            ));
        }
        if let Some(i) = &self.image {
            check_image(i)?;
        }
        if let Some(a) = &self.task_definition_arn {
            check_task_definition_arn(a)?;
        }
        for (n, s) in self.services.iter().enumerate() {
            non_empty(&format!("services[{n}].cluster"), &s.cluster, 2048)?;
            non_empty(&format!("services[{n}].service"), &s.service, 2048)?;
        }
        if let Some(s) = &self.site {
            non_empty("site.bucket", &s.bucket, 63)?;
            no_control("site.prefix", &s.prefix)?;
            non_empty("site.release-id", &s.release_id, 128)?;
        }
        for (n, s) in self.stacks.iter().enumerate() {
            non_empty(&format!("stacks[{n}].name"), &s.name, 128)?;
            non_empty(
                &format!("stacks[{n}].change-set-id"),
                &s.change_set_id,
                2048,
            )?;
        }
        if let Some(u) = &self.run_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(err("run-url", format!("`{u}` is not an http(s) URL")));
        }
        if let Some(a) = &self.actor {
            non_empty("actor", a, 255)?;
        }
        if let Some(j) = &self.job {
            non_empty("job", j, 255)?;
        }
        Ok(())
    }
}

/// The JSON types and unknown keys, checked before serde so the message names the field.
fn shape_check(obj: &serde_json::Map<String, Value>) -> Result<(), ReleaseError> {
    const STRINGS: [&str; 8] = [
        "schema",
        "ref",
        "sha",
        "image",
        "task-definition-arn",
        "run-url",
        "actor",
        "job",
    ];
    for (k, v) in obj {
        let ok = match k.as_str() {
            k if STRINGS.contains(&k) => v.is_string(),
            "services" | "stacks" => v.is_array(),
            "site" => v.is_object(),
            _ => {
                return Err(err(
                    k.as_str(),
                    format!("is not a field of {SCHEMA} (see docs/schemas/gantry.release.v1.json)"),
                ));
            }
        };
        if !ok {
            let want = match k.as_str() {
                "services" | "stacks" => "an array",
                "site" => "an object",
                _ => "a string",
            };
            return Err(err(k.as_str(), format!("must be {want}")));
        }
    }
    for key in ["ref", "sha"] {
        if !obj.contains_key(key) {
            return Err(err(key, "missing (required)"));
        }
    }
    let objects = |key: &str, fields: &[&str], required: &[&str]| -> Result<(), ReleaseError> {
        let items: Vec<(String, &Value)> = match obj.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(n, v)| (format!("{key}[{n}]"), v))
                .collect(),
            Some(v @ Value::Object(_)) => vec![(key.to_owned(), v)],
            _ => Vec::new(),
        };
        for (path, item) in items {
            let o = item
                .as_object()
                .ok_or_else(|| err(path.as_str(), "must be an object"))?;
            for (k, v) in o {
                if !fields.contains(&k.as_str()) {
                    return Err(err(
                        format!("{path}.{k}"),
                        format!("is not a field (accepted: {})", fields.join(", ")),
                    ));
                }
                if !v.is_string() {
                    return Err(err(format!("{path}.{k}"), "must be a string"));
                }
            }
            for r in required {
                if !o.contains_key(*r) {
                    return Err(err(format!("{path}.{r}"), "missing (required)"));
                }
            }
        }
        Ok(())
    };
    objects("services", &["cluster", "service"], &["cluster", "service"])?;
    objects(
        "site",
        &["bucket", "prefix", "release-id"],
        &["bucket", "release-id"],
    )?;
    objects(
        "stacks",
        &["name", "change-set-id"],
        &["name", "change-set-id"],
    )?;
    Ok(())
}

fn non_empty(field: &str, v: &str, max: usize) -> Result<(), ReleaseError> {
    if v.trim().is_empty() {
        return Err(err(field, "is empty"));
    }
    if v.chars().count() > max {
        return Err(err(field, format!("is longer than {max} characters")));
    }
    no_control(field, v)
}

fn no_control(field: &str, v: &str) -> Result<(), ReleaseError> {
    if v.chars().any(char::is_control) {
        return Err(err(field, "contains a control character"));
    }
    Ok(())
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A full commit id: 40 (SHA-1) or 64 (SHA-256) lower-case hex digits.
pub fn is_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && is_hex(s)
}

fn check_image(i: &str) -> Result<(), ReleaseError> {
    let bad = || {
        err(
            "image",
            format!("`{i}` is not `repository@sha256:<64 hex digits>` (an image by digest)"),
        )
    };
    let (repo, digest) = i.split_once("@sha256:").ok_or_else(bad)?;
    let repo_ok = !repo.is_empty()
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c))
        && !repo.starts_with('/');
    if !repo_ok || digest.len() != 64 || !is_hex(digest) {
        return Err(bad());
    }
    Ok(())
}

/// A full task definition ARN, in the kit's one grammar (`gantry_kit::arn::TaskDefinitionRef`,
/// what the task-definition action emits): `family:revision` alone is not enough here.
fn check_task_definition_arn(a: &str) -> Result<(), ReleaseError> {
    match a.parse::<TaskDefinitionRef>() {
        Ok(_) if a.starts_with("arn:") && a.trim() == a => Ok(()),
        _ => Err(err(
            "task-definition-arn",
            format!(
                "`{a}` is not a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn full() -> Value {
        json!({
            "schema": "gantry.release/v1",
            "ref": "main",
            "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "task-definition-arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:7",
            "services": [{"cluster": "prod", "service": "web"}],
            "site": {"bucket": "app-site", "prefix": "", "release-id": "r-1f2e"},
            "stacks": [{"name": "app-prod", "change-set-id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/c1/1"}],
            "run-url": "https://github.com/o/r/actions/runs/1",
            "actor": "octocat",
            "job": "deploy"
        })
    }

    fn field_of(v: Value) -> String {
        Release::from_json(&v).unwrap_err().field
    }

    #[test]
    fn a_full_release_round_trips() {
        let r = Release::from_json(&full()).unwrap();
        assert_eq!(r.to_value(), full());
        assert_eq!(r.short_sha(), "a84d88e");
        let min = json!({"schema": SCHEMA, "ref": "v1", "sha": "a".repeat(64)});
        let m = Release::from_json(&min).unwrap();
        assert!(m.services.is_empty() && m.site.is_none());
        assert_eq!(m.identity(), format!("{}|||", "a".repeat(64)));
    }

    #[test]
    fn every_broken_rule_names_its_field() {
        let with = |k: &str, v: Value| {
            let mut d = full();
            d[k] = v;
            d
        };
        assert_eq!(
            field_of(with("schema", json!("gantry.release/v2"))),
            "schema"
        );
        assert_eq!(field_of(with("sha", json!("A84D88E7"))), "sha");
        assert_eq!(field_of(with("ref", json!(" "))), "ref");
        assert_eq!(field_of(with("ref", json!(1))), "ref");
        assert_eq!(field_of(with("image", json!("app:latest"))), "image");
        assert_eq!(field_of(with("image", json!("app@sha256:abc"))), "image");
        assert_eq!(
            field_of(with(
                "task-definition-arn",
                json!("arn:aws:ecs:us-east-1:1:task-definition/app:7")
            )),
            "task-definition-arn"
        );
        assert_eq!(
            field_of(with("task-definition-arn", json!("app:7"))),
            "task-definition-arn"
        );
        assert_eq!(
            field_of(with("services", json!([{"cluster": "c"}]))),
            "services[0].service"
        );
        assert_eq!(
            field_of(with(
                "services",
                json!([{"cluster": "c", "service": "s", "x": "y"}])
            )),
            "services[0].x"
        );
        assert_eq!(
            field_of(with("site", json!({"bucket": "b"}))),
            "site.release-id"
        );
        assert_eq!(
            field_of(with("site", json!({"bucket": "", "release-id": "r"}))),
            "site.bucket"
        );
        assert_eq!(field_of(with("stacks", json!({}))), "stacks");
        assert_eq!(field_of(with("run-url", json!("ftp://x"))), "run-url");
        assert_eq!(field_of(with("colour", json!("blue"))), "colour");
        let mut d = full();
        d.as_object_mut().unwrap().remove("sha");
        assert_eq!(field_of(d), "sha");
        assert_eq!(field_of(json!([1])), "(document)");
    }

    #[test]
    fn payloads_of_other_schemas_are_left_alone() {
        assert_eq!(
            Release::read_payload(&json!({"deploy": "migrate"})),
            Payload::Other
        );
        assert_eq!(Release::read_payload(&json!("")), Payload::Other);
        assert_eq!(Release::read_payload(&json!("not json")), Payload::Other);
        assert_eq!(
            Release::read_payload(&json!({"schema": "gantry.release/v2", "x": 1})),
            Payload::Other
        );
        let as_string = Value::String(full().to_string());
        assert!(matches!(
            Release::read_payload(&as_string),
            Payload::Release(_)
        ));
        let mut broken = full();
        broken["image"] = json!("latest");
        assert!(matches!(
            Release::read_payload(&broken),
            Payload::Invalid(ReleaseError { field, .. }) if field == "image"
        ));
    }
}
