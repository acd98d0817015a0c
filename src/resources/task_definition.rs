//! `Custom::TaskDefinition`: a Fargate task definition revision whose containers may pull from a
//! private registry with `repositoryCredentials`.
//!
//! Revisions are immutable: any change but Tags registers a new revision (a new physical id), and
//! CloudFormation's Delete of the old id deregisters and deletes the old revision. Every revision
//! carries a fingerprint of its content as a tag, so that a redelivered request or a rollback
//! adopts the ACTIVE revision of ours with the same content instead of registering another.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    Compatibility, CpuArchitecture as EcsCpuArchitecture, NetworkMode, OsFamily, RuntimePlatform,
    SortOrder, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
};
use time::OffsetDateTime;

use super::common::named_exactly;
use super::reach;
use super::tag_sync::sync_ecs;
use super::{Deleted, ResourceContext};
use crate::Error;
use crate::arn::Arn;
use crate::aws::Clients;
use crate::properties::{CpuArchitecture, TaskDefinitionProperties};
use crate::protocol::{Outcome, Request};

mod content;

use crate::tags::{TAG_LOGICAL_ID, TAG_STACK_ID, Tag, ecs_tags, is_ours, managed_tags};
pub use content::content_fingerprint;
use content::ecs_container;

const WHAT: &str = "ECS task definition family";
/// The tag holding a revision's content fingerprint.
pub(crate) const TAG_CONTENT: &str = "ecs-private-auth:content";
/// How many of a family's newest ACTIVE revisions are searched for one to adopt.
const ADOPTION_SEARCH_DEPTH: usize = 25;

/// A task definition revision with the tags ECS returns beside it.
pub struct Revision {
    pub definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

pub async fn create(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = TaskDefinitionProperties::parse(request.properties())?;
    check_reach(request, context, &props).await?;
    let revision = adopt_or_register(request, context, &props, None).await?;
    Ok(done(&revision.definition))
}

/// A Tags-only change is made in place on the current revision; anything else is a new revision
/// (or an adopted one with the same content).
pub async fn update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = TaskDefinitionProperties::parse(request.properties())?;
    check_reach(request, context, &props).await?;
    let fingerprint = content_fingerprint(&props);
    let current = find_revision(&context.clients.ecs, request.physical_id()).await?;
    if let Some(current) = &current {
        let same_content = tag_value(&current.tags, TAG_CONTENT) == Some(fingerprint.as_str());
        if same_content && is_ours(pairs(&current.tags), request) && is_active(&current.definition)
        {
            retag(context, current, &props).await?;
            return Ok(done(&current.definition));
        }
    }
    // The current revision was just described: the search below need not ask for it again.
    let revision = adopt_or_register(request, context, &props, current).await?;
    Ok(done(&revision.definition))
}

pub async fn delete(request: &Request, context: &ResourceContext) -> Result<Deleted, Error> {
    match find_revision(&context.clients.ecs, request.physical_id()).await? {
        None => tracing::info!("task definition revision already gone"),
        Some(revision) if !named_exactly(revision.definition.task_definition_arn(), request) => {}
        Some(revision) if !is_ours(pairs(&revision.tags), request) => {
            tracing::warn!(
                "task definition revision is not ours (its tags name another stack resource): left untouched"
            );
        }
        Some(revision) => delete_revision(&context.clients.ecs, &revision.definition).await?,
    }
    Ok(Deleted::Done)
}

/// For the cleanup: whether a tagged revision still exists (not being deleted).
pub(crate) async fn leftover_exists(clients: &Clients, arn: &str) -> Result<bool, Error> {
    Ok(find_revision(&clients.ecs, arn).await?.is_some())
}

/// For the cleanup: deregisters and deletes a leftover revision.
pub(crate) async fn remove_leftover(clients: &Clients, arn: &str) -> Result<(), Error> {
    match find_revision(&clients.ecs, arn).await? {
        Some(revision) => delete_revision(&clients.ecs, &revision.definition).await,
        None => Ok(()),
    }
}

