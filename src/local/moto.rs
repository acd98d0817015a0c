//! moto in server mode on 127.0.0.1: the embedded emulator every local AWS call goes to. Stopped
//! when dropped, unless detached to outlive the process that started it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{LocalError, REGION, free_port};

pub struct Moto {
    pub endpoint: String,
    child: Option<Child>,
}

impl Moto {
    /// Starts `moto_server` (from `MOTO_SERVER`, else the PATH) on a free loopback port, with
    /// AWS managed IAM policies loaded, and waits until it answers.
    pub async fn start() -> Result<Self, LocalError> {
        Self::start_with(&[]).await
    }

    pub async fn start_with(env: &[(&str, &str)]) -> Result<Self, LocalError> {
        Self::start_on(free_port()?, env).await
    }

    /// Starts moto on `port` of 127.0.0.1, where a function's environment points.
    pub async fn start_on(port: u16, env: &[(&str, &str)]) -> Result<Self, LocalError> {
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
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
        let child = command.spawn().map_err(|err| LocalError::CannotStart {
            program: program.clone(),
            cause: err.to_string(),
            hint: "`scripts/setup.sh` installs moto (or set MOTO_SERVER)",
        })?;
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        };
        moto.wait_ready(Duration::from_secs(30)).await?;
        Ok(moto)
    }

    /// A moto another process started (and will stop), if it answers at `endpoint`.
    pub async fn attach(endpoint: &str) -> Option<Self> {
        let moto = Moto {
            endpoint: endpoint.to_owned(),
            child: None,
        };
        moto.answers().await.then_some(moto)
    }

    /// Leaves moto running after this value is dropped; returns its process id.
    pub fn detach(&mut self) -> Option<u32> {
        self.child.take().map(|child| child.id())
    }

    async fn answers(&self) -> bool {
        reqwest::Client::new()
            .get(format!("{}/moto-api/", self.endpoint))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|answer| answer.status().is_success())
    }

    async fn wait_ready(&self, timeout: Duration) -> Result<(), LocalError> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.answers().await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(LocalError::NotReady {
            what: "moto".into(),
            seconds: timeout.as_secs(),
        })
    }

    /// An SDK configuration pointed at this moto.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(REGION))
            .http_client(crate::sdk_http::sdk_http_client(Some(REGION)))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// moto's own log, kept only when `MOTO_LOG_DIR` names a folder (for debugging).
fn log_file(port: u16) -> Stdio {
    match std::env::var("MOTO_LOG_DIR") {
        Ok(dir) => std::fs::File::create(format!("{dir}/moto-{port}.log"))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null()),
        Err(_) => Stdio::null(),
    }
}
