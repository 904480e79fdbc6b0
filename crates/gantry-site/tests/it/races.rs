//! Publishes at once against moto: two deploys of different content to one bucket, interleaved
//! exactly as a race would (each request held until another one is done), free-running, and
//! with one of them stopped mid-way. Whatever the order, every live HTML page's script exists,
//! the loser of the pointer stops with a clear message, and the next deploy repairs what the
//! loser replaced.

use super::deploy_config;
use super::moto::{Recorder, app, bucket, client, dir_arg, html_is_consistent, keys, read, sdk};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use gantry_kit::poll::SystemClock;
use gantry_kit::{Error, ExitCode, Report};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the publishes have done so far (`A PUT index.html`), shared by their clients.
#[derive(Debug, Clone, Default)]
struct Stage {
    done: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Stage {
    fn mark(&self, event: String) {
        let (log, changed) = &*self.done;
        log.lock().unwrap().push(event);
        changed.notify_all();
    }

    /// Blocks until an event starting with `prefix` happened (30 s at most).
    fn wait_for(&self, prefix: &str) -> Result<(), BoxError> {
        let (log, changed) = &*self.done;
        let (_log, waited) = changed
            .wait_timeout_while(log.lock().unwrap(), Duration::from_secs(30), |l| {
                !l.iter().any(|e| e.starts_with(prefix))
            })
            .unwrap();
        if waited.timed_out() {
            return Err(format!("the race never got to `{prefix}`").into());
        }
        Ok(())
    }

    fn events(&self) -> Vec<String> {
        self.done.0.lock().unwrap().clone()
    }
}

/// One publish's client: names its requests `WHO VERB key` when they are done, and holds a PUT
/// of a key starting with `key` until `after` happened.
#[derive(Debug, Clone)]
struct Part {
    who: &'static str,
    stage: Stage,
    holds: Vec<(&'static str, &'static str)>,
}

/// The request a response answers (`WHO VERB key`), kept for the response's interceptor.
#[derive(Debug, Clone)]
struct Sent(String);

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

/// The object key of a request (`/bucket/key?query` → `key`).
fn key_of(uri: &str) -> String {
    let path = uri
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or(uri, |(_, p)| p);
    let path = path.split('?').next().unwrap_or(path);
    path.split_once('/')
        .map_or(String::new(), |(_, k)| k.to_owned())
}

impl Intercept for Part {
    fn name(&self) -> &'static str {
        "Part"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let key = key_of(req.uri());
        if req.method() == "PUT" {
            for (held, after) in &self.holds {
                if key.starts_with(held) {
                    self.stage.wait_for(after)?;
                }
            }
        }
        // The response context has no request: remember what this one was.
        cfg.interceptor_state()
            .store_put(Sent(format!("{} {} {key}", self.who, req.method())));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Sent(event)) = cfg.load::<Sent>() {
            self.stage.mark(event.clone());
        }
        Ok(())
    }
}

/// Deploys `n` (the test app's release `n`) to `bucket` on a thread and runtime of its own, so
/// a held request blocks only this publish.
fn publish_on_thread(
    bucket: String,
    n: u32,
    part: Option<Part>,
    recorder: Option<Recorder>,
) -> std::thread::JoinHandle<Result<Report, Error>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let d = tempfile::tempdir().unwrap();
            app(d.path(), n);
            let mut conf = sdk().await;
            if let Some(p) = part {
                conf = conf.interceptor(p);
            }
            if let Some(r) = recorder {
                conf = conf.interceptor(r);
            }
            let s3 = Client::from_conf(conf.build());
            let cfg = deploy_config(&[
                "--dir",
                dir_arg(&d),
                "--bucket",
                &bucket,
                "--keep-releases",
                "1",
            ]);
            gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg).await
        })
    })
}

