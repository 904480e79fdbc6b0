//! Where the tests run: the repository, the binaries under test, the local AWS endpoint, the
//! venv, names no other test uses, and fresh copies of a tree.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
/// The repository root (the parent of this crate). Under cargo or nextest the crate directory
/// comes from the test process's environment, not the one compiled in: that is another
/// checkout's when a shared target dir kept its build (docs/development.md, "Builds on small
/// machines"). This crate's own binaries (`make demo`, `make bench`) use the compiled one.
pub fn repo_root() -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join("e2e").is_dir())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    dir.parent().expect("tests/ has a parent").to_path_buf()
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

/// Copies the tree `from` into `to` (created as needed): a fresh checkout of a site, with new
/// mtimes and the same bytes.
pub fn site_copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            site_copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

/// The sha256 of `bytes` in lowercase hex, as digests and checksum files write it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    gantry_kit::fmt::hex(&sha2::Sha256::digest(bytes))
}
