//! Shims: local stand-ins for the marketplace actions our workflows use, each matched by name
//! and full SHA pin (docs/act.md, "Shims"). Any other remote action is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use indexmap::IndexMap;

use super::model::{Access, Permissions};
use super::reusable;
use crate::commands::AnnotationLevel;
use crate::glob::Patterns;
use crate::runner::{Job, StepRun};

/// One marketplace action gantry-act stands in for.
#[derive(Debug)]
pub struct Shim {
    pub action: &'static str,
    /// The full commit SHA it is pinned to (docs/act.md lists them with their versions).
    pub sha: &'static str,
    pub version: &'static str,
    /// The inputs the action declares (others raise the runner's "Unexpected input" warning).
    pub inputs: &'static [&'static str],
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Checkout,
    AwsCredentials,
    UploadArtifact,
    DownloadArtifact,
    Cache,
}

/// The shim table.
pub const SHIMS: [Shim; 5] = [
    Shim {
        action: "actions/checkout",
        sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
        version: "v7.0.1",
        inputs: &[
            "repository",
            "ref",
            "token",
            "ssh-key",
            "ssh-known-hosts",
            "ssh-strict",
            "ssh-user",
            "persist-credentials",
            "path",
            "clean",
            "filter",
            "sparse-checkout",
            "sparse-checkout-cone-mode",
            "fetch-depth",
            "fetch-tags",
            "show-progress",
            "lfs",
            "submodules",
            "set-safe-directory",
            "github-server-url",
        ],
        kind: Kind::Checkout,
    },
    Shim {
        action: "aws-actions/configure-aws-credentials",
        sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c",
        version: "v6.2.3",
        inputs: &[
            "audience",
            "aws-access-key-id",
            "aws-secret-access-key",
            "aws-session-token",
            "aws-region",
            "mask-aws-account-id",
            "role-to-assume",
            "web-identity-token-file",
            "role-chaining",
            "role-duration-seconds",
            "role-session-name",
            "role-external-id",
            "role-skip-session-tagging",
            "inline-session-policy",
            "managed-session-policies",
            "output-credentials",
            "output-env-credentials",
            "unset-current-credentials",
            "disable-retry",
            "retry-max-attempts",
            "special-characters-workaround",
            "use-existing-credentials",
            "allowed-account-ids",
            "force-skip-oidc",
            "action-timeout-s",
        ],
        kind: Kind::AwsCredentials,
    },
    Shim {
        action: "actions/upload-artifact",
        sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        version: "v7.0.0",
        inputs: &[
            "name",
            "path",
            "if-no-files-found",
            "retention-days",
            "compression-level",
            "overwrite",
            "include-hidden-files",
            "archive",
        ],
        kind: Kind::UploadArtifact,
    },
    Shim {
        action: "actions/download-artifact",
        sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        version: "v8.0.1",
        inputs: &[
            "name",
            "artifact-ids",
            "path",
            "pattern",
            "merge-multiple",
            "github-token",
            "repository",
            "run-id",
            "skip-decompress",
            "digest-mismatch",
        ],
        kind: Kind::DownloadArtifact,
    },
    Shim {
        action: "actions/cache",
        sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        version: "v5.0.5",
        inputs: &[
            "path",
            "key",
            "restore-keys",
            "upload-chunk-size",
            "enableCrossOsArchive",
            "fail-on-cache-miss",
            "lookup-only",
            "save-always",
        ],
        kind: Kind::Cache,
    },
];

/// The shim for `uses: action@git_ref`, or why there is none.
pub fn find(action: &str, git_ref: &str) -> Result<&'static Shim, String> {
    let Some(shim) = SHIMS.iter().find(|s| s.action.eq_ignore_ascii_case(action)) else {
        let known: Vec<&str> = SHIMS.iter().map(|s| s.action).collect();
        return Err(format!(
            "no shim for '{action}' (shims: {})",
            known.join(", ")
        ));
    };
    if shim.sha.eq_ignore_ascii_case(git_ref) {
        Ok(shim)
    } else {
        Err(format!(
            "'{action}' is shimmed at its {} pin only: uses: {}@{} # {}",
            shim.version, shim.action, shim.sha, shim.version
        ))
    }
}

