//! The id a failed Create answers with when it left nothing behind (docs/design.md#failed-create).
//! It names no resource, so the Delete CloudFormation sends for it succeeds without touching AWS.

use super::Request;

const MARKER_PREFIX: &str = "ecs-private-auth:failed-create:";

/// `ecs-private-auth:failed-create:<LogicalResourceId>:<RequestId>`: no ARN, no name any
/// service would accept, unique per request.
pub(crate) fn failed_create_marker(request: &Request) -> String {
    format!(
        "{MARKER_PREFIX}{}:{}",
        request.logical_resource_id, request.request_id
    )
}

pub(crate) fn is_failed_create_marker(physical_id: &str) -> bool {
    physical_id.starts_with(MARKER_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestType;
    use crate::protocol::request::tests::sample_request;

    #[test]
    fn the_marker_is_recognised_and_is_no_arn() {
        let marker = failed_create_marker(&sample_request(RequestType::Create));
        assert!(is_failed_create_marker(&marker));
        assert!(!marker.starts_with("arn:"));
        assert!(!is_failed_create_marker(
            "arn:aws:ecs:us-east-1:123456789012:cluster/lab"
        ));
    }
}
