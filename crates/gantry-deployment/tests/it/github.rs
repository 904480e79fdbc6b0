//! Every subcommand against the fake GitHub (scripts/fake-github/server.py), which answers as
//! GitHub documents (checked by `fake::the_fake_answers_in_githubs_shapes`).

use super::{Fake, TOKEN, release};
use serde_json::json;

#[test]
fn start_and_finish_round_trip() {
    let f = Fake::new("round-trip");
    let r = release(1).to_string();
    let started = f
        .run_in_job(
            &["start", "--environment", "staging", "--release", &r],
            "71",
            "deploy",
            "1",
        )
        .ok()
        .json();
    let id = started["deployment-id"].as_u64().unwrap();
    assert_eq!(started["reused"], false);
    assert_eq!(started["environment"], "staging");
    assert!(
        started["deployment-url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/deployments/{id}"))
    );
    // The record: what GitHub was asked for, with the run that recorded it in the payload.
    let (_, d) = f.api("GET", &format!("/deployments/{id}"), None);
    assert_eq!(d["task"], "deploy");
    assert_eq!(
        d["ref"],
        release(1)["sha"],
        "the ref defaults to the release's commit"
    );
    assert_eq!(
        d["payload"]["run-url"],
        format!("https://github.com/{}/actions/runs/71", f.repository())
    );
    assert_eq!(d["payload"]["job"], "deploy");
    assert_eq!(d["payload"]["image"], release(1)["image"]);
    assert_eq!(d["description"], "gantry: 0000000 to staging");
    let st = f.statuses(id);
    assert_eq!(st[0]["state"], "in_progress");
    assert_eq!(
        st[0]["log_url"],
        format!(
            "https://github.com/{}/actions/runs/71/attempts/1",
            f.repository()
        )
    );

    let done = f
        .run(&[
            "finish",
            "--deployment-id",
            &id.to_string(),
            "--state",
            "success",
            "--environment-url",
            "https://staging.example.com",
        ])
        .ok()
        .json();
    assert_eq!(done["state"], "success");
    assert_eq!(done["sha"], release(1)["sha"]);
    assert_eq!(done["release"]["site"]["release-id"], "r1");
    assert_eq!(done["description"], "gantry: 0000000 is live in staging");
    let st = f.statuses(id);
    assert_eq!(st[0]["state"], "success");
    assert_eq!(st[0]["environment_url"], "https://staging.example.com");
    assert_eq!(f.states(id), vec!["success", "in_progress"]);

    // A failure is recorded as such, and such a record is never good.
    let id2 = f
        .run(&[
            "start",
            "--environment",
            "staging",
            "--release",
            &release(2).to_string(),
        ])
        .ok()
        .json()["deployment-id"]
        .as_u64()
        .unwrap();
    f.run(&[
        "finish",
        "--deployment-id",
        &id2.to_string(),
        "--state",
        "failure",
    ])
    .ok();
    assert_eq!(f.states(id2), vec!["failure", "in_progress"]);
    let good = f
        .run(&["last-good", "--environment", "staging"])
        .ok()
        .json();
    assert_eq!(good["deployment-id"], id);
    assert_eq!(good["current-deployment-id"], id2.to_string());
    assert_eq!(good["current-state"], "failure");
}

#[test]
fn a_description_over_140_characters_is_cut_not_refused() {
    let f = Fake::new("long-description");
    // 150 characters with a 4-byte character across the cut: GitHub (and the fake) refuse > 140.
    let long = format!("{}🚀🚀🚀{}", "é".repeat(137), "x".repeat(10));
    let r = release(3).to_string();
    let out = f
        .run(&[
            "start",
            "--environment",
            "qa",
            "--release",
            &r,
            "--description",
            &long,
        ])
        .ok();
    assert!(out.stderr.contains("cut to"), "{}", out.stderr);
    let id = out.json()["deployment-id"].as_u64().unwrap();
    let d = f.statuses(id)[0]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(d.chars().count(), 140);
    assert_eq!(d, format!("{}🚀🚀…", "é".repeat(137)));
    let fin = f
        .run(&[
            "finish",
            "--deployment-id",
            &id.to_string(),
            "--state",
            "error",
            "--description",
            &long,
        ])
        .ok()
        .json();
    assert_eq!(fin["description"].as_str().unwrap().chars().count(), 140);
}

