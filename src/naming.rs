//! Generated names and idempotency tokens.
//!
//! Names and adoption keys derive from the StackId, the LogicalResourceId and the properties that
//! force replacement — never from the RequestId — so that a redelivered request, or a rollback
//! asking again for the same thing, finds the same resource.

use sha2::{Digest, Sha256};

use crate::protocol::Request;

/// Service limits on name length.
pub mod limits {
    pub(crate) const ECS_CLUSTER: usize = 255;
    pub(crate) const ECS_SERVICE: usize = 255;
    pub(crate) const IAM_ROLE: usize = 64;
    pub(crate) const SECRET: usize = 512;
}

/// Length of the hash suffix. Never 6: Secrets Manager reads `-XXXXXX` as its own ARN suffix.
const SUFFIX_LEN: usize = 12;

/// `<stack name>-<logical id>-<suffix>`, cut to `max_len` by shortening the readable part, never
/// the suffix. `replacing` holds the replacement-forcing properties as (name, value) pairs.
pub(crate) fn generated_name(
    request: &Request,
    replacing: &[(&str, Option<&str>)],
    max_len: usize,
) -> String {
    let suffix = name_suffix(&request.stack_id, &request.logical_resource_id, replacing);
    let readable = format!(
        "{}-{}",
        stack_name(&request.stack_id),
        request.logical_resource_id
    );
    let room = max_len.saturating_sub(SUFFIX_LEN + 1);
    let readable: String = readable
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(room)
        .collect();
    format!("{}-{suffix}", readable.trim_end_matches('-'))
}

/// A short, stable hash of what identifies the resource.
pub(crate) fn name_suffix(
    stack_id: &str,
    logical_id: &str,
    replacing: &[(&str, Option<&str>)],
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(stack_id.as_bytes());
    hasher.update([0]);
    hasher.update(logical_id.as_bytes());
    for (name, value) in replacing {
        hasher.update([0]);
        hasher.update(name.as_bytes());
        hasher.update([1]);
        hasher.update(value.unwrap_or_default().as_bytes());
    }
    let digest = hasher.finalize();
    // Lower-case letters and digits only: valid in every service's names.
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    digest
        .iter()
        .take(SUFFIX_LEN)
        .map(|byte| ALPHABET[(*byte as usize) % ALPHABET.len()] as char)
        .collect()
}

/// A token for the services' own idempotency parameters (CreateService `clientToken`, Secrets
/// Manager `ClientRequestToken`), derived from what identifies the change.
pub(crate) fn idempotency_token(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    // UUID-shaped, 36 characters: within every service's token limits (32-64).
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The stack's name, from `arn:aws:cloudformation:region:account:stack/NAME/uuid`.
pub fn stack_name(stack_id: &str) -> &str {
    stack_id
        .split(":stack/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .filter(|name| !name.is_empty())
        .unwrap_or("stack")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestType;
    use crate::protocol::request::tests::sample_request;

    #[test]
    fn names_are_stable_and_ignore_the_request_id() {
        let first = sample_request(RequestType::Create);
        let mut second = first.clone();
        second.request_id = "another-request".into();
        let a = generated_name(&first, &[("ClusterName", None)], limits::ECS_CLUSTER);
        let b = generated_name(&second, &[("ClusterName", None)], limits::ECS_CLUSTER);
        assert_eq!(a, b);
        assert!(a.starts_with("lab-Cluster-"), "{a}");
    }

    #[test]
    fn replacing_properties_change_the_name() {
        let request = sample_request(RequestType::Create);
        let a = generated_name(&request, &[("Path", Some("/a/"))], limits::IAM_ROLE);
        let b = generated_name(&request, &[("Path", Some("/b/"))], limits::IAM_ROLE);
        assert_ne!(a, b);
    }

    #[test]
    fn names_fit_the_limit_and_keep_the_suffix() {
        let mut request = sample_request(RequestType::Create);
        request.stack_id = format!(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/uuid",
            "s".repeat(120)
        );
        let name = generated_name(&request, &[], limits::IAM_ROLE);
        assert_eq!(name.len(), limits::IAM_ROLE);
        let suffix = name.rsplit('-').next().unwrap();
        assert_eq!(suffix.len(), SUFFIX_LEN);
        assert_ne!(suffix.len(), 6);
    }

    #[test]
    fn tokens_are_uuid_shaped_and_deterministic() {
        let a = idempotency_token(&["x", "y"]);
        assert_eq!(a.len(), 36);
        assert_eq!(a, idempotency_token(&["x", "y"]));
        assert_ne!(a, idempotency_token(&["xy", ""]));
    }
}
