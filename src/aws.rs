//! AWS clients, built once per function from one shared configuration.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The SDK's retry policy for every call: adaptive (client-side rate limiting on throttling),
/// with a bounded number of attempts.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// The retry policy every client uses.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS)
}

/// The configuration as the Lambda environment gives it, read from the environment alone:
/// region (`AWS_REGION`), credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), endpoints (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`: how
/// every client is pointed at a local emulator), `AWS_USE_FIPS_ENDPOINT` and
/// `AWS_USE_DUALSTACK_ENDPOINT`; with the product's retry and timeout policy and an HTTPS client
/// trusting the compiled-in roots ([`crate::tls`]). No profile file, IMDS or credential chain
/// is consulted: Lambda says everything in the environment, and each would cost every cold
/// start, and the binary, for nothing (docs/design.md#cold-start).
pub async fn load_config() -> SdkConfig {
    // vars_os: a variable that is not Unicode is skipped rather than a panic at start.
    let environment = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    config_from_environment(environment)
}

fn config_from_environment(env: HashMap<String, String>) -> SdkConfig {
    let var = |name: &str| {
        env.get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let flag = |name: &str| var(name).map(|value| value.eq_ignore_ascii_case("true"));
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .retry_config(retry_config())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    config.set_region(region.map(|region| Region::new(region.to_owned())));
    config.set_use_fips(flag("AWS_USE_FIPS_ENDPOINT"));
    config.set_use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    config.set_http_client(Some(crate::sdk_http::sdk_http_client(region)));
    let endpoints = env
        .iter()
        .filter(|(name, value)| name.starts_with("AWS_ENDPOINT_URL") && !value.trim().is_empty())
        .map(|(name, value)| (name.clone(), value.trim().to_owned()))
        .collect();
    config
        .service_config(EnvironmentEndpoints(endpoints))
        .build()
}

/// The endpoint variables found in the environment at start. Asked for a service's
/// `AWS_ENDPOINT_URL`, the `AWS_ENDPOINT_URL_<SERVICE ID>` variable wins over the global one, as
/// with the SDK's own loader (`Secrets Manager` → `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
#[derive(Debug)]
struct EnvironmentEndpoints(HashMap<String, String>);

impl LoadServiceConfig for EnvironmentEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        let specific = format!("{}_{service}", key.env());
        self.0
            .get(&specific)
            .or_else(|| self.0.get(key.env()))
            .cloned()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn endpoint(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        config.service_config()?.load_config(key)
    }

    #[test]
    fn a_services_own_endpoint_variable_wins_over_the_global_one() {
        let config = config_from_environment(environment(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:5001"),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                " http://127.0.0.1:5002 ",
            ),
        ]));
        assert_eq!(
            endpoint(&config, "CloudFormation").as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(
            endpoint(&config, "Secrets Manager").as_deref(),
            Some("http://127.0.0.1:5002")
        );
        assert_eq!(
            endpoint(&config, "ECS").as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }

    #[test]
    fn without_endpoint_variables_the_sdk_resolves_aws_own() {
        let config = config_from_environment(environment(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "  "),
        ]));
        assert_eq!(endpoint(&config, "ECS"), None);
    }

    #[test]
    fn region_fips_and_dual_stack_come_from_lambdas_variables() {
        let config = config_from_environment(environment(&[
            ("AWS_REGION", "us-gov-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_USE_FIPS_ENDPOINT", "TRUE"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "false"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-gov-west-1"));
        assert_eq!(config.use_fips(), Some(true));
        assert_eq!(config.use_dual_stack(), Some(false));
        let fallback = config_from_environment(environment(&[("AWS_DEFAULT_REGION", "eu-west-1")]));
        assert_eq!(fallback.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(fallback.use_fips(), None);
    }

    #[test]
    fn every_configuration_carries_the_http_client() {
        // The SDK is built without a default client: one missing would fail every call.
        for region in ["us-east-1", "cn-north-1", ""] {
            let config = config_from_environment(environment(&[("AWS_REGION", region)]));
            assert!(config.http_client().is_some(), "region {region:?}");
        }
    }
}
