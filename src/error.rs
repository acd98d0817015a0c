//! The library's errors. Each one's text is the `Reason` CloudFormation shows a user, so it says
//! what was wrong and what to do, and never carries a secret value.

use crate::properties::PropertyError;
use crate::resource_type::ResourceType;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Property(#[from] PropertyError),

    /// CloudFormation's record does not confirm the request, or could not be read.
    #[error(transparent)]
    Unconfirmed(#[from] crate::protocol::genuine::Unconfirmed),

    #[error("ResourceType {0} is not supported; this provider supports {list}", list = ResourceType::supported_list())]
    UnsupportedResourceType(String),

    /// An AWS call failed: "creating ECS cluster (lab): AccessDeniedException: …".
    #[error("{action} ({name}): {cause}")]
    Aws {
        action: String,
        name: String,
        cause: String,
    },

    /// A resource with the requested name exists and is not ours (docs/design.md#ownership).
    #[error(
        "{what} {name} already exists and was not made by this stack's {logical_id}; it was left unchanged. Choose another name, or omit the name to have one generated"
    )]
    NotOurs {
        what: &'static str,
        name: String,
        logical_id: String,
    },

    /// A property names something the stack does not own (docs/design.md#reach).
    #[error("{property} is out of this stack's reach: {reason}")]
    OutOfReach { property: String, reason: String },

    /// Valid property by property, but not something this provider will do: the text says
    /// what to change in the template.
    #[error("{0}")]
    Rejected(String),

    /// AWS reported success without what the call returns; retrying is the remedy.
    #[error("{action} ({name}): AWS answered without {missing}; it is safe to retry")]
    IncompleteAnswer {
        action: &'static str,
        name: String,
        missing: &'static str,
    },

    /// A rollout that failed, with the reason ECS or a stopped task gave.
    #[error("deploying ECS service ({service}) failed: {reason}")]
    DeploymentFailed { service: String, reason: String },

    /// A resource that cannot go yet because something still uses it.
    #[error("deleting {what} ({name}): {reason}")]
    StillInUse {
        what: &'static str,
        name: String,
        reason: String,
    },

    /// A fault of this provider or its configuration, not of the request.
    #[error("internal error: {0}")]
    Internal(String),

    #[error("verifying registry credentials: {0}")]
    Registry(#[from] crate::registry::RegistryError),

    /// A bounded wait ran out, or had no time to begin.
    #[error(transparent)]
    Wait(#[from] crate::wait::WaitError),

    /// Going on in a new invocation failed.
    #[error(transparent)]
    HandOver(#[from] crate::protocol::continuation::HandOverFailed),
}

impl Error {
    /// An AWS SDK error with the action and resource it concerns. The SDK's own error text holds
    /// the service's code and message, never our request's secrets.
    pub fn aws(
        action: impl Into<String>,
        name: impl Into<String>,
        err: impl std::error::Error,
    ) -> Self {
        Error::Aws {
            action: action.into(),
            name: name.into(),
            cause: crate::aws::describe_error(&err),
        }
    }
}
