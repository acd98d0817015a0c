//! The documents a task execution role is made of, and what a stack may ask for in them: exactly
//! its secrets and keys, the operator's allow-listed managed policies, the template's boundary.

use serde_json::{Value, json};

use super::super::ResourceContext;
use crate::Error;
use crate::arn::Arn;
use crate::properties::TaskExecutionRoleProperties;
use crate::protocol::Request;

/// The boundary every role this provider makes carries, from the template. The deprecated
/// `PermissionsBoundary` property cannot replace it (a stack must not widen its own roles), so a
/// value other than the provider's is ignored with a warning.
pub(super) fn permissions_boundary<'a>(
    context: &'a ResourceContext,
    props: &TaskExecutionRoleProperties,
) -> Result<&'a str, Error> {
    let boundary = context
        .settings
        .role_permissions_boundary_arn
        .as_deref()
        .ok_or_else(|| {
            Error::Internal(
                "ROLE_PERMISSIONS_BOUNDARY_ARN is not set: every role this provider makes must carry the template's permissions boundary".into(),
            )
        })?;
    if props
        .permissions_boundary
        .as_deref()
        .is_some_and(|asked| asked != boundary)
    {
        tracing::warn!(
            boundary,
            "PermissionsBoundary is deprecated and ignored: every role this provider makes carries the provider's own boundary"
        );
    }
    Ok(boundary)
}

/// The managed policies to attach: the properties' list or the default, each of which must be on
/// the allow-list (`ALLOWED_MANAGED_POLICY_ARNS`, `{partition}` standing for the stack's).
pub(super) fn managed_policy_arns(
    request: &Request,
    context: &ResourceContext,
    props: &TaskExecutionRoleProperties,
) -> Result<Vec<String>, Error> {
    let partition = Arn::parse(&request.stack_id)
        .map(|stack| stack.partition)
        .unwrap_or_else(|_| "aws".to_owned());
    let allowed: Vec<String> = context
        .settings
        .allowed_managed_policy_arns
        .iter()
        .map(|arn| arn.replace("{partition}", &partition))
        .collect();
    let wanted = match &props.managed_policy_arns {
        Some(arns) => arns.clone(),
        None => vec![crate::settings::DEFAULT_MANAGED_POLICY.replace("{partition}", &partition)],
    };
    for (index, arn) in wanted.iter().enumerate() {
        if !allowed.contains(arn) {
            return Err(Error::Rejected(format!(
                "ManagedPolicyArns[{index}] is not on this provider's allow-list (ALLOWED_MANAGED_POLICY_ARNS); allowed: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(wanted)
}

/// The inline policy: GetSecretValue on exactly the secrets, and Decrypt on exactly the keys
/// when there are any. No wildcards (the properties reject them).
pub fn inline_policy(props: &TaskExecutionRoleProperties) -> Value {
    let mut statements = vec![json!({
        "Sid": "ReadRegistryCredentials",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": props.secret_arns,
    })];
    if !props.kms_key_arns.is_empty() {
        statements.push(json!({
            "Sid": "DecryptRegistryCredentials",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": props.kms_key_arns,
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

pub(super) fn trust_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}