/// What a shim can see and touch besides the job.
pub(crate) struct ShimContext<'a> {
    pub with: &'a IndexMap<String, String>,
    /// The step's environment (the process's, then the job's, then the step's).
    pub env: &'a IndexMap<String, String>,
    pub permissions: &'a Permissions,
    pub repo_root: &'a Path,
    pub repos: &'a [(String, PathBuf)],
    /// The run's artifact store: one directory per artifact.
    pub artifacts: &'a Path,
}

impl ShimContext<'_> {
    fn input(&self, name: &str) -> Option<&str> {
        self.with
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        self.input(name).map_or(default, |v| v.trim() == "true")
    }
}

/// Runs a shim as a step.
pub(crate) fn run(shim: &Shim, job: &mut Job, cx: &ShimContext<'_>) -> StepRun {
    let unexpected: Vec<String> = cx
        .with
        .keys()
        .filter(|k| !shim.inputs.iter().any(|i| i.eq_ignore_ascii_case(k)))
        .map(|k| format!("'{k}'"))
        .collect();
    if !unexpected.is_empty() {
        let valid: Vec<String> = shim.inputs.iter().map(|i| format!("'{i}'")).collect();
        job.annotate(
            AnnotationLevel::Warning,
            &format!(
                "Unexpected input(s) {}, valid inputs are [{}]",
                unexpected.join(", "),
                valid.join(", ")
            ),
        );
    }
    job.line(&format!(
        "(shim for {}@{} {})",
        shim.action,
        &shim.sha[..7],
        shim.version
    ));
    let result = match shim.kind {
        Kind::Checkout => checkout(job, cx),
        Kind::AwsCredentials => aws_credentials(job, cx),
        Kind::UploadArtifact => upload(job, cx),
        Kind::DownloadArtifact => download(job, cx),
        Kind::Cache => cache(job, cx),
    };
    match result {
        Ok(outputs) => StepRun {
            success: true,
            outputs,
        },
        Err(message) => {
            job.annotate(AnnotationLevel::Error, &message);
            StepRun::failed()
        }
    }
}

type Outputs = IndexMap<String, String>;

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("git could not be started: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `actions/checkout`: the mapped local checkout at the requested ref.
fn checkout(job: &mut Job, cx: &ShimContext<'_>) -> Result<Outputs, String> {
    let own = job.github.get("repository").cloned().unwrap_or_default();
    let repository = cx.input("repository").unwrap_or(&own).to_owned();
    let source = if repository.eq_ignore_ascii_case(&own) {
        cx.repo_root.to_owned()
    } else {
        reusable::mapped(cx.repos, &repository)
            .map(Path::to_owned)
            .ok_or_else(|| {
                format!("actions/checkout: '{repository}' is not mapped to a local checkout: pass --repo {repository}=DIR")
            })?
    };
    if !reusable::is_git(&source) {
        return Err(format!(
            "actions/checkout: {} (for '{repository}') is not a git repository",
            source.display()
        ));
    }
    let dest = job.workspace.join(cx.input("path").unwrap_or(""));
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same(&dest, &source) {
        job.line(&format!(
            "actions/checkout: the workspace is {} itself: left as it is (no clone, no credentials written)",
            source.display()
        ));
        let commit = git(&source, &["rev-parse", "HEAD"])?.trim().to_owned();
        return Ok([("commit".to_owned(), commit)].into_iter().collect());
    }
    let head = git(&source, &["rev-parse", "HEAD"])
        .unwrap_or_default()
        .trim()
        .to_owned();
    let requested = match cx.input("ref") {
        Some(r) => r.to_owned(),
        None if repository.eq_ignore_ascii_case(&own) => job
            .github
            .get("sha")
            .cloned()
            .unwrap_or_else(|| head.clone()),
        None => head.clone(),
    };
    let commit = git(
        &source,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{requested}^{{commit}}"),
        ],
    )
    .map_err(|_| {
        format!(
            "actions/checkout: the ref '{requested}' is not in {}",
            source.display()
        )
    })?
    .trim()
    .to_owned();
    if dest.exists() && std::fs::read_dir(&dest).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!(
            "actions/checkout: {} is not empty; gantry-act clones into empty directories only",
            dest.display()
        ));
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("actions/checkout: {e}"))?;
    }
    let dest_text = dest.display().to_string();
    let source_text = source.display().to_string();
    let parent = dest.parent().unwrap_or(&dest).to_owned();
    git(
        &parent,
        &[
            "clone",
            "--quiet",
            "--no-checkout",
            &source_text,
            &dest_text,
        ],
    )
    .map_err(|e| format!("actions/checkout: {e}"))?;
    git(&dest, &["checkout", "--quiet", "--detach", &commit])
        .map_err(|e| format!("actions/checkout: {e}"))?;
    job.line(&format!(
        "actions/checkout: {repository} at {commit} from {source_text}"
    ));
    // Without an explicit ref, the checkout of this repository's HEAD carries the working tree's
    // uncommitted changes too, so a local run tests what is on disk.
    if cx.input("ref").is_none() && commit == head && repository.eq_ignore_ascii_case(&own) {
        let changed = overlay_working_tree(&source, &dest)?;
        if changed > 0 {
            job.line(&format!(
                "actions/checkout: with {changed} uncommitted change(s) of the working tree"
            ));
        }
    }
    if cx.flag("persist-credentials", true) {
        let server = job
            .github
            .get("server_url")
            .cloned()
            .unwrap_or_else(|| "https://github.com".to_owned());
        let token = cx
            .input("token")
            .map(str::to_owned)
            .or_else(|| job.github.get("token").cloned())
            .unwrap_or_default();
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
        job.add_mask(&basic);
        git(
            &dest,
            &[
                "config",
                "--local",
                &format!("http.{server}/.extraheader"),
                &format!("AUTHORIZATION: basic {basic}"),
            ],
        )
        .map_err(|e| format!("actions/checkout: {e}"))?;
    }
    Ok(
        [("ref".to_owned(), requested), ("commit".to_owned(), commit)]
            .into_iter()
            .collect(),
    )
}

