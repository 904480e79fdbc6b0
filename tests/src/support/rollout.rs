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
