//! One step of a workflow job: its `env:` and `with:` evaluated, then a `run:` script, a local
//! composite action (`./` in the workspace, `$/` in the workflow's repository) or a shim.

use indexmap::IndexMap;

use super::model::{Job, Permissions, Step, StepKind, Workflow};
use super::run::{Frame, Run};
use super::shims::{self, ShimContext};
use crate::action::{self, Shell};
use crate::commands::AnnotationLevel;
use crate::expr::Scope;
use crate::expr::eval::string_map;
use crate::runner::{self, StepRun};

impl Run<'_> {
    #[allow(clippy::too_many_arguments, reason = "the parts of one step")]
    pub(super) fn step(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        perms: &Permissions,
        runner: &mut runner::Job,
        step: &Step,
        scope: &Scope,
        env_ctx: &IndexMap<String, String>,
        failed: bool,
    ) -> StepRun {
        let mut step_env = env_ctx.clone();
        let mut scope = scope.clone();
        for (k, t) in &step.env {
            scope.set("env", string_map(&step_env));
            match t.eval_string(&scope) {
                Ok(v) => {
                    step_env.insert(k.clone(), v);
                }
                Err(e) => return runner.eval_failed(&format!("env.{k}"), &e),
            }
        }
        scope.set("env", string_map(&step_env));
        let mut with = IndexMap::new();
        let with_templates = match &step.kind {
            StepKind::Local { with, .. } | StepKind::Remote { with, .. } => Some(with),
            StepKind::Run { .. } => None,
        };
        for (k, t) in with_templates.into_iter().flatten() {
            match t.eval_string(&scope) {
                Ok(v) => {
                    with.insert(k.clone(), v);
                }
                Err(e) => return runner.eval_failed(&format!("with.{k}"), &e),
            }
        }
        match &step.kind {
            StepKind::Run {
                script,
                shell,
                working_directory,
            } => {
                let script = match script.eval_string(&scope) {
                    Ok(s) => s,
                    Err(e) => return runner.eval_failed("run", &e),
                };
                let shell = match shell_for(shell.as_ref(), job, wf) {
                    Ok(s) => s,
                    Err(m) => {
                        runner.annotate(AnnotationLevel::Error, &m);
                        return StepRun::failed();
                    }
                };
                let wd = working_directory
                    .as_ref()
                    .or(job.defaults.working_directory.as_ref())
                    .or(wf.defaults.working_directory.as_ref());
                let cwd = match runner.working_dir(wd, &scope) {
                    Ok(dir) => dir,
                    Err(failed) => return failed,
                };
                runner.exec(None, &step.id, &shell, &script, &cwd, &step_env)
            }
            StepKind::Local {
                path, self_repo, ..
            } => {
                let dir = if *self_repo {
                    frame.repo_dir.join(path)
                } else {
                    runner.workspace.join(path)
                };
                let loaded = action::load(&dir)
                    .and_then(|nested| runner.run_action(&nested, &with, &step_env, 1, failed));
                match loaded {
                    Ok(run) => StepRun {
                        success: run.success,
                        outputs: run.outputs,
                    },
                    Err(e) => {
                        runner.annotate(AnnotationLevel::Error, &e.to_string());
                        StepRun::failed()
                    }
                }
            }
            StepKind::Remote {
                action, git_ref, ..
            } => match shims::find(action, git_ref) {
                Ok(shim) => {
                    let mut env: IndexMap<String, String> = std::env::vars().collect();
                    env.extend(step_env);
                    let cx = ShimContext {
                        with: &with,
                        env: &env,
                        permissions: perms,
                        repo_root: &self.repo_root,
                        repos: &self.opts.repos,
                        artifacts: &self.artifacts,
                    };
                    shims::run(shim, runner, &cx)
                }
                Err(m) => {
                    runner.annotate(AnnotationLevel::Error, &m);
                    StepRun::failed()
                }
            },
        }
    }
}

/// The shell of a `run:` step: its own, the job's default, the workflow's, else GitHub's
/// `bash -e {0}` for a step that names none.
fn shell_for(own: Option<&Shell>, job: &Job, wf: &Workflow) -> Result<Shell, String> {
    if let Some(s) = own {
        return Ok(s.clone());
    }
    match job
        .defaults
        .shell
        .as_deref()
        .or(wf.defaults.shell.as_deref())
    {
        Some(s) => Shell::parse(s),
        None => Ok(Shell {
            spec: "bash -e {0}".to_owned(),
            argv: ["bash", "-e", "{0}"].map(str::to_owned).to_vec(),
            extension: ".sh",
        }),
    }
}
