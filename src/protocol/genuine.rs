//! Only genuine requests are acted on (docs/design.md#genuine-requests).
//!
//! Anyone in the account who may publish to the topic or invoke a function can hand it a
//! well-formed request, with a StackId and LogicalResourceId copied from any resource's tags. So
//! before any AWS change the request is held against CloudFormation's own record of that stack
//! resource: a Create while the resource is being created, an Update of the id CloudFormation
//! holds while it is being updated, a Delete of the id being deleted — or of an id the stack no
//! longer holds while it cleans up after a replacement.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceError;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use tokio::time::Instant;

use super::{Request, RequestType};
use crate::wait::{Backoff, retry_until};

/// Pauses between reads of the record while CloudFormation throttles or denies them.
const READ_RETRY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));

/// Why a request was not acted on. Either way nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unconfirmed {
    #[error(
        "does not match CloudFormation's record of {logical_id}: {detail}; nothing was changed"
    )]
    NotGenuine { logical_id: String, detail: String },
    #[error(
        "CloudFormation's record of {logical_id} could not be read ({cause}); nothing was changed. It is safe to retry"
    )]
    Unreadable { logical_id: String, cause: String },
}

/// What CloudFormation records of one stack resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: String,
}

/// The judgement on a request, given the record (and, where the rules need it, the stack's
/// status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Genuine,
    /// The resource's record alone does not decide: the stack's status does.
    NeedsStackStatus,
    NotGenuine(String),
}

/// Stack states in which CloudFormation deletes what an update replaced.
const CLEANUP_STATES: &[&str] = &[
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
];
/// Stack states in which CloudFormation deletes the stack's resources.
const DELETING_STATES: &[&str] = &["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"];

/// The rules, as a pure function.
pub(crate) fn judge(request: &Request, recorded: &Recorded, stack_status: Option<&str>) -> Verdict {
    if recorded.resource_type != request.resource_type {
        return Verdict::NotGenuine(format!(
            "CloudFormation's {} is a {}, not a {}",
            request.logical_resource_id, recorded.resource_type, request.resource_type
        ));
    }
    let status = recorded.status.as_str();
    let recorded_id = recorded.physical_id.as_deref();
    let same_id = recorded_id == Some(request.physical_id());
    match request.request_type {
        RequestType::Create if status == "CREATE_IN_PROGRESS" => Verdict::Genuine,
        RequestType::Create => Verdict::NotGenuine(format!(
            "a Create, but the resource is {status}, not CREATE_IN_PROGRESS"
        )),
        RequestType::Update if status == "UPDATE_IN_PROGRESS" && same_id => Verdict::Genuine,
        RequestType::Update if status == "UPDATE_IN_PROGRESS" => Verdict::NotGenuine(format!(
            "an Update of {}, but the resource being updated is {}",
            request.physical_id(),
            recorded_id.unwrap_or("without a physical id")
        )),
        RequestType::Update => Verdict::NotGenuine(format!(
            "an Update, but the resource is {status}, not UPDATE_IN_PROGRESS"
        )),
        RequestType::Delete if status == "DELETE_IN_PROGRESS" && same_id => Verdict::Genuine,
        RequestType::Delete => match stack_status {
            None => Verdict::NeedsStackStatus,
            Some(stack) if CLEANUP_STATES.contains(&stack) && !same_id => Verdict::Genuine,
            // A resource whose Create was cut short may have no id in the record at all.
            Some(stack)
                if DELETING_STATES.contains(&stack)
                    && status == "DELETE_IN_PROGRESS"
                    && recorded_id.is_none() =>
            {
                Verdict::Genuine
            }
            Some(stack) => Verdict::NotGenuine(format!(
                "a Delete of {}, but the resource is {status}{} and the stack {stack}",
                request.physical_id(),
                recorded_id
                    .map(|id| format!(" with {id}"))
                    .unwrap_or_default()
            )),
        },
    }
}

