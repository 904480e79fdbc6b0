//! Workflow mode: the fixture workflows under `tests/fixtures/workflows/`, run in a throwaway git
//! repository that holds them under `.github/workflows/` (with the fixture actions under
//! `actions/`), through the library.

use std::path::{Path, PathBuf};
use std::process::Command;

use gantry_act::workflow::{Decision, JobStatus};
use gantry_act::{ActError, WorkflowResult, WorkflowRun};

use crate::Log;

pub fn fixtures() -> PathBuf {
    crate::crate_dir().join("tests/fixtures/workflows")
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=fixture",
            "-c",
            "user.email=fixture@example.com",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A git repository with every fixture workflow under `.github/workflows/` and the fixture
/// actions under `actions/`, committed on `main`.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn init() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "--quiet", "--initial-branch=main"]);
        let workflows = root.join(".github/workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        for sub in [fixtures(), fixtures().join("invalid")] {
            for entry in std::fs::read_dir(sub).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "yml") {
                    std::fs::copy(&path, workflows.join(path.file_name().unwrap())).unwrap();
                }
            }
        }
        copy_dir(&fixtures().join("actions"), &root.join("actions"));
        git(root, &["add", "."]);
        git(root, &["commit", "--quiet", "-m", "fixtures"]);
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn workflow(&self, name: &str) -> PathBuf {
        self.path().join(".github/workflows").join(name)
    }

    /// Writes an extra workflow (one that a fixture file cannot be: generated, or one that
    /// zizmor rightly flags) and commits it.
    pub fn add_workflow(&self, name: &str, text: &str) -> PathBuf {
        let path = self.workflow(name);
        std::fs::write(&path, text).unwrap();
        git(self.path(), &["add", "."]);
        git(self.path(), &["commit", "--quiet", "-m", name]);
        path
    }

    /// A run of `name` with the log captured, the repository as its root.
    pub fn run(
        &self,
        name: &str,
        configure: impl FnOnce(WorkflowRun) -> WorkflowRun,
    ) -> (Result<WorkflowResult, ActError>, String) {
        let log = Log::default();
        let run = WorkflowRun::new(self.workflow(name))
            .repo_root(self.path())
            .github("run_id", "77")
            .github("token", "ghs_workflowtesttoken")
            .log_to(log.clone());
        let result = gantry_act::workflow::run(&configure(run));
        (result, log.text())
    }

    /// A run where every job shares the repository as its workspace (no checkout needed).
    pub fn run_here(
        &self,
        name: &str,
        configure: impl FnOnce(WorkflowRun) -> WorkflowRun,
    ) -> (Result<WorkflowResult, ActError>, String) {
        let dir = self.path().to_owned();
        self.run(name, |r| configure(r.workspace(dir)))
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// `id name result` lines, for compact snapshots.
pub fn job_table(r: &WorkflowResult) -> String {
    r.jobs
        .iter()
        .map(|j| format!("{} [{}] {}", j.id, j.name, j.result.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn output<'a>(r: &'a WorkflowResult, job: &str, name: &str) -> &'a str {
    r.job(job)
        .unwrap_or_else(|| panic!("no job {job}"))
        .outputs
        .get(name)
        .map_or("", String::as_str)
}

const SECRETS: &str = "
secrets:
  DEPLOY_TOKEN: tok-3f9a1c7e
  TOKEN: inherited-7b2d
environments:
  prod:
    vars: {REGION: us-east-1, SITE: prod.example.com}
    secrets: {TOKEN: prod-token-5e8c}
  staging:
    vars: {SITE: staging.example.com}
";

const VARS: &str = "
vars:
  REGION: eu-west-1
environments:
  prod:
    vars: {SITE: prod.example.com}
  staging:
    vars: {SITE: staging.example.com}
";

#[test]
fn jobs_run_in_needs_order_and_outputs_flow_through_needs() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("basic.yml", |r| r.event("push"));
    let result = result.unwrap();
    assert!(result.success, "{log}");
    insta::assert_snapshot!(job_table(&result), @r"
    build [build] success
    test [test] success
    on-pull-request [on-pull-request] skipped
    ");
    assert_eq!(
        output(&result, "build", "level"),
        "job/from-workflow/from-step"
    );
    assert_eq!(output(&result, "test", "got"), "hello, push (success)");
    assert_eq!(result.job("build").unwrap().permissions, "contents: read");
    assert!(
        log.contains("gantry-act: job 'build' (build) started, runs-on ubuntu-latest (run here)"),
        "{log}"
    );
    assert!(
        log.contains("::group::build") && log.contains("::endgroup::"),
        "{log}"
    );
    assert!(
        log.contains("gantry-act: job 'on-pull-request' skipped (its if is false)"),
        "{log}"
    );

    let (result, _) = repo.run_here("basic.yml", |r| r.event("pull_request"));
    let result = result.unwrap();
    assert_eq!(
        result.job("on-pull-request").unwrap().result,
        JobStatus::Success
    );
    assert_eq!(
        output(&result, "test", "got"),
        "hello, pull_request (success)"
    );
}

#[test]
fn failure_skips_dependants_and_skipped_outputs_read_empty() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("skipped-needs.yml", |r| r);
    let result = result.unwrap();
    assert!(!result.success);
    insta::assert_snapshot!(job_table(&result), @r"
    breaks [breaks] failure
    after-break [after-break] skipped
    on-failure [on-failure] success
    reads-skipped [reads-skipped] success
    after-always [after-always] skipped
    ");
    assert_eq!(
        output(&result, "reads-skipped", "seen"),
        "[] skipped skipped"
    );
    assert!(
        log.contains("::error::Process completed with exit code 3."),
        "{log}"
    );
}

#[test]
fn a_cycle_or_an_unknown_job_in_needs_is_refused_before_any_job_runs() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("cycle.yml", |r| r);
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .ends_with("Job 'a' depends on job 'c' which creates a cycle in the dependency graph."),
        "{e}"
    );
    assert!(!log.contains("started"), "{log}");
    let (result, _) = repo.run_here("unknown-needs.yml", |r| r);
    insta::assert_snapshot!(result.unwrap_err().to_string().rsplit(": ").next().unwrap(), @"Job 'test' depends on unknown job 'build'.");
}

