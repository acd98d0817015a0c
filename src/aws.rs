//! AWS clients, built once per function from one shared configuration.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// The SDK's retry policy for every call: adaptive (client-side rate limiting on throttling),
/// with a bounded number of attempts.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// The retry policy every client uses.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS)
}

/// Loads the configuration from the environment (`AWS_ENDPOINT_URL` points every client at a
/// local emulator) with the product's retry and timeout policy, and an HTTPS client trusting the
/// compiled-in roots (see [`crate::tls`]) for every client, the credential providers' included.
/// The partition that client depends on is read from `AWS_REGION`, which Lambda always sets.
pub async fn load_config() -> SdkConfig {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(client) = crate::tls::sdk_http_client(region.as_deref()) {
        loader = loader.http_client(client);
    }
    loader.load().await
}

/// Every client the functions use, made once per process: AWS's from one configuration, and the
/// HTTP client that checks registries.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub registry: reqwest::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Clients {
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            registry: crate::registry::client(),
        }
    }

    /// The CloudFormation client for the region a stack id names (same endpoint and
    /// credentials): the cleanup reads each stack where it lives.
    pub fn cloudformation_in(&self, region: &str) -> aws_sdk_cloudformation::Client {
        let config = self.cloudformation.config();
        if region.is_empty() || config.region().map(|r| r.as_ref()) == Some(region) {
            return self.cloudformation.clone();
        }
        let config = config
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        aws_sdk_cloudformation::Client::from_conf(config)
    }
}

/// An SDK error as the service's "Code: message" when the service answered, else as
/// [`describe_error`] tells it.
pub(crate) fn describe_sdk_error<E, R>(
    err: &aws_sdk_cloudformation::error::SdkError<E, R>,
) -> String
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(service) => match (service.code(), service.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            _ => describe_error(err),
        },
        None => describe_error(err),
    }
}

/// An SDK error as "Code: message", the full source chain for transport errors. The SDK's own
/// wrappers ("service error", "unhandled error") say nothing and are left out.
pub(crate) fn describe_error(err: &(dyn std::error::Error + '_)) -> String {
    const EMPTY_WRAPPERS: &[&str] = &["service error", "unhandled error", "dispatch failure"];
    let mut text = String::new();
    let mut source = Some(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        let is_wrapper = EMPTY_WRAPPERS.contains(&cause_text.as_str()) && cause.source().is_some();
        if !is_wrapper && !text.contains(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    // Errors reach users only through Reasons and logs, which are both masked on the way out.
    text
}
