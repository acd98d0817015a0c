//! Checks registry credentials against the registry itself (Docker Registry HTTP API v2), so a
//! wrong password fails the stack at once instead of as a service that never starts.
//!
//! Both challenges registries use are followed: Basic (a self-hosted registry with htpasswd) and
//! the Bearer token flow (Docker Hub, GHCR, Quay, GitLab): ask the realm for a token with the
//! credentials, then present it. With an image reference, the manifest is fetched by HEAD, which
//! proves pull access without downloading it.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use url::Url;

use crate::protocol::redact::SecretString;

/// Manifest media types a pull accepts.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
/// Longest piece of the registry's answer quoted in a Reason.
const MAX_QUOTED: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "the registry at {registry} refused the username and password (HTTP {status}{})",
        quote(answer)
    )]
    Unauthorized {
        registry: String,
        status: u16,
        answer: String,
    },
    #[error(
        "the registry at {registry} has no manifest {reference} (HTTP 404{}); check VerifyImage",
        quote(answer)
    )]
    ManifestNotFound {
        registry: String,
        reference: String,
        answer: String,
    },
    #[error(
        "the registry at {registry} answered HTTP {status} to {what}{}",
        quote(answer)
    )]
    Unexpected {
        registry: String,
        what: &'static str,
        status: u16,
        answer: String,
    },
    #[error("the registry at {registry} could not be reached: {cause}")]
    Unreachable { registry: String, cause: String },
    #[error("VerifyImage names registry {image_registry}, but RegistryUrl is {registry}")]
    OtherRegistry {
        image_registry: String,
        registry: String,
    },
    #[error(
        "VerifyImage is not an image reference of the form [host/]repository[:tag|@digest] ({0})"
    )]
    BadReference(String),
    #[error(
        "the registry at {registry} asked for the credentials to be sent to {realm}, which is neither the registry's own host or domain over https; they were not sent"
    )]
    UntrustedRealm { registry: String, realm: String },
}

fn quote(answer: &str) -> String {
    if answer.is_empty() {
        String::new()
    } else {
        format!(": {answer}")
    }
}

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

fn is_docker_hub(host: &str) -> bool {
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

/// Verifies credentials against one registry.
pub struct RegistryCheck<'a> {
    pub client: &'a reqwest::Client,
    pub registry_url: &'a str,
    pub username: &'a SecretString,
    pub password: &'a SecretString,
    /// Told every secret the check learns (a registry's token), to keep it out of messages.
    pub learned_secret: &'a (dyn Fn(&str) + Sync),
}

