//! Reusable workflows: where `jobs.<id>.uses` points (this repository, or `OWNER/REPO` mapped to
//! a local checkout with `--repo`), and the checks GitHub makes before the run starts — inputs,
//! secrets, permissions, nesting depth.

use std::path::{Path, PathBuf};
use std::process::Command;

use indexmap::IndexMap;

use super::model::{Access, CallSecrets, Permissions, Workflow};

/// GitHub connects at most four levels of workflows: the top-level caller and three below it.
pub const MAX_DEPTH: usize = 4;

/// A `jobs.<id>.uses` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `./.github/workflows/X.yml` or `$/.github/workflows/X.yml`, in the caller's repository.
    Local { path: String },
    /// `OWNER/REPO/.github/workflows/X.yml@REF`.
    Remote {
        repo: String,
        path: String,
        git_ref: String,
    },
}

fn check_path(uses: &str, path: &str) -> Result<(), String> {
    let file = path.strip_prefix(".github/workflows/").unwrap_or_default();
    if file.is_empty() || file.contains('/') || !(file.ends_with(".yml") || file.ends_with(".yaml"))
    {
        return Err(format!(
            "'uses: {uses}': a reusable workflow is a .yml or .yaml file directly in .github/workflows/"
        ));
    }
    Ok(())
}

/// Parses `uses:` as GitHub reads it.
pub fn parse_uses(uses: &str) -> Result<Target, String> {
    if let Some(path) = uses.strip_prefix("./").or_else(|| uses.strip_prefix("$/")) {
        if uses.contains('@') {
            return Err(format!(
                "'uses: {uses}': a local reusable workflow takes no ref (it is read at the caller's commit)"
            ));
        }
        check_path(uses, path)?;
        return Ok(Target::Local {
            path: path.to_owned(),
        });
    }
    let (full, git_ref) = uses.split_once('@').ok_or_else(|| {
        format!("'uses: {uses}' must be ./.github/workflows/X.yml or OWNER/REPO/.github/workflows/X.yml@REF")
    })?;
    let mut parts = full.splitn(3, '/');
    let (Some(owner), Some(repo), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "'uses: {uses}' must be OWNER/REPO/.github/workflows/X.yml@REF"
        ));
    };
    if owner.is_empty() || repo.is_empty() || git_ref.is_empty() {
        return Err(format!(
            "'uses: {uses}' must be OWNER/REPO/.github/workflows/X.yml@REF"
        ));
    }
    check_path(uses, path)?;
    Ok(Target::Remote {
        repo: format!("{owner}/{repo}"),
        path: path.to_owned(),
        git_ref: git_ref.to_owned(),
    })
}

/// The local checkout `--repo` maps `repo` to (names compare case-insensitively, as GitHub's).
/// A mapping `OWNER/REPO@REF` (rather than `OWNER/REPO`) makes the checkout's working tree
/// stand for that one ref.
pub fn mapped<'a>(repos: &'a [(String, PathBuf)], repo: &str) -> Option<&'a Path> {
    repos
        .iter()
        .find(|(name, _)| {
            name.split('@')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case(repo)
        })
        .map(|(_, dir)| dir.as_path())
}

/// The checkout mapped to `repo@git_ref` exactly (its working tree stands for that ref).
fn mapped_at<'a>(repos: &'a [(String, PathBuf)], repo: &str, git_ref: &str) -> Option<&'a Path> {
    repos
        .iter()
        .find(|(name, _)| {
            name.split_once('@')
                .is_some_and(|(r, at)| r.eq_ignore_ascii_case(repo) && at == git_ref)
        })
        .map(|(_, dir)| dir.as_path())
}

