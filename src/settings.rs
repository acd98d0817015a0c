//! What a function reads from its environment, once, at start.

use std::env;

/// The AWS managed policy a task execution role gets by default.
pub const DEFAULT_MANAGED_POLICY: &str =
    "arn:{partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `ALLOWED_RESPONSE_URL_PREFIXES`: ResponseURL prefixes accepted besides CloudFormation's
    /// own S3 hosts (tests and the local run use `http://127.0.0.1:`).
    pub allowed_response_url_prefixes: Vec<String>,
    /// `ALLOWED_MANAGED_POLICY_ARNS`: the managed policies a role may get; `{partition}` is
    /// replaced by the stack's partition.
    pub allowed_managed_policy_arns: Vec<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`: this function, for continuing a long wait.
    pub function_name: Option<String>,
}

impl Settings {
    pub fn from_env() -> Self {
        let allowed_managed_policy_arns = list(env::var("ALLOWED_MANAGED_POLICY_ARNS").ok());
        Settings {
            allowed_response_url_prefixes: list(env::var("ALLOWED_RESPONSE_URL_PREFIXES").ok()),
            allowed_managed_policy_arns: if allowed_managed_policy_arns.is_empty() {
                vec![DEFAULT_MANAGED_POLICY.to_owned()]
            } else {
                allowed_managed_policy_arns
            },
            function_name: env::var("AWS_LAMBDA_FUNCTION_NAME")
                .ok()
                .filter(|name| !name.is_empty()),
        }
    }
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
}
