//! `Custom::TaskExecutionRole` properties.

use serde_json::Value;

use super::{PropertyError, Props, Tag, parse_tags};
use crate::arn::Arn;

/// The path roles are created under unless `Path` says otherwise.
pub const DEFAULT_ROLE_PATH: &str = "/ecs-private-auth/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExecutionRoleProperties {
    pub role_name: Option<String>,
    pub path: String,
    pub secret_arns: Vec<String>,
    pub kms_key_arns: Vec<String>,
    /// `None` means the default: the AWS managed AmazonECSTaskExecutionRolePolicy.
    pub managed_policy_arns: Option<Vec<String>>,
    /// Deprecated and ignored: every role carries the provider's own boundary.
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

impl TaskExecutionRoleProperties {
    pub(crate) const NAMES: &[&str] = &[
        "RoleName",
        "Path",
        "SecretArns",
        "KmsKeyArns",
        "ManagedPolicyArns",
        "PermissionsBoundary",
        "Tags",
    ];

    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Props::top_level(value, Self::NAMES)?;
        let role_name = props.non_empty_string("RoleName")?;
        if let Some(name) = &role_name {
            let valid = name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !valid {
                return Err(PropertyError::invalid(
                    "RoleName",
                    "up to 64 letters, digits and +=,.@_- characters",
                ));
            }
        }
        let path = props
            .non_empty_string("Path")?
            .unwrap_or_else(|| DEFAULT_ROLE_PATH.to_owned());
        // Only under the product's path may the provider make roles (its IAM policy says so too),
        // and only there does the cleanup look for them.
        let path_ok = path.len() <= 512
            && path.starts_with(DEFAULT_ROLE_PATH)
            && path.ends_with('/')
            && !path.contains("//")
            && path.chars().all(|c| c.is_ascii_graphic());
        if !path_ok {
            return Err(PropertyError::invalid(
                "Path",
                "a path under /ecs-private-auth/ that ends with / (for example /ecs-private-auth/team-a/)",
            ));
        }
        let secret_arns = props.required_string_list("SecretArns")?;
        for (index, arn) in secret_arns.iter().enumerate() {
            check_arn(
                &format!("SecretArns[{index}]"),
                arn,
                "secretsmanager",
                "secret:",
            )?;
        }
        let kms_key_arns = props.string_list("KmsKeyArns")?.unwrap_or_default();
        for (index, arn) in kms_key_arns.iter().enumerate() {
            check_arn(&format!("KmsKeyArns[{index}]"), arn, "kms", "key/")?;
        }
        let managed_policy_arns = props.string_list("ManagedPolicyArns")?;
        if let Some(arns) = &managed_policy_arns {
            for (index, arn) in arns.iter().enumerate() {
                check_arn(
                    &format!("ManagedPolicyArns[{index}]"),
                    arn,
                    "iam",
                    "policy/",
                )?;
            }
        }
        let permissions_boundary = props.non_empty_string("PermissionsBoundary")?;
        if let Some(arn) = &permissions_boundary {
            check_arn("PermissionsBoundary", arn, "iam", "policy/")?;
        }
        Ok(TaskExecutionRoleProperties {
            role_name,
            path,
            secret_arns,
            kms_key_arns,
            managed_policy_arns,
            permissions_boundary,
            tags: parse_tags(&props)?,
        })
    }
}

/// Checks `arn:<partition>:<service>:<region>:<account>:<resource>` with the resource starting
/// with `resource_prefix`, and no wildcard anywhere: a role this product makes is never broad.
pub(crate) fn check_arn(
    name: &str,
    arn: &str,
    service: &str,
    resource_prefix: &str,
) -> Result<(), PropertyError> {
    let valid = Arn::parse(arn).is_ok_and(|parsed| {
        parsed.service == service
            && parsed.resource.len() > resource_prefix.len()
            && parsed.resource.starts_with(resource_prefix)
    }) && !arn.contains(['*', '?']);
    if valid {
        Ok(())
    } else {
        Err(PropertyError::invalid(
            name,
            format!("an ARN of the form arn:aws:{service}:…:{resource_prefix}… without wildcards"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf";

    #[test]
    fn secret_arns_are_required_and_checked() {
        let err = TaskExecutionRoleProperties::parse(&json!({})).unwrap_err();
        assert_eq!(err.to_string(), "missing required property SecretArns");
        let err = TaskExecutionRoleProperties::parse(
            &json!({"SecretArns": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:*"]}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("SecretArns[0]"), "{err}");
        let err =
            TaskExecutionRoleProperties::parse(&json!({"SecretArns": ["my-secret"]})).unwrap_err();
        assert!(err.to_string().contains("SecretArns[0]"), "{err}");
    }

    #[test]
    fn defaults_to_the_product_path() {
        let props = TaskExecutionRoleProperties::parse(&json!({"SecretArns": [SECRET]})).unwrap();
        assert_eq!(props.path, "/ecs-private-auth/");
        assert_eq!(props.managed_policy_arns, None);
        assert!(props.kms_key_arns.is_empty());
    }

    #[test]
    fn paths_lie_under_the_products_path() {
        for path in [
            "team",
            "/team/",
            "/ecs-private-auth",
            "/ecs-private-auth//x/",
        ] {
            let err =
                TaskExecutionRoleProperties::parse(&json!({"SecretArns": [SECRET], "Path": path}))
                    .unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("property Path must be a path under /ecs-private-auth/"),
                "{path}: {err}"
            );
        }
        let nested = json!({"SecretArns": [SECRET], "Path": "/ecs-private-auth/team-a/"});
        assert!(TaskExecutionRoleProperties::parse(&nested).is_ok());
    }

    #[test]
    fn kms_keys_must_be_key_arns() {
        let ok = json!({"SecretArns": [SECRET], "KmsKeyArns": ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]});
        assert!(TaskExecutionRoleProperties::parse(&ok).is_ok());
        let alias = json!({"SecretArns": [SECRET], "KmsKeyArns": ["arn:aws:kms:us-east-1:123456789012:alias/x"]});
        assert!(TaskExecutionRoleProperties::parse(&alias).is_err());
    }
}