/// The roles and secrets a revision names are the stack's own, or allow-listed.
async fn check_reach(
    request: &Request,
    context: &ResourceContext,
    props: &TaskDefinitionProperties,
) -> Result<(), Error> {
    reach::check_execution_role(context, request, &props.execution_role_arn).await?;
    if let Some(task_role) = &props.task_role_arn {
        reach::check_task_role(context, task_role).await?;
    }
    let credentials: Vec<(String, String)> = props
        .container_definitions
        .iter()
        .enumerate()
        .filter_map(|(index, container)| {
            let secret = container.credentials_parameter.clone()?;
            Some((
                format!("ContainerDefinitions[{index}].RepositoryCredentials.CredentialsParameter"),
                secret,
            ))
        })
        .collect();
    reach::check_secrets(context, request, &credentials).await
}

async fn adopt_or_register(
    request: &Request,
    context: &ResourceContext,
    props: &TaskDefinitionProperties,
    described: Option<Revision>,
) -> Result<Revision, Error> {
    let fingerprint = content_fingerprint(props);
    let active = active_revisions(context, &props.family, described).await?;
    if let Some(newest) = active
        .first()
        .filter(|newest| !is_ours(pairs(&newest.tags), request))
    {
        tracing::warn!(
            arn = newest.definition.task_definition_arn().unwrap_or_default(),
            "the family's newest revision is not ours"
        );
        return Err(Error::NotOurs {
            what: WHAT,
            name: props.family.clone(),
            logical_id: request.logical_resource_id.clone(),
        });
    }
    if let Some(existing) = active.into_iter().find(|revision| {
        is_ours(pairs(&revision.tags), request)
            && tag_value(&revision.tags, TAG_CONTENT) == Some(fingerprint.as_str())
    }) {
        tracing::info!(
            arn = existing
                .definition
                .task_definition_arn()
                .unwrap_or_default(),
            "an ACTIVE revision of ours has this content: adopting it"
        );
        retag(context, &existing, props).await?;
        return Ok(existing);
    }
    register(request, context, props, &fingerprint).await
}

async fn register(
    request: &Request,
    context: &ResourceContext,
    props: &TaskDefinitionProperties,
    fingerprint: &str,
) -> Result<Revision, Error> {
    let mut tags = managed_tags(request, &props.tags, OffsetDateTime::now_utc());
    tags.push(Tag::new(TAG_CONTENT, fingerprint));
    let output = context
        .clients
        .ecs
        .register_task_definition()
        .family(&props.family)
        .cpu(props.cpu.to_string())
        .memory(props.memory.to_string())
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(match props.cpu_architecture {
                    CpuArchitecture::X86_64 => EcsCpuArchitecture::X8664,
                    CpuArchitecture::Arm64 => EcsCpuArchitecture::Arm64,
                })
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .execution_role_arn(&props.execution_role_arn)
        .set_task_role_arn(props.task_role_arn.clone())
        .set_container_definitions(Some(
            props
                .container_definitions
                .iter()
                .map(ecs_container)
                .collect::<Result<_, _>>()?,
        ))
        .set_tags(Some(ecs_tags(&tags)))
        .send()
        .await
        .map_err(|err| Error::aws("registering ECS task definition", &props.family, err))?;
    let definition = output
        .task_definition
        .ok_or_else(|| Error::IncompleteAnswer {
            action: "registering ECS task definition",
            name: props.family.clone(),
            missing: "the task definition",
        })?;
    context
        .progress
        .made(definition.task_definition_arn().unwrap_or_default());
    tracing::info!(
        arn = definition.task_definition_arn().unwrap_or_default(),
        "task definition revision registered"
    );
    Ok(Revision { definition, tags })
}

/// User tags of a revision brought in line (the only change made in place).
async fn retag(
    context: &ResourceContext,
    revision: &Revision,
    props: &TaskDefinitionProperties,
) -> Result<(), Error> {
    let arn = revision
        .definition
        .task_definition_arn()
        .unwrap_or_default();
    sync_ecs(
        &context.clients.ecs,
        arn,
        "ECS task definition",
        &revision.tags,
        &props.tags,
    )
    .await
}

