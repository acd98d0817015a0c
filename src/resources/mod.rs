//! The five resource types, one module each named after it, create / update / delete side by
//! side, plus what the nightly cleanup calls to find and remove a leftover. A module returns an
//! [`Outcome`] (Create, Update) or a [`Deleted`] (Delete) or an [`Error`]; the protocol layer
//! turns either into the response.

pub mod common;
pub mod fargate_cluster;
pub mod fargate_service;
pub mod reach;
pub mod registry_credentials;
pub mod tag_sync;
pub mod task_definition;
pub mod task_execution_role;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use tokio::time::Instant;

use crate::Error;
use crate::aws::Clients;
use crate::protocol::continuation::Continuation;
use crate::protocol::redact::RequestSecrets;
use crate::protocol::{Deadline, Incoming, Outcome, Progress, Request, RequestType};
use crate::resource_type::ResourceType;
use crate::settings::Settings;
use crate::wait::{Backoff, Bounds, Poll, Waited};

/// How a Delete ended without failing. Its answer always carries the id it was given, so a
/// Delete has no id of its own to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Done,
    /// The wait for it goes on in another invocation, which answers.
    Continued,
}

/// What a resource type works with: the clients, the settings, the time it has, where it records
/// what it made, and how to go on in a new invocation.
#[derive(Clone)]
pub struct ResourceContext {
    pub clients: Clients,
    pub settings: Arc<Settings>,
    pub deadline: Deadline,
    pub progress: Progress,
    /// The request as received, with when it was first known to exist.
    pub incoming: Incoming,
    request_secrets: RequestSecrets,
    continuation: Continuation,
}

/// Time kept back, before the invocation's time for work ends, to hand a wait over to a new
/// invocation (one asynchronous Invoke).
const HANDOVER_MARGIN: Duration = Duration::from_secs(2);

impl ResourceContext {
    pub fn new(
        clients: Clients,
        settings: Arc<Settings>,
        deadline: Deadline,
        incoming: Incoming,
        request_secrets: RequestSecrets,
        continuation: Continuation,
    ) -> Self {
        ResourceContext {
            progress: Progress::resuming(incoming.made.clone()),
            clients,
            settings,
            deadline,
            incoming,
            request_secrets,
            continuation,
        }
    }

    /// Polls `check` until it is ready or fails, the whole wait bounded by the resource's
    /// ServiceTimeout from the request's first appearance; when this invocation's time runs out
    /// first, the request goes on in a new invocation of this function (docs/design.md#long-waits).
    pub(crate) async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        backoff: Backoff,
        check: F,
    ) -> Result<Waited<T>, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, Error>>,
    {
        let bounds = Bounds {
            look_until: self
                .deadline
                .answer_by()
                .checked_sub(HANDOVER_MARGIN)
                .unwrap_or_else(Instant::now),
            overall: self.incoming.wait_deadline(),
            began: UNIX_EPOCH + Duration::from_secs(self.incoming.first_received_at),
        };
        let hand_over = || -> BoxFuture<'_, Result<(), Error>> {
            Box::pin(async {
                let made = self.progress.made_by_this_request();
                Ok(self
                    .continuation
                    .hand_over(&self.incoming, made, what)
                    .await?)
            })
        };
        crate::wait::poll(what, backoff, bounds, Some(&hand_over), check).await
    }

    /// Keeps a secret learned while working (a password read from SSM, a registry's token) out
    /// of every message for as long as the request is in flight.
    pub(crate) fn register_secret(&self, secret: &str) {
        self.request_secrets.add(secret);
    }

    /// How long the request has been known to exist.
    pub fn age(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH + Duration::from_secs(self.incoming.first_received_at))
            .unwrap_or_default()
    }
}

