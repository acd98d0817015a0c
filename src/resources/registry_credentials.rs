//! `Custom::RegistryCredentials`: a Secrets Manager secret holding the private registry's
//! `{"username","password"}` exactly as ECS reads it.
//!
//! The password comes inline or from an SSM SecureString parameter. Create and Update first check
//! the credentials against the registry when RegistryUrl is set. A changed value is a new version
//! of the same secret; a changed SecretName is a new secret.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_ssm::types::ParameterType;
use serde_json::json;
use time::OffsetDateTime;

use super::common::named_exactly;
use super::reach;
use super::tag_sync::sync_secret;
use super::{Deleted, ResourceContext};
use crate::Error;
use crate::aws::Clients;
use crate::naming::{generated_name, idempotency_token, limits};
use crate::properties::{PasswordSource, RegistryCredentialsProperties, SecretString};
use crate::protocol::{Outcome, Request};
use crate::registry::RegistryCheck;
use crate::tags::{Tag, is_ours, managed_tags, secret_tags};

const WHAT: &str = "Secrets Manager secret";
/// Secrets Manager's default recovery window, used by a Delete whose properties cannot be read.
const DEFAULT_RECOVERY_DAYS: i64 = 7;

/// Create, and Update both in place and by replacement: the secret this request names is
/// adopted when it exists and is ours, made when it does not, and brought in line.
pub async fn create(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

pub async fn update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

async fn create_or_update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = RegistryCredentialsProperties::parse(request.properties())?;
    if let PasswordSource::Parameter(name) = &props.password {
        reach::check_password_parameter(name, request, &context.settings)?;
    }
    let password = resolve_password(context, &props.password).await?;
    context.register_secret(props.username.expose());
    verify_with_registry(request, context, &props, &password).await?;
    let name = secret_name(request, &props);
    let value = secret_value(&props.username, &password);
    let (arn, name) = match find_secret(&context.clients.secrets, &name).await? {
        None => create_secret(request, context, &name, &props, &value).await?,
        Some(existing) if !is_ours(tag_pairs(&existing), request) => {
            return Err(Error::NotOurs {
                what: WHAT,
                name,
                logical_id: request.logical_resource_id.clone(),
            });
        }
        Some(existing) => {
            reconcile(request, context, &existing, &props, &value).await?;
            let arn = existing.arn().unwrap_or_default().to_owned();
            (arn, existing.name().unwrap_or(&name).to_owned())
        }
    };
    Ok(Outcome::Done {
        physical_resource_id: arn.clone(),
        data: BTreeMap::from([("Arn".to_owned(), arn), ("Name".to_owned(), name)]),
    })
}

pub async fn delete(request: &Request, context: &ResourceContext) -> Result<Deleted, Error> {
    let id = request.physical_id();
    match find_secret(&context.clients.secrets, id).await? {
        None => tracing::info!("secret already gone"),
        Some(secret) if !named_exactly(secret.arn(), request) => {}
        Some(secret) if secret.deleted_date().is_some() => {
            tracing::info!("secret already scheduled for deletion")
        }
        Some(secret) if !is_ours(tag_pairs(&secret), request) => {
            tracing::warn!(
                secret = secret.name().unwrap_or_default(),
                "secret is not ours (its tags name another stack resource): left untouched"
            );
        }
        Some(_) => {
            delete_secret(&context.clients.secrets, id, recovery_window_days(request)).await?
        }
    }
    Ok(Deleted::Done)
}

/// For the cleanup: whether a tagged secret still exists and is not yet scheduled for deletion
/// (whose recovery window a second delete must not cut short).
pub(crate) async fn leftover_exists(clients: &Clients, arn: &str) -> Result<bool, Error> {
    Ok(find_secret(&clients.secrets, arn)
        .await?
        .is_some_and(|secret| secret.deleted_date().is_none()))
}

/// For the cleanup: deletes a leftover secret with a recovery window, never at once.
pub(crate) async fn remove_leftover(
    clients: &Clients,
    arn: &str,
    recovery_days: i64,
) -> Result<(), Error> {
    delete_secret(&clients.secrets, arn, recovery_days.max(7)).await
}