#[test]
fn dispatch_inputs_are_typed_and_checked_before_any_job_runs() {
    let repo = Repo::init();
    let vars = repo.write("vars.yml", VARS);
    let (result, log) = repo.run_here("dispatch.yml", |r| {
        r.input("target", "prod")
            .input("environment", "staging")
            .vars_file(&vars)
    });
    let result = result.unwrap();
    assert!(result.success, "{log}");
    assert_eq!(
        result.event, "workflow_dispatch",
        "the default event is the workflow's"
    );
    assert_eq!(
        output(&result, "show", "seen"),
        "prod false 2 [staging] false"
    );
    assert_eq!(
        output(&result, "show", "typed"),
        "true",
        "booleans and numbers keep their types"
    );

    let refused = |configure: fn(WorkflowRun) -> WorkflowRun| {
        let (result, log) = repo.run_here("dispatch.yml", configure);
        assert!(!log.contains("started"), "no job may start: {log}");
        let e = result.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    };
    insta::assert_snapshot!(refused(|r| r.input("target", "dev")), @"workflow_dispatch input 'target' (choice): 'dev' is not one of its choices: staging, prod");
    insta::assert_snapshot!(refused(|r| r), @"workflow_dispatch input 'target' (choice) is required and was not given");
    insta::assert_snapshot!(refused(|r| r.input("target", "prod").input("dry-run", "maybe")), @"workflow_dispatch input 'dry-run' (boolean): 'maybe' is not a boolean (accepted: true, false)");
    let (result, _) = repo.run_here("basic.yml", |r| r.input("target", "prod"));
    insta::assert_snapshot!(result.unwrap_err(), @"--input target: inputs are for workflow_dispatch and workflow_call, not push");
    let (result, _) = repo.run_here("dispatch.yml", |r| {
        r.input("target", "prod")
            .input("environment", "qa")
            .vars_file(&vars)
    });
    insta::assert_snapshot!(result.unwrap_err(), @"workflow_dispatch input 'environment' (environment): 'qa' is not an environment of the vars/secrets files (known: prod, staging)");
}

