//! What a registry's 401 asks for, and whom the credentials may be sent to: the Basic and Bearer
//! challenges, and the token realms a registry may name.

use url::Url;

use crate::protocol::redact::SecretString;

pub(super) fn basic_authorization(username: &SecretString, password: &SecretString) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", username.expose(), password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"` → scheme and
/// parameters.
pub(super) fn parse_challenge(challenge: &str) -> (String, Vec<(String, String)>) {
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