/// Holds `request` against CloudFormation's record, reading it until `give_up_at` while the
/// reads are throttled or denied.
pub(crate) async fn confirm(
    cloudformation: &Client,
    request: &Request,
    give_up_at: Instant,
) -> Result<(), Unconfirmed> {
    let not_genuine = |detail: String| Unconfirmed::NotGenuine {
        logical_id: request.logical_resource_id.clone(),
        detail,
    };
    let unreadable = |cause: String| Unconfirmed::Unreadable {
        logical_id: request.logical_resource_id.clone(),
        cause,
    };
    let recorded =
        match read_with_retries(give_up_at, || read_resource(cloudformation, request)).await {
            Ok(recorded) => recorded,
            Err(err) if is_unknown(&err) => {
                return Err(not_genuine(format!(
                    "CloudFormation knows no such stack resource ({})",
                    crate::aws::describe_sdk_error(&err)
                )));
            }
            Err(err) => return Err(unreadable(crate::aws::describe_sdk_error(&err))),
        };
    let verdict = match judge(request, &recorded, None) {
        Verdict::NeedsStackStatus => {
            let status = read_with_retries(give_up_at, || stack_status(cloudformation, request))
                .await
                .map_err(|err| unreadable(crate::aws::describe_sdk_error(&err)))?;
            judge(request, &recorded, Some(&status))
        }
        verdict => verdict,
    };
    match verdict {
        Verdict::Genuine => {
            tracing::info!(
                status = %recorded.status,
                "confirmed by CloudFormation's record"
            );
            Ok(())
        }
        Verdict::NotGenuine(detail) => Err(not_genuine(detail)),
        // Only asked for without the stack's status, which was given above.
        Verdict::NeedsStackStatus => Err(unreadable("the stack's status decides".into())),
    }
}

/// Whether the request's stack is rolling an update back: the Update then asks to restore what
/// was, not to judge it anew. A status that cannot be read counts as no rollback.
pub(crate) async fn is_update_rollback(cloudformation: &Client, request: &Request) -> bool {
    request.request_type == RequestType::Update
        && stack_status(cloudformation, request)
            .await
            .is_ok_and(|status| status.starts_with("UPDATE_ROLLBACK"))
}

async fn read_with_retries<T, E, F, Fut>(give_up_at: Instant, read: F) -> Result<T, SdkError<E>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E>>>,
{
    retry_until(
        give_up_at,
        READ_RETRY,
        |err: &SdkError<E>| !is_unknown(err),
        read,
    )
    .await
}

async fn read_resource(
    cloudformation: &Client,
    request: &Request,
) -> Result<Recorded, SdkError<DescribeStackResourceError>> {
    let output = cloudformation
        .describe_stack_resource()
        .stack_name(&request.stack_id)
        .logical_resource_id(&request.logical_resource_id)
        .send()
        .await?;
    let detail = output.stack_resource_detail();
    Ok(Recorded {
        resource_type: detail
            .and_then(|d| d.resource_type())
            .unwrap_or_default()
            .to_owned(),
        physical_id: detail
            .and_then(|d| d.physical_resource_id())
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        status: detail
            .and_then(|d| d.resource_status())
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default(),
    })
}

async fn stack_status(
    cloudformation: &Client,
    request: &Request,
) -> Result<String, SdkError<DescribeStacksError>> {
    let output = cloudformation
        .describe_stacks()
        .stack_name(&request.stack_id)
        .send()
        .await?;
    Ok(output
        .stacks()
        .first()
        .and_then(|stack| stack.stack_status())
        .map(|status| status.as_str().to_owned())
        .unwrap_or_default())
}