#[test]
fn reusable_workflows_local_and_mapped_get_inputs_secrets_and_return_outputs() {
    let repo = Repo::init();
    let secrets = repo.write("secrets.yml", SECRETS);
    let (result, log) = repo.run_here("call.yml", |r| {
        r.secrets_file(&secrets)
            .repo("gantry-fixtures/pipes", repo.path())
    });
    let result = result.unwrap();
    assert!(result.success, "{log}");
    insta::assert_snapshot!(job_table(&result), @r"
    local/apply [apply] success
    local [local] success
    remote/apply [apply] success
    remote [remote] success
    report [report] success
    ");
    assert_eq!(
        output(&result, "report", "both"),
        "staging dry=false replicas=3 token=true | prod dry=true replicas=1 token=true"
    );
    assert!(
        log.contains("gantry-act: job 'local' calls $/.github/workflows/deploy.yml"),
        "{log}"
    );

    // Inheriting no TOKEN, the remote call cannot give deploy.yml its required secret.
    let only_deploy_token = repo.write("deploy-token.yml", "secrets: {DEPLOY_TOKEN: t-1}\n");
    let (result, log) = repo.run_here("call.yml", |r| {
        r.secrets_file(&only_deploy_token)
            .repo("gantry-fixtures/pipes", repo.path())
    });
    let result = result.unwrap();
    assert_eq!(result.job("remote").unwrap().result, JobStatus::Failure);
    assert_eq!(result.job("report").unwrap().result, JobStatus::Skipped);
    assert!(
        log.contains("jobs.remote: Secret token is required, but not provided while calling."),
        "{log}"
    );

    // Without the mapping, the remote workflow cannot be found: refused before any job runs.
    let (result, log) = repo.run_here("call.yml", |r| r.secrets_file(&secrets));
    insta::assert_snapshot!(result.unwrap_err().to_string().rsplit_once(".yml: ").unwrap().1, @"jobs.remote: 'gantry-fixtures/pipes' is not mapped to a local checkout: pass --repo gantry-fixtures/pipes=DIR");
    assert!(!log.contains("started"), "{log}");

    // At a ref the mapped checkout does not have.
    let other = Repo::init();
    git(other.path(), &["branch", "-m", "main", "trunk"]);
    let (result, _) = repo.run_here("call.yml", |r| {
        r.secrets_file(&secrets)
            .repo("gantry-fixtures/pipes", other.path())
    });
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("the ref 'main' is not in")
    );
    // Unless its working tree is mapped to that ref.
    let (result, log) = repo.run_here("call.yml", |r| {
        r.secrets_file(&secrets)
            .repo("gantry-fixtures/pipes@main", other.path())
    });
    assert!(result.unwrap().success, "{log}");
}

#[test]
fn a_reusable_workflow_missing_a_required_input_is_refused() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("call-missing-input.yml", |r| r);
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().ends_with(
            "jobs.deploy: Input environment is required, but not provided while calling."
        ),
        "{e}"
    );
    assert!(!log.contains("started"), "{log}");
}

#[test]
fn called_inputs_are_type_checked_when_evaluated() {
    let repo = Repo::init();
    repo.add_workflow(
        "call-bad-type.yml",
        "on: push\npermissions: {}\njobs:\n  d:\n    uses: $/.github/workflows/deploy.yml\n    with:\n      environment: x\n      replicas: ${{ github.sha }}\n    secrets:\n      token: t\n",
    );
    let (result, log) = repo.run_here("call-bad-type.yml", |r| r);
    let result = result.unwrap();
    assert!(!result.success);
    assert_eq!(result.job("d").unwrap().result, JobStatus::Failure);
    assert!(
        log.contains("workflow_call input 'replicas' (number): '"),
        "{log}"
    );
    assert!(
        result.job("d/apply").is_none(),
        "the called jobs never start"
    );
}

