//! The on-create, on-update and on-delete functions: the protocol's pipeline handed the
//! resource types' work. Each function answers one request type (docs/design.md#routing).

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::aws::Clients;
use crate::properties::is_secret_property;
use crate::protocol::continuation::Continuation;
use crate::protocol::genuine;
use crate::protocol::guard::run_guarded;
use crate::protocol::marker::is_failed_create_marker;
use crate::protocol::pipeline::{Pipeline, Work};
use crate::protocol::redact::RequestSecrets;
use crate::protocol::{Deadline, Incoming, Request, RequestType, Response};
use crate::resources::{self, ResourceContext};
use crate::settings::Settings;

/// Which request type a function answers. Requests of another type are left to their own
/// function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionRole {
    OnCreate,
    OnUpdate,
    OnDelete,
}

impl FunctionRole {
    pub fn for_request_type(request_type: RequestType) -> Self {
        match request_type {
            RequestType::Create => FunctionRole::OnCreate,
            RequestType::Update => FunctionRole::OnUpdate,
            RequestType::Delete => FunctionRole::OnDelete,
        }
    }

    pub(crate) fn handles(self) -> RequestType {
        match self {
            FunctionRole::OnCreate => RequestType::Create,
            FunctionRole::OnUpdate => RequestType::Update,
            FunctionRole::OnDelete => RequestType::Delete,
        }
    }

    /// The function's name in the workspace and the template.
    pub fn function_name(self) -> &'static str {
        match self {
            FunctionRole::OnCreate => "on-create",
            FunctionRole::OnUpdate => "on-update",
            FunctionRole::OnDelete => "on-delete",
        }
    }
}

/// Time kept, before the guard's own answer, to answer that CloudFormation's record could not be
/// read.
const RECORD_READ_MARGIN: Duration = Duration::from_secs(1);

/// One of the three provider functions: built once in `main`, shared by every invocation.
pub struct Provider {
    pipeline: Pipeline,
    work: ResourceWork,
}

impl Provider {
    pub fn new(role: FunctionRole, clients: Clients, settings: Settings) -> Self {
        let continuation = Continuation::new(
            clients.lambda.clone(),
            settings.function_name.clone(),
            is_secret_property,
        );
        Provider {
            pipeline: Pipeline::new(
                role.function_name(),
                settings.allowed_response_url_prefixes.clone(),
                settings.emulated_identity.clone(),
                is_secret_property,
            ),
            work: ResourceWork {
                role,
                clients,
                settings: Arc::new(settings),
                continuation,
            },
        }
    }

    /// The function handler: one answer per request the invocation carries.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        self.pipeline
            .answer(&self.work, &event.payload, &event.context)
            .await
    }
}

/// A resource type's create, update or delete, once CloudFormation's record confirms the
/// request, run under the guard.
struct ResourceWork {
    role: FunctionRole,
    clients: Clients,
    settings: Arc<Settings>,
    continuation: Continuation,
}

impl Work for ResourceWork {
    fn handled_by(&self, request: &Request) -> Option<&'static str> {
        (request.request_type != self.role.handles())
            .then(|| FunctionRole::for_request_type(request.request_type).function_name())
    }

    async fn respond(
        &self,
        incoming: &Incoming,
        secrets: &RequestSecrets,
        deadline: Deadline,
    ) -> Option<Response> {
        let request = &incoming.request;
        if request.request_type == RequestType::Delete
            && is_failed_create_marker(request.physical_id())
        {
            tracing::info!(
                "Delete of a failed Create's marker: nothing was made, nothing to delete"
            );
            return Some(Response::success(request.physical_id(), Default::default()));
        }
        let context = ResourceContext::new(
            self.clients.clone(),
            self.settings.clone(),
            deadline,
            incoming.clone(),
            secrets.clone(),
            self.continuation.clone(),
        );
        let progress = context.progress.clone();
        let cloudformation = self.clients.cloudformation.clone();
        let confirmed = request.clone();
        // The record is read until shortly before the guard would answer, so that a record that
        // cannot be read is answered as such rather than as a timeout.
        let read_until = deadline
            .answer_by()
            .checked_sub(RECORD_READ_MARGIN)
            .unwrap_or_else(tokio::time::Instant::now);
        let work = async move {
            genuine::confirm(&cloudformation, &confirmed, read_until).await?;
            resources::run(confirmed, context).await
        };
        run_guarded(request, deadline, &progress, work).await
    }
}
