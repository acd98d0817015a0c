//! `Custom::TaskExecutionRole`: the role ECS uses to start the task, allowed to read exactly the
//! registry credentials secret (and decrypt with exactly its keys), nothing more.
//!
//! One inline policy holds the secret and key grants; managed policies come only from the
//! allow-list the environment gives, so a role this product makes can never be an admin.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Role;
use serde_json::Value;
use time::OffsetDateTime;

use super::common::{name_of, named_exactly};
use super::reach;
use super::tag_sync::{iam_tags, sync_iam_role};
use super::{Deleted, ResourceContext};
use crate::Error;
use crate::aws::Clients;
use crate::naming::{generated_name, limits, stack_name};
use crate::properties::TaskExecutionRoleProperties;
use crate::protocol::{Outcome, Request};

mod policies;

use crate::tags::{Tag, is_ours, managed_tags};
pub use policies::inline_policy;
use policies::{managed_policy_arns, permissions_boundary, trust_policy};

const WHAT: &str = "IAM role";
/// The inline policy this product writes and owns.
pub(crate) const INLINE_POLICY_NAME: &str = "ecs-private-auth-registry-credentials";

pub async fn create(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

pub async fn update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

async fn create_or_update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = TaskExecutionRoleProperties::parse(request.properties())?;
    let boundary = permissions_boundary(context, &props)?;
    let secrets: Vec<(String, String)> = props
        .secret_arns
        .iter()
        .enumerate()
        .map(|(index, arn)| (format!("SecretArns[{index}]"), arn.clone()))
        .collect();
    reach::check_secrets(context, request, &secrets).await?;
    reach::check_kms_keys(request, &props.kms_key_arns)?;
    let managed_policies = managed_policy_arns(request, context, &props)?;
    reject_path_change_of_fixed_name(request, &props)?;
    let name = role_name(request, &props);
    let role = match find_role(&context.clients.iam, &name).await? {
        None => create_role(request, context, &name, &props, &managed_policies, boundary).await?,
        Some(existing) if !is_ours(tag_pairs(&existing), request) => {
            return Err(Error::NotOurs {
                what: WHAT,
                name,
                logical_id: request.logical_resource_id.clone(),
            });
        }
        Some(existing) if existing.path() != props.path => {
            return Err(fixed_name_path_error(&name));
        }
        Some(existing) => {
            tracing::info!(role = %name, "role exists and is ours: adopting it");
            reconcile(context, &existing, &props, &managed_policies, boundary).await?;
            existing
        }
    };
    Ok(done(&role))
}

pub async fn delete(request: &Request, context: &ResourceContext) -> Result<Deleted, Error> {
    let name = name_of(request.physical_id());
    match find_role(&context.clients.iam, name).await? {
        None => tracing::info!(role = name, "role already gone"),
        Some(role) if !named_exactly(Some(role.arn()), request) => {}
        Some(role) if !is_ours(tag_pairs(&role), request) => {
            tracing::warn!(
                role = name,
                "role is not ours (its tags name another stack resource): left untouched"
            );
        }
        Some(_) => delete_role(&context.clients.iam, name).await?,
    }
    Ok(Deleted::Done)
}

/// For the cleanup: deletes a leftover role, its policies first. IAM holds no deleted roles, so
/// a role the Tagging API lists still exists.
pub(crate) async fn remove_leftover(clients: &Clients, arn: &str) -> Result<(), Error> {
    delete_role(&clients.iam, name_of(arn)).await
}

fn role_name(request: &Request, props: &TaskExecutionRoleProperties) -> String {
    props.role_name.clone().unwrap_or_else(|| {
        generated_name(
            request,
            &[("RoleName", None), ("Path", Some(&props.path))],
            limits::IAM_ROLE,
        )
    })
}

/// IAM role names are unique across paths: a fixed name cannot be replaced by a role at
/// another path while the old one exists.
fn reject_path_change_of_fixed_name(
    request: &Request,
    props: &TaskExecutionRoleProperties,
) -> Result<(), Error> {
    let (Some(name), Some(old)) = (&props.role_name, &request.old_resource_properties) else {
        return Ok(());
    };
    let Ok(old) = TaskExecutionRoleProperties::parse(old) else {
        return Ok(());
    };
    if old.role_name.as_ref() == Some(name) && old.path != props.path {
        return Err(fixed_name_path_error(name));
    }
    Ok(())
}