#[test]
fn nesting_deeper_than_github_allows_is_refused() {
    let repo = Repo::init();
    let level = |n: usize| {
        format!(
            "on:\n  workflow_call:\npermissions: {{}}\njobs:\n  next:\n    uses: ./.github/workflows/level{}.yml\n",
            n + 1
        )
    };
    for n in 1..=4 {
        repo.add_workflow(&format!("level{n}.yml"), &level(n));
    }
    repo.add_workflow(
        "level5.yml",
        "on:\n  workflow_call:\npermissions: {}\njobs:\n  leaf:\n    runs-on: x\n    steps:\n      - run: echo leaf\n",
    );
    let top =
        "on: push\npermissions: {}\njobs:\n  start:\n    uses: ./.github/workflows/level1.yml\n";
    repo.add_workflow("top.yml", top);
    let (result, _) = repo.run_here("top.yml", |r| r);
    let e = result.unwrap_err().to_string();
    assert!(
        e.contains("would nest workflows 5 levels deep; GitHub connects at most 4"),
        "{e}"
    );
    // Four levels run.
    repo.add_workflow("top3.yml", &top.replace("level1", "level3"));
    let (result, log) = repo.run_here("top3.yml", |r| r);
    let result = result.unwrap();
    assert!(result.success, "{log}");
    assert_eq!(result.jobs[0].id, "start/next/next/leaf");
}

#[test]
fn called_jobs_cannot_ask_for_more_permissions_than_the_caller_has() {
    let repo = Repo::init();
    repo.add_workflow(
        "needs-oidc.yml",
        "on:\n  workflow_call:\npermissions: {}\njobs:\n  aws:\n    runs-on: x\n    permissions:\n      id-token: write\n    steps:\n      - run: echo x\n",
    );
    repo.add_workflow(
        "calls-oidc.yml",
        "on: push\npermissions: {}\njobs:\n  go:\n    permissions:\n      contents: read\n    uses: ./.github/workflows/needs-oidc.yml\n",
    );
    let (result, _) = repo.run_here("calls-oidc.yml", |r| r);
    let e = result.unwrap_err().to_string();
    assert!(e.ends_with("The nested job 'aws' is requesting 'id-token: write', but is only allowed 'id-token: none'."), "{e}");
}

#[test]
fn an_approved_environment_runs_with_its_vars_secrets_and_url() {
    let repo = Repo::init();
    let secrets = repo.write("secrets.yml", SECRETS);
    let vars = repo.write("vars.yml", VARS);
    let (result, log) = repo.run_here("environments.yml", |r| {
        r.vars_file(&vars).secrets_file(&secrets).approve("prod")
    });
    let result = result.unwrap();
    assert!(result.success, "{log}");
    let deploy = result.job("deploy").unwrap();
    assert_eq!(deploy.environment.as_deref(), Some("prod"));
    assert_eq!(deploy.url.as_deref(), Some("https://prod.example.com/"));
    assert_eq!(
        output(&result, "deploy", "seen"),
        "us-east-1 prod.example.com true"
    );
    assert_eq!(result.approvals.len(), 1);
    assert_eq!(result.approvals[0].decision, Decision::Approved);
    assert!(
        log.contains("gantry-act: job 'deploy' waits for approval of environment 'prod'"),
        "{log}"
    );
    assert!(
        log.contains("gantry-act: environment 'prod' for job 'deploy': approved (--approve prod)"),
        "{log}"
    );
    assert!(
        log.contains("gantry-act: environment 'prod' url: https://prod.example.com/"),
        "{log}"
    );
}

#[test]
fn a_rejected_environment_fails_its_job_and_skips_the_dependants() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("environments.yml", |r| r.reject("PROD"));
    let result = result.unwrap();
    assert!(!result.success);
    insta::assert_snapshot!(job_table(&result), @r"
    build [build] success
    deploy [deploy] failure
    smoke [smoke] skipped
    ");
    assert!(
        result.job("deploy").unwrap().steps.is_empty(),
        "no step of a rejected job runs"
    );
    assert_eq!(result.approvals[0].decision, Decision::Rejected);
    assert!(log.contains("::error::Job 'deploy' was not run: the deployment to environment 'prod' was rejected (--reject prod)"), "{log}");

    // Neither flag and no terminal: not approved, so not run either.
    let (result, _) = repo.run_here("environments.yml", |r| r);
    let result = result.unwrap();
    assert_eq!(result.approvals[0].decision, Decision::NotApproved);
    assert_eq!(result.job("smoke").unwrap().result, JobStatus::Skipped);

    let (result, _) = repo.run_here("environments.yml", |r| r.approve("prod").reject("Prod"));
    insta::assert_snapshot!(result.unwrap_err(), @"environment 'prod' is given to both --approve and --reject");
}

