//! The library's errors. Each one's text is the `Reason` CloudFormation shows a user, so it says
//! what was wrong and what to do, and never carries a secret value.

use crate::properties::{PropertyError, ResourceKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Property(#[from] PropertyError),

    #[error("ResourceType {0} is not supported; this provider supports {list}", list = ResourceKind::supported_list())]
    UnsupportedResourceType(String),

    /// An AWS call failed: "creating ECS cluster (lab): AccessDeniedException: …".
    #[error("{action} ({name}): {cause}")]
    Aws {
        action: String,
        name: String,
        cause: String,
    },

    /// A resource with the requested name exists and is not ours (DESIGN.md rule 7).
    #[error(
        "{what} {name} already exists and was not made by this stack's {logical_id}; it was left unchanged. Choose another name, or omit the name to have one generated"
    )]
    NotOurs {
        what: &'static str,
        name: String,
        logical_id: String,
    },

    /// A request that is valid property by property but cannot be carried out as asked.
    #[error("{0}")]
    Unsupported(String),

    #[error("verifying registry credentials: {0}")]
    Registry(#[from] crate::registry::RegistryError),

    /// A bounded wait ran out.
    #[error("timed out after {seconds}s {waiting_for}")]
    WaitTimedOut { waiting_for: String, seconds: u64 },
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