fn secret_name(request: &Request, props: &RegistryCredentialsProperties) -> String {
    props
        .secret_name
        .clone()
        .unwrap_or_else(|| generated_name(request, &[("SecretName", None)], limits::SECRET))
}

/// The value ECS reads: exactly `{"username","password"}`.
fn secret_value(username: &SecretString, password: &SecretString) -> SecretString {
    SecretString::new(
        json!({"username": username.expose(), "password": password.expose()}).to_string(),
    )
}

/// The password, inline or read (decrypted) from the SSM SecureString parameter. A password read
/// here is registered as a secret before anything else happens.
async fn resolve_password(
    context: &ResourceContext,
    source: &PasswordSource,
) -> Result<SecretString, Error> {
    let parameter_name = match source {
        PasswordSource::Inline(password) => return Ok(password.clone()),
        PasswordSource::Parameter(name) => name,
    };
    let output = context
        .clients
        .ssm
        .get_parameter()
        .name(parameter_name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|err| {
            Error::aws(
                "reading SSM parameter named by PasswordParameterName",
                parameter_name,
                err,
            )
        })?;
    let parameter = output.parameter.ok_or_else(|| Error::IncompleteAnswer {
        action: "reading SSM parameter",
        name: parameter_name.clone(),
        missing: "the parameter",
    })?;
    let value = parameter.value.unwrap_or_default();
    context.register_secret(&value);
    if parameter.r#type != Some(ParameterType::SecureString) {
        return Err(Error::Rejected(format!(
            "PasswordParameterName must name a SecureString parameter; {parameter_name} is not one"
        )));
    }
    if value.is_empty() {
        return Err(Error::Rejected(format!(
            "SSM parameter {parameter_name} is empty"
        )));
    }
    Ok(SecretString::new(value))
}

async fn verify_with_registry(
    request: &Request,
    context: &ResourceContext,
    props: &RegistryCredentialsProperties,
    password: &SecretString,
) -> Result<(), Error> {
    let Some(registry_url) = props.registry_url.as_deref() else {
        return Ok(());
    };
    if !props.verify_credentials {
        tracing::info!(
            "VerifyCredentials is false: the credentials are not checked against the registry"
        );
        return Ok(());
    }
    // A rollback restores the credentials that were; judging them anew (a token since revoked,
    // a registry down) would leave the stack in UPDATE_ROLLBACK_FAILED.
    if crate::protocol::genuine::is_update_rollback(&context.clients.cloudformation, request).await
    {
        tracing::info!("an update rollback: the earlier credentials are restored unchecked");
        return Ok(());
    }
    RegistryCheck {
        client: &context.clients.registry,
        registry_url,
        username: &props.username,
        password,
        learned_secret: &|token| context.register_secret(token),
    }
    .verify(props.verify_image.as_deref())
    .await?;
    tracing::info!(
        registry = registry_url,
        "the registry accepted the credentials"
    );
    Ok(())
}

/// The one place that decides whether a secret exists: Secrets Manager's
/// ResourceNotFoundException means it does not. A secret scheduled for deletion still exists.
pub(crate) async fn find_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<Option<DescribeSecretOutput>, Error> {
    match secrets.describe_secret().secret_id(id).send().await {
        Ok(secret) => Ok(Some(secret)),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(Error::aws("describing Secrets Manager secret", id, err)),
    }
}

async fn create_secret(
    request: &Request,
    context: &ResourceContext,
    name: &str,
    props: &RegistryCredentialsProperties,
    value: &SecretString,
) -> Result<(String, String), Error> {
    let tags = managed_tags(request, &props.tags, OffsetDateTime::now_utc());
    let created = context
        .clients
        .secrets
        .create_secret()
        .name(name)
        .secret_string(value.expose())
        .set_kms_key_id(props.kms_key_id.clone())
        .set_description(props.description.clone())
        .set_tags(Some(secret_tags(&tags)))
        .client_request_token(version_token(request, value))
        .send()
        .await
        .map_err(|err| Error::aws("creating Secrets Manager secret", name, err))?;
    // CreateSecret answers with the ARN and name: no need to describe what was just made.
    let arn = created.arn().ok_or_else(|| Error::IncompleteAnswer {
        action: "creating Secrets Manager secret",
        name: name.to_owned(),
        missing: "the secret's ARN",
    })?;
    context.progress.made(arn);
    tracing::info!(secret = name, "secret created");
    Ok((arn.to_owned(), created.name().unwrap_or(name).to_owned()))
}