/// CloudFormation's answer for a stack or a logical id it has no record of.
fn is_unknown<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError")
            && e.message().is_some_and(|m| m.contains("does not exist"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::request::tests::sample_request;

    const CURRENT: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/lab";
    const REPLACED: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/lab-old";

    fn recorded(status: &str, physical_id: Option<&str>) -> Recorded {
        Recorded {
            resource_type: "Custom::FargateCluster".into(),
            physical_id: physical_id.map(str::to_owned),
            status: status.into(),
        }
    }

    fn request(request_type: RequestType, physical_id: &str) -> Request {
        let mut request = sample_request(request_type);
        if request_type != RequestType::Create {
            request.physical_resource_id = Some(physical_id.into());
        }
        request
    }

    #[test]
    fn every_genuine_path_is_confirmed() {
        use RequestType::*;
        for (what, request, record, stack) in [
            (
                "first Create",
                request(Create, ""),
                recorded("CREATE_IN_PROGRESS", None),
                None,
            ),
            (
                "Create rollback",
                request(Delete, CURRENT),
                recorded("DELETE_IN_PROGRESS", Some(CURRENT)),
                None,
            ),
            (
                "in-place Update",
                request(Update, CURRENT),
                recorded("UPDATE_IN_PROGRESS", Some(CURRENT)),
                None,
            ),
            (
                "replacing Update's clean-up",
                request(Delete, REPLACED),
                recorded("UPDATE_COMPLETE", Some(CURRENT)),
                Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            ),
            (
                "Update rollback",
                request(Update, CURRENT),
                recorded("UPDATE_IN_PROGRESS", Some(CURRENT)),
                None,
            ),
            (
                "rollback's clean-up",
                request(Delete, REPLACED),
                recorded("UPDATE_COMPLETE", Some(CURRENT)),
                Some("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
            ),
            (
                "stack Delete",
                request(Delete, CURRENT),
                recorded("DELETE_IN_PROGRESS", Some(CURRENT)),
                None,
            ),
            (
                "Delete of a Create cut short",
                request(Delete, CURRENT),
                recorded("DELETE_IN_PROGRESS", None),
                Some("ROLLBACK_IN_PROGRESS"),
            ),
        ] {
            assert_eq!(judge(&request, &record, stack), Verdict::Genuine, "{what}");
        }
    }

    #[test]
    fn a_delete_not_in_progress_asks_for_the_stacks_status() {
        let verdict = judge(
            &request(RequestType::Delete, REPLACED),
            &recorded("UPDATE_COMPLETE", Some(CURRENT)),
            None,
        );
        assert_eq!(verdict, Verdict::NeedsStackStatus);
    }

    #[test]
    fn forgeries_are_refused_saying_what_did_not_match() {
        use RequestType::*;
        for (what, request, record, stack, says) in [
            (
                "a Create of what exists",
                request(Create, ""),
                recorded("CREATE_COMPLETE", Some(CURRENT)),
                None,
                "a Create, but the resource is CREATE_COMPLETE, not CREATE_IN_PROGRESS",
            ),
            (
                "an Update nobody asked for",
                request(Update, CURRENT),
                recorded("UPDATE_COMPLETE", Some(CURRENT)),
                None,
                "an Update, but the resource is UPDATE_COMPLETE, not UPDATE_IN_PROGRESS",
            ),
            (
                "an Update of another id",
                request(Update, REPLACED),
                recorded("UPDATE_IN_PROGRESS", Some(CURRENT)),
                None,
                "an Update of arn:aws:ecs:us-east-1:123456789012:cluster/lab-old, but the resource being updated is arn:aws:ecs:us-east-1:123456789012:cluster/lab",
            ),
            (
                "a Delete of a live stack's resource",
                request(Delete, CURRENT),
                recorded("CREATE_COMPLETE", Some(CURRENT)),
                Some("CREATE_COMPLETE"),
                "a Delete of arn:aws:ecs:us-east-1:123456789012:cluster/lab, but the resource is CREATE_COMPLETE with arn:aws:ecs:us-east-1:123456789012:cluster/lab and the stack CREATE_COMPLETE",
            ),
            (
                "a Delete of the current id during clean-up",
                request(Delete, CURRENT),
                recorded("UPDATE_COMPLETE", Some(CURRENT)),
                Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
                "a Delete of arn:aws:ecs:us-east-1:123456789012:cluster/lab, but the resource is UPDATE_COMPLETE with arn:aws:ecs:us-east-1:123456789012:cluster/lab and the stack UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            ),
            (
                "a Delete of another id while deleting",
                request(Delete, REPLACED),
                recorded("DELETE_IN_PROGRESS", Some(CURRENT)),
                Some("DELETE_IN_PROGRESS"),
                "a Delete of arn:aws:ecs:us-east-1:123456789012:cluster/lab-old, but the resource is DELETE_IN_PROGRESS with arn:aws:ecs:us-east-1:123456789012:cluster/lab and the stack DELETE_IN_PROGRESS",
            ),
        ] {
            assert_eq!(
                judge(&request, &record, stack),
                Verdict::NotGenuine(says.into()),
                "{what}"
            );
        }
    }

    #[test]
    fn the_resource_type_must_be_the_recorded_one() {
        let mut record = recorded("CREATE_IN_PROGRESS", None);
        record.resource_type = "Custom::RegistryCredentials".into();
        assert_eq!(
            judge(&request(RequestType::Create, ""), &record, None),
            Verdict::NotGenuine(
                "CloudFormation's Cluster is a Custom::RegistryCredentials, not a Custom::FargateCluster".into()
            )
        );
    }
}
