//! Reach: a stack gets what it owns, nothing more (docs/design.md#reach).
//!
//! The functions may read any registry password under the operator's SSM path, any secret of
//! ours, and pass any role of ours. A stack may use that power only on what it owns: the secrets
//! and roles this provider made for the same stack, or what the operator allow-listed. Every check
//! here runs before any change and fails naming the property.

use super::ResourceContext;
use crate::Error;
use crate::arn::Arn;
use crate::properties::DEFAULT_ROLE_PATH;
use crate::protocol::Request;
use crate::settings::Settings;
use crate::tags::TAG_STACK_ID;

fn out_of_reach(property: &str, reason: impl Into<String>) -> Error {
    Error::OutOfReach {
        property: property.to_owned(),
        reason: reason.into(),
    }
}

/// `PasswordParameterName` names a parameter under the operator's path and, below it, the stack's
/// own name (`/ecs-private-auth/<stack name>/…`): a stack reads its own passwords, not another
/// team's. By name only: an ARN would need its own account and region checks, and gives a
/// template nothing a name does not.
pub(crate) fn check_password_parameter(
    name: &str,
    request: &Request,
    settings: &Settings,
) -> Result<(), Error> {
    let prefix = directory(&settings.password_parameter_prefix);
    let own = format!("{prefix}{}/", crate::naming::stack_name(&request.stack_id));
    let inside = name.starts_with(&own)
        && name.len() > own.len()
        && !name.split('/').any(|segment| segment == "..");
    if inside {
        Ok(())
    } else {
        Err(out_of_reach(
            "PasswordParameterName",
            format!(
                "{name} is not a parameter name under {own}: a stack reads passwords only under the provider's path (template parameter PasswordParameterPrefix) followed by its own name"
            ),
        ))
    }
}

