//! actions/deployment through gantry-act against the fake GitHub (`scripts/local-aws up`): the
//! inputs reach the binary through GANTRY_* env, the outputs come back, and GitHub's records say
//! what was deployed.

use gantry_tests::{bin_dir, repo_root, unique_name};

fn action(repository: &str, run_id: &str) -> gantry_act::Runner {
    assert!(
        std::env::var("GITHUB_API_URL").is_ok_and(|u| u.starts_with("http://127.0.0.1:")),
        "GITHUB_API_URL is not the fake GitHub: run through `make test`, or `eval \"$(scripts/local-aws env)\"`"
    );
    gantry_act::Runner::new(repo_root().join("actions/deployment"))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .github("repository", repository)
        .github("run_id", run_id)
        .github("job", "deploy")
        .log_to(std::io::sink())
}

#[test]
fn start_finish_and_last_good_through_the_action() {
    let repo = format!("gantry-e2e/{}", unique_name("deployment"));
    let release = action(&repo, "31")
        .input("mode", "release")
        .input("ref", "main")
        .input("sha", "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d")
        .input("image", format!("r.example/app@sha256:{}", "1".repeat(64)))
        .input("services", "main/web")
        .run()
        .unwrap();
    assert!(release.success, "{:?}", release.annotations);
    let manifest = release.outputs["release"].clone();
    assert!(
        manifest.starts_with(r#"{"schema":"gantry.release/v1""#),
        "{manifest}"
    );

    let start = action(&repo, "31")
        .input("mode", "start")
        .input("environment", "staging")
        .input("release", &manifest)
        .run()
        .unwrap();
    assert!(start.success, "{:?}", start.annotations);
    let id = start.outputs["deployment-id"].clone();
    assert_eq!(start.outputs["reused"], "false");
    assert!(
        start.masks.iter().any(|m| m.starts_with("ghs_")),
        "the token is masked"
    );

    // "Re-run failed jobs": the same run and job reuse the record.
    let rerun = action(&repo, "31")
        .github("run_attempt", "2")
        .input("mode", "start")
        .input("environment", "staging")
        .input("release", &manifest)
        .run()
        .unwrap();
    assert_eq!(rerun.outputs["deployment-id"], id);
    assert_eq!(rerun.outputs["reused"], "true");

    let finish = action(&repo, "31")
        .input("mode", "finish")
        .input("deployment-id", &id)
        .input("state", "success")
        .input("environment-url", "https://staging.example.com")
        .run()
        .unwrap();
    assert!(finish.success, "{:?}", finish.annotations);
    assert_eq!(finish.outputs["state"], "success");

    let good = action(&repo, "32")
        .input("mode", "last-good")
        .input("environment", "staging")
        .run()
        .unwrap();
    assert!(good.success, "{:?}", good.annotations);
    assert_eq!(good.outputs["deployment-id"], id);
    assert_eq!(
        good.outputs["image"],
        format!("r.example/app@sha256:{}", "1".repeat(64))
    );
    assert!(good.summary.contains("**chosen**"), "{}", good.summary);

    let mark = action(&repo, "33")
        .input("mode", "mark")
        .input("deployment-id", &id)
        .input("bad", "true")
        .input("reason", "rolled back")
        .run()
        .unwrap();
    assert!(mark.success, "{:?}", mark.annotations);
    let none = action(&repo, "34")
        .input("mode", "last-good")
        .input("environment", "staging")
        .run()
        .unwrap();
    assert!(!none.success);
    assert!(
        none.annotations
            .iter()
            .any(|a| a.message.contains("staging has no good release")),
        "{:?}",
        none.annotations
    );
    assert_eq!(none.outputs["current-deployment-id"], id);
}

#[test]
fn a_bad_mode_or_input_is_refused_with_an_annotation() {
    let repo = format!("gantry-e2e/{}", unique_name("deployment-bad"));
    let r = action(&repo, "41").input("mode", "deploy").run().unwrap();
    assert!(!r.success);
    assert!(
        r.annotations.iter().any(|a| a
            .message
            .contains("mode: `deploy` is not start, finish, last-good, mark or release")),
        "{:?}",
        r.annotations
    );
    let r = action(&repo, "41")
        .input("mode", "finish")
        .input("deployment-id", "twelve")
        .input("state", "success")
        .run()
        .unwrap();
    assert!(!r.success);
    assert!(
        r.annotations.iter().any(|a| a
            .message
            .contains("deployment-id: `twelve` is not a deployment id")),
        "{:?}",
        r.annotations
    );
}
