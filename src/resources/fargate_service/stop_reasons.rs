//! What a stopped task's reason means: ECS's CannotPullContainerError quoting the registry's
//! refusal or its "no such image" is final; everything else may pass.

/// What a registry (and containerd, which ECS quotes) says when it refuses the credentials.
const REGISTRY_REFUSALS: &[&str] = &[
    "401 unauthorized",
    "403 forbidden",
    "unauthorized:",
    "unauthorized to access repository",
    "authentication required",
    "no basic auth credentials",
    "pull access denied",
    "denied: requested access",
    "insufficient_scope",
];

/// What it says when the image is not there.
const REGISTRY_MISSING: &[&str] = &[
    "manifest unknown",
    "name unknown",
    "404 not found",
    "not found: manifest",
    "repository does not exist",
];

/// A task stop that no retry fixes: ECS's CannotPullContainerError quoting the registry's
/// refusal of the credentials or its "no such image" — matched as whole phrases, so that a digest
/// or an address that happens to contain "401" or "404" is no refusal. Access to the secret
/// denied counts only once IAM has had time to propagate.
pub fn is_unfixable(reason: &str, past_iam_window: bool) -> bool {
    let lowered = reason.to_ascii_lowercase();
    let pull_error = lowered.contains("cannotpullcontainererror");
    let refused = REGISTRY_REFUSALS.iter().any(|hint| lowered.contains(hint));
    let missing = REGISTRY_MISSING.iter().any(|hint| lowered.contains(hint));
    let secret_denied =
        lowered.contains("resourceinitializationerror") && lowered.contains("accessdenied");
    (pull_error && (refused || missing)) || (secret_denied && past_iam_window)
}

/// ECS's messages while a role made moments ago is not yet usable everywhere.
pub fn is_iam_propagation(message: &str) -> bool {
    let lowered = message.to_ascii_lowercase();
    lowered.contains("unable to assume the role")
        || lowered.contains("unable to assume role")
        || lowered.contains("verify that the ecs service role")
        || lowered.contains("unable to assume the service linked role")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_refusals_and_missing_images_are_unfixable() {
        let unauthorized = "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 127.0.0.1:5000/lab/hello:1.0: pulling from host 127.0.0.1:5000 failed with status code [manifests 1.0]: 401 Unauthorized";
        assert!(is_unfixable(unauthorized, false));
        assert!(is_unfixable(
            "CannotPullContainerError: ref pull has been retried: manifest unknown",
            false
        ));
        assert!(!is_unfixable(
            "CannotPullContainerError: dial tcp 10.0.0.1:443: i/o timeout",
            true
        ));
        assert!(!is_unfixable("Essential container in task exited", true));
        assert!(is_unfixable(
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/acme/app:1: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
            false
        ));
    }

    #[test]
    fn numbers_inside_digests_and_addresses_are_no_refusal() {
        for transient in [
            "CannotPullContainerError: failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/4041-401e/sha256:4014040f\": dial tcp 52.216.40.4:443: i/o timeout",
            "CannotPullContainerError: ref 127.0.0.1:5000/lab/hello@sha256:40340140440440140340340340340340340340340340340340340340340340a3: context deadline exceeded",
            "CannotPullContainerError: registry.example.com:4040 is not found in DNS right now, try again",
        ] {
            assert!(!is_unfixable(transient, true), "{transient}");
        }
    }

    #[test]
    fn a_secret_access_denial_is_fixable_only_while_iam_propagates() {
        let denied = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException";
        assert!(!is_unfixable(denied, false));
        assert!(is_unfixable(denied, true));
    }

    #[test]
    fn iam_propagation_messages_are_recognised() {
        assert!(is_iam_propagation(
            "Unable to assume the role arn:aws:iam::123456789012:role/x. Please verify that the ECS service role being passed has the proper permissions."
        ));
        assert!(!is_iam_propagation("The specified cluster is inactive"));
    }
}
