//! Helpers shared by the end-to-end tests in `tests/e2e/`.
//!
//! The tests run against the local AWS that `scripts/local-aws up` started (its `env` output is
//! exported by `make test`). They never reset the emulator: each test makes its own names with
//! [`unique_name`], so tests are safe to run in parallel.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where the gantry binaries under test are: `GANTRY_BIN_DIR`, else the target dir's `debug/`
/// (the test executable lives in `debug/deps/`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GANTRY_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary sits in <target>/debug/deps")
        .to_path_buf()
}

/// Path of one gantry binary, e.g. `bin("gantry-invalidate")`.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A name no other test (or earlier run against the same emulator) uses: `prefix-<pid>-<n>-<time>`.
/// Lower-case, digits and dashes only, so it is valid as a bucket, repository or cluster name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 100_000_000)
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{t}", std::process::id())
}

/// The local AWS endpoint, or a panic that says how to start it.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: run the tests through `make test`, or \
             `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`"
        )
    })
}

/// The project venv that `scripts/local-aws up` creates: `GANTRY_VENV`, else `<repo>/.venv`.
pub fn venv() -> PathBuf {
    std::env::var_os("GANTRY_VENV")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"))
}

/// Runs `scripts/moto-fixture.py ARGS…` with the venv's python against the local moto and parses
/// the one JSON object it prints. Panics with the script's stderr when it fails.
pub fn moto_fixture<T: serde::de::DeserializeOwned>(args: &[&str]) -> T {
    aws_endpoint();
    let python = venv().join("bin/python");
    let output = std::process::Command::new(&python)
        .arg(repo_root().join("scripts/moto-fixture.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (run scripts/local-aws up)",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "moto-fixture.py {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "moto-fixture.py {args:?} printed no JSON object ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// An ECS cluster in moto with the network an ECS service needs (see [`ecs_fixture`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EcsFixture {
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
    pub cluster_name: String,
    pub cluster_arn: String,
}

/// Creates a VPC, a subnet, a security group and an ECS cluster `name` in the local moto.
/// Use a [`unique_name`]: the emulator is shared by every test.
pub fn ecs_fixture(name: &str) -> EcsFixture {
    moto_fixture(&["ecs", "--name", name])
}

/// A CloudFront client for the local emulator (the env from `scripts/local-aws env`).
pub async fn cloudfront() -> aws_sdk_cloudfront::Client {
    aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    aws_sdk_cloudfront::Client::new(&sdk)
}

/// Creates a distribution in front of an S3 origin named after `name`; returns its id.
pub async fn create_distribution(cf: &aws_sdk_cloudfront::Client, name: &str) -> String {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{name}.s3.us-east-1.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .expect("origin");
    let config = DistributionConfig::builder()
        .caller_reference(name)
        .comment(format!("gantry test {name}"))
        .enabled(true)
        .default_root_object("index.html")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .expect("cache behavior"),
        )
        .build()
        .expect("distribution config");
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateDistribution: {}",
                aws_sdk_cloudfront::error::DisplayErrorContext(&e)
            )
        });
    out.distribution()
        .expect("distribution in response")
        .id()
        .to_owned()
}
