//! The Debian docker-registry with htpasswd (Basic) auth on 127.0.0.1, holding a small image
//! pushed through the registry's own HTTP API. Stopped (and its folder removed, when it made
//! one) when dropped, unless detached.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{LocalError, free_port};

pub const USERNAME: &str = "robot";
pub const PASSWORD: &str = "Registry-Pa55word-for-tests";
/// The image every registry starts with.
pub const IMAGE: &str = "lab/hello";
pub const TAG: &str = "1.0";

pub struct Registry {
    pub url: String,
    pub host: String,
    child: Mutex<Option<Child>>,
    dir: PathBuf,
    /// A folder of its own, removed when the registry stops.
    temporary: bool,
}

impl Registry {
    /// A registry in a temporary folder, with [`IMAGE`]:[`TAG`] pushed.
    pub async fn start() -> Result<Self, LocalError> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!(
            "ecs-private-auth-registry-{}-{port}",
            std::process::id()
        ));
        let mut registry = Self::start_in(&dir, port).await?;
        registry.temporary = true;
        Ok(registry)
    }

    /// A registry keeping its images in `dir`, on `port`, with [`IMAGE`]:[`TAG`] pushed.
    pub async fn start_in(dir: &Path, port: u16) -> Result<Self, LocalError> {
        std::fs::create_dir_all(dir.join("data"))?;
        write_htpasswd(dir, PASSWORD)?;
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: ecs-private-auth-local\n    path: {htpasswd}\n",
            data = dir.join("data").display(),
            htpasswd = dir.join("htpasswd").display(),
        );
        std::fs::write(dir.join("config.yml"), config)?;
        let child = serve(dir)?;
        let registry = Registry {
            url: format!("http://127.0.0.1:{port}"),
            host: format!("127.0.0.1:{port}"),
            child: Mutex::new(Some(child)),
            dir: dir.to_owned(),
            temporary: false,
        };
        registry.wait_ready().await?;
        registry.push_image(IMAGE, TAG).await?;
        Ok(registry)
    }

    /// A registry another process started (and will stop), if it answers at `host`.
    pub async fn attach(host: &str, dir: &Path) -> Option<Self> {
        let registry = Registry {
            url: format!("http://{host}"),
            host: host.to_owned(),
            child: Mutex::new(None),
            dir: dir.to_owned(),
            temporary: false,
        };
        registry.answers().await.then_some(registry)
    }

    /// Leaves the registry running after this value is dropped; returns its process id.
    pub fn detach(&mut self) -> Option<u32> {
        self.child
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|child| child.id())
    }

    /// The registry's password changes: new htpasswd, registry restarted on the same port.
    pub async fn change_password(&self, password: &str) -> Result<(), LocalError> {
        write_htpasswd(&self.dir, password)?;
        {
            let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(running) = child.as_mut() {
                let _ = running.kill();
                let _ = running.wait();
            }
            *child = Some(serve(&self.dir)?);
        }
        self.wait_ready().await
    }

    async fn answers(&self) -> bool {
        reqwest::Client::new()
            .get(format!("{}/v2/", self.url))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|answer| answer.status().as_u16() == 401)
    }

    async fn wait_ready(&self) -> Result<(), LocalError> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if self.answers().await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(LocalError::NotReady {
            what: "docker-registry".into(),
            seconds: 20,
        })
    }

    fn authorization() -> String {
        let pair = format!("{USERNAME}:{PASSWORD}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// Pushes a minimal image (a config blob and a manifest, no layers).
    pub async fn push_image(&self, repository: &str, tag: &str) -> Result<(), LocalError> {
        let client = reqwest::Client::new();
        let failed = |step: &str, detail: String| {
            LocalError::unexpected(format!("pushing {repository}:{tag} ({step})"), detail)
        };
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#.to_vec();
        let digest = format!("sha256:{:x}", Sha256::digest(&config));
        let started = client
            .post(format!("{}/v2/{repository}/blobs/uploads/", self.url))
            .header("authorization", Self::authorization())
            .send()
            .await
            .map_err(|err| failed("blob upload", err.to_string()))?;
        if started.status().as_u16() != 202 {
            return Err(failed("blob upload", started.status().to_string()));
        }
        let location = started
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| failed("blob upload", "no Location".into()))?
            .to_owned();
        let location = if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", self.url)
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let uploaded = client
            .put(format!("{location}{separator}digest={digest}"))
            .header("authorization", Self::authorization())
            .header("content-type", "application/octet-stream")
            .body(config.clone())
            .send()
            .await
            .map_err(|err| failed("blob", err.to_string()))?;
        if uploaded.status().as_u16() != 201 {
            return Err(failed("blob", uploaded.status().to_string()));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": digest},
            "layers": []
        });
        let pushed = client
            .put(format!("{}/v2/{repository}/manifests/{tag}", self.url))
            .header("authorization", Self::authorization())
            .header(
                "content-type",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
            .body(manifest.to_string())
            .send()
            .await
            .map_err(|err| failed("manifest", err.to_string()))?;
        if pushed.status().as_u16() != 201 {
            return Err(failed("manifest", pushed.status().to_string()));
        }
        Ok(())
    }
}

fn write_htpasswd(dir: &Path, password: &str) -> Result<(), LocalError> {
    let htpasswd = Command::new("htpasswd")
        .args(["-Bbn", USERNAME, password])
        .output()
        .map_err(|err| LocalError::CannotStart {
            program: "htpasswd".into(),
            cause: err.to_string(),
            hint: "`scripts/setup.sh` installs it (Debian package apache2-utils)",
        })?;
    std::fs::write(dir.join("htpasswd"), &htpasswd.stdout)?;
    Ok(())
}

fn serve(dir: &Path) -> Result<Child, LocalError> {
    Command::new("docker-registry")
        .args(["serve", &dir.join("config.yml").display().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| LocalError::CannotStart {
            program: "docker-registry".into(),
            cause: err.to_string(),
            hint: "`scripts/setup.sh` installs it (Debian package docker-registry)",
        })
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(child) = self.child.get_mut().unwrap_or_else(PoisonError::into_inner) {
            let _ = child.kill();
            let _ = child.wait();
            if self.temporary {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}
