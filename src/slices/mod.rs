//! The five slices, one module each, create / update / delete side by side. A slice returns an
//! [`Outcome`] or an [`Error`]; the protocol layer turns either into the response.

pub mod cluster;
pub mod common;
pub mod credentials;
pub mod role;
pub mod service;
pub mod task_definition;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use tokio::time::Instant;

use crate::Error;
use crate::aws::Clients;
use crate::properties::ResourceKind;
use crate::protocol::redact::RequestSecrets;
use crate::protocol::{Deadline, Incoming, Outcome, Progress, Request, RequestType};
use crate::settings::Settings;

/// What a slice works with: the clients, the settings, the time it has, and where it records
/// what it made.
#[derive(Clone)]
pub struct SliceContext {
    pub clients: Clients,
    pub settings: Arc<Settings>,
    pub deadline: Deadline,
    pub progress: Progress,
    /// The request as received, with when it was first received.
    pub incoming: Incoming,
    request_secrets: RequestSecrets,
}

/// Time kept back, before the invocation's time for work ends, to hand a wait over to a new
/// invocation (one asynchronous Invoke).
const HANDOVER_MARGIN: Duration = Duration::from_secs(2);

/// How a wait ended without failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited<T> {
    Ready(T),
    /// This invocation's time ran out; a new invocation continues the request.
    Continued,
}

/// One look at what is being waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    Ready(T),
    Pending,
}

impl SliceContext {
    pub fn new(
        clients: Clients,
        settings: Arc<Settings>,
        deadline: Deadline,
        progress: Progress,
        incoming: Incoming,
        request_secrets: RequestSecrets,
    ) -> Self {
        SliceContext {
            clients,
            settings,
            deadline,
            progress,
            incoming,
            request_secrets,
        }
    }

    /// Polls `check` with backoff (from `first_pause` up to `max_pause`) until it is ready or
    /// fails. The whole wait, across invocations, is bounded by the resource's ServiceTimeout
    /// from the request's first receipt; when this invocation's time runs out first, the
    /// request is handed to a new invocation of this function — but only after this one has
    /// waited at least `first_pause`, so invocations never follow each other faster than one
    /// poll interval, whatever the function's timeout (docs/design.md#long-waits).
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        first_pause: Duration,
        max_pause: Duration,
        mut check: F,
    ) -> Result<Waited<T>, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, Error>>,
    {
        let started = Instant::now();
        let hand_over_at = self
            .deadline
            .answer_by()
            .checked_sub(HANDOVER_MARGIN)
            .unwrap_or(started);
        let mut pause = first_pause;
        let mut last_look = false;
        loop {
            if let Poll::Ready(value) = check().await? {
                return Ok(Waited::Ready(value));
            }
            if SystemTime::now() + pause >= self.incoming.wait_deadline() {
                let waited = crate::protocol::request::now_epoch_secs()
                    .saturating_sub(self.incoming.first_received_at);
                return Err(Error::WaitTimedOut {
                    waiting_for: what.to_owned(),
                    seconds: waited,
                });
            }
            if last_look {
                self.continue_in_new_invocation(what).await?;
                return Ok(Waited::Continued);
            }
            if Instant::now() + pause < hand_over_at {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(max_pause);
                continue;
            }
            // No whole pause is left: wait out what is, then look once more and hand over.
            if hand_over_at < started + first_pause {
                return Err(Error::Internal(format!(
                    "the function's timeout leaves {}s to wait {what} in, less than one poll interval ({}s); raise the function's Timeout",
                    hand_over_at.saturating_duration_since(started).as_secs(),
                    first_pause.as_secs()
                )));
            }
            tokio::time::sleep_until(hand_over_at).await;
            last_look = true;
        }
    }

    /// Re-invokes this function asynchronously with the request (minus secrets) and when it
    /// was first received; that invocation answers.
    async fn continue_in_new_invocation(&self, what: &str) -> Result<(), Error> {
        let function = self.settings.function_name.as_deref().ok_or_else(|| {
            Error::Internal(format!(
                "cannot go on {what} in a new invocation: AWS_LAMBDA_FUNCTION_NAME is not set"
            ))
        })?;
        let payload = self
            .incoming
            .continuation_payload(self.progress.made_by_this_request())
            .to_string();
        self.clients
            .lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|err| {
                Error::aws("continuing the wait in a new invocation of", function, err)
            })?;
        tracing::info!(
            function,
            continuations = self.incoming.continuations + 1,
            "wait handed over to a new invocation: {what}"
        );
        Ok(())
    }

    /// Keeps a secret learned while working (a password read from SSM) out of every message
    /// for as long as the request is in flight.
    pub fn register_secret(&self, secret: &str) {
        self.request_secrets.add(secret);
    }
}

/// Runs the slice a request names.
pub async fn run(request: Request, context: SliceContext) -> Result<Outcome, Error> {
    let kind = ResourceKind::from_resource_type(&request.resource_type)
        .ok_or_else(|| Error::UnsupportedResourceType(request.resource_type.clone()))?;
    if request.request_type != RequestType::Delete {
        // Properties are checked before any work; a Delete never validates them.
        kind.validate(request.properties())?;
    }
    use RequestType::{Create, Delete, Update};
    let (request, context) = (&request, &context);
    match (kind, request.request_type) {
        (ResourceKind::FargateCluster, Create) => cluster::create(request, context).await,
        (ResourceKind::FargateCluster, Update) => cluster::update(request, context).await,
        (ResourceKind::FargateCluster, Delete) => cluster::delete(request, context).await,
        (ResourceKind::RegistryCredentials, Create) => credentials::create(request, context).await,
        (ResourceKind::RegistryCredentials, Update) => credentials::update(request, context).await,
        (ResourceKind::RegistryCredentials, Delete) => credentials::delete(request, context).await,
        (ResourceKind::TaskExecutionRole, Create) => role::create(request, context).await,
        (ResourceKind::TaskExecutionRole, Update) => role::update(request, context).await,
        (ResourceKind::TaskExecutionRole, Delete) => role::delete(request, context).await,
        (ResourceKind::TaskDefinition, Create) => task_definition::create(request, context).await,
        (ResourceKind::TaskDefinition, Update) => task_definition::update(request, context).await,
        (ResourceKind::TaskDefinition, Delete) => task_definition::delete(request, context).await,
        (ResourceKind::FargateService, Create) => service::create(request, context).await,
        (ResourceKind::FargateService, Update) => service::update(request, context).await,
        (ResourceKind::FargateService, Delete) => service::delete(request, context).await,
    }
}