#[test]
fn matrix_expands_include_exclude_and_fail_fast_cancels_the_rest() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("matrix.yml", |r| r);
    let result = result.unwrap();
    assert!(!result.success);
    insta::assert_snapshot!(job_table(&result), @r"
    grid [grid on linux] success
    grid [grid on linux] success
    grid [grid on mac] success
    fast [fast (1)] success
    fast [fast (2)] failure
    fast [fast (3)] cancelled
    ");
    assert_eq!(
        output(&result, "grid", "last"),
        "linux-1-x 0/3",
        "the first instance's report"
    );
    let last = result.jobs.iter().rfind(|j| j.id == "grid").unwrap();
    assert_eq!(last.outputs["last"], "mac-2- 2/3");
    assert!(
        log.contains("instance 'fast (3)' cancelled (fail-fast: another instance failed)"),
        "{log}"
    );
}

#[test]
fn a_remote_action_without_a_shim_is_refused_unless_its_step_is_skipped() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("no-shim.yml", |r| r);
    let e = result.unwrap_err();
    assert!(matches!(e, ActError::NoShim { .. }), "{e}");
    assert!(e.to_string().contains("jobs.build step 2: 'uses: Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6' has no shim"), "{e}");
    assert!(!log.contains("started"), "{log}");

    let (result, log) = repo.run_here("no-shim.yml", |r| r.skip_step("build:Swatinem/rust-cache"));
    let result = result.unwrap();
    assert!(result.success, "{log}");
    let steps: Vec<String> = result
        .job("build")
        .unwrap()
        .steps
        .iter()
        .map(|s| format!("{} {}", s.id, s.outcome.as_str()))
        .collect();
    assert_eq!(
        steps,
        ["__run success", "__uses_2 skipped", "__run_3 success"]
    );
    assert!(
        log.contains("(skipped: --skip-step build:Swatinem/rust-cache)"),
        "{log}"
    );

    let (result, _) = repo.run_here("no-shim.yml", |r| {
        r.skip_step("2").skip_step("nothing-like-this")
    });
    insta::assert_snapshot!(result.unwrap_err(), @"--skip-step 'nothing-like-this' matches no step of the workflow (a step is named by its id, its name (or the 'Run …' name shown for it), its 'uses' action or its 1-based number, optionally after JOB:)");
}

#[test]
fn a_secret_a_step_echoes_is_masked_and_not_passed_as_an_output() {
    let repo = Repo::init();
    let secrets = repo.write("secrets.yml", SECRETS);
    let (result, log) = repo.run_here("mask.yml", |r| r.secrets_file(&secrets));
    let result = result.unwrap();
    assert!(result.success, "{log}");
    assert!(log.contains("the token is ***"), "{log}");
    assert!(!log.contains("tok-3f9a1c7e"), "{log}");
    assert!(
        log.contains("Skip output 'leaked' since it may contain secret."),
        "{log}"
    );
    assert!(log.contains("leaked=[] safe=fine"), "{log}");
    let json = gantry_act::workflow::report::json(&result).to_string();
    assert!(
        !json.contains("tok-3f9a1c7e") && json.contains("***"),
        "{json}"
    );
}

#[test]
fn shims_check_out_share_artifacts_skip_the_cache_and_export_local_aws() {
    let repo = Repo::init();
    // Uncommitted work is part of the checkout when no ref is asked for.
    std::fs::write(repo.path().join("actions/untracked.txt"), "local work").unwrap();
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    let (result, log) = repo.run("shims.yml", |r| r);
    let result = result.unwrap();
    assert!(result.success, "{log}");
    assert_eq!(output(&result, "build", "commit"), head);
    assert_eq!(output(&result, "build", "account"), "111122223333");
    assert_eq!(
        output(&result, "build", "greetings"),
        "hello, the repository / hello, the workspace"
    );
    assert!(
        log.contains("actions/checkout: with 1 uncommitted change(s) of the working tree"),
        "{log}"
    );
    assert!(
        log.contains("actions/cache: no cache in gantry-act: nothing restored for key 'x-"),
        "{log}"
    );
    assert!(
        log.contains("actions/upload-artifact: artifact 'dist' with 2 file(s)"),
        "{log}"
    );
    assert!(log.contains("aws-actions/configure-aws-credentials: role arn:aws:iam::111122223333:role/deploy assumed locally"), "{log}");
}

