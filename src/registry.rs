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

mod challenge;
mod reference;

pub use challenge::is_trusted_realm;
use challenge::{basic_authorization, parse_challenge};
pub use reference::{ImageReference, registry_base};

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

/// Redirects the checks follow: at most a few, and only to the same scheme, host and port, so
/// that nothing sent along (credentials, a token) reaches another host or travels in clear text.
const MAX_REDIRECTS: usize = 5;

fn follows_redirect(first: &Url, next: &Url) -> bool {
    first.origin() == next.origin()
}

/// The client the checks use: bounded time, redirects only within the registry's own origin, and
/// the compiled-in roots (Fargate pulls trusting a public set too: a registry whose chain only a
/// private CA vouches for could not serve the service anyway). Built once per function
/// ([`crate::aws::Clients`]).
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
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .redirect(policy);
    crate::tls::with_compiled_in_roots(builder)
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