/// The one place that decides whether a revision exists: ECS answers a ClientException for a
/// revision it does not know, and a revision being deleted is as good as gone.
pub(crate) async fn find_revision(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
) -> Result<Option<Revision>, Error> {
    let output = match ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
    {
        Ok(output) => output,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_client_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(Error::aws("describing ECS task definition", arn, err)),
    };
    let tags = output
        .tags()
        .iter()
        .filter_map(|tag| Some(Tag::new(tag.key()?, tag.value().unwrap_or_default())))
        .collect();
    Ok(output
        .task_definition
        .filter(|definition| definition.status() != Some(&TaskDefinitionStatus::DeleteInProgress))
        .map(|definition| Revision { definition, tags }))
}

/// The family's newest ACTIVE revisions, newest first, with their tags.
/// The family's newest ACTIVE revisions, newest first; `described` is used as it is when it is
/// one of them.
async fn active_revisions(
    context: &ResourceContext,
    family: &str,
    mut described: Option<Revision>,
) -> Result<Vec<Revision>, Error> {
    let mut pages = context
        .clients
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .items()
        .send();
    let mut arns = Vec::new();
    while arns.len() < ADOPTION_SEARCH_DEPTH {
        match pages.next().await {
            Some(Ok(arn)) => arns.push(arn),
            Some(Err(err)) => return Err(Error::aws("listing ECS task definitions", family, err)),
            None => break,
        }
    }
    let mut revisions = Vec::new();
    // family_prefix matches "web" and "web-api" alike: keep exactly this family.
    for arn in arns
        .iter()
        .filter(|arn| family_of(arn).as_deref() == Some(family))
    {
        let known = described
            .take_if(|revision| revision.definition.task_definition_arn() == Some(arn.as_str()));
        let revision = match known {
            Some(revision) => Some(revision),
            None => find_revision(&context.clients.ecs, arn).await?,
        };
        revisions.extend(revision);
    }
    Ok(revisions)
}

/// Deregisters the revision (if still ACTIVE), then deletes it.
pub(crate) async fn delete_revision(
    ecs: &aws_sdk_ecs::Client,
    definition: &TaskDefinition,
) -> Result<(), Error> {
    let arn = definition.task_definition_arn().unwrap_or_default();
    if is_active(definition) {
        ecs.deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|err| Error::aws("deregistering ECS task definition", arn, err))?;
    }
    let output = ecs
        .delete_task_definitions()
        .task_definitions(arn)
        .send()
        .await
        .map_err(|err| Error::aws("deleting ECS task definition", arn, err))?;
    if let Some(failure) = output.failures().first() {
        return Err(Error::StillInUse {
            what: "ECS task definition",
            name: arn.to_owned(),
            reason: format!(
                "{} {}",
                failure.reason().unwrap_or("failed"),
                failure.detail().unwrap_or_default()
            ),
        });
    }
    tracing::info!(arn, "task definition revision deregistered and deleted");
    Ok(())
}

fn done(definition: &TaskDefinition) -> Outcome {
    let arn = definition
        .task_definition_arn()
        .unwrap_or_default()
        .to_owned();
    Outcome::Done {
        physical_resource_id: arn.clone(),
        data: BTreeMap::from([
            ("Arn".to_owned(), arn),
            (
                "Family".to_owned(),
                definition.family().unwrap_or_default().to_owned(),
            ),
            ("Revision".to_owned(), definition.revision().to_string()),
        ]),
    }
}

fn is_active(definition: &TaskDefinition) -> bool {
    definition.status() == Some(&TaskDefinitionStatus::Active)
}

/// `arn:aws:ecs:…:task-definition/web:3` → `web`.
fn family_of(arn: &str) -> Option<String> {
    let arn = Arn::parse(arn).ok()?;
    let revision = arn.resource.strip_prefix("task-definition/")?;
    Some(
        revision
            .rsplit_once(':')
            .map_or(revision, |(family, _)| family)
            .to_owned(),
    )
}

fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|tag| tag.key == key)
        .map(|tag| tag.value.as_str())
}

fn pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter(|tag| tag.key == TAG_STACK_ID || tag.key == TAG_LOGICAL_ID)
        .map(|tag| (tag.key.as_str(), tag.value.as_str()))
}

#[cfg(test)]
mod tests;