#[test]
fn checkout_persists_credentials_unless_told_not_to() {
    let repo = Repo::init();
    let workflow = |persist: bool| {
        format!(
            "on: push\npermissions: {{}}\njobs:\n  c:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1\n        with:\n          persist-credentials: {persist}\n          ref: main\n      - run: git config --get-regexp 'extraheader' || echo none\n"
        )
    };
    repo.add_workflow("persist.yml", &workflow(true));
    let (result, log) = repo.run("persist.yml", |r| r);
    assert!(result.unwrap().success, "{log}");
    assert!(
        log.contains("http.https://github.com/.extraheader AUTHORIZATION: basic ***"),
        "{log}"
    );
    repo.add_workflow("no-persist.yml", &workflow(false));
    let (result, log) = repo.run("no-persist.yml", |r| r);
    assert!(result.unwrap().success, "{log}");
    assert!(
        log.contains("\nnone\n") && !log.contains("AUTHORIZATION"),
        "{log}"
    );
}

#[test]
fn configure_aws_credentials_needs_id_token_write() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("aws-no-id-token.yml", |r| r);
    let result = result.unwrap();
    assert!(!result.success);
    let steps = &result.job("deploy").unwrap().steps;
    assert_eq!(steps[0].outcome, gantry_act::StepStatus::Failure);
    assert_eq!(steps[1].outcome, gantry_act::StepStatus::Skipped);
    assert!(log.contains("Could not assume role with OIDC: the job's permissions lack 'id-token: write' (it has: contents: read)"), "{log}");
}

#[test]
fn step_timeouts_and_continue_on_error() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("timeouts.yml", |r| r);
    let result = result.unwrap();
    assert!(result.success, "{log}");
    let slow = result.job("slow").unwrap();
    assert_eq!(
        slow.result,
        JobStatus::Success,
        "continue-on-error on the job"
    );
    assert_eq!(slow.steps[0].outcome, gantry_act::StepStatus::Failure);
    assert_eq!(slow.steps[1].outcome, gantry_act::StepStatus::Success);
    assert!(
        log.contains("The step '__run' has timed out after 0.02 minutes."),
        "{log}"
    );
    assert!(
        log.contains("continue-on-error makes it a success"),
        "{log}"
    );
    assert_eq!(result.job("tolerant").unwrap().result, JobStatus::Success);
    let overtime = result.job("overtime").unwrap();
    let outcomes: Vec<&str> = overtime.steps.iter().map(|s| s.outcome.as_str()).collect();
    assert_eq!(outcomes, ["failure", "skipped"]);
    assert!(
        log.contains("The job running on runner gantry-act has exceeded the maximum execution time of 0.02 minutes."),
        "{log}"
    );
    assert!(
        log.contains("> Run echo \"not reached\" (not run: the job timed out)"),
        "{log}"
    );
}

#[test]
fn the_event_must_be_one_the_workflow_runs_on() {
    let repo = Repo::init();
    let (result, _) = repo.run_here("basic.yml", |r| r.event("workflow_dispatch"));
    assert!(result.unwrap_err().to_string().ends_with(
        "the workflow does not run on workflow_dispatch (its events: push, pull_request)"
    ));
    let (result, _) = repo.run_here("basic.yml", |r| r.event("schedule"));
    insta::assert_snapshot!(result.unwrap_err(), @"--event 'schedule' is not supported; accepted: push, pull_request, workflow_dispatch, workflow_call");
}

#[test]
fn a_reusable_workflow_runs_on_its_own_as_if_called() {
    let repo = Repo::init();
    let secrets = repo.write("secrets.yml", SECRETS);
    let (result, log) = repo.run_here("deploy.yml", |r| {
        r.event("workflow_call")
            .input("environment", "qa")
            .input("replicas", "4")
            .secrets_file(&secrets)
    });
    let result = result.unwrap();
    assert!(result.success, "{log}");
    assert_eq!(
        result.outputs["summary"],
        "qa dry=false replicas=4 token=true"
    );
}