/// Checks a `--repo` mapping: `OWNER/REPO` or `OWNER/REPO@REF`, to an existing directory.
pub fn check_mapping(name: &str, dir: &Path) -> Result<(), String> {
    let repo = name.split('@').next().unwrap_or("");
    let parts: Vec<&str> = repo.split('/').collect();
    let ref_ok = name.split_once('@').is_none_or(|(_, r)| !r.is_empty());
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) || !ref_ok || !dir.is_dir() {
        return Err(format!(
            "--repo {name}={}: expected OWNER/REPO=DIR or OWNER/REPO@REF=DIR with an existing directory",
            dir.display()
        ));
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `dir` is the top of a git work tree (or inside one).
pub fn is_git(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--git-dir"]).is_some()
}

/// The directory of the repository a called workflow belongs to: the caller's for a local one,
/// the mapped checkout for a remote one.
pub fn repository_dir(target: &Target, caller: &Path, repos: &[(String, PathBuf)]) -> PathBuf {
    match target {
        Target::Local { .. } => caller.to_owned(),
        Target::Remote { repo, .. } => {
            mapped(repos, repo).map_or_else(|| caller.to_owned(), Path::to_owned)
        }
    }
}

/// Reads a called workflow: the file name it is known by, and its text.
///
/// A local one comes from the repository root's working tree. A remote one comes from its
/// mapped checkout at `REF` when that checkout is a git repository (`git show REF:path`), or
/// from its files when it is a plain directory.
pub fn read(
    target: &Target,
    repo_root: &Path,
    repos: &[(String, PathBuf)],
) -> Result<(PathBuf, String), String> {
    match target {
        Target::Local { path } => {
            let file = repo_root.join(path);
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("{}: cannot be read: {e}", file.display()))?;
            Ok((file, text))
        }
        Target::Remote {
            repo,
            path,
            git_ref,
        } => {
            if let Some(dir) = mapped_at(repos, repo, git_ref) {
                let file = dir.join(path);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: cannot be read: {e}", file.display()))?;
                return Ok((file, text));
            }
            let dir = mapped(repos, repo).ok_or_else(|| {
                format!("'{repo}' is not mapped to a local checkout: pass --repo {repo}=DIR")
            })?;
            let file = dir.join(path);
            if is_git(dir) {
                let spec = format!("{git_ref}:{path}");
                let commit = format!("{git_ref}^{{commit}}");
                if git(dir, &["rev-parse", "--verify", "--quiet", &commit]).is_none() {
                    return Err(format!(
                        "'{repo}@{git_ref}': the ref '{git_ref}' is not in {} (fetch it there, or map the working tree to it with --repo {repo}@{git_ref}=DIR)",
                        dir.display()
                    ));
                }
                let text = git(dir, &["show", &spec]).ok_or_else(|| {
                    format!(
                        "'{repo}@{git_ref}': {path} is not in {} at {git_ref}",
                        dir.display()
                    )
                })?;
                Ok((file, text))
            } else {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: cannot be read: {e}", file.display()))?;
                Ok((file, text))
            }
        }
    }
}

/// What GitHub checks of a call before the run starts: the workflow can be called, every
/// required input and secret is given, nothing undeclared is passed.
pub fn check_call(
    callee: &Workflow,
    with: &[&String],
    secrets: &CallSecrets,
) -> Result<(), String> {
    let Some(call) = &callee.on.call else {
        return Err(format!(
            "{} is not a reusable workflow: its 'on' has no workflow_call",
            callee.name
        ));
    };
    for name in with {
        if !call.inputs.keys().any(|k| k.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "Invalid input, {name} is not defined in the referenced workflow."
            ));
        }
    }
    for (name, spec) in &call.inputs {
        let given = with.iter().any(|w| w.eq_ignore_ascii_case(name));
        if spec.required && spec.default.is_none() && !given {
            return Err(format!(
                "Input {name} is required, but not provided while calling."
            ));
        }
    }
    if let CallSecrets::Map(map) = secrets {
        for name in map.keys() {
            if !call.secrets.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "Invalid secret, {name} is not defined in the referenced workflow."
                ));
            }
        }
        for (name, required) in &call.secrets {
            if *required && !map.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "Secret {name} is required, but not provided while calling."
                ));
            }
        }
    }
    Ok(())
}

/// The first scope `requested` asks more of than `allowed` grants: a called workflow's jobs
/// can only keep or lower the caller's permissions.
pub fn exceeds(requested: &Permissions, allowed: &Permissions) -> Option<(String, Access, Access)> {
    requested
        .scopes
        .iter()
        .find(|(scope, access)| **access > allowed.get(scope))
        .map(|(scope, access)| (scope.clone(), *access, allowed.get(scope)))
}

