//! Finding only what is ours, and what its stacks say. Every list call is paginated; a call that
//! fails costs only what it would have listed, which the report names as not reached.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudformation::types::{Stack, StackStatus, TemplateStage};
use futures::StreamExt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::plan::{Found, LiveStack, StackState};
use super::retention::{Retention, retention};
use super::{CONCURRENCY, NotReached};
use crate::arn::Arn;
use crate::aws::Clients;
use crate::properties::DEFAULT_ROLE_PATH;
use crate::resource_type::ResourceType;
use crate::tags::{
    TAG_CREATED_AT, TAG_EXPIRES_AT, TAG_KEEP, TAG_LOGICAL_ID, TAG_STACK_ID, TAG_TTL_HOURS,
};

/// The resource types the Tagging API is asked about (it does not cover IAM).
const TAGGED_TYPES: &[&str] = &[
    "ecs:cluster",
    "ecs:service",
    "ecs:task-definition",
    "secretsmanager:secret",
];

/// What discovery found, and what it could not reach.
#[derive(Debug, Default)]
pub struct Discovered<T> {
    pub items: T,
    pub not_reached: Vec<NotReached>,
}

/// Every ECS resource, secret and role (under the product's path) that carries the stack-id tag.
pub async fn tagged_resources(clients: &Clients) -> Discovered<Vec<Found>> {
    let mut not_reached = Vec::new();
    let mut found = Vec::new();
    let mut pages = clients
        .tagging
        .get_resources()
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key(TAG_STACK_ID)
                .build(),
        )
        .set_resource_type_filters(Some(TAGGED_TYPES.iter().map(|t| t.to_string()).collect()))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err) => {
                not_reached.push(NotReached::new(
                    "ECS resources and secrets not yet listed by the Resource Groups Tagging API",
                    crate::aws::describe_sdk_error(&err),
                ));
                break;
            }
        };
        for mapping in page.resource_tag_mapping_list() {
            let arn = mapping.resource_arn().unwrap_or_default();
            let tags: BTreeMap<&str, &str> = mapping
                .tags()
                .iter()
                .map(|tag| (tag.key(), tag.value()))
                .collect();
            if let Some(resource) = found_from(arn, kind_of(arn), &tags, None) {
                found.push(resource);
            }
        }
    }
    let still_there: Vec<Option<Found>> = futures::stream::iter(found)
        .map(|resource| async move { still_there(clients, &resource).await.then_some(resource) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut found: Vec<Found> = still_there.into_iter().flatten().collect();
    let roles = tagged_roles(clients).await;
    found.extend(roles.items);
    not_reached.extend(roles.not_reached);
    found.sort_by(|a, b| a.arn.cmp(&b.arn));
    Discovered {
        items: found,
        not_reached,
    }
}

/// Whether a tagged resource still exists in a state worth deleting: the Tagging API also lists
/// INACTIVE clusters and services for a while, and secrets already scheduled for deletion — which
/// are left as they are. The resource types' own lookups decide. A lookup that fails keeps the
/// resource, for the plan and the delete to judge.
async fn still_there(clients: &Clients, resource: &Found) -> bool {
    resource
        .kind
        .leftover_exists(clients, &resource.arn)
        .await
        .unwrap_or(true)
}

/// Roles under the product's path (and any path beneath it) with their tags (ListRoles does not
/// return tags). A role whose tags cannot be read is not reached; the others go on.
async fn tagged_roles(clients: &Clients) -> Discovered<Vec<Found>> {
    let mut not_reached = Vec::new();
    let mut roles = Vec::new();
    let mut pages = clients
        .iam
        .list_roles()
        .path_prefix(DEFAULT_ROLE_PATH)
        .into_paginator()
        .items()
        .send();
    while let Some(role) = pages.next().await {
        match role {
            Ok(role) => roles.push(role),
            Err(err) => {
                not_reached.push(NotReached::new(
                    format!("IAM roles under {DEFAULT_ROLE_PATH} not yet listed"),
                    crate::aws::describe_sdk_error(&err),
                ));
                break;
            }
        }
    }
    let tagged: Vec<Result<Option<Found>, NotReached>> = futures::stream::iter(roles)
        .map(|role| async move {
            let tags: Vec<aws_sdk_iam::types::Tag> = clients
                .iam
                .list_role_tags()
                .role_name(role.role_name())
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|err| {
                    NotReached::new(
                        format!("{} (its tags)", role.arn()),
                        crate::aws::describe_sdk_error(&err),
                    )
                })?;
            let tags: BTreeMap<&str, &str> =
                tags.iter().map(|tag| (tag.key(), tag.value())).collect();
            let created = OffsetDateTime::from_unix_timestamp(role.create_date().secs()).ok();
            Ok(found_from(
                role.arn(),
                Some(ResourceType::TaskExecutionRole),
                &tags,
                created,
            ))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut found = Vec::new();
    for result in tagged {
        match result {
            Ok(role) => found.extend(role),
            Err(missed) => not_reached.push(missed),
        }
    }
    Discovered {
        items: found,
        not_reached,
    }
}

fn found_from(
    arn: &str,
    kind: Option<ResourceType>,
    tags: &BTreeMap<&str, &str>,
    created: Option<OffsetDateTime>,
) -> Option<Found> {
    let stack_id = tags.get(TAG_STACK_ID)?;
    Some(Found {
        arn: arn.to_owned(),
        kind: kind?,
        stack_id: (*stack_id).to_owned(),
        logical_id: tags
            .get(TAG_LOGICAL_ID)
            .copied()
            .unwrap_or_default()
            .to_owned(),
        created_at: tags
            .get(TAG_CREATED_AT)
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
            .or(created),
        keep: tags.keys().any(|key| key.eq_ignore_ascii_case(TAG_KEEP)),
    })
}

fn kind_of(arn: &str) -> Option<ResourceType> {
    let arn = Arn::parse(arn).ok()?;
    match (arn.service.as_str(), arn.resource.split('/').next()?) {
        ("secretsmanager", _) => Some(ResourceType::RegistryCredentials),
        ("ecs", "cluster") => Some(ResourceType::FargateCluster),
        ("ecs", "service") => Some(ResourceType::FargateService),
        ("ecs", "task-definition") => Some(ResourceType::TaskDefinition),
        _ => None,
    }
}

/// What every stack of interest says: the stacks our resources name (in this account, each in
/// its own region), and the stacks in this region that opted into a time to live.
pub(crate) async fn stack_states(
    clients: &Clients,
    found: &[Found],
    own_account: &str,
) -> Discovered<BTreeMap<String, StackState>> {
    let referenced: BTreeSet<String> = found
        .iter()
        .filter(|resource| {
            Arn::parse(&resource.stack_id).is_ok_and(|stack| stack.account == own_account)
        })
        .map(|resource| resource.stack_id.clone())
        .collect();
    let mut states: BTreeMap<String, StackState> = futures::stream::iter(referenced)
        .map(|stack_id| async move {
            let state = look_up(clients, &stack_id).await;
            (stack_id, state)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut not_reached = Vec::new();
    let stacks = stacks_with_time_to_live(clients).await;
    not_reached.extend(stacks.not_reached);
    for stack in stacks.items {
        let Some(id) = stack.stack_id() else { continue };
        if !states.contains_key(id) {
            // Only its tags and guards matter: no resource of ours names it.
            let state = state_of(&stack, BTreeMap::new(), Err("not read".into()));
            states.insert(id.to_owned(), state);
        }
    }
    Discovered {
        items: states,
        not_reached,
    }
}

async fn stacks_with_time_to_live(clients: &Clients) -> Discovered<Vec<Stack>> {
    let mut found = Vec::new();
    let mut not_reached = Vec::new();
    let mut pages = clients
        .cloudformation
        .describe_stacks()
        .into_paginator()
        .items()
        .send();
    while let Some(stack) = pages.next().await {
        match stack {
            Ok(stack) => found.push(stack),
            Err(err) => {
                not_reached.push(NotReached::new(
                    "stacks with a time to live not yet listed",
                    crate::aws::describe_sdk_error(&err),
                ));
                break;
            }
        }
    }
    found.retain(|stack| {
        stack
            .tags()
            .iter()
            .any(|tag| matches!(tag.key(), Some(TAG_EXPIRES_AT | TAG_TTL_HOURS)))
    });
    Discovered {
        items: found,
        not_reached,
    }
}

/// One stack, by its unique id, in the region the id names. Errors become `Unknown`: doubt. A
/// stack id CloudFormation does not know is doubt too: nothing says it was ever deleted.
async fn look_up(clients: &Clients, stack_id: &str) -> StackState {
    let region = Arn::parse(stack_id)
        .map(|stack| stack.region)
        .unwrap_or_default();
    let cloudformation = clients.cloudformation_in(&region);
    let stack = match cloudformation
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
    {
        Ok(output) => match output.stacks().first() {
            Some(stack) => stack.clone(),
            None => return StackState::Unknown("CloudFormation returned no stack".into()),
        },
        Err(err) => {
            let text = crate::aws::describe_sdk_error(&err);
            return StackState::Unknown(if text.contains("does not exist") {
                format!("CloudFormation has no record of it ({text})")
            } else {
                text
            });
        }
    };
    let holds = if is_stable(&stack) {
        match physical_ids(&cloudformation, stack_id).await {
            Ok(holds) => holds,
            Err(err) => return StackState::Unknown(err),
        }
    } else {
        BTreeMap::new()
    };
    let needs_template =
        is_stable(&stack) || stack.stack_status() == Some(&StackStatus::DeleteComplete);
    let retention = if needs_template {
        template_retention(&cloudformation, stack_id).await
    } else {
        Err("not read".into())
    };
    state_of(&stack, holds, retention)
}

/// What the stack's template keeps: GetTemplate by stack id reads deleted stacks too.
async fn template_retention(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_id: &str,
) -> Retention {
    let output = cloudformation
        .get_template()
        .stack_name(stack_id)
        .template_stage(TemplateStage::Processed)
        .send()
        .await
        .map_err(|err| {
            format!(
                "its template could not be read ({})",
                crate::aws::describe_sdk_error(&err)
            )
        })?;
    retention(output.template_body().unwrap_or_default())
}

fn is_stable(stack: &Stack) -> bool {
    matches!(
        stack.stack_status(),
        Some(
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::UpdateRollbackComplete
                | StackStatus::ImportComplete
                | StackStatus::ImportRollbackComplete
        )
    )
}

fn state_of(stack: &Stack, holds: BTreeMap<String, String>, retention: Retention) -> StackState {
    let live = || LiveStack {
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        holds: holds.clone(),
        tags: stack
            .tags()
            .iter()
            .filter_map(|tag| {
                Some((
                    tag.key()?.to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        created_at: stack
            .creation_time()
            .and_then(|at| OffsetDateTime::from_unix_timestamp(at.secs()).ok()),
        termination_protection: stack.enable_termination_protection().unwrap_or(false),
        nested: stack.parent_id().is_some_and(|parent| !parent.is_empty()),
        retention: retention.clone(),
    };
    match stack.stack_status() {
        Some(StackStatus::DeleteComplete) => StackState::Gone {
            retention: retention.clone(),
        },
        Some(StackStatus::RollbackComplete) => StackState::RolledBack(live()),
        _ if is_stable(stack) => StackState::Stable(live()),
        other => StackState::Busy(
            other
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "in an unknown state".into()),
        ),
    }
}

/// Logical id → physical id of every resource of the stack.
async fn physical_ids(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_id: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut holds = BTreeMap::new();
    let mut pages = cloudformation
        .list_stack_resources()
        .stack_name(stack_id)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let summary = item.map_err(|err| {
            format!(
                "its resources could not be listed ({})",
                crate::aws::describe_sdk_error(&err)
            )
        })?;
        if let (Some(logical), Some(physical)) = (
            summary.logical_resource_id(),
            summary.physical_resource_id(),
        ) {
            holds.insert(logical.to_owned(), physical.to_owned());
        }
    }
    Ok(holds)
}

#[cfg(test)]
mod tests;