/// A path prefix that ends with `/`, so that `/team` cannot admit `/team-b/…`.
fn directory(prefix: &str) -> String {
    if prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

/// Each secret (an ARN or a name), given with the property that names it, is one this stack's own
/// `Custom::RegistryCredentials` made, in the stack's account and region, or matches
/// `ALLOWED_SECRET_ARNS`.
pub(crate) async fn check_secrets(
    context: &ResourceContext,
    request: &Request,
    secrets: &[(String, String)],
) -> Result<(), Error> {
    for (property, secret) in secrets {
        check_secret(context, request, property, secret).await?;
    }
    Ok(())
}

async fn check_secret(
    context: &ResourceContext,
    request: &Request,
    property: &str,
    secret: &str,
) -> Result<(), Error> {
    let stack = stack_arn(request, property)?;
    if secret.starts_with("arn:") {
        let arn = Arn::parse(secret).map_err(|_| {
            out_of_reach(property, format!("{secret} is not a Secrets Manager ARN"))
        })?;
        same_account_and_region(property, &arn, &stack)?;
    }
    if matches_any(&context.settings.allowed_secret_arns, secret) {
        return Ok(());
    }
    let described = super::registry_credentials::find_secret(&context.clients.secrets, secret)
        .await?
        .ok_or_else(|| out_of_reach(property, format!("no secret {secret} exists")))?;
    let arn = described.arn().unwrap_or(secret);
    if matches_any(&context.settings.allowed_secret_arns, arn) {
        return Ok(());
    }
    let made_by_this_stack = described
        .tags()
        .iter()
        .any(|tag| tag.key() == Some(TAG_STACK_ID) && tag.value() == Some(&request.stack_id));
    if made_by_this_stack {
        Ok(())
    } else {
        Err(out_of_reach(
            property,
            format!(
                "{arn} was not made by this stack (its {TAG_STACK_ID} tag names another stack or none) and is not in ALLOWED_SECRET_ARNS (template parameter AllowedSecretArns)"
            ),
        ))
    }
}

/// KMS keys of the stack's own account only.
pub(crate) fn check_kms_keys(request: &Request, keys: &[String]) -> Result<(), Error> {
    for (index, key) in keys.iter().enumerate() {
        let property = format!("KmsKeyArns[{index}]");
        let stack = stack_arn(request, &property)?;
        let arn = Arn::parse(key)
            .map_err(|_| out_of_reach(&property, format!("{key} is not a KMS key ARN")))?;
        if arn.account != stack.account {
            return Err(out_of_reach(
                &property,
                format!(
                    "{key} is a key of account {}, not of this stack's account {}",
                    arn.account, stack.account
                ),
            ));
        }
    }
    Ok(())
}

/// The execution role is one this provider made for the same stack, or matches
/// `ALLOWED_PASS_ROLE_ARNS`.
pub(crate) async fn check_execution_role(
    context: &ResourceContext,
    request: &Request,
    role_arn: &str,
) -> Result<(), Error> {
    const PROPERTY: &str = "ExecutionRoleArn";
    let stack = stack_arn(request, PROPERTY)?;
    let arn = Arn::parse(role_arn)
        .map_err(|_| out_of_reach(PROPERTY, format!("{role_arn} is not an IAM role ARN")))?;
    if arn.account != stack.account {
        return Err(out_of_reach(
            PROPERTY,
            format!(
                "{role_arn} is a role of account {}, not of this stack's account {}",
                arn.account, stack.account
            ),
        ));
    }
    if matches_any(&context.settings.allowed_pass_role_arns, role_arn) {
        return Ok(());
    }
    let name = arn.resource_name();
    let role = super::task_execution_role::find_role(&context.clients.iam, name)
        .await?
        .ok_or_else(|| out_of_reach(PROPERTY, format!("no role {role_arn} exists")))?;
    let made_by_this_stack = role.arn() == role_arn
        && role
            .tags()
            .iter()
            .any(|tag| tag.key() == TAG_STACK_ID && tag.value() == request.stack_id);
    if made_by_this_stack {
        Ok(())
    } else {
        Err(out_of_reach(
            PROPERTY,
            format!(
                "{role_arn} was not made by this stack's Custom::TaskExecutionRole and is not in ALLOWED_PASS_ROLE_ARNS (template parameter AdditionalPassRoleArns)"
            ),
        ))
    }
}

/// A task role is never one of the product's roles (they read registry secrets, which a
/// container must not), and must be one the operator lets the provider pass. The role IAM holds
/// under that name is what counts, not the path the ARN spells.
pub(crate) async fn check_task_role(
    context: &ResourceContext,
    role_arn: &str,
) -> Result<(), Error> {
    const PROPERTY: &str = "TaskRoleArn";
    let arn = Arn::parse(role_arn)
        .map_err(|_| out_of_reach(PROPERTY, format!("{role_arn} is not an IAM role ARN")))?;
    refuse_product_role(PROPERTY, &arn.resource, role_arn)?;
    if !matches_any(&context.settings.allowed_pass_role_arns, role_arn) {
        return Err(out_of_reach(
            PROPERTY,
            format!(
                "{role_arn} is not in ALLOWED_PASS_ROLE_ARNS (template parameter AdditionalPassRoleArns), the task roles this provider may pass"
            ),
        ));
    }
    let role = super::task_execution_role::find_role(&context.clients.iam, arn.resource_name())
        .await?
        .ok_or_else(|| out_of_reach(PROPERTY, format!("no role {role_arn} exists")))?;
    let held = format!("role{}{}", role.path(), role.role_name());
    refuse_product_role(PROPERTY, &held, role_arn)?;
    if role.arn() != role_arn {
        return Err(out_of_reach(
            PROPERTY,
            format!(
                "{role_arn} is not the ARN of the role of that name ({})",
                role.arn()
            ),
        ));
    }
    Ok(())
}

fn refuse_product_role(property: &str, resource: &str, role_arn: &str) -> Result<(), Error> {
    let product_path = format!("role{DEFAULT_ROLE_PATH}");
    if resource.to_ascii_lowercase().starts_with(&product_path) {
        return Err(out_of_reach(
            property,
            format!(
                "{role_arn} is a role under {DEFAULT_ROLE_PATH}, where this provider keeps the roles that read registry secrets; a container must not get one. Give the task a role of its own"
            ),
        ));
    }
    Ok(())
}

fn stack_arn(request: &Request, property: &str) -> Result<Arn, Error> {
    Arn::parse(&request.stack_id).map_err(|_| {
        out_of_reach(
            property,
            "the request's StackId is not a stack ARN, so nothing can be owned",
        )
    })
}

fn same_account_and_region(property: &str, arn: &Arn, stack: &Arn) -> Result<(), Error> {
    if arn.account == stack.account && arn.region == stack.region {
        Ok(())
    } else {
        Err(out_of_reach(
            property,
            format!(
                "{} is in account {} and region {}, not in this stack's {} and {}",
                arn, arn.account, arn.region, stack.account, stack.region
            ),
        ))
    }
}

/// Whether `value` matches one of the operator's patterns (`*` any run of characters, `?` one
/// character, as in IAM policies).
pub(crate) fn matches_any(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|pattern| glob_match(pattern, value))
}