impl RegistryCheck<'_> {
    /// Logs in; with `image`, also checks that its manifest can be pulled.
    pub async fn verify(&self, image: Option<&str>) -> Result<(), RegistryError> {
        let base = registry_base(self.registry_url)?;
        let registry = base.as_str().trim_end_matches('/').to_owned();
        let image = image
            .map(|image| ImageReference::parse(image, &base))
            .transpose()?;
        let (url, what) = match &image {
            Some(image) => (
                join(
                    &base,
                    &format!("v2/{}/manifests/{}", image.repository, image.reference),
                ),
                "the manifest request",
            ),
            None => (join(&base, "v2/"), "the login check"),
        };
        let scope = image
            .as_ref()
            .map(|image| format!("repository:{}:pull", image.repository));

        let first = self.request(&url, image.is_some(), None, &registry).await?;
        let answer = match first.status() {
            StatusCode::UNAUTHORIZED => {
                let challenge = first
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let authorization = self
                    .authorize(&challenge, scope.as_deref(), &registry)
                    .await?;
                self.request(&url, image.is_some(), Some(&authorization), &registry)
                    .await?
            }
            _ => first,
        };
        let status = answer.status();
        if status.is_success() {
            // A registry that lets anyone in proves nothing about the credentials, but it will
            // let ECS pull too.
            return Ok(());
        }
        let body = short_answer(answer).await;
        match (status, &image) {
            (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => {
                Err(RegistryError::Unauthorized {
                    registry,
                    status: status.as_u16(),
                    answer: body,
                })
            }
            (StatusCode::NOT_FOUND, Some(image)) => Err(RegistryError::ManifestNotFound {
                registry,
                reference: format!("{}:{}", image.repository, image.reference),
                answer: body,
            }),
            _ => Err(RegistryError::Unexpected {
                registry,
                what,
                status: status.as_u16(),
                answer: body,
            }),
        }
    }

    async fn request(
        &self,
        url: &Url,
        manifest: bool,
        authorization: Option<&str>,
        registry: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut request = if manifest {
            self.client.head(url.clone()).header(ACCEPT, MANIFEST_TYPES)
        } else {
            self.client.get(url.clone())
        };
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        request
            .send()
            .await
            .map_err(|err| unreachable(registry, err))
    }

    /// The Authorization header value the challenge asks for.
    async fn authorize(
        &self,
        challenge: &str,
        scope: Option<&str>,
        registry: &str,
    ) -> Result<String, RegistryError> {
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(basic_authorization(self.username, self.password));
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(RegistryError::Unexpected {
                registry: registry.to_owned(),
                what: "the login check (unknown authentication scheme)",
                status: 401,
                answer: String::new(),
            });
        }
        let realm = params
            .iter()
            .find(|(key, _)| key == "realm")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let mut token_url = Url::parse(&realm).map_err(|_| RegistryError::Unexpected {
            registry: registry.to_owned(),
            what: "the login check (no token realm)",
            status: 401,
            answer: String::new(),
        })?;
        let base = registry_base(self.registry_url)?;
        if !is_trusted_realm(&base, &token_url) {
            return Err(RegistryError::UntrustedRealm {
                registry: registry.to_owned(),
                realm: token_url.origin().ascii_serialization(),
            });
        }
        {
            let mut query = token_url.query_pairs_mut();
            if let Some((_, service)) = params.iter().find(|(key, _)| key == "service") {
                query.append_pair("service", service);
            }
            let challenge_scope = params
                .iter()
                .find(|(key, _)| key == "scope")
                .map(|(_, v)| v.as_str());
            if let Some(scope) = scope.or(challenge_scope) {
                query.append_pair("scope", scope);
            }
        }
        let answer = self
            .client
            .get(token_url)
            .header(
                AUTHORIZATION,
                basic_authorization(self.username, self.password),
            )
            .send()
            .await
            .map_err(|err| unreachable(registry, err))?;
        let status = answer.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized {
                registry: registry.to_owned(),
                status: status.as_u16(),
                answer: short_answer(answer).await,
            });
        }
        if !status.is_success() {
            return Err(RegistryError::Unexpected {
                registry: registry.to_owned(),
                what: "the token request",
                status: status.as_u16(),
                answer: short_answer(answer).await,
            });
        }
        let body: serde_json::Value =
            serde_json::from_str(&answer.text().await.unwrap_or_default()).unwrap_or_default();
        let token = body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())
            .ok_or_else(|| RegistryError::Unexpected {
                registry: registry.to_owned(),
                what: "the token request (no token in the answer)",
                status: status.as_u16(),
                answer: String::new(),
            })?;
        (self.learned_secret)(token);
        Ok(format!("Bearer {token}"))
    }
}

