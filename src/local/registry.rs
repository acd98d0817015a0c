//! The Debian docker-registry with htpasswd (Basic) auth on 127.0.0.1, one per test, with a small
//! image pushed through the registry's own HTTP API. Stopped and removed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::moto::free_port;

pub const USERNAME: &str = "robot";
pub const PASSWORD: &str = "Registry-Pa55word-for-tests";
/// The image every registry starts with.
pub const IMAGE: &str = "lab/hello";
pub const TAG: &str = "1.0";

pub struct Registry {
    pub url: String,
    pub host: String,
    child: Child,
    dir: PathBuf,
}

impl Registry {
    pub async fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "ecs-private-auth-registry-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        write_htpasswd(&dir, PASSWORD);
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: ecs-private-auth-tests\n    path: {htpasswd}\n",
            data = dir.join("data").display(),
            htpasswd = dir.join("htpasswd").display(),
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let child = serve(&dir);
        let registry = Registry {
            url: format!("http://127.0.0.1:{port}"),
            host: format!("127.0.0.1:{port}"),
            child,
            dir,
        };
        registry.wait_ready().await;
        registry.push_image(IMAGE, TAG).await;
        registry
    }

    /// The registry's password changes: new htpasswd, registry restarted on the same port.
    pub async fn change_password(&mut self, password: &str) {
        write_htpasswd(&self.dir, password);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = serve(&self.dir);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < Duration::from_secs(20) {
            let answer = client.get(format!("{}/v2/", self.url)).send().await;
            if answer.is_ok_and(|answer| answer.status().as_u16() == 401) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("docker-registry did not start");
    }

    fn authorization() -> String {
        let pair = format!("{USERNAME}:{PASSWORD}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// Pushes a minimal image (a config blob and a manifest, no layers).
    pub async fn push_image(&self, repository: &str, tag: &str) {
        let client = reqwest::Client::new();
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#.to_vec();
        let digest = format!("sha256:{:x}", Sha256::digest(&config));
        let started = client
            .post(format!("{}/v2/{repository}/blobs/uploads/", self.url))
            .header("authorization", Self::authorization())
            .send()
            .await
            .unwrap();
        assert_eq!(started.status().as_u16(), 202, "blob upload start");
        let location = started.headers()["location"].to_str().unwrap().to_owned();
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
            .unwrap();
        assert_eq!(uploaded.status().as_u16(), 201, "blob upload");
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
            .unwrap();
        assert_eq!(pushed.status().as_u16(), 201, "manifest push");
    }
}

fn write_htpasswd(dir: &std::path::Path, password: &str) {
    let htpasswd = Command::new("htpasswd")
        .args(["-Bbn", USERNAME, password])
        .output()
        .expect("htpasswd (apache2-utils): run `make test`, which installs it");
    std::fs::write(dir.join("htpasswd"), &htpasswd.stdout).unwrap();
}

fn serve(dir: &std::path::Path) -> Child {
    Command::new("docker-registry")
        .args(["serve", &dir.join("config.yml").display().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry: run `make test`, which installs it")
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