/// Copies modified and untracked (not ignored) files over the clone, removes deleted ones.
fn overlay_working_tree(source: &Path, dest: &Path) -> Result<usize, String> {
    let list = |args: &[&str]| -> Result<Vec<String>, String> {
        Ok(git(source, args)?
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    };
    let deleted = list(&["ls-files", "-z", "--deleted"])?;
    let changed = list(&[
        "ls-files",
        "-z",
        "--modified",
        "--others",
        "--exclude-standard",
    ])?;
    let mut n = 0;
    for f in &changed {
        if deleted.contains(f) {
            continue;
        }
        let (from, to) = (source.join(f), dest.join(f));
        if from.is_file() {
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p).map_err(|e| format!("actions/checkout: {e}"))?;
            }
            std::fs::copy(&from, &to).map_err(|e| format!("actions/checkout: {f}: {e}"))?;
            n += 1;
        }
    }
    for f in &deleted {
        if std::fs::remove_file(dest.join(f)).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

fn is_local_endpoint(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "127.0.0.1" || host == "localhost"
}

/// `aws-actions/configure-aws-credentials`: exports the local AWS environment, as the action
/// exports the role's credentials. Refuses what the action refuses: no role, or OIDC without
/// `id-token: write`.
fn aws_credentials(job: &mut Job, cx: &ShimContext<'_>) -> Result<Outputs, String> {
    let name = "aws-actions/configure-aws-credentials";
    let region = cx
        .input("aws-region")
        .ok_or_else(|| format!("{name}: Input required and not supplied: aws-region"))?
        .to_owned();
    let Some(role) = cx.input("role-to-assume") else {
        return Err(format!(
            "{name}: Credentials could not be loaded, please check your action inputs: no 'role-to-assume' is given (gantry-act's shim assumes a role through OIDC only)"
        ));
    };
    if cx.input("aws-access-key-id").is_some() {
        return Err(format!(
            "{name}: static keys (aws-access-key-id) are not supported by gantry-act's shim: use role-to-assume with id-token: write"
        ));
    }
    if cx.permissions.get("id-token") != Access::Write {
        return Err(format!(
            "{name}: Could not assume role with OIDC: the job's permissions lack 'id-token: write' (it has: {})",
            cx.permissions.describe()
        ));
    }
    let env = |k: &str| cx.env.get(k).filter(|v| !v.is_empty()).cloned();
    let endpoint = env("AWS_ENDPOINT_URL").unwrap_or_default();
    if !is_local_endpoint(&endpoint) {
        return Err(format!(
            "{name}: gantry-act exports local AWS only, and AWS_ENDPOINT_URL ('{endpoint}') is not on 127.0.0.1: run eval \"$(scripts/local-aws env)\" first"
        ));
    }
    let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
        return Err(format!(
            "{name}: no AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment: run eval \"$(scripts/local-aws env)\" first"
        ));
    };
    let account = role
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split(':').next())
        .filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
        .map_or_else(|| "123456789012".to_owned(), str::to_owned);
    let role_name = role.rsplit('/').next().unwrap_or(role);
    let session = cx.input("role-session-name").unwrap_or("GitHubActions");
    // Not masked, unlike the role's real credentials: these are the local emulator's public
    // dummies, and masking a word like `testing` would hide it in every line and output.
    job.export("AWS_REGION", &region);
    job.export("AWS_DEFAULT_REGION", &region);
    job.export("AWS_ACCESS_KEY_ID", &key);
    job.export("AWS_SECRET_ACCESS_KEY", &secret);
    job.export("AWS_ENDPOINT_URL", &endpoint);
    if let Some(token) = env("AWS_SESSION_TOKEN") {
        job.export("AWS_SESSION_TOKEN", &token);
    }
    job.line(&format!(
        "{name}: role {role} assumed locally: the local AWS credentials ({endpoint}, {region}) are exported"
    ));
    Ok([
        ("aws-account-id".to_owned(), account.clone()),
        (
            "authenticated-arn".to_owned(),
            format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
        ),
    ]
    .into_iter()
    .collect())
}

