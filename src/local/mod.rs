//! What runs the product without AWS: the pieces that play AWS's and CloudFormation's side for
//! the tests and for the local runner (`cargo run -p local`). Built only with the `local` feature,
//! never into a Lambda function.
//!
//! - [`moto`] and [`registry`]: the embedded emulator (moto on loopback) and the Debian
//!   docker-registry, as processes this crate starts and stops; [`network`] makes the VPC pieces
//!   a Fargate service needs in moto.
//! - [`runtime_api`]: the Lambda Runtime API the real function binaries poll, and the processes.
//! - [`receiver`]: an HTTP server standing in for CloudFormation's pre-signed ResponseURL.
//! - [`cloudformation`]: CloudFormation's read API for the stacks being played.
//! - [`template`]: parameters, rules, conditions and intrinsics of a template, evaluated.
//! - [`provider`]: the five functions behind their Runtime APIs, reached as SNS and Lambda would.
//! - [`runner`]: a stack played through Create, Update and Delete the way CloudFormation does,
//!   rollbacks included, with an events table.

pub mod cloudformation;
pub mod emulator;
pub mod moto;
pub mod network;
pub mod provider;
pub mod receiver;
pub mod registry;
pub mod runner;
pub mod runtime_api;
pub mod template;

/// The account and region everything local runs in (moto accepts any).
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// Why something local could not be started or played.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot start {program}: {cause}. {hint}")]
    CannotStart {
        program: String,
        cause: String,
        hint: &'static str,
    },
    #[error("{what} did not become ready within {seconds}s")]
    NotReady { what: String, seconds: u64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{what}: {detail}")]
    Unexpected { what: String, detail: String },
    #[error("template: {0}")]
    Template(String),
    #[error("parameter validation failed: {0}")]
    Parameters(String),
}

impl LocalError {
    pub(crate) fn unexpected(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        LocalError::Unexpected {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16, LocalError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The ARN a function is invoked under locally.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}