fn release_of(r: &Report) -> String {
    r.outputs
        .get("release-id")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// The pointer tells the truth: every HTML page it lists holds the bytes it records
/// (`x-amz-meta-sha256`), and every page's script exists.
async fn live_is_whole(s3: &Client, b: &str) {
    html_is_consistent(s3, b).await;
    let pointer: serde_json::Value =
        serde_json::from_str(&read(s3, b, ".gantry/live.json").await.unwrap()).unwrap();
    for (key, e) in pointer["manifest"]["files"].as_object().unwrap() {
        if !key.ends_with(".html") {
            continue;
        }
        let head = s3.head_object().bucket(b).key(key).send().await.unwrap();
        let stored = head.metadata().and_then(|m| m.get("sha256")).cloned();
        assert_eq!(
            stored.as_deref(),
            e["sha256"].as_str(),
            "{key} holds other bytes than the live release records"
        );
    }
}

/// The deploy that lost the pointer says so and what to do.
fn lost_the_pointer(e: &Error) {
    assert_eq!(e.exit_code(), ExitCode::Failed, "{}", e.message());
    assert!(
        e.message().contains("another publish changed")
            && e.message().contains(".gantry/live.json while this one ran"),
        "{}",
        e.message()
    );
    assert!(
        e.hints().iter().any(|h| h.contains("concurrency:")),
        "{:?}",
        e.hints()
    );
}

#[test]
fn two_publishes_at_once_one_is_made_live_the_other_stops_and_the_next_deploy_repairs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = rt.block_on(client());
    let b = rt.block_on(bucket(&s3, false));
    let first = publish_on_thread(b.clone(), 1, None, None).join().unwrap();
    first.unwrap();

    // A publishes release 2 up to its manifest; B (release 3) then writes its script and both
    // pages over A's; A makes its release live; B, which read the same pointer, tries last.
    let stage = Stage::default();
    let a = Part {
        who: "A",
        stage: stage.clone(),
        holds: vec![
            (".gantry/live.json", "B PUT index.html"),
            (".gantry/live.json", "B PUT docs/index.html"),
        ],
    };
    let bee = Part {
        who: "B",
        stage: stage.clone(),
        holds: vec![
            ("assets/", "A PUT .gantry/releases/"),
            (".gantry/live.json", "A PUT .gantry/live.json"),
        ],
    };
    let ra = publish_on_thread(b.clone(), 2, Some(a), None);
    let rb = publish_on_thread(b.clone(), 3, Some(bee), None);
    let (ra, rb) = (ra.join().unwrap(), rb.join().unwrap());
    let release_a = release_of(&ra.unwrap_or_else(|e| panic!("A: {}", e.message())));
    let err = rb.expect_err("B read the pointer A replaced: it must not be made live");
    lost_the_pointer(&err);
    let events = stage.events();
    assert!(
        events.iter().position(|e| e == "A PUT .gantry/live.json")
            < events.iter().position(|e| e == "B PUT .gantry/live.json"),
        "{events:?}"
    );
    rt.block_on(async {
        let pointer: serde_json::Value =
            serde_json::from_str(&read(&s3, &b, ".gantry/live.json").await.unwrap()).unwrap();
        assert_eq!(pointer["release"], release_a.as_str());
        // B's pages are live over A's, with B's script: whole, though not what the pointer says.
        assert!(
            read(&s3, &b, "index.html")
                .await
                .unwrap()
                .contains("release 3")
        );
        html_is_consistent(&s3, &b).await;
    });

    // The next deploy (A's again) finds the pages B replaced by their ETags, puts A's back,
    // and only then prunes B's files.
    let again = publish_on_thread(b.clone(), 2, None, None)
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(release_of(&again), release_a);
    assert_eq!(again.outputs.get("uploaded").unwrap(), 2, "the two pages");
    rt.block_on(async {
        assert!(
            read(&s3, &b, "index.html")
                .await
                .unwrap()
                .contains("release 2")
        );
        live_is_whole(&s3, &b).await;
        assert!(
            !keys(&s3, &b).await.iter().any(|k| k.contains("app-0003")),
            "B's script is pruned once no page needs it"
        );
    });
}

#[test]
fn publishes_racing_freely_or_stopped_mid_way_never_leave_a_page_without_its_script() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = rt.block_on(client());
    let b = rt.block_on(bucket(&s3, false));
    publish_on_thread(b.clone(), 1, None, None)
        .join()
        .unwrap()
        .unwrap();
    let mut made_live = Vec::new();
    for round in 0..3u32 {
        let (nx, ny) = (10 + round, 20 + round);
        let x = publish_on_thread(b.clone(), nx, None, None);
        let y = publish_on_thread(b.clone(), ny, None, None);
        // A third one dies after its script and a page, as a killed runner would.
        let dying = publish_on_thread(
            b.clone(),
            30 + round,
            None,
            Some(Recorder::failing_after(2)),
        );
        let results = [(nx, x.join().unwrap()), (ny, y.join().unwrap())];
        assert!(dying.join().unwrap().is_err());
        assert!(
            results.iter().any(|(_, r)| r.is_ok()),
            "one of two publishes is made live"
        );
        for (n, r) in &results {
            match r {
                Ok(report) => made_live.push((*n, release_of(report))),
                Err(e) => lost_the_pointer(e),
            }
        }
        rt.block_on(html_is_consistent(&s3, &b));
    }
    // Whatever the races left, a re-run of the release now live makes the pointer true again.
    let live = rt.block_on(super::moto::live_release(&s3, &b, "")).unwrap();
    let n = made_live
        .iter()
        .find(|(_, id)| *id == live)
        .map(|(n, _)| *n)
        .expect("the live release is one that was made live");
    publish_on_thread(b.clone(), n, None, None)
        .join()
        .unwrap()
        .unwrap();
    rt.block_on(live_is_whole(&s3, &b));
}