fn check_artifact_name(name: &str) -> Result<(), String> {
    let bad = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];
    if name.is_empty() || name.contains(bad) {
        return Err(format!(
            "The artifact name is not valid: {name}. Contains the following character: one of \" : < > | * ? \\r \\n \\ /"
        ));
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", from.display()))
}

/// `actions/upload-artifact`: copies the matched files into the run's artifact store.
fn upload(job: &mut Job, cx: &ShimContext<'_>) -> Result<Outputs, String> {
    let name = cx.input("name").unwrap_or("artifact").to_owned();
    check_artifact_name(&name)?;
    let path = cx
        .input("path")
        .ok_or("actions/upload-artifact: Input required and not supplied: path")?;
    let patterns = Patterns::new(&job.workspace, &[path.to_owned()])?;
    let hidden_ok = cx.flag("include-hidden-files", false);
    let root = patterns.common_root();
    let files: Vec<PathBuf> = patterns
        .files()
        .into_iter()
        .filter(|f| {
            hidden_ok
                || !f
                    .strip_prefix(&root)
                    .unwrap_or(f)
                    .components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        })
        .collect();
    if files.is_empty() {
        let message = format!(
            "No files were found with the provided path: {path}. No artifacts will be uploaded."
        );
        return match cx.input("if-no-files-found").unwrap_or("warn") {
            "error" => Err(message),
            "ignore" => {
                job.line(&message);
                Ok(Outputs::new())
            }
            _ => {
                job.annotate(AnnotationLevel::Warning, &message);
                Ok(Outputs::new())
            }
        };
    }
    let store = cx.artifacts.join(&name);
    if store.exists() {
        if cx.flag("overwrite", false) {
            std::fs::remove_dir_all(&store).map_err(|e| format!("{}: {e}", store.display()))?;
        } else {
            return Err(format!(
                "Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run ('{name}')"
            ));
        }
    }
    for f in &files {
        copy_file(f, &store.join(f.strip_prefix(&root).unwrap_or(f)))?;
    }
    let id = std::fs::read_dir(cx.artifacts).map_or(1, |d| d.count());
    job.line(&format!(
        "actions/upload-artifact: artifact '{name}' with {} file(s)",
        files.len()
    ));
    let run_id = job.github.get("run_id").cloned().unwrap_or_default();
    let repo = job.github.get("repository").cloned().unwrap_or_default();
    let server = job.github.get("server_url").cloned().unwrap_or_default();
    Ok([
        ("artifact-id".to_owned(), id.to_string()),
        (
            "artifact-url".to_owned(),
            format!("{server}/{repo}/actions/runs/{run_id}/artifacts/{id}"),
        ),
    ]
    .into_iter()
    .collect())
}

fn copy_tree(from: &Path, to: &Path) -> Result<usize, String> {
    let mut n = 0;
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
            copy_file(entry.path(), &to.join(rel))?;
            n += 1;
        }
    }
    Ok(n)
}

