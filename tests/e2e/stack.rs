//! actions/stack through gantry-act against moto and the fake GitHub (`scripts/local-aws up`):
//! a pull request's plan writes one sticky comment per environment, found again by its marker and
//! updated in place on the next plan.

use gantry_tests::{bin_dir, repo_root, unique_name};
use serde_json::{Value, json};
use std::path::Path;

const TOKEN: &str = "ghp_stackE2eCommentToken";

fn action(workspace: &Path, repository: &str, pr: u64, run_id: &str) -> gantry_act::Runner {
    assert!(
        std::env::var("GITHUB_API_URL").is_ok_and(|u| u.starts_with("http://127.0.0.1:")),
        "GITHUB_API_URL is not the fake GitHub: run through `make test`, or `eval \"$(scripts/local-aws env)\"`"
    );
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: `eval \"$(scripts/local-aws env)\"`"
    );
    gantry_act::Runner::new(repo_root().join("actions/stack"))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .workspace(workspace)
        .github("repository", repository)
        .github("run_id", run_id)
        .github("ref", format!("refs/pull/{pr}/merge"))
        .github("event_name", "pull_request")
        .input("mode", "plan")
        .input("comment", "true")
        .input("github-token", TOKEN)
        .input("poll-interval", "1s")
        .input("timeout", "2m")
        .log_to(std::io::sink())
}

/// The pull request's comments, oldest first, as GitHub lists them.
fn comments(repository: &str, pr: u64) -> Vec<Value> {
    let api = std::env::var("GITHUB_API_URL").unwrap();
    let url = format!("{api}/repos/{repository}/issues/{pr}/comments?per_page=100");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("Authorization", "Bearer ghs_local-test-token")
            .header("User-Agent", "gantry-tests")
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    })
}

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn environment(dir: &Path, project: &str, env: &str) {
    let file = json!({
        "Project": project,
        "Environment": env,
        "Region": "us-east-1",
        "Tags": {"Project": project},
        "Stacks": [{"Layer": "app"}]
    });
    write(
        dir,
        &format!("infra/environments/{env}.json"),
        &serde_json::to_string_pretty(&file).unwrap(),
    );
}

fn template(resources: &[&str]) -> String {
    let mut t = String::from(
        "Parameters:\n  ProjectName: {Type: String}\n  EnvironmentName: {Type: String}\nResources:\n",
    );
    for r in resources {
        t.push_str(&format!(
            "  {r}:\n    Type: AWS::SNS::Topic\n    Properties: {{TopicName: !Sub \"${{ProjectName}}-${{EnvironmentName}}-{r}\"}}\n"
        ));
    }
    t
}

#[test]
fn plans_of_a_pull_request_keep_one_sticky_comment_per_environment() {
    let dir = tempfile::tempdir().unwrap();
    let project = unique_name("stackc");
    let repository = format!("gantry-e2e/{project}");
    let pr = 12;
    environment(dir.path(), &project, "dev");
    environment(dir.path(), &project, "staging");
    write(
        dir.path(),
        "infra/templates/app.yaml",
        &template(&["Alerts"]),
    );

    let first = action(dir.path(), &repository, pr, "51")
        .input("environment", "dev")
        .run()
        .unwrap();
    assert!(first.success, "{:?}", first.annotations);
    assert!(
        first.masks.iter().any(|m| m == TOKEN),
        "the token is masked: {:?}",
        first.masks
    );
    let marker = "<!-- gantry-stack plan: dev -->";
    let c = comments(&repository, pr);
    assert_eq!(c.len(), 1, "{c:?}");
    let body = c[0]["body"].as_str().unwrap();
    assert!(body.starts_with(marker), "{body}");
    assert!(body.contains("CloudFormation plan — dev"), "{body}");
    assert!(body.contains("`Alerts`"), "{body}");
    assert!(body.contains("/actions/runs/51"), "{body}");
    let id = c[0]["id"].as_u64().unwrap();
    assert_eq!(
        first.outputs["comment-url"],
        c[0]["html_url"].as_str().unwrap()
    );

    // The next push: a new plan of dev replaces the body of the same comment.
    write(
        dir.path(),
        "infra/templates/app.yaml",
        &template(&["Alerts", "Audit"]),
    );
    let second = action(dir.path(), &repository, pr, "52")
        .input("environment", "dev")
        .run()
        .unwrap();
    assert!(second.success, "{:?}", second.annotations);
    let c = comments(&repository, pr);
    assert_eq!(c.len(), 1, "still one comment: {c:?}");
    assert_eq!(c[0]["id"].as_u64(), Some(id), "updated in place");
    let body = c[0]["body"].as_str().unwrap();
    assert!(body.contains("`Audit`"), "{body}");
    assert!(body.contains("/actions/runs/52"), "{body}");
    assert_ne!(c[0]["updated_at"], Value::Null);

    // Another environment has its own comment; dev's stays as it was.
    let staging = action(dir.path(), &repository, pr, "53")
        .input("environment", "staging")
        .run()
        .unwrap();
    assert!(staging.success, "{:?}", staging.annotations);
    let c = comments(&repository, pr);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[0]["id"].as_u64(), Some(id));
    assert!(c[0]["body"].as_str().unwrap().contains("/actions/runs/52"));
    let body = c[1]["body"].as_str().unwrap();
    assert!(
        body.starts_with("<!-- gantry-stack plan: staging -->"),
        "{body}"
    );
    assert!(body.contains("CloudFormation plan — staging"), "{body}");

    // Another pull request does not see them.
    assert!(comments(&repository, pr + 1).is_empty());
}

/// A workspace with a one-stack dev environment of a new project, and its repository's name.
fn dev_environment(prefix: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let project = unique_name(prefix);
    environment(dir.path(), &project, "dev");
    write(
        dir.path(),
        "infra/templates/app.yaml",
        &template(&["Alerts"]),
    );
    (dir, format!("gantry-e2e/{project}"))
}

#[test]
fn outside_a_pull_request_a_plan_writes_no_comment() {
    let (dir, repository) = dev_environment("stackn");
    let r = action(dir.path(), &repository, 3, "61")
        .github("ref", "refs/heads/main")
        .github("event_name", "push")
        .input("environment", "dev")
        .run()
        .unwrap();
    assert!(r.success, "{:?}", r.annotations);
    assert_eq!(r.outputs["comment-url"], "");
    assert!(comments(&repository, 3).is_empty());
}

#[test]
fn comment_outside_plan_mode_is_a_warning_and_writes_nothing() {
    let (dir, repository) = dev_environment("stackd");
    let r = action(dir.path(), &repository, 4, "62")
        .input("mode", "deploy")
        .input("environment", "dev")
        .run()
        .unwrap();
    assert!(r.success, "{:?}", r.annotations);
    let warned = r.annotations.iter().any(|a| {
        a.level == gantry_act::AnnotationLevel::Warning
            && a.message
                .contains("only mode plan writes the pull request comment")
    });
    assert!(warned, "{:?}", r.annotations);
    assert!(comments(&repository, 4).is_empty());
}
