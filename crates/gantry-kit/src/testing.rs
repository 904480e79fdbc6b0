//! Test support (feature `testing`, for dev-dependencies only): a gantry binary run in isolation,
//! an environment given as pairs, a run's identity.

use crate::github::RunIdentity;
use std::path::Path;
use std::process::Command;

/// A command for the binary at `bin` that sees none of the caller's `GANTRY_*`, `GITHUB_*` and
/// `AWS_*` variables, with dummy credentials and every AWS endpoint on a closed loopback port.
/// A call to AWS then fails with exit 1, so a test that expects exit 2 proves the input was
/// rejected before anything was called.
pub fn offline_command(bin: impl AsRef<Path>) -> Command {
    let mut c = Command::new(bin.as_ref());
    for (k, _) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if ["GANTRY_", "GITHUB_", "AWS_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            c.env_remove(&k);
        }
    }
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("GANTRY_MAX_ATTEMPTS", "1");
    c
}

/// A TCP endpoint on 127.0.0.1 that accepts every connection and never answers: what a
/// stalled AWS endpoint or registry looks like to a client. It stops when dropped.
#[derive(Debug)]
pub struct StalledEndpoint {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StalledEndpoint {
    pub fn start() -> Self {
        use std::sync::atomic::Ordering;
        #[allow(clippy::expect_used)]
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        #[allow(clippy::expect_used)]
        let port = listener.local_addr().expect("local addr").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    held.push(c);
                }
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for StalledEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An environment of just `pairs`, as the lookup function the kit's readers of variables take.
pub fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// The identity of run `id` of `acme/shop`, job `deploy`, step `invalidate`, first occurrence.
pub fn run_identity(id: &str) -> RunIdentity {
    RunIdentity {
        repository: Some("acme/shop".into()),
        run_id: Some(id.into()),
        job: Some("deploy".into()),
        step: Some("invalidate".into()),
        purpose: None,
        occurrence: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_aws_and_github_variables_do_not_reach_the_binary() {
        let c = offline_command("/bin/true");
        let envs: Vec<_> = c.get_envs().collect();
        let set = |k: &str| {
            envs.iter()
                .find(|(n, _)| *n == k)
                .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
        };
        assert_eq!(
            set("AWS_ENDPOINT_URL").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(set("GANTRY_MAX_ATTEMPTS").as_deref(), Some("1"));
        for (k, _) in std::env::vars() {
            if k.starts_with("GITHUB_") {
                assert!(
                    envs.iter().any(|(n, v)| *n == k.as_str() && v.is_none()),
                    "{k} kept"
                );
            }
        }
    }
}