/// `actions/download-artifact`: copies artifacts of this run from the store.
fn download(job: &mut Job, cx: &ShimContext<'_>) -> Result<Outputs, String> {
    if cx.input("run-id").is_some() || cx.input("artifact-ids").is_some() {
        return Err("actions/download-artifact: gantry-act downloads artifacts of this run by name or pattern only (no run-id, no artifact-ids)".to_owned());
    }
    let dest = job.workspace.join(cx.input("path").unwrap_or(""));
    let mut stored: Vec<String> = std::fs::read_dir(cx.artifacts)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    stored.sort();
    if let Some(name) = cx.input("name") {
        if !stored.iter().any(|s| s == name) {
            return Err(format!(
                "Unable to download artifact(s): Artifact not found for name: {name}\n        Please ensure that your artifact is not expired and the artifact was uploaded using a compatible version of toolkit/upload-artifact."
            ));
        }
        let n = copy_tree(&cx.artifacts.join(name), &dest)?;
        job.line(&format!(
            "actions/download-artifact: artifact '{name}' ({n} file(s)) to {}",
            dest.display()
        ));
    } else {
        let matcher = match cx.input("pattern") {
            Some(p) => Some(
                globset::Glob::new(p)
                    .map_err(|e| format!("actions/download-artifact: pattern '{p}': {e}"))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let merge = cx.flag("merge-multiple", false);
        let chosen: Vec<&String> = stored
            .iter()
            .filter(|s| matcher.as_ref().is_none_or(|m| m.is_match(s.as_str())))
            .collect();
        if chosen.is_empty() {
            job.line("actions/download-artifact: no artifacts matched: nothing downloaded");
        }
        for name in chosen {
            let to = if merge { dest.clone() } else { dest.join(name) };
            let n = copy_tree(&cx.artifacts.join(name), &to)?;
            job.line(&format!(
                "actions/download-artifact: artifact '{name}' ({n} file(s)) to {}",
                to.display()
            ));
        }
    }
    Ok([("download-path".to_owned(), dest.display().to_string())]
        .into_iter()
        .collect())
}

/// `actions/cache`: a logged no-op — nothing is restored or saved.
fn cache(job: &mut Job, cx: &ShimContext<'_>) -> Result<Outputs, String> {
    let key = cx
        .input("key")
        .ok_or("actions/cache: Input required and not supplied: key")?;
    cx.input("path")
        .ok_or("actions/cache: Input required and not supplied: path")?;
    if cx.flag("fail-on-cache-miss", false) {
        return Err(format!(
            "actions/cache: Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}"
        ));
    }
    job.line(&format!(
        "actions/cache: no cache in gantry-act: nothing restored for key '{key}', nothing will be saved"
    ));
    Ok([("cache-hit".to_owned(), "false".to_owned())]
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shims_match_by_name_and_pin() {
        assert!(
            find(
                "actions/checkout",
                "3d3c42e5aac5ba805825da76410c181273ba90b1"
            )
            .is_ok()
        );
        assert!(
            find(
                "Actions/Checkout",
                "3D3C42E5AAC5BA805825DA76410C181273BA90B1"
            )
            .is_ok()
        );
        insta::assert_snapshot!(find("actions/checkout", "v4").unwrap_err(), @"'actions/checkout' is shimmed at its v7.0.1 pin only: uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1");
        insta::assert_snapshot!(find("Swatinem/rust-cache", "6323deb102c322ba6fcbdcafc7e3dddab59af2b6").unwrap_err(), @"no shim for 'Swatinem/rust-cache' (shims: actions/checkout, aws-actions/configure-aws-credentials, actions/upload-artifact, actions/download-artifact, actions/cache)");
    }

    #[test]
    fn local_endpoints_only() {
        assert!(is_local_endpoint("http://127.0.0.1:5000"));
        assert!(is_local_endpoint("http://localhost/x"));
        assert!(!is_local_endpoint("https://s3.amazonaws.com"));
        assert!(!is_local_endpoint("http://127.0.0.1.evil.example"));
        assert!(!is_local_endpoint(""));
    }

    #[test]
    fn artifact_names() {
        assert!(check_artifact_name("archives-x86_64").is_ok());
        assert!(check_artifact_name("a/b").is_err());
        assert!(check_artifact_name("").is_err());
    }
}
