//! Where credentials are checked: a RegistryUrl as a base URL, and VerifyImage as a repository
//! and tag or digest on that registry (Docker Hub's many names all meaning one registry).

use url::Url;

use super::RegistryError;

/// The hosts that all mean Docker Hub; its registry API answers at `registry-1.docker.io`.
const DOCKER_HUB_HOSTS: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A registry base URL as RegistryUrl gives it: no scheme means https; any of Docker Hub's names
/// means its registry API.
pub fn registry_base(registry_url: &str) -> Result<Url, RegistryError> {
    let text = if registry_url.contains("://") {
        registry_url.to_owned()
    } else {
        format!("https://{registry_url}")
    };
    let mut url = Url::parse(&text).map_err(|_| RegistryError::Unreachable {
        registry: registry_url.to_owned(),
        cause: "RegistryUrl is not a URL".into(),
    })?;
    if is_docker_hub(url.host_str().unwrap_or_default()) {
        let _ = url.set_host(Some(DOCKER_HUB_API));
    }
    Ok(url)
}

pub(super) fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_HOSTS.contains(&host.to_ascii_lowercase().as_str())
}

/// What VerifyImage names on the registry: a repository and a tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    pub repository: String,
    /// A tag or a `sha256:` digest.
    pub reference: String,
}

impl ImageReference {
    /// Reads `image` with the OCI distribution reference rules (oci-spec): with its registry
    /// host (`ghcr.io/org/app:1.2`), which must be the registry at `base`, or relative to it
    /// (`org/app:1.2`). On Docker Hub an official image is `library/<name>` (`nginx` →
    /// `library/nginx`).
    pub fn parse(image: &str, base: &Url) -> Result<Self, RegistryError> {
        let base_host = authority(base);
        let hub = is_docker_hub(base.host_str().unwrap_or_default());
        let names_host = image.split_once('/').is_some_and(|(first, _)| {
            first.contains('.') || first.contains(':') || first == "localhost"
        });
        let qualified = if names_host {
            image.to_owned()
        } else if hub {
            format!("docker.io/{image}")
        } else {
            format!("{base_host}/{image}")
        };
        let parsed: oci_spec::distribution::Reference =
            qualified
                .parse()
                .map_err(|err: oci_spec::distribution::ParseError| {
                    RegistryError::BadReference(err.to_string())
                })?;
        let same_registry =
            parsed.registry() == base_host || (hub && is_docker_hub(parsed.registry()));
        if !same_registry {
            return Err(RegistryError::OtherRegistry {
                image_registry: parsed.registry().to_owned(),
                registry: base.as_str().trim_end_matches('/').to_owned(),
            });
        }
        Ok(ImageReference {
            repository: parsed.repository().to_owned(),
            reference: parsed
                .digest()
                .or(parsed.tag())
                .unwrap_or("latest")
                .to_owned(),
        })
    }
}

/// `host[:port]` of a URL.
fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}
