//! ecs-private-auth: CloudFormation custom resources that run private-registry images on ECS
//! Fargate.
//!
//! The crate is the library shared by every Lambda function of the product:
//! - [`protocol`] speaks CloudFormation's custom-resource protocol (parsing, checks, the one
//!   response per request, the deadline and panic guard, redaction), and its pipeline turns an invocation into answers. Resource types never touch it.
//! - [`properties`] turns `ResourceProperties` into typed values with errors a user can act on.
//! - `resources` holds one module per resource type, create / update / delete side by side, and
//!   [`resource_type`] the one list of the five types.
//! - [`provider`] glues them together for the on-create, on-update and on-delete functions, and
//!   [`on_failure`] answers for invocations that crashed.
//! - [`cleanup`] is nightly-cleanup: it deletes what stacks left behind, and nothing else.

pub(crate) mod arn;
pub mod aws;
pub mod cleanup;
pub(crate) mod error;
#[cfg(feature = "local")]
pub mod local;
pub(crate) mod naming;
pub mod on_failure;
pub mod properties;
pub mod protocol;
pub mod provider;
pub mod registry;
pub mod resource_type;
pub(crate) mod resources;
pub mod sdk_http;
pub mod settings;
pub mod tags;
pub mod telemetry;
pub(crate) mod text;
pub mod tls;
pub(crate) mod wait;

pub use error::Error;