fn basic_authorization(username: &SecretString, password: &SecretString) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", username.expose(), password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"` → scheme and
/// parameters.
fn parse_challenge(challenge: &str) -> (String, Vec<(String, String)>) {
    let challenge = challenge.trim();
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_owned(), &quoted[end + 1..]),
                None => (quoted.to_owned(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_owned(), &after[end..]),
                None => (after.trim().to_owned(), ""),
            }
        };
        params.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_owned(), params)
}

fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url
}

fn unreachable(registry: &str, err: reqwest::Error) -> RegistryError {
    RegistryError::Unreachable {
        registry: registry.to_owned(),
        cause: crate::aws::describe_error(&err.without_url()),
    }
}

async fn short_answer(answer: reqwest::Response) -> String {
    let text = answer.text().await.unwrap_or_default();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::shorten_middle(&text, MAX_QUOTED)
}

/// Whether the registry's token realm may receive the credentials: over https (http only between
/// loopback addresses, for a local registry), without a user-info part, on the registry's own host
/// or in its domain — Docker Hub's `registry-1.docker.io` sends them to `auth.docker.io`, GitLab's
/// `registry.gitlab.com` to `gitlab.com`.
pub fn is_trusted_realm(registry: &Url, realm: &Url) -> bool {
    let (Some(registry_host), Some(realm_host)) = (registry.host(), realm.host()) else {
        return false;
    };
    if !realm.username().is_empty() || realm.password().is_some() {
        return false;
    }
    let loopback = |host: &url::Host<&str>| match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(name) => *name == "localhost",
    };
    let scheme_ok = realm.scheme() == "https"
        || (realm.scheme() == "http" && loopback(&registry_host) && loopback(&realm_host));
    if !scheme_ok {
        return false;
    }
    match (registry_host, realm_host) {
        (url::Host::Domain(registry), url::Host::Domain(realm)) => {
            let registry = registry.to_ascii_lowercase();
            let realm = realm.to_ascii_lowercase();
            // The registry's domain: its host without the first label, when that leaves at least
            // two labels (ghcr.io stays ghcr.io; registry-1.docker.io becomes docker.io).
            let domain = match registry.split_once('.') {
                Some((_, parent)) if parent.contains('.') => parent.to_owned(),
                _ => registry.clone(),
            };
            realm == registry || realm == domain || realm.ends_with(&format!(".{domain}"))
        }
        (registry, realm) => registry == realm,
    }
}

/// Redirects the checks follow: at most a few, and only to the same scheme, host and port, so
/// that nothing sent along (credentials, a token) reaches another host or travels in clear text.
const MAX_REDIRECTS: usize = 5;

fn follows_redirect(first: &Url, next: &Url) -> bool {
    first.origin() == next.origin()
}

/// The client the checks use: bounded time, redirects only within the registry's own origin.
pub fn client() -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let follow = attempt.previous().len() <= MAX_REDIRECTS
            && attempt
                .previous()
                .first()
                .is_some_and(|first| follows_redirect(first, attempt.url()));
        if follow {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .redirect(policy)
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(image: &str, registry: &str) -> Result<(String, String), RegistryError> {
        ImageReference::parse(image, &registry_base(registry).unwrap())
            .map(|parsed| (parsed.repository, parsed.reference))
    }

    fn ok(repository: &str, reference: &str) -> Result<(String, String), RegistryError> {
        Ok((repository.to_owned(), reference.to_owned()))
    }

    #[test]
    fn image_references_name_a_repository_and_a_tag_or_digest() {
        assert_eq!(
            reference("ghcr.io/org/app:1.2", "ghcr.io"),
            ok("org/app", "1.2")
        );
        assert_eq!(
            reference("org/app", "https://ghcr.io"),
            ok("org/app", "latest")
        );
        assert_eq!(
            reference("127.0.0.1:5000/lab/hello:1.0", "http://127.0.0.1:5000"),
            ok("lab/hello", "1.0")
        );
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            reference(&format!("org/app@{digest}"), "quay.io"),
            ok("org/app", &digest)
        );
        assert_eq!(reference("app", "quay.io"), ok("app", "latest"));
    }

    #[test]
    fn every_name_of_docker_hub_is_docker_hub_and_official_images_are_library() {
        for registry in [
            "docker.io",
            "index.docker.io",
            "https://registry-1.docker.io",
            "registry.hub.docker.com",
        ] {
            assert_eq!(
                registry_base(registry).unwrap().as_str(),
                "https://registry-1.docker.io/"
            );
            assert_eq!(reference("nginx", registry), ok("library/nginx", "latest"));
            assert_eq!(
                reference("docker.io/library/nginx:1.27", registry),
                ok("library/nginx", "1.27")
            );
            assert_eq!(
                reference("index.docker.io/acme/app:2", registry),
                ok("acme/app", "2")
            );
        }
    }

    #[test]
    fn an_image_of_another_registry_or_a_bad_reference_is_refused() {
        assert!(matches!(
            reference("ghcr.io/org/app:1.2", "quay.io"),
            Err(RegistryError::OtherRegistry { .. })
        ));
        assert!(matches!(
            reference("nginx", "ghcr.io").map(|(r, _)| r),
            Ok(repository) if repository == "nginx"
        ));
        for bad in [
            "Org/App", "lab/../x", "../x", "lab//x", "lab/.x", "-lab/x", "a:b:c",
        ] {
            assert!(
                matches!(
                    reference(bad, "ghcr.io"),
                    Err(RegistryError::BadReference(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn challenges_parse_with_quoted_parameters() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params[0],
            ("realm".into(), "https://auth.docker.io/token".into())
        );
        assert_eq!(params[1], ("service".into(), "registry.docker.io".into()));
        assert_eq!(params[2], ("scope".into(), "repository:a/b:pull".into()));
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((scheme.as_str(), params.len()), ("Basic", 1));
    }

    #[test]
    fn credentials_go_only_to_the_registrys_own_host_or_domain_over_https() {
        let url = |text: &str| Url::parse(text).unwrap();
        for (registry, realm, trusted) in [
            (
                "https://registry-1.docker.io",
                "https://auth.docker.io/token",
                true,
            ),
            ("https://ghcr.io", "https://ghcr.io/token", true),
            ("https://quay.io", "https://quay.io/v2/auth", true),
            (
                "https://registry.gitlab.com",
                "https://gitlab.com/jwt/auth",
                true,
            ),
            (
                "https://registry.example.com",
                "https://auth.example.com/t",
                true,
            ),
            ("http://127.0.0.1:5000", "http://127.0.0.1:5001/token", true),
            ("https://ghcr.io", "https://evil.io/token", false),
            (
                "https://registry.example.com",
                "https://auth.evil.com/t",
                false,
            ),
            (
                "https://registry-1.docker.io",
                "https://auth.docker.io.evil.com/t",
                false,
            ),
            (
                "https://registry-1.docker.io",
                "http://auth.docker.io/token",
                false,
            ),
            ("https://ghcr.io", "https://user:pw@ghcr.io/token", false),
            (
                "http://127.0.0.1:5000",
                "http://localhost:5001/token",
                false,
            ),
            ("http://127.0.0.1:5000", "http://10.0.0.1:5001/token", false),
        ] {
            assert_eq!(
                is_trusted_realm(&url(registry), &url(realm)),
                trusted,
                "{registry} → {realm}"
            );
        }
    }

    #[test]
    fn redirects_stay_within_the_registrys_origin() {
        let url = |text: &str| Url::parse(text).unwrap();
        let first = url("https://ghcr.io/v2/");
        assert!(follows_redirect(&first, &url("https://ghcr.io/v2/other")));
        assert!(!follows_redirect(&first, &url("https://evil.example/v2/")));
        assert!(!follows_redirect(&first, &url("http://ghcr.io/v2/")));
        assert!(!follows_redirect(&first, &url("https://ghcr.io:8443/v2/")));
    }

    #[test]
    fn paths_join_under_a_base_path() {
        let base = registry_base("https://gitlab.example.com/registry").unwrap();
        assert_eq!(
            join(&base, "v2/").as_str(),
            "https://gitlab.example.com/registry/v2/"
        );
        assert_eq!(
            registry_base("ghcr.io").unwrap().as_str(),
            "https://ghcr.io/"
        );
    }
}