#[test]
fn shims_refuse_what_their_actions_refuse() {
    let repo = Repo::init();
    let (result, log) = repo.run("shim-refusals.yml", |r| r);
    let result = result.unwrap();
    assert!(!result.success);
    insta::assert_snapshot!(job_table(&result), @r"
    no-role [no-role] failure
    not-local [not-local] failure
    twice [twice] failure
    no-files [no-files] failure
    unknown-artifact [unknown-artifact] failure
    unknown-ref [unknown-ref] failure
    ");
    let twice = &result.job("twice").unwrap().steps;
    assert_eq!(
        twice[1].outcome,
        gantry_act::StepStatus::Success,
        "the first upload"
    );
    assert_eq!(
        twice[2].outcome,
        gantry_act::StepStatus::Failure,
        "the second"
    );
    for message in [
        "Credentials could not be loaded, please check your action inputs: no 'role-to-assume' is given",
        "gantry-act exports local AWS only, and AWS_ENDPOINT_URL ('https://sts.amazonaws.com') is not on 127.0.0.1",
        "(409) Conflict: an artifact with this name already exists on the workflow run ('once')",
        "No files were found with the provided path: nothing/*.txt. No artifacts will be uploaded.",
        "Unable to download artifact(s): Artifact not found for name: never-uploaded",
        "actions/checkout: the ref 'no-such-branch' is not in",
    ] {
        assert!(log.contains(message), "{message}\n{log}");
    }
}

#[test]
fn a_shimmed_action_at_another_ref_is_refused() {
    let repo = Repo::init();
    repo.add_workflow(
        "old-checkout.yml",
        "on: push\npermissions: {}\njobs:\n  c:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n",
    );
    let (result, _) = repo.run("old-checkout.yml", |r| r);
    let e = result.unwrap_err();
    assert!(matches!(e, ActError::NoShim { .. }), "{e}");
    assert!(
        e.to_string().contains(
            "'uses: actions/checkout@v4' has no shim ('actions/checkout' is shimmed at its v7.0.1 pin only: uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1)"
        ),
        "{e}"
    );
}

#[test]
fn jobs_see_the_github_runner_and_job_contexts() {
    let repo = Repo::init();
    let (result, log) = repo.run_here("contexts.yml", |r| r.input("note", "from the button"));
    let result = result.unwrap();
    assert!(result.success, "{log}");
    assert_eq!(
        output(&result, "read", "github"),
        "workflow_dispatch|refs/heads/main|main|gantry-actions/gantry|77|1|1"
    );
    assert_eq!(
        output(&result, "read", "more"),
        "gantry-act|contexts|read|https://github.com|https://api.github.com|https://api.github.com/graphql|from the button|success"
    );
    assert_eq!(
        output(&result, "read", "variables"),
        "40 true read workflow_dispatch from the button true"
    );
}

#[test]
fn check_only_refuses_or_passes_without_running_a_job() {
    let repo = Repo::init();
    let secrets = repo.write("secrets.yml", SECRETS);
    let (result, log) = repo.run_here("call.yml", |r| {
        r.secrets_file(&secrets)
            .repo("gantry-fixtures/pipes", repo.path())
            .check_only()
    });
    let result = result.unwrap();
    assert!(result.success && result.jobs.is_empty(), "{log}");
    assert!(
        log.contains("checked (3 job(s), 2 called workflow(s)): nothing run (--check)"),
        "{log}"
    );
    assert!(!log.contains("started"), "{log}");
    let (result, _) = repo.run_here("no-shim.yml", |r| r.check_only());
    assert!(matches!(result.unwrap_err(), ActError::NoShim { .. }));
}

#[test]
fn a_composite_action_reaches_its_own_repository_through_self_references() {
    let repo = Repo::init();
    let outer = repo.path().join("actions/outer");
    std::fs::create_dir_all(&outer).unwrap();
    std::fs::write(
        outer.join("action.yml"),
        "name: outer\ndescription: calls greet through $/\noutputs:\n  said:\n    description: x\n    value: ${{ steps.g.outputs.greeting }}\nruns:\n  using: composite\n  steps:\n    - id: g\n      uses: $/actions/greet\n      with:\n        who: itself\n",
    )
    .unwrap();
    // The workspace is elsewhere: `./actions/greet` would not resolve, `$/actions/greet` does.
    let elsewhere = tempfile::tempdir().unwrap();
    let log = Log::default();
    let result = gantry_act::Runner::new(&outer)
        .workspace(elsewhere.path())
        .log_to(log.clone())
        .run()
        .unwrap();
    assert!(result.success, "{}", log.text());
    assert_eq!(result.outputs["said"], "hello, itself");
}