#[test]
fn last_good_across_five_releases_skips_the_one_marked_bad() {
    let f = Fake::new("five");
    let ids: Vec<u64> = (1..=5).map(|n| f.deploy("staging", n)).collect();
    // GitHub's auto_inactive: every earlier success is now inactive.
    for id in &ids[..4] {
        assert_eq!(f.states(*id)[0], "inactive", "deployment {id}");
    }
    assert_eq!(f.states(ids[4])[0], "success");
    let newest = f
        .run(&["last-good", "--environment", "staging"])
        .ok()
        .json();
    assert_eq!(newest["deployment-id"], ids[4]);

    // Release 5 is rolled back: marked bad, it is never offered again.
    let reason = "rolled back: p99 latency alarm";
    let marked = f
        .run(&[
            "mark",
            "--deployment-id",
            &ids[4].to_string(),
            "--bad",
            "--reason",
            reason,
        ])
        .ok()
        .json();
    assert_eq!(marked["state"], "failure");
    assert_eq!(
        marked["description"],
        format!("gantry: marked bad: {reason}")
    );
    let good = f.run(&["last-good", "--environment", "staging"]).ok();
    let v = good.json();
    assert_eq!(v["deployment-id"], ids[3], "{}", good.stderr);
    assert_eq!(v["sha"], release(4)["sha"]);
    assert_eq!(v["image"], release(4)["image"]);
    assert_eq!(v["task-definition-arn"], release(4)["task-definition-arn"]);
    assert_eq!(v["site-release-id"], "r4");
    assert_eq!(v["site-bucket"], "app-site");
    assert_eq!(v["current-deployment-id"], ids[4].to_string());
    assert_eq!(v["current-state"], "failure");
    assert!(v["succeeded-at"].as_str().unwrap().ends_with('Z'));
    assert!(
        good.stderr.contains(&format!(
            "deployment {}: skipped: marked bad: {reason}",
            ids[4]
        )),
        "{}",
        good.stderr
    );

    let previous = f
        .run(&["last-good", "--environment", "staging", "--to", "previous"])
        .ok()
        .json();
    assert_eq!(previous["deployment-id"], ids[2]);
    let by_id = f
        .run(&[
            "last-good",
            "--environment",
            "staging",
            "--to",
            &ids[1].to_string(),
        ])
        .ok()
        .json();
    assert_eq!(by_id["sha"], release(2)["sha"]);
    let refused = f.run(&[
        "last-good",
        "--environment",
        "staging",
        "--to",
        &ids[4].to_string(),
    ]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("is not a good release: marked bad")
    );

    // Re-deploying the bad release as a new deployment does not make it good again.
    let again = f.deploy("staging", 5);
    let v = f
        .run(&["last-good", "--environment", "staging"])
        .ok()
        .json();
    assert_eq!(
        v["deployment-id"], ids[3],
        "deployment {again} carries the release marked bad"
    );
}

