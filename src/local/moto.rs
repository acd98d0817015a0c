//! moto in server mode on 127.0.0.1, one per test, stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Moto {
    /// Starts `moto_server` (from `MOTO_SERVER`, else the PATH) on a free loopback port, with
    /// AWS managed IAM policies loaded, and waits until it answers.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let port = free_port();
        let mut command = Command::new(&program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(port));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|err| {
            panic!("cannot start {program} ({err}): run `make test`, which installs moto, or set MOTO_SERVER")
        });
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        moto.wait_ready(Duration::from_secs(30)).await;
        moto
    }

    async fn wait_ready(&self, timeout: Duration) {
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < timeout {
            let ready = client
                .get(format!("{}/moto-api/", self.endpoint))
                .send()
                .await
                .map(|answer| answer.status().is_success())
                .unwrap_or(false);
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto did not start within {timeout:?}");
    }

    /// An SDK configuration pointed at this moto.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(super::REGION))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's own log, kept only when `MOTO_LOG_DIR` names a folder (for debugging a test).
fn log_file(port: u16) -> Stdio {
    match std::env::var("MOTO_LOG_DIR") {
        Ok(dir) => std::fs::File::create(format!("{dir}/moto-{port}.log"))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null()),
        Err(_) => Stdio::null(),
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}