/// Runs what the request asks of the resource type it names. Properties are checked before any
/// work; a Delete never validates them, and answers with the id it was given.
pub async fn run(request: Request, context: ResourceContext) -> Result<Outcome, Error> {
    let kind = ResourceType::from_type_name(&request.resource_type)
        .ok_or_else(|| Error::UnsupportedResourceType(request.resource_type.clone()))?;
    let (request, context) = (&request, &context);
    match request.request_type {
        RequestType::Create => {
            kind.validate(request.properties())?;
            kind.create(request, context).await
        }
        RequestType::Update => {
            kind.validate(request.properties())?;
            kind.update(request, context).await
        }
        RequestType::Delete => Ok(match kind.delete(request, context).await? {
            Deleted::Done => Outcome::Done {
                physical_resource_id: request.physical_id().to_owned(),
                data: Default::default(),
            },
            Deleted::Continued => Outcome::Continued,
        }),
    }
}

/// The one table of what each type does.
impl ResourceType {
    async fn create(self, request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
        match self {
            ResourceType::FargateCluster => fargate_cluster::create(request, context).await,
            ResourceType::RegistryCredentials => {
                registry_credentials::create(request, context).await
            }
            ResourceType::TaskExecutionRole => task_execution_role::create(request, context).await,
            ResourceType::TaskDefinition => task_definition::create(request, context).await,
            ResourceType::FargateService => fargate_service::create(request, context).await,
        }
    }

    async fn update(self, request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
        match self {
            ResourceType::FargateCluster => fargate_cluster::update(request, context).await,
            ResourceType::RegistryCredentials => {
                registry_credentials::update(request, context).await
            }
            ResourceType::TaskExecutionRole => task_execution_role::update(request, context).await,
            ResourceType::TaskDefinition => task_definition::update(request, context).await,
            ResourceType::FargateService => fargate_service::update(request, context).await,
        }
    }

    async fn delete(self, request: &Request, context: &ResourceContext) -> Result<Deleted, Error> {
        match self {
            ResourceType::FargateCluster => fargate_cluster::delete(request, context).await,
            ResourceType::RegistryCredentials => {
                registry_credentials::delete(request, context).await
            }
            ResourceType::TaskExecutionRole => task_execution_role::delete(request, context).await,
            ResourceType::TaskDefinition => task_definition::delete(request, context).await,
            ResourceType::FargateService => fargate_service::delete(request, context).await,
        }
    }

    /// Whether a resource of this type that carries our tags still exists in a state worth
    /// deleting (the Tagging API lists deleted clusters and services for a while, and secrets
    /// already scheduled for deletion).
    pub(crate) async fn leftover_exists(self, clients: &Clients, arn: &str) -> Result<bool, Error> {
        match self {
            ResourceType::FargateCluster => fargate_cluster::leftover_exists(clients, arn).await,
            ResourceType::RegistryCredentials => {
                registry_credentials::leftover_exists(clients, arn).await
            }
            ResourceType::TaskExecutionRole => Ok(true),
            ResourceType::TaskDefinition => task_definition::leftover_exists(clients, arn).await,
            ResourceType::FargateService => fargate_service::leftover_exists(clients, arn).await,
        }
    }

    /// Deletes a leftover of this type by its ARN with the type's own delete code, waiting no
    /// longer than `until`.
    pub(crate) async fn remove_leftover(
        self,
        clients: &Clients,
        arn: &str,
        until: Instant,
        secret_recovery_days: i64,
    ) -> Result<(), Error> {
        match self {
            ResourceType::FargateCluster => {
                fargate_cluster::remove_leftover(clients, arn, until).await
            }
            ResourceType::RegistryCredentials => {
                registry_credentials::remove_leftover(clients, arn, secret_recovery_days).await
            }
            ResourceType::TaskExecutionRole => {
                task_execution_role::remove_leftover(clients, arn).await
            }
            ResourceType::TaskDefinition => task_definition::remove_leftover(clients, arn).await,
            ResourceType::FargateService => {
                fargate_service::remove_leftover(clients, arn, until).await
            }
        }
    }
}
