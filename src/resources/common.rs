//! Small helpers every resource type uses.

use crate::Error;
use crate::protocol::Request;

/// Whether a resource's own ARN is exactly the id a Delete names. The provider answers every
/// resource with its full ARN, so a Delete that names one any other way (a bare name, a partial
/// ARN, another case) is not one CloudFormation sent for it, and touches nothing
/// (docs/design.md#genuine-requests).
pub(crate) fn named_exactly(resource_arn: Option<&str>, request: &Request) -> bool {
    let named = resource_arn == Some(request.physical_id());
    if !named {
        tracing::warn!(
            resource = resource_arn.unwrap_or_default(),
            "the Delete names this resource other than by its exact ARN: left untouched"
        );
    }
    named
}

/// Builds an SDK value whose builder can fail (a required member missing): a bug of ours, not
/// the user's, reported as such rather than with `unwrap`.
pub fn built<T, E: std::fmt::Display>(
    what: &'static str,
    result: Result<T, E>,
) -> Result<T, Error> {
    result.map_err(|err| Error::Internal(format!("building {what}: {err}")))
}

/// The name at the end of an ARN's resource (`arn:…:cluster/lab` → `lab`), or the text itself
/// when it is a plain name.
pub(crate) fn name_of(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}
