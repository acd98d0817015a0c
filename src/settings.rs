//! What a function reads from its environment, once, at start. The operator sets these through
//! the template's parameters; they bound what any stack may ask of the provider
//! (docs/design.md#reach).

use std::env;

use crate::properties::DEFAULT_ROLE_PATH;
use crate::protocol::{EmulatedIdentity, FunctionIdentity};

/// The AWS managed policy a task execution role gets by default.
pub(crate) const DEFAULT_MANAGED_POLICY: &str =
    "arn:{partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

/// Where `PasswordParameterName` may point by default: the product's own SSM path.
pub(crate) const DEFAULT_PASSWORD_PARAMETER_PREFIX: &str = DEFAULT_ROLE_PATH;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `ALLOWED_RESPONSE_URL_PREFIXES`: ResponseURL prefixes accepted besides CloudFormation's
    /// own S3 hosts (tests and the local run use `http://127.0.0.1:`).
    pub allowed_response_url_prefixes: Vec<String>,
    /// `ALLOWED_MANAGED_POLICY_ARNS`: the managed policies a role may get; `{partition}` is
    /// replaced by the stack's partition.
    pub allowed_managed_policy_arns: Vec<String>,
    /// `PASSWORD_PARAMETER_PREFIX`: the SSM path every `PasswordParameterName` must lie under.
    pub password_parameter_prefix: String,
    /// `ALLOWED_SECRET_ARNS`: secrets a role or a container may use although no stack of ours
    /// made them (ARN patterns, `*` and `?` as in IAM). Empty by default.
    pub allowed_secret_arns: Vec<String>,
    /// `ALLOWED_PASS_ROLE_ARNS`: roles a task definition may name although this product did not
    /// make them for the same stack (ARN patterns). Task roles must be here.
    pub allowed_pass_role_arns: Vec<String>,
    /// `ROLE_PERMISSIONS_BOUNDARY_ARN`: the boundary every role this product makes carries.
    pub role_permissions_boundary_arn: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`: this function, for continuing a long wait.
    pub function_name: Option<String>,
    /// `LOCAL_ACCOUNT_ID` (with `AWS_REGION`, and `AWS_SAM_LOCAL`): the identity a function takes
    /// under a local Lambda emulator, whose invoked ARN is a placeholder (`cargo lambda watch`)
    /// or names another account (`sam local invoke`). Never set in AWS: there the invoked ARN is
    /// the truth.
    pub emulated_identity: Option<EmulatedIdentity>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_response_url_prefixes: Vec::new(),
            allowed_managed_policy_arns: vec![DEFAULT_MANAGED_POLICY.to_owned()],
            password_parameter_prefix: DEFAULT_PASSWORD_PARAMETER_PREFIX.to_owned(),
            allowed_secret_arns: Vec::new(),
            allowed_pass_role_arns: Vec::new(),
            role_permissions_boundary_arn: None,
            function_name: None,
            emulated_identity: None,
        }
    }
}

impl Settings {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Settings from any source of variables (the environment, or a test's table).
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let defaults = Settings::default();
        let value = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let allowed_managed_policy_arns = list(lookup("ALLOWED_MANAGED_POLICY_ARNS"));
        Settings {
            allowed_response_url_prefixes: list(lookup("ALLOWED_RESPONSE_URL_PREFIXES")),
            allowed_managed_policy_arns: if allowed_managed_policy_arns.is_empty() {
                defaults.allowed_managed_policy_arns
            } else {
                allowed_managed_policy_arns
            },
            password_parameter_prefix: value("PASSWORD_PARAMETER_PREFIX")
                .unwrap_or(defaults.password_parameter_prefix),
            allowed_secret_arns: list(lookup("ALLOWED_SECRET_ARNS")),
            allowed_pass_role_arns: list(lookup("ALLOWED_PASS_ROLE_ARNS")),
            role_permissions_boundary_arn: value("ROLE_PERMISSIONS_BOUNDARY_ARN"),
            function_name: value("AWS_LAMBDA_FUNCTION_NAME"),
            emulated_identity: emulated_identity(
                value("LOCAL_ACCOUNT_ID"),
                value("AWS_REGION"),
                value("AWS_SAM_LOCAL").is_some_and(|flag| flag.eq_ignore_ascii_case("true")),
            ),
        }
    }
}

/// An account id of twelve digits and a region of AWS's shape, or no emulated identity at all.
fn emulated_identity(
    account: Option<String>,
    region: Option<String>,
    sam_local: bool,
) -> Option<EmulatedIdentity> {
    let account = account.filter(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))?;
    let region = region.filter(|region| {
        !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })?;
    tracing::warn!(
        account,
        region,
        "LOCAL_ACCOUNT_ID is set: this function runs under a local Lambda emulator"
    );
    Some(EmulatedIdentity {
        identity: FunctionIdentity {
            partition: "aws".to_owned(),
            region,
            account,
        },
        replaces_arn: sam_local,
    })
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_comma_separated_and_trimmed() {
        assert_eq!(
            list(Some(" http://127.0.0.1: , ,https://x/ ".into())),
            vec!["http://127.0.0.1:", "https://x/"]
        );
        assert!(list(None).is_empty());
    }

    #[test]
    fn an_emulated_identity_needs_a_twelve_digit_account_and_a_region() {
        let settings = |account: &str, region: Option<&str>| {
            Settings::from_lookup(|name| match name {
                "LOCAL_ACCOUNT_ID" => Some(account.to_owned()),
                "AWS_REGION" => region.map(str::to_owned),
                _ => None,
            })
            .emulated_identity
        };
        assert_eq!(
            settings("123456789012", Some("eu-west-1")),
            Some(EmulatedIdentity {
                identity: FunctionIdentity {
                    partition: "aws".into(),
                    region: "eu-west-1".into(),
                    account: "123456789012".into(),
                },
                replaces_arn: false,
            })
        );
        assert_eq!(settings("123456789012", Some("EU West 1")), None);
        let under_sam = Settings::from_lookup(|name| match name {
            "LOCAL_ACCOUNT_ID" => Some("123456789012".into()),
            "AWS_REGION" => Some("us-east-1".into()),
            "AWS_SAM_LOCAL" => Some("true".into()),
            _ => None,
        });
        assert!(under_sam.emulated_identity.unwrap().replaces_arn);
        assert_eq!(settings("12345", Some("eu-west-1")), None);
        assert_eq!(settings("12345678901x", Some("eu-west-1")), None);
        assert_eq!(settings("123456789012", None), None);
    }

    #[test]
    fn unset_or_empty_variables_mean_the_safe_defaults() {
        let settings = Settings::from_lookup(|name| {
            (name == "PASSWORD_PARAMETER_PREFIX" || name == "ALLOWED_SECRET_ARNS")
                .then(|| " ".to_owned())
        });
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.password_parameter_prefix, "/ecs-private-auth/");
        assert!(settings.allowed_secret_arns.is_empty());
        assert!(settings.allowed_pass_role_arns.is_empty());
    }
}