fn glob_match(pattern: &str, value: &str) -> bool {
    let (pattern, value): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), value.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, v));
            p += 1;
        } else if let Some((star_p, star_v)) = star {
            p = star_p + 1;
            v = star_v + 1;
            star = Some((star_p, star_v + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(prefix: &str) -> Settings {
        Settings {
            password_parameter_prefix: prefix.to_owned(),
            allowed_pass_role_arns: vec!["arn:aws:iam::123456789012:role/app/*".to_owned()],
            ..Settings::default()
        }
    }

    /// A request of the stack named `lab`.
    fn lab_request() -> Request {
        crate::protocol::request::tests::sample_request(crate::protocol::RequestType::Create)
    }

    #[test]
    fn password_parameters_must_lie_under_the_prefix_and_the_stacks_name() {
        let settings = settings("/ecs-private-auth/");
        for (name, ok) in [
            ("/ecs-private-auth/lab/registry-password", true),
            ("/ecs-private-auth/lab/team/token", true),
            ("/ecs-private-auth/lab/", false),
            ("/ecs-private-auth/payments/registry-password", false),
            ("/ecs-private-auth/lab-evil/x", false),
            ("/ecs-private-auth/x", false),
            ("/prod/db/master", false),
            ("/ecs-private-auth/lab/../payments/pw", false),
            ("ecs-private-auth/lab/x", false),
            (
                "arn:aws:ssm:us-east-1:123456789012:parameter/ecs-private-auth/lab/x",
                false,
            ),
        ] {
            assert_eq!(
                check_password_parameter(name, &lab_request(), &settings).is_ok(),
                ok,
                "{name}"
            );
        }
    }

    #[test]
    fn a_prefix_without_a_trailing_slash_is_a_directory_still() {
        let settings = settings("/team");
        assert!(check_password_parameter("/team/lab/pw", &lab_request(), &settings).is_ok());
        assert!(check_password_parameter("/team-b/lab/pw", &lab_request(), &settings).is_err());
    }

    #[test]
    fn refusals_name_the_property_and_the_setting() {
        let err = check_password_parameter(
            "/prod/db/master",
            &lab_request(),
            &settings("/ecs-private-auth/"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "PasswordParameterName is out of this stack's reach: /prod/db/master is not a parameter name under /ecs-private-auth/lab/: a stack reads passwords only under the provider's path (template parameter PasswordParameterPrefix) followed by its own name"
        );
    }

    #[test]
    fn roles_under_the_products_path_are_refused_whatever_their_case() {
        for refused in [
            "role/ecs-private-auth/lab-ExecutionRole-x",
            "role/ECS-Private-Auth/x",
        ] {
            let err = refuse_product_role("TaskRoleArn", refused, refused)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("TaskRoleArn is out of this stack's reach"),
                "{err}"
            );
        }
        assert!(refuse_product_role("TaskRoleArn", "role/app/web", "x").is_ok());
    }

    #[test]
    fn patterns_match_like_iam() {
        let patterns = vec!["arn:aws:secretsmanager:us-east-1:1:secret:shared/*".to_owned()];
        assert!(matches_any(
            &patterns,
            "arn:aws:secretsmanager:us-east-1:1:secret:shared/registry-AbCdEf"
        ));
        assert!(!matches_any(
            &patterns,
            "arn:aws:secretsmanager:us-east-1:1:secret:team-b/db-AbCdEf"
        ));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(!matches_any(&[], "anything"));
    }
}