/// Restores a secret scheduled for deletion, and brings description, key, value and tags in line.
async fn reconcile(
    request: &Request,
    context: &ResourceContext,
    secret: &DescribeSecretOutput,
    props: &RegistryCredentialsProperties,
    value: &SecretString,
) -> Result<(), Error> {
    let secrets = &context.clients.secrets;
    let arn = secret.arn().unwrap_or_default();
    let name = secret.name().unwrap_or(arn);
    if secret.deleted_date().is_some() {
        secrets
            .restore_secret()
            .secret_id(arn)
            .send()
            .await
            .map_err(|err| Error::aws("restoring Secrets Manager secret", name, err))?;
        tracing::info!(
            secret = name,
            "secret was scheduled for deletion and is ours: restored"
        );
    } else {
        tracing::info!(secret = name, "secret exists and is ours: adopting it");
    }
    let description_changed =
        props.description.is_some() && props.description.as_deref() != secret.description();
    let key_changed =
        props.kms_key_id.is_some() && props.kms_key_id.as_deref() != secret.kms_key_id();
    if description_changed || key_changed {
        secrets
            .update_secret()
            .secret_id(arn)
            .set_description(props.description.clone().filter(|_| description_changed))
            .set_kms_key_id(props.kms_key_id.clone().filter(|_| key_changed))
            .send()
            .await
            .map_err(|err| Error::aws("updating Secrets Manager secret", name, err))?;
    }
    let current = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|err| Error::aws("reading Secrets Manager secret", name, err))?;
    if current.secret_string() != Some(value.expose()) {
        secrets
            .put_secret_value()
            .secret_id(arn)
            .secret_string(value.expose())
            .client_request_token(version_token(request, value))
            .send()
            .await
            .map_err(|err| {
                Error::aws("writing a new version of Secrets Manager secret", name, err)
            })?;
        tracing::info!(
            secret = name,
            "credentials changed: new secret version written"
        );
    }
    let current_tags: Vec<Tag> = tag_pairs(secret)
        .map(|(key, value)| Tag::new(key, value))
        .collect();
    sync_secret(secrets, arn, &current_tags, &props.tags).await
}

/// Deletes with the recovery window the properties give (0: at once, without recovery).
pub async fn delete_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    id: &str,
    recovery_days: i64,
) -> Result<(), Error> {
    let call = secrets.delete_secret().secret_id(id);
    let call = if recovery_days == 0 {
        call.force_delete_without_recovery(true)
    } else {
        call.recovery_window_in_days(recovery_days)
    };
    match call.send().await {
        Ok(_) => {
            tracing::info!(recovery_days, "secret deleted");
            Ok(())
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(Error::aws("deleting Secrets Manager secret", id, err)),
    }
}

/// RecoveryWindowInDays read leniently: a Delete never fails on properties.
fn recovery_window_days(request: &Request) -> i64 {
    RegistryCredentialsProperties::parse(request.properties())
        .map(|props| i64::from(props.recovery_window_in_days))
        .unwrap_or(DEFAULT_RECOVERY_DAYS)
}

/// The version id of a value written for a request: a redelivery of the same request writes no
/// second version.
fn version_token(request: &Request, value: &SecretString) -> String {
    use sha2::{Digest, Sha256};
    let value_hash: String = Sha256::digest(value.expose().as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    idempotency_token(&[
        &request.stack_id,
        &request.logical_resource_id,
        &request.request_id,
        &value_hash,
    ])
}

fn tag_pairs(secret: &DescribeSecretOutput) -> impl Iterator<Item = (&str, &str)> {
    secret
        .tags()
        .iter()
        .filter_map(|tag| Some((tag.key()?, tag.value().unwrap_or_default())))
}
