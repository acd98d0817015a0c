//! The five slices, one module each, create / update / delete side by side. A slice returns an
//! [`Outcome`] or an [`Error`]; the protocol layer turns either into the response.

pub mod cluster;
pub mod common;

use std::sync::{Arc, Mutex, PoisonError};

use crate::Error;
use crate::aws::Clients;
use crate::properties::ResourceKind;
use crate::protocol::redact::SecretScope;
use crate::protocol::{Deadline, Outcome, Progress, Request, RequestType};
use crate::settings::Settings;

/// What a slice works with: the clients, the settings, the time it has, and where it records
/// what it made.
#[derive(Clone)]
pub struct SliceContext {
    pub clients: Clients,
    pub settings: Arc<Settings>,
    pub deadline: Deadline,
    pub progress: Progress,
    secrets: Arc<Mutex<SecretScope>>,
}

impl SliceContext {
    pub fn new(
        clients: Clients,
        settings: Arc<Settings>,
        deadline: Deadline,
        progress: Progress,
    ) -> Self {
        SliceContext {
            clients,
            settings,
            deadline,
            progress,
            secrets: Arc::new(Mutex::new(SecretScope::empty())),
        }
    }

    /// Keeps a secret learned while working (a password read from SSM) out of every message
    /// for as long as the request is in flight.
    pub fn register_secret(&self, secret: &str) {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(secret);
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
    match kind {
        ResourceKind::FargateCluster => cluster::handle(&request, &context).await,
        _ => Err(Error::NotImplemented(kind)),
    }
}
