//! What never leaves: the registry username and password, and the ResponseURL's pre-signed query.
//!
//! Messages are built without values in the first place; this module is the second line. The
//! secrets of the requests in flight are registered here, and every Reason, Data value, function
//! result and log line passes through `redact` on its way out.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use super::Request;

/// A string that must never be shown: `Debug` and `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret itself, for the one place that must send it (the secret value, a registry
    /// login). Keep it out of every message.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which property names hold secrets: the resource schemas know, the protocol does not, so the
/// function hands it this when it starts.
pub(crate) type SecretNames = fn(&str) -> bool;

pub(crate) const MASK: &str = "***";

/// Shorter values are not scrubbed from text: masking every "ab" would garble messages, and
/// such a value is no secret worth the name. Messages never include values anyway.
const MIN_SECRET_LEN: usize = 3;

/// Query parameters of a pre-signed URL that must not be shown.
const SIGNED_QUERY_KEYS: &[&str] = &[
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
    "awsaccesskeyid",
];

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn secrets() -> MutexGuard<'static, Vec<String>> {
    SECRETS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Secrets registered while a request is in flight; dropping it forgets them.
#[derive(Debug)]
#[must_use = "the secrets are forgotten when this is dropped"]
pub(crate) struct SecretScope {
    registered: Vec<String>,
}

impl SecretScope {
    pub(crate) fn empty() -> Self {
        SecretScope {
            registered: Vec::new(),
        }
    }

    /// Registers a secret learned while working (a password read from SSM, say).
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        // A log line is JSON: a secret with quotes or backslashes appears there escaped.
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        let mut all = secrets();
        for form in [secret, escaped] {
            if !self.registered.iter().any(|known| known == form) {
                all.push(form.to_owned());
                self.registered.push(form.to_owned());
            }
        }
    }
}

impl Drop for SecretScope {
    fn drop(&mut self) {
        let mut all = secrets();
        for secret in self.registered.drain(..) {
            if let Some(position) = all.iter().position(|known| *known == secret) {
                all.swap_remove(position);
            }
        }
    }
}

/// The secrets of one request — those it carries and those learned while handling it (a password
/// read from SSM) — shared by everything that handles it, and forgotten only when the last holder
/// is done: after the answer is sent, logged, and the function's result is written.
#[derive(Debug, Clone)]
pub struct RequestSecrets(Arc<Mutex<SecretScope>>);

impl RequestSecrets {
    pub(crate) fn register(request: &Request, secret_names: SecretNames) -> Self {
        RequestSecrets(Arc::new(Mutex::new(register_request(
            request,
            secret_names,
        ))))
    }

    /// Registers a secret learned while working.
    pub(crate) fn add(&self, secret: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(secret);
    }
}

/// Registers the secrets a request carries: the ResponseURL's query, and every string under a
/// property `secret_names` calls secret — in the new and the old properties.
pub(crate) fn register_request(request: &Request, secret_names: SecretNames) -> SecretScope {
    let mut scope = SecretScope::empty();
    if let Some((_, query)) = request.response_url.split_once('?') {
        scope.add(query);
        for pair in query.split('&') {
            if let Some((_, value)) = pair.split_once('=') {
                scope.add(value);
            }
        }
    }
    for properties in std::iter::once(&request.resource_properties)
        .chain(request.old_resource_properties.as_ref())
    {
        if let Value::Object(map) = properties {
            for (name, value) in map {
                if secret_names(name) {
                    collect_strings(value, &mut |secret| scope.add(secret));
                }
            }
        }
    }
    scope
}

/// Removes every property `secret_names` calls secret from an object.
pub(crate) fn strip_secret_properties(properties: &mut Value, secret_names: SecretNames) {
    if let Value::Object(map) = properties {
        map.retain(|name, _| !secret_names(name));
    }
}

fn collect_strings(value: &Value, add: &mut impl FnMut(&str)) {
    match value {
        Value::String(text) => add(text),
        Value::Number(number) => add(&number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, add)),
        Value::Object(map) => map.values().for_each(|item| collect_strings(item, add)),
        _ => {}
    }
}

/// `text` with every registered secret and every signed-URL parameter masked.
pub(crate) fn redact(text: &str) -> String {
    let mut out = scrub_signed_query(text);
    let mut known = secrets().clone();
    // Longest first, so a secret containing another is masked whole.
    known.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    for secret in known {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// Masks the value of `X-Amz-Signature=` and its kin wherever they appear in `text`.
fn scrub_signed_query(text: &str) -> String {
    let lowered = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    while position < text.len() {
        let hit = SIGNED_QUERY_KEYS
            .iter()
            .filter_map(|key| {
                let needle = format!("{key}=");
                lowered[position..]
                    .find(&needle)
                    .map(|at| (position + at, needle.len()))
            })
            .min();
        let Some((at, key_len)) = hit else { break };
        let value_start = at + key_len;
        let value_end = text[value_start..]
            .find(|c: char| c == '&' || c == '"' || c == '\'' || c.is_whitespace() || c == ')')
            .map_or(text.len(), |end| value_start + end);
        out.push_str(&text[position..value_start]);
        out.push_str(MASK);
        position = value_end;
    }
    out.push_str(&text[position.min(text.len())..]);
    out
}

/// `scheme://host[:port]/path`, without the query that carries the signature.
pub(crate) fn url_without_query(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

/// `scheme://host[:port]` only.
pub(crate) fn url_origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::is_secret_property;
    use crate::protocol::RequestType;
    use crate::protocol::request::tests::sample_request;
    use serde_json::json;

    #[test]
    fn registered_secrets_are_masked_until_the_scope_ends() {
        let mut request = sample_request(RequestType::Create);
        request.resource_properties =
            json!({"Username": "redact-test-user", "Password": "redact-test-pw-1"});
        let scope = register_request(&request, is_secret_property);
        assert_eq!(
            redact("login redact-test-user with redact-test-pw-1"),
            "login *** with ***"
        );
        drop(scope);
        assert_eq!(redact("redact-test-pw-1"), "redact-test-pw-1");
    }

    #[test]
    fn misspelled_secret_names_are_still_secret() {
        let mut request = sample_request(RequestType::Update);
        request.resource_properties =
            json!({"Pasword": "redact-typo-pw", "UserNmae": "redact-typo-user"});
        request.old_resource_properties = Some(json!({"Password": "redact-old-pw"}));
        let _scope = register_request(&request, is_secret_property);
        assert_eq!(
            redact("redact-typo-pw redact-typo-user redact-old-pw"),
            "*** *** ***"
        );
    }

    #[test]
    fn the_response_url_signature_is_masked_everywhere() {
        let text = "PUT https://h/p?X-Amz-Algorithm=AWS4&X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIDEXAMPLE%2F1 failed";
        assert_eq!(
            redact(text),
            "PUT https://h/p?X-Amz-Algorithm=AWS4&X-Amz-Signature=***&X-Amz-Credential=*** failed"
        );
        assert_eq!(redact("Signature=abc"), "Signature=***");
    }

    #[test]
    fn the_request_query_is_registered() {
        let request = sample_request(RequestType::Create);
        let _scope = register_request(&request, is_secret_property);
        assert!(!redact("sig deadbeef").contains("deadbeef"));
    }

    #[test]
    fn urls_lose_their_query() {
        assert_eq!(
            url_without_query("https://h.example/a/b?sig=1#x"),
            "https://h.example/a/b"
        );
        assert_eq!(
            url_origin("http://127.0.0.1:9000/a?sig=1"),
            "http://127.0.0.1:9000"
        );
    }
}