#[test]
fn a_payload_of_another_schema_is_left_alone() {
    let f = Fake::new("other-schema");
    let ours = f.deploy("prod", 1);
    let theirs = f.foreign_deployment("prod", json!({"deploy": "migrate"}), "success");
    let newer = f.foreign_deployment(
        "prod",
        json!({"schema": "gantry.release/v9", "x": 1}),
        "success",
    );
    let v = f.run(&["last-good", "--environment", "prod"]).ok();
    assert_eq!(v.json()["deployment-id"], ours);
    assert!(
        v.stderr.contains(&format!(
            "deployment {theirs}: skipped: payload is not gantry.release/v1"
        )),
        "{}",
        v.stderr
    );
    assert_eq!(v.json()["current-deployment-id"], newer.to_string());
    let before = f.states(theirs);
    for args in [
        vec![
            "finish",
            "--deployment-id",
            &*theirs.to_string(),
            "--state",
            "failure",
        ],
        vec![
            "mark",
            "--deployment-id",
            &*theirs.to_string(),
            "--bad",
            "--reason",
            "x",
        ],
    ] {
        let out = f.run(&args);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("is not a gantry record"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(
        f.states(theirs),
        before,
        "nothing was written to their record"
    );
    // Another environment has nothing good.
    let none = f.run(&["last-good", "--environment", "dev"]);
    assert_eq!(none.code, 1);
    assert!(
        none.json()["error"]
            .as_str()
            .unwrap()
            .contains("dev has no good release")
    );
}

#[test]
fn last_good_pages_past_100_deployments() {
    let f = Fake::new("paging");
    let ours = f.deploy("dev", 1);
    for _ in 0..120 {
        f.foreign_deployment("dev", json!({"other": true}), "success");
    }
    let v = f
        .run(&["last-good", "--environment", "dev", "--max-scan", "200"])
        .ok()
        .json();
    assert_eq!(v["deployment-id"], ours);
    assert_eq!(v["scanned"], 121);
    let gql = f
        .requests()
        .into_iter()
        .filter(|(_, p, _)| p == "/graphql")
        .count();
    assert_eq!(gql, 2, "one query a page of 100");
    // With the default bound (100) it is out of reach, and the message says how to reach it.
    let out = f.run(&["last-good", "--environment", "dev"]);
    assert_eq!(out.code, 1);
    assert!(
        out.json()["error"]
            .as_str()
            .unwrap()
            .contains("raise max-scan"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_rerun_of_start_reuses_its_deployment_past_the_first_page() {
    let f = Fake::new("rerun");
    let r = release(1).to_string();
    let args = [
        "start",
        "--environment",
        "staging",
        "--release",
        &r,
        "--max-scan",
        "200",
    ];
    let first = f
        .run_in_job(&args, "555", "deploy-staging", "1")
        .ok()
        .json();
    let id = first["deployment-id"].as_u64().unwrap();
    for _ in 0..105 {
        f.foreign_deployment("staging", json!({}), "in_progress");
    }
    // "Re-run failed jobs": the same run id and job, a new attempt.
    let again = f
        .run_in_job(&args, "555", "deploy-staging", "2")
        .ok()
        .json();
    assert_eq!(again["deployment-id"], id);
    assert_eq!(again["reused"], true);
    let lists = f
        .requests()
        .into_iter()
        .filter(|(m, p, _)| m == "GET" && p.contains("/deployments?"))
        .count();
    assert_eq!(
        lists, 3,
        "one page for the first run, two for the re-run (Link rel=next)"
    );
    assert_eq!(f.states(id), vec!["in_progress", "in_progress"]);
    let st = f.statuses(id);
    assert!(st[0]["log_url"].as_str().unwrap().ends_with("/attempts/2"));
    // Another job of the same run, or another release, gets its own record.
    let other_job = f.run_in_job(&args, "555", "deploy-prod", "1").ok().json();
    assert_ne!(other_job["deployment-id"], id);
    let r2 = release(2).to_string();
    let other_release = f
        .run_in_job(
            &["start", "--environment", "staging", "--release", &r2],
            "555",
            "deploy-staging",
            "3",
        )
        .ok()
        .json();
    assert_ne!(other_release["deployment-id"], id);
    assert_eq!(other_release["reused"], false);
}

#[test]
fn the_primary_rate_limit_is_waited_out_within_the_deadline() {
    let f = Fake::new("primary-wait");
    f.fault(json!({"kind": "primary", "reset_in": 1}));
    let r = release(1).to_string();
    let out = f
        .run(&["start", "--environment", "dev", "--release", &r])
        .ok();
    assert!(
        out.stderr.contains("GitHub's rate limit is used up"),
        "{}",
        out.stderr
    );
    let reqs = f.requests();
    assert_eq!(reqs[0].2, 403);
    assert!(
        reqs.iter().any(|(m, _, s)| m == "POST" && *s == 201),
        "{reqs:?}"
    );
}

#[test]
fn the_primary_rate_limit_past_the_deadline_fails_naming_the_reset() {
    let f = Fake::new("primary-late");
    f.fault(json!({"kind": "primary", "reset_in": 3600}));
    let out = f.run(&["last-good", "--environment", "dev", "--timeout", "30s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let e = out.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("rate limit for this token is used up until 20"),
        "{e}"
    );
    assert!(e.contains("after this step's deadline"), "{e}");
    assert!(out.stderr.contains("raise `timeout`"), "{}", out.stderr);
    assert_eq!(
        f.requests().len(),
        1,
        "no request after the answer said to wait an hour"
    );
}

#[test]
fn a_secondary_rate_limit_is_retried_after_retry_after() {
    let f = Fake::new("secondary");
    f.fault(json!({"kind": "secondary", "count": 2, "retry_after": 1}));
    let id = f.deploy("dev", 1);
    let statuses: Vec<u16> = f.requests().iter().map(|r| r.2).collect();
    assert_eq!(&statuses[..3], &[403, 403, 201], "{statuses:?}");
    assert_eq!(f.states(id), vec!["success", "in_progress"]);
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let f = Fake::new("server-errors");
    f.fault(json!({"kind": "server", "count": 2, "status": 502}));
    let v = f.run(&["last-good", "--environment", "dev"]);
    assert_eq!(v.code, 1, "nothing good, but GitHub answered: {}", v.stderr);
    assert!(
        v.json()["error"]
            .as_str()
            .unwrap()
            .contains("no good release")
    );
    f.fault(json!({"kind": "server", "count": 10, "status": 503}));
    let out = f.run(&["last-good", "--environment", "dev"]);
    assert_eq!(out.code, 1);
    assert!(
        out.json()["error"]
            .as_str()
            .unwrap()
            .contains("GitHub answered 503 after 4 attempts"),
        "{}",
        out.stdout
    );
    let n503 = f.requests().iter().filter(|r| r.2 == 503).count();
    assert_eq!(n503, 4);
}

#[test]
fn refusals_are_explained_with_the_permission() {
    let f = Fake::new("refusals");
    f.settings(json!({"read_only": true}));
    let out = f.run(&[
        "start",
        "--environment",
        "dev",
        "--release",
        &release(1).to_string(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("403 Resource not accessible by integration"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("permissions: deployments: write"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("GitHub accepts a token with: deployments=write"),
        "{}",
        out.stderr
    );
    let out = f.run(&[
        "finish",
        "--deployment-id",
        "987654321",
        "--state",
        "success",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("GitHub found no deployment 987654321"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("cannot see the repository"),
        "{}",
        out.stderr
    );
}

#[test]
fn failing_checks_and_a_branch_behind_do_not_block_a_deployment() {
    let f = Fake::new("checks");
    // GitHub answers 409 (checks) or 202 (auto-merge) unless required_contexts is [] and auto_merge false.
    f.settings(json!({"failing_contexts": ["ci/test"], "default_branch_ahead": true}));
    let out = f.run(&[
        "start",
        "--environment",
        "dev",
        "--release",
        &release(1).to_string(),
        "--ref",
        "topic",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn dry_runs_write_nothing() {
    let f = Fake::new("dry-run");
    let r = release(1).to_string();
    let plan = f
        .run(&[
            "start",
            "--environment",
            "dev",
            "--release",
            &r,
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(
        plan["plan"]["create-deployment"]["required_contexts"],
        json!([])
    );
    assert_eq!(plan["plan"]["create-deployment"]["auto_merge"], false);
    assert_eq!(plan["plan"]["status"]["state"], "in_progress");
    let id = f.deploy("dev", 2);
    let before = f.states(id);
    let m = f
        .run(&[
            "mark",
            "--deployment-id",
            &id.to_string(),
            "--bad",
            "--reason",
            "x",
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(m["plan"]["status"]["description"], "gantry: marked bad: x");
    f.run(&[
        "finish",
        "--deployment-id",
        &id.to_string(),
        "--state",
        "failure",
        "--dry-run",
    ])
    .ok();
    assert_eq!(f.states(id), before);
    let posts = f
        .requests()
        .iter()
        .filter(|(m, p, _)| m == "POST" && p != "/graphql")
        .count();
    assert_eq!(
        posts, 3,
        "only the non-dry deploy wrote (create, in_progress, success)"
    );
}

#[test]
fn last_good_gates_on_commit_and_age() {
    let f = Fake::new("gates");
    let id = f.deploy("dev", 7);
    let sha = release(7)["sha"].as_str().unwrap().to_owned();
    let ok = f
        .run(&[
            "last-good",
            "--environment",
            "dev",
            "--sha",
            &sha[..12],
            "--min-age",
            "0",
        ])
        .ok()
        .json();
    assert_eq!(ok["deployment-id"], id);
    assert!(ok["age-seconds"].as_str().unwrap().parse::<u64>().unwrap() < 600);
    let wrong = f.run(&["last-good", "--environment", "dev", "--sha", "deadbeefcafe"]);
    assert_eq!(wrong.code, 1);
    let e = wrong.json()["error"].as_str().unwrap().to_owned();
    assert_eq!(
        e,
        format!(
            "the last good release of dev is 0000000 (deployment {id}), not deadbee — deploy deadbee to dev first"
        )
    );
    let young = f.run(&["last-good", "--environment", "dev", "--min-age", "1h"]);
    assert_eq!(young.code, 1);
    let v = young.json();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("has been good in dev for"),
        "{v}"
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("min-age is 1h — promote in"),
        "{v}"
    );
    assert_eq!(v["deployment-id"], id, "the outputs known are still given");
    let none = f.run(&["last-good", "--environment", "staging", "--sha", &sha]);
    assert_eq!(none.code, 1);
    assert!(
        none.json()["error"]
            .as_str()
            .unwrap()
            .contains("staging has no good release — deploy 0000000 to staging first")
    );
}

#[test]
fn the_token_never_appears_in_any_output() {
    let f = Fake::new("token");
    let dir = tempfile::tempdir().unwrap();
    let r = release(1).to_string();
    let check = |label: &str, stdout: &str, stderr: &str, files: &[std::path::PathBuf]| {
        assert!(!stdout.contains(TOKEN), "{label}: token on stdout");
        // In Actions the one place it appears is the mask command that hides it.
        for line in stderr.lines().filter(|l| l.contains(TOKEN)) {
            assert_eq!(
                line,
                format!("::add-mask::{TOKEN}"),
                "{label}: token on stderr"
            );
        }
        for file in files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            assert!(
                !text.contains(TOKEN),
                "{label}: token in {}",
                file.display()
            );
        }
    };
    // Outside Actions, with debug logs; then inside Actions with the runner's files.
    for actions in [false, true] {
        let out_file = dir.path().join(format!("out-{actions}"));
        let sum_file = dir.path().join(format!("sum-{actions}"));
        let runs: Vec<Vec<String>> = vec![
            vec![
                "start".into(),
                "--environment".into(),
                "dev".into(),
                "--release".into(),
                r.clone(),
            ],
            vec!["last-good".into(), "--environment".into(), "dev".into()],
            vec![
                "finish".into(),
                "--deployment-id".into(),
                "1".into(),
                "--state".into(),
                "success".into(),
            ],
            vec![
                "mark".into(),
                "--deployment-id".into(),
                "x".into(),
                "--bad".into(),
            ],
        ];
        let mut masks = 0;
        for args in &runs {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut c = f.cmd(&args);
            c.env("GANTRY_LOG", "debug");
            if actions {
                c.env("GITHUB_ACTIONS", "true")
                    .env("GITHUB_OUTPUT", &out_file)
                    .env("GITHUB_STEP_SUMMARY", &sum_file);
            }
            let o = c.output().unwrap();
            let (so, se) = (
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr),
            );
            check(
                &format!("{args:?} actions={actions}"),
                &so,
                &se,
                &[out_file.clone(), sum_file.clone()],
            );
            masks += se.lines().filter(|l| l.starts_with("::add-mask::")).count();
        }
        if actions {
            assert!(
                masks >= 3,
                "the token is masked before anything prints (masks: {masks})"
            );
        } else {
            assert_eq!(masks, 0);
        }
    }
    // The token reached GitHub all the same: the fake saw authenticated writes.
    assert!(
        f.requests()
            .iter()
            .any(|(m, _, s)| m == "POST" && *s == 201)
    );
}