fn fixed_name_path_error(name: &str) -> Error {
    Error::Rejected(format!(
        "Path cannot change while RoleName is fixed: IAM role names are unique across paths, so role {name} cannot be replaced by one at the new path. Omit RoleName (a name is generated) or change it together with Path"
    ))
}

/// Whether the role exists (see [`is_no_such_entity`]).
pub(crate) async fn find_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<Role>, Error> {
    match iam.get_role().role_name(name).send().await {
        Ok(output) => Ok(output.role),
        Err(err) if is_no_such_entity(&err) => Ok(None),
        Err(err) => Err(Error::aws("reading IAM role", name, err)),
    }
}

/// Creates the role with its policies; if a policy cannot be put, the role is removed again so
/// that nothing is left half-made.
async fn create_role(
    request: &Request,
    context: &ResourceContext,
    name: &str,
    props: &TaskExecutionRoleProperties,
    managed_policies: &[String],
    boundary: &str,
) -> Result<Role, Error> {
    let tags = managed_tags(request, &props.tags, OffsetDateTime::now_utc());
    let role = context
        .clients
        .iam
        .create_role()
        .role_name(name)
        .path(&props.path)
        .assume_role_policy_document(trust_policy())
        .description(format!(
            "ECS task execution role for {}/{} (ecs-private-auth)",
            stack_name(&request.stack_id),
            request.logical_resource_id
        ))
        .permissions_boundary(boundary)
        .set_tags(Some(iam_tags(&tags)?))
        .send()
        .await
        .map_err(|err| Error::aws("creating IAM role", name, err))?
        .role
        .ok_or_else(|| Error::IncompleteAnswer {
            action: "creating IAM role",
            name: name.to_owned(),
            missing: "the role",
        })?;
    context.progress.made(role.arn());
    tracing::info!(role = name, "role created");
    if let Err(err) = attach_policies(context, name, props, managed_policies).await {
        match delete_role(&context.clients.iam, name).await {
            Ok(()) => {
                context.progress.undone();
                tracing::warn!(role = name, "role removed again after its policies failed");
            }
            Err(undo) => {
                tracing::error!(
                    role = name,
                    error = %undo,
                    "could not remove the half-made role; the Delete that follows will",
                )
            }
        }
        return Err(err);
    }
    Ok(role)
}

async fn attach_policies(
    context: &ResourceContext,
    name: &str,
    props: &TaskExecutionRoleProperties,
    managed_policies: &[String],
) -> Result<(), Error> {
    put_inline_policy(context, name, props).await?;
    for arn in managed_policies {
        attach_managed_policy(&context.clients.iam, name, arn).await?;
    }
    Ok(())
}

async fn attach_managed_policy(
    iam: &aws_sdk_iam::Client,
    name: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    iam.attach_role_policy()
        .role_name(name)
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|err| Error::aws("attaching a managed policy to IAM role", name, err))?;
    Ok(())
}

async fn put_inline_policy(
    context: &ResourceContext,
    name: &str,
    props: &TaskExecutionRoleProperties,
) -> Result<(), Error> {
    context
        .clients
        .iam
        .put_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY_NAME)
        .policy_document(inline_policy(props).to_string())
        .send()
        .await
        .map_err(|err| Error::aws("putting the inline policy of IAM role", name, err))?;
    Ok(())
}