/// Secrets a called workflow gets: all of the caller's with `inherit`, else those mapped.
pub fn passed_secrets(
    secrets: &CallSecrets,
    caller: &IndexMap<String, String>,
    evaluated: IndexMap<String, String>,
) -> IndexMap<String, String> {
    match secrets {
        CallSecrets::Inherit => caller.clone(),
        CallSecrets::Map(_) => evaluated
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::model;

    #[test]
    fn parses_local_and_remote_uses() {
        assert_eq!(
            parse_uses("./.github/workflows/deploy.yml").unwrap(),
            Target::Local {
                path: ".github/workflows/deploy.yml".into()
            }
        );
        assert_eq!(
            parse_uses("$/.github/workflows/deploy.yml").unwrap(),
            parse_uses("./.github/workflows/deploy.yml").unwrap(),
        );
        assert_eq!(
            parse_uses("acme/pipes/.github/workflows/d.yaml@v1").unwrap(),
            Target::Remote {
                repo: "acme/pipes".into(),
                path: ".github/workflows/d.yaml".into(),
                git_ref: "v1".into()
            }
        );
        insta::assert_snapshot!(parse_uses("./ci/deploy.yml").unwrap_err(), @"'uses: ./ci/deploy.yml': a reusable workflow is a .yml or .yaml file directly in .github/workflows/");
        insta::assert_snapshot!(parse_uses("acme/pipes@v1").unwrap_err(), @"'uses: acme/pipes@v1' must be OWNER/REPO/.github/workflows/X.yml@REF");
        assert!(parse_uses("./.github/workflows/d.yml@main").is_err());
    }

    fn callee() -> Workflow {
        model::parse(
            "on:\n  workflow_call:\n    inputs:\n      env: {type: string, required: true}\n      n: {type: number, required: true, default: 1}\n    secrets:\n      token: {required: true}\njobs:\n  a:\n    runs-on: x\n    steps: [{run: x}]\n",
            PathBuf::from("c.yml"),
        )
        .unwrap()
    }

    #[test]
    fn call_checks_inputs_and_secrets() {
        let env = "env".to_owned();
        let colour = "colour".to_owned();
        let token: IndexMap<String, crate::expr::Template> = [(
            "token".to_owned(),
            crate::expr::Template::parse("x").unwrap(),
        )]
        .into_iter()
        .collect();
        assert!(check_call(&callee(), &[&env], &CallSecrets::Map(token.clone())).is_ok());
        assert!(check_call(&callee(), &[&env], &CallSecrets::Inherit).is_ok());
        insta::assert_snapshot!(check_call(&callee(), &[], &CallSecrets::Inherit).unwrap_err(), @"Input env is required, but not provided while calling.");
        insta::assert_snapshot!(check_call(&callee(), &[&env, &colour], &CallSecrets::Inherit).unwrap_err(), @"Invalid input, colour is not defined in the referenced workflow.");
        insta::assert_snapshot!(check_call(&callee(), &[&env], &CallSecrets::Map(IndexMap::new())).unwrap_err(), @"Secret token is required, but not provided while calling.");
    }

    #[test]
    fn mappings_name_a_repository_or_one_ref_of_it() {
        let here = PathBuf::from(".");
        let repos = vec![
            ("acme/pipes".to_owned(), PathBuf::from("/a")),
            ("acme/tools@v1".to_owned(), PathBuf::from("/b")),
        ];
        assert_eq!(mapped(&repos, "ACME/pipes"), Some(Path::new("/a")));
        assert_eq!(mapped(&repos, "acme/tools"), Some(Path::new("/b")));
        assert_eq!(mapped_at(&repos, "acme/tools", "v1"), Some(Path::new("/b")));
        assert_eq!(mapped_at(&repos, "acme/tools", "v2"), None);
        assert_eq!(mapped_at(&repos, "acme/pipes", "v1"), None);
        assert!(check_mapping("acme/pipes", &here).is_ok());
        assert!(check_mapping("acme/pipes@0123", &here).is_ok());
        assert!(check_mapping("acme", &here).is_err());
        assert!(check_mapping("acme/pipes@", &here).is_err());
        assert!(check_mapping("acme/pipes", Path::new("/no/such/dir")).is_err());
    }

    #[test]
    fn permissions_only_go_down() {
        let p = |pairs: &[(&str, Access)]| Permissions {
            scopes: pairs.iter().map(|(s, a)| ((*s).to_owned(), *a)).collect(),
        };
        let caller = p(&[("contents", Access::Write), ("id-token", Access::None)]);
        assert_eq!(exceeds(&p(&[("contents", Access::Read)]), &caller), None);
        assert_eq!(
            exceeds(&p(&[("id-token", Access::Write)]), &caller),
            Some(("id-token".to_owned(), Access::Write, Access::None))
        );
    }
}
