//! The vars/secrets files: what GitHub keeps in the repository's settings — variables, secrets
//! and per-environment ones — as one YAML (or JSON) file (docs/act.md, "Vars and secrets files").
//!
//! ```yaml
//! vars:
//!   AWS_REGION: eu-west-1
//! secrets:
//!   DEPLOY_TOKEN: s3cr3t
//! environments:
//!   prod:
//!     vars: {SITE_URL: https://example.com}
//!     secrets: {DEPLOY_TOKEN: other}
//! ```

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::action::Scalar;
use crate::error::ActError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    vars: IndexMap<String, Scalar>,
    #[serde(default)]
    secrets: IndexMap<String, Scalar>,
    #[serde(default)]
    environments: IndexMap<String, Option<RawScope>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    vars: IndexMap<String, Scalar>,
    #[serde(default)]
    secrets: IndexMap<String, Scalar>,
}

/// Variables and secrets at one level (the repository, or one environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub vars: IndexMap<String, String>,
    pub secrets: IndexMap<String, String>,
}

/// Everything the files give, merged (later files win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub repository: Scope,
    /// Environment names as written in the files.
    pub environments: IndexMap<String, Scope>,
}

/// GitHub's rule for secret and variable names: letters, digits and `_`, not starting with a
/// digit, not starting with `GITHUB_`. Names are case-insensitive; they are kept upper-case.
fn check_name(kind: &str, name: &str) -> Result<String, String> {
    let upper = name.to_ascii_uppercase();
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "{kind} name '{name}' is invalid: use letters, digits and '_', not starting with a digit"
        ));
    }
    if upper.starts_with("GITHUB_") {
        return Err(format!(
            "{kind} name '{name}' is invalid: names must not start with GITHUB_"
        ));
    }
    Ok(upper)
}

fn names(kind: &str, raw: IndexMap<String, Scalar>) -> Result<IndexMap<String, String>, String> {
    raw.into_iter()
        .map(|(k, v)| Ok((check_name(kind, &k)?, v.0)))
        .collect()
}

impl Settings {
    /// Parses one file's text; `secrets_allowed` is false for a `--vars` file, so that a secret
    /// is never kept in a file meant for plain values.
    pub fn parse(text: &str, secrets_allowed: bool) -> Result<Settings, String> {
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let mut settings = Settings {
            repository: Scope {
                vars: names("variable", raw.vars)?,
                secrets: names("secret", raw.secrets)?,
            },
            environments: IndexMap::new(),
        };
        for (env, scope) in raw.environments {
            let scope = scope.unwrap_or(RawScope {
                vars: IndexMap::new(),
                secrets: IndexMap::new(),
            });
            settings.environments.insert(
                env,
                Scope {
                    vars: names("variable", scope.vars)?,
                    secrets: names("secret", scope.secrets)?,
                },
            );
        }
        let has_secrets = !settings.repository.secrets.is_empty()
            || settings
                .environments
                .values()
                .any(|s| !s.secrets.is_empty());
        if has_secrets && !secrets_allowed {
            return Err("holds secrets; a --vars file holds variables only: put secrets in a --secrets file".to_owned());
        }
        Ok(settings)
    }

    /// Reads a file given with `--vars` (`secrets_allowed` false) or `--secrets`.
    pub fn read(path: &Path, secrets_allowed: bool) -> Result<Settings, ActError> {
        let flag = if secrets_allowed {
            "--secrets"
        } else {
            "--vars"
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            ActError::BadInput(format!("{flag} {}: cannot be read: {e}", path.display()))
        })?;
        Settings::parse(&text, secrets_allowed).map_err(|m| {
            ActError::BadInput(format!(
                "{flag} {}: {m} (expected top-level 'vars', 'secrets' and 'environments: {{NAME: {{vars, secrets}}}}')",
                path.display()
            ))
        })
    }

    /// Adds `other` over this (its values win).
    pub fn merge(&mut self, other: Settings) {
        self.repository.vars.extend(other.repository.vars);
        self.repository.secrets.extend(other.repository.secrets);
        for (name, scope) in other.environments {
            let key = self
                .environments
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&name))
                .cloned()
                .unwrap_or(name);
            let entry = self.environments.entry(key).or_default();
            entry.vars.extend(scope.vars);
            entry.secrets.extend(scope.secrets);
        }
    }

    /// The vars and secrets a job sees: the repository's, overridden by its environment's.
    pub fn for_environment(&self, environment: Option<&str>) -> Scope {
        let mut scope = self.repository.clone();
        if let Some(env) = environment
            && let Some((_, e)) = self
                .environments
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(env))
        {
            scope.vars.extend(e.vars.clone());
            scope.secrets.extend(e.secrets.clone());
        }
        scope
    }

    /// Every secret value, for masking.
    pub fn all_secrets(&self) -> Vec<String> {
        self.repository
            .secrets
            .values()
            .chain(self.environments.values().flat_map(|e| e.secrets.values()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "
vars: {region: eu-west-1, COUNT: 3}
secrets: {token: repo-secret}
environments:
  prod:
    vars: {REGION: us-east-1}
    secrets: {TOKEN: prod-secret}
  staging:
";

    #[test]
    fn environment_values_override_the_repository_ones() {
        let s = Settings::parse(FILE, true).unwrap();
        let prod = s.for_environment(Some("PROD"));
        assert_eq!(prod.vars["REGION"], "us-east-1");
        assert_eq!(prod.vars["COUNT"], "3");
        assert_eq!(prod.secrets["TOKEN"], "prod-secret");
        assert_eq!(
            s.for_environment(Some("staging")).secrets["TOKEN"],
            "repo-secret"
        );
        assert_eq!(s.for_environment(None).vars["REGION"], "eu-west-1");
        assert_eq!(s.all_secrets(), ["repo-secret", "prod-secret"]);
    }

    #[test]
    fn later_files_win_and_environments_merge() {
        let mut s = Settings::parse(FILE, true).unwrap();
        s.merge(
            Settings::parse(
                "environments: {Prod: {vars: {EXTRA: x}}}\nvars: {COUNT: 4}",
                false,
            )
            .unwrap(),
        );
        assert_eq!(s.repository.vars["COUNT"], "4");
        let prod = s.for_environment(Some("prod"));
        assert_eq!(
            (prod.vars["EXTRA"].as_str(), prod.vars["REGION"].as_str()),
            ("x", "us-east-1")
        );
        assert_eq!(s.environments.len(), 2);
    }

    #[test]
    fn refuses_bad_names_secrets_in_vars_files_and_unknown_keys() {
        insta::assert_snapshot!(Settings::parse(FILE, false).unwrap_err(), @"holds secrets; a --vars file holds variables only: put secrets in a --secrets file");
        insta::assert_snapshot!(Settings::parse("vars: {1X: a}", false).unwrap_err(), @"variable name '1X' is invalid: use letters, digits and '_', not starting with a digit");
        insta::assert_snapshot!(Settings::parse("secrets: {GITHUB_X: a}", true).unwrap_err(), @"secret name 'GITHUB_X' is invalid: names must not start with GITHUB_");
        assert!(
            Settings::parse("variables: {}", true)
                .unwrap_err()
                .contains("unknown field `variables`")
        );
    }
}