/// Inline policy, managed policies, permissions boundary and user tags, changed where they
/// differ.
async fn reconcile(
    context: &ResourceContext,
    role: &Role,
    props: &TaskExecutionRoleProperties,
    managed_policies: &[String],
    boundary: &str,
) -> Result<(), Error> {
    let iam = &context.clients.iam;
    let name = role.role_name();
    // The boundary first: IAM lets the provider change a role's policies only while the role
    // carries it.
    let current_boundary = role
        .permissions_boundary()
        .and_then(|current| current.permissions_boundary_arn());
    if current_boundary != Some(boundary) {
        iam.put_role_permissions_boundary()
            .role_name(name)
            .permissions_boundary(boundary)
            .send()
            .await
            .map_err(|err| Error::aws("setting the permissions boundary of IAM role", name, err))?;
    }
    if current_inline_policy(context, name).await?.as_ref() != Some(&inline_policy(props)) {
        put_inline_policy(context, name, props).await?;
    }
    let attached = attached_policy_arns(&context.clients.iam, name).await?;
    for arn in managed_policies
        .iter()
        .filter(|arn| !attached.contains(arn))
    {
        attach_managed_policy(iam, name, arn).await?;
    }
    for arn in attached
        .iter()
        .filter(|arn| !managed_policies.contains(arn))
    {
        iam.detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|err| Error::aws("detaching a managed policy from IAM role", name, err))?;
    }
    let current_tags: Vec<Tag> = tag_pairs(role)
        .map(|(key, value)| Tag::new(key, value))
        .collect();
    sync_iam_role(iam, name, &current_tags, &props.tags).await?;
    Ok(())
}

/// The inline policy as IAM holds it (GetRolePolicy returns it URL-encoded), or None.
async fn current_inline_policy(
    context: &ResourceContext,
    name: &str,
) -> Result<Option<Value>, Error> {
    match context
        .clients
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY_NAME)
        .send()
        .await
    {
        Ok(output) => {
            let document = output.policy_document();
            let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
            Ok(serde_json::from_str(document)
                .or_else(|_| serde_json::from_str(&decoded))
                .ok())
        }
        Err(err) if is_no_such_entity(&err) => Ok(None),
        Err(err) => Err(Error::aws(
            "reading the inline policy of IAM role",
            name,
            err,
        )),
    }
}

async fn attached_policy_arns(iam: &aws_sdk_iam::Client, name: &str) -> Result<Vec<String>, Error> {
    let policies = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| Error::aws("listing the managed policies of IAM role", name, err))?;
    Ok(policies
        .into_iter()
        .filter_map(|policy| policy.policy_arn)
        .collect())
}

async fn inline_policy_names(iam: &aws_sdk_iam::Client, name: &str) -> Result<Vec<String>, Error> {
    iam.list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| Error::aws("listing the inline policies of IAM role", name, err))
}

/// Detaches and deletes every policy, then deletes the role. "Not found" at any step means that
/// step is done.
pub async fn delete_role(iam: &aws_sdk_iam::Client, name: &str) -> Result<(), Error> {
    for arn in attached_policy_arns(iam, name).await? {
        let detached = iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(&arn)
            .send()
            .await;
        unless_missing(detached, "detaching a managed policy from IAM role", name)?;
    }
    for policy in inline_policy_names(iam, name).await? {
        let deleted = iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await;
        unless_missing(deleted, "deleting the inline policy of IAM role", name)?;
    }
    let deleted = iam.delete_role().role_name(name).send().await;
    if deleted.is_ok() {
        tracing::info!(role = name, "role deleted");
    }
    unless_missing(deleted, "deleting IAM role", name)
}

/// A removal step's result: done, or already done (not found), or the error.
fn unless_missing<T, E, R>(
    result: Result<T, aws_sdk_iam::error::SdkError<E, R>>,
    action: &'static str,
    name: &str,
) -> Result<(), Error>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Err(err) if !is_no_such_entity(&err) => Err(Error::aws(action, name, err)),
        _ => Ok(()),
    }
}

/// The one place that decides "not found" for IAM: the NoSuchEntity error code.
fn is_no_such_entity<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_iam::error::SdkError<E, R>,
) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "NoSuchEntity")
}

fn done(role: &Role) -> Outcome {
    Outcome::Done {
        physical_resource_id: role.arn().to_owned(),
        data: BTreeMap::from([
            ("Arn".to_owned(), role.arn().to_owned()),
            ("Name".to_owned(), role.role_name().to_owned()),
        ]),
    }
}

fn tag_pairs(role: &Role) -> impl Iterator<Item = (&str, &str)> {
    role.tags().iter().map(|tag| (tag.key(), tag.value()))
}

#[cfg(test)]
mod tests;
