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
    /// Reads `image` with the distribution reference rules ([`Reference::parse`]): with its
    /// registry host (`ghcr.io/org/app:1.2`), which must be the registry at `base`, or relative
    /// to it (`org/app:1.2`). On Docker Hub an official image is `library/<name>` (`nginx` →
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
        let parsed = Reference::parse(&qualified).map_err(RegistryError::BadReference)?;
        let same_registry =
            parsed.registry == base_host || (hub && is_docker_hub(&parsed.registry));
        if !same_registry {
            return Err(RegistryError::OtherRegistry {
                image_registry: parsed.registry,
                registry: base.as_str().trim_end_matches('/').to_owned(),
            });
        }
        Ok(ImageReference {
            repository: parsed.repository,
            reference: parsed
                .digest
                .or(parsed.tag)
                .unwrap_or_else(|| "latest".into()),
        })
    }
}

/// A reference split as the distribution spec's grammar reads it:
/// `[domain "/"] path [":" tag] ["@" digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// The longest repository path the spec allows.
const MAX_PATH_LENGTH: usize = 255;
/// The longest tag the spec allows.
const MAX_TAG_LENGTH: usize = 128;

impl Reference {
    /// Parses `reference`, naming what is wrong when it is not one. A first component with a
    /// `.` or `:`, or `localhost`, is the registry; else the registry is Docker Hub, whose
    /// one-component names are official images (`library/`).
    fn parse(reference: &str) -> Result<Self, String> {
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((name_and_tag, digest)) => (name_and_tag, Some(check_digest(digest)?)),
            None => (reference, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |at| at + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (
                    &name_and_tag[..colon],
                    Some(check_tag(&name_and_tag[colon + 1..])?),
                )
            }
            None => (name_and_tag, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (check_domain(first)?, rest)
            }
            _ => ("docker.io", name),
        };
        check_path(path)?;
        let registry = if registry == "index.docker.io" {
            "docker.io"
        } else {
            registry
        };
        let repository = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        Ok(Reference {
            registry: registry.to_owned(),
            repository,
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }
}

/// `host[:port]`: dot-separated labels of letters, digits and inner hyphens.
fn check_domain(domain: &str) -> Result<&str, String> {
    let (host, port) = match domain.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if !host.split('.').all(label_ok) {
        return Err(format!("registry host {host:?} is not a host name"));
    }
    if port.is_some_and(|port| port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("registry port in {domain:?} is not a number"));
    }
    Ok(domain)
}

/// `/`-separated components of lowercase letters and digits, joined inside by `.`, `_`, `__` or
/// hyphens; at most 255 characters.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository name is empty".into());
    }
    if path.len() > MAX_PATH_LENGTH {
        return Err(format!(
            "the repository name is longer than {MAX_PATH_LENGTH} characters"
        ));
    }
    for component in path.split('/') {
        if !is_path_component(component) {
            return Err(format!(
                "repository component {component:?} must be lowercase letters and digits, joined by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn is_path_component(component: &str) -> bool {
    let alphanumeric = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alphanumeric(first) || !alphanumeric(last) {
        return false;
    }
    // Between alphanumeric runs: one '.', one '_', '__', or any number of '-'.
    component
        .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        .filter(|separator| !separator.is_empty())
        .all(|separator| {
            matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-')
        })
}

/// A word character, then up to 127 word characters, '.' or '-'.
fn check_tag(tag: &str) -> Result<&str, String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let valid = tag.len() <= MAX_TAG_LENGTH
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-');
    if valid {
        Ok(tag)
    } else {
        Err(format!(
            "tag {tag:?} must be 1 to {MAX_TAG_LENGTH} letters, digits, '_', '.' or '-', not starting with '.' or '-'"
        ))
    }
}

/// `algorithm:hex`, with the hex length its algorithm makes (sha256, sha384, sha512).
fn check_digest(digest: &str) -> Result<&str, String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!("digest {digest:?} is not algorithm:hex"));
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "digest algorithm {algorithm:?} is not sha256, sha384 or sha512"
            ));
        }
    };
    if hex.len() != length || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "a {algorithm} digest is {length} hexadecimal digits"
        ));
    }
    Ok(digest)
}

/// `host[:port]` of a URL.
fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}
