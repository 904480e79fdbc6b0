//! A moto of the rollout tests' own, with its ECS deployment lifecycle.

use super::ecs::EcsFixture;
use super::env::{repo_root, venv};
/// A moto of the rollout tests' own: `scripts/moto-launcher.py` (with its ECS deployment
/// lifecycle) on a free 127.0.0.1 port, stopped by PID when dropped. Rollout tests start their
/// own so they can choose the deployment duration and never depend on the shared emulator's.
pub struct RolloutMoto {
    pub url: String,
    child: std::process::Child,
}

impl RolloutMoto {
    /// Starts the launcher with `--ecs-deployment-seconds seconds` and waits until it answers.
    pub fn start(seconds: f64) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let python = venv().join("bin/python");
        let child = std::process::Command::new(&python)
            .arg(repo_root().join("scripts/moto-launcher.py"))
            .args(["--port", &port.to_string()])
            .args(["--ecs-deployment-seconds", &seconds.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e} (run scripts/local-aws up)",
                    python.display()
                )
            });
        let moto = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if rollout_moto_answers(port) {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "moto-launcher.py did not answer on {} within 60 s",
            moto.url
        );
    }

    /// The environment a gantry binary needs to use this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An `SdkConfig` for this emulator.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .http_client(gantry_kit::aws::http_client())
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "rollout-moto",
            ))
            .load()
            .await
    }

    /// [`ecs_fixture`] in this emulator.
    pub fn ecs_fixture(&self, name: &str) -> EcsFixture {
        let output = std::process::Command::new(venv().join("bin/python"))
            .arg(repo_root().join("scripts/moto-fixture.py"))
            .args(["ecs", "--name", name])
            .envs(self.env())
            .output()
            .expect("run moto-fixture.py");
        assert!(
            output.status.success(),
            "moto-fixture.py failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("moto-fixture.py printed no JSON")
    }
}

impl Drop for RolloutMoto {
    fn drop(&mut self) {
        // Only the process this helper started, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rollout_moto_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let req = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let mut head = [0u8; 12];
    s.write_all(req.as_bytes()).is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && &head[9..12] == b"200"
}

/// A TCP proxy on 127.0.0.1 in front of `upstream` (`host:port`) that can make AWS unreachable:
/// [`FaultProxy::drop_for`] cuts every open connection and, for that long, closes each new one
/// as soon as it is accepted — what a client sees when the network to AWS goes away. Its
/// threads end when it is dropped.
pub struct FaultProxy {
    pub url: String,
    port: u16,
    shared: std::sync::Arc<FaultShared>,
}

#[derive(Default)]
struct FaultShared {
    down_until: std::sync::Mutex<Option<std::time::Instant>>,
    open: std::sync::Mutex<Vec<std::net::TcpStream>>,
    stop: std::sync::atomic::AtomicBool,
    /// Connections closed at once while down.
    refused: std::sync::atomic::AtomicUsize,
}

impl FaultShared {
    fn down(&self) -> bool {
        self.down_until
            .lock()
            .ok()
            .and_then(|d| *d)
            .is_some_and(|until| std::time::Instant::now() < until)
    }
}

impl FaultProxy {
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = std::sync::Arc::new(FaultShared::default());
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if s.down() {
                    s.refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                if let (Ok(mut open), Ok(c), Ok(sv)) =
                    (s.open.lock(), client.try_clone(), server.try_clone())
                {
                    open.push(c);
                    open.push(sv);
                }
                for (mut from, mut to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            shared,
        }
    }

    /// Makes upstream unreachable for `d` from now: open connections are cut at once.
    pub fn drop_for(&self, d: std::time::Duration) {
        if let Ok(mut until) = self.shared.down_until.lock() {
            *until = Some(std::time::Instant::now() + d);
        }
        if let Ok(mut open) = self.shared.open.lock() {
            for c in open.drain(..) {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// How many connections were closed at once because upstream was "down".
    pub fn refused(&self) -> usize {
        self.shared
            .refused
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        self.drop_for(std::time::Duration::ZERO);
    }
}
