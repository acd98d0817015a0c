//! `Custom::FargateCluster`: an ECS cluster with the Fargate capacity providers.
//!
//! Create makes the cluster with everything in one call; Update changes settings, capacity
//! providers and tags in place, or makes a new cluster when ClusterName changes; Delete retries
//! while services or tasks are still draining out of it.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::operation::delete_cluster::DeleteClusterError;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, Cluster, ClusterField, ClusterSetting, ClusterSettingName,
};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::common::{built, name_of, named_exactly};
use super::tag_sync::sync_ecs;
use super::{Deleted, ResourceContext};
use crate::Error;
use crate::aws::Clients;
use crate::naming::{generated_name, limits};
use crate::properties::{CapacityProvider, ClusterProperties};
use crate::protocol::{Outcome, Request};
use crate::tags::{ecs_pairs, ecs_tags, from_ecs, is_ours, managed_tags};
use crate::wait::{Backoff, retry_until};

const WHAT: &str = "ECS cluster";
/// Pauses between Delete attempts while the cluster still holds services or tasks.
const DRAINING: Backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(15));

pub async fn create(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = ClusterProperties::parse(request.properties())?;
    let cluster = ensure_cluster(request, context, &props).await?;
    Ok(done(&cluster))
}

/// In place when the name stays; otherwise a new cluster, and CloudFormation's Delete of the
/// old id removes the old one.
pub async fn update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = ClusterProperties::parse(request.properties())?;
    let cluster = ensure_cluster(request, context, &props).await?;
    Ok(done(&cluster))
}

pub async fn delete(request: &Request, context: &ResourceContext) -> Result<Deleted, Error> {
    let name = name_of(request.physical_id());
    match find_cluster(&context.clients.ecs, name).await? {
        None => tracing::info!(cluster = name, "cluster already gone"),
        Some(cluster) if !named_exactly(cluster.cluster_arn(), request) => {}
        Some(cluster) if !is_ours(ecs_pairs(cluster.tags()), request) => {
            tracing::warn!(
                cluster = name,
                "cluster is not ours (its tags name another stack resource): left untouched"
            );
        }
        Some(_) => {
            delete_when_drained(&context.clients.ecs, name, context.deadline.answer_by()).await?
        }
    }
    Ok(Deleted::Done)
}

/// For the cleanup: whether a tagged cluster still exists (not INACTIVE).
pub(crate) async fn leftover_exists(clients: &Clients, arn: &str) -> Result<bool, Error> {
    Ok(find_cluster(&clients.ecs, arn).await?.is_some())
}

/// For the cleanup: deletes a leftover cluster, retried while it drains, until `until`.
pub(crate) async fn remove_leftover(
    clients: &Clients,
    arn: &str,
    until: Instant,
) -> Result<(), Error> {
    delete_when_drained(&clients.ecs, name_of(arn), until).await
}

/// The cluster this request wants, adopted when it exists and is ours, made when it does not,
/// and brought in line with the properties.
async fn ensure_cluster(
    request: &Request,
    context: &ResourceContext,
    props: &ClusterProperties,
) -> Result<Cluster, Error> {
    let name = cluster_name(request, props);
    match find_cluster(&context.clients.ecs, &name).await? {
        None => create_cluster(request, context, &name, props).await,
        Some(existing) if is_ours(ecs_pairs(existing.tags()), request) => {
            tracing::info!(cluster = %name, "cluster exists and is ours: adopting it");
            reconcile(context, &name, &existing, props).await?;
            Ok(existing)
        }
        Some(_) => Err(Error::NotOurs {
            what: WHAT,
            name,
            logical_id: request.logical_resource_id.clone(),
        }),
    }
}

fn cluster_name(request: &Request, props: &ClusterProperties) -> String {
    props
        .cluster_name
        .clone()
        .unwrap_or_else(|| generated_name(request, &[("ClusterName", None)], limits::ECS_CLUSTER))
}

async fn create_cluster(
    request: &Request,
    context: &ResourceContext,
    name: &str,
    props: &ClusterProperties,
) -> Result<Cluster, Error> {
    let tags = managed_tags(request, &props.tags, OffsetDateTime::now_utc());
    let mut call = context
        .clients
        .ecs
        .create_cluster()
        .cluster_name(name)
        .set_capacity_providers(Some(capacity_provider_names(props)))
        .set_default_capacity_provider_strategy(Some(default_strategy(props)?))
        .set_tags(Some(ecs_tags(&tags)));
    if let Some(insights) = props.container_insights {
        call = call.settings(container_insights_setting(insights.as_str()));
    }
    let cluster = call
        .send()
        .await
        .map_err(|err| Error::aws("creating ECS cluster", name, err))?
        .cluster
        .ok_or_else(|| Error::IncompleteAnswer {
            action: "creating ECS cluster",
            name: name.to_owned(),
            missing: "the cluster",
        })?;
    if let Some(arn) = cluster.cluster_arn() {
        context.progress.made(arn);
    }
    tracing::info!(cluster = name, "cluster created");
    Ok(cluster)
}

/// Settings, capacity providers and user tags of an existing cluster, changed only where they
/// differ.
async fn reconcile(
    context: &ResourceContext,
    name: &str,
    cluster: &Cluster,
    props: &ClusterProperties,
) -> Result<(), Error> {
    let ecs = &context.clients.ecs;
    if let Some(insights) = props.container_insights {
        let current = cluster
            .settings()
            .iter()
            .find(|setting| setting.name() == Some(&ClusterSettingName::ContainerInsights))
            .and_then(|setting| setting.value());
        if current != Some(insights.as_str()) {
            ecs.update_cluster()
                .cluster(name)
                .settings(container_insights_setting(insights.as_str()))
                .send()
                .await
                .map_err(|err| Error::aws("updating ECS cluster settings", name, err))?;
        }
    }
    let wanted = capacity_provider_names(props);
    let mut current: Vec<String> = cluster.capacity_providers().to_vec();
    current.sort();
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort();
    if current != wanted_sorted {
        ecs.put_cluster_capacity_providers()
            .cluster(name)
            .set_capacity_providers(Some(wanted))
            .set_default_capacity_provider_strategy(Some(default_strategy(props)?))
            .send()
            .await
            .map_err(|err| Error::aws("updating ECS cluster capacity providers", name, err))?;
    }
    let arn = cluster.cluster_arn().unwrap_or(name);
    sync_ecs(ecs, arn, WHAT, &from_ecs(cluster.tags()), &props.tags).await
}

/// The one place that decides whether a cluster exists: a `MISSING` failure or an `INACTIVE`
/// status (a deleted cluster stays visible for a while) means it does not.
pub(crate) async fn find_cluster(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
) -> Result<Option<Cluster>, Error> {
    let output = ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .map_err(|err| Error::aws("describing ECS cluster", name, err))?;
    Ok(output
        .clusters
        .unwrap_or_default()
        .into_iter()
        .find(|cluster| cluster.status() != Some("INACTIVE")))
}

/// Deletes the cluster, retrying while it still holds services or tasks (they drain after a
/// service's Delete) until the invocation's time for work is nearly up.
pub(crate) async fn delete_when_drained(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    give_up_at: Instant,
) -> Result<(), Error> {
    let deleted = retry_until(give_up_at, DRAINING, still_draining, || {
        ecs.delete_cluster().cluster(name).send()
    })
    .await;
    match deleted {
        Ok(_) => {
            tracing::info!(cluster = name, "cluster deleted");
            Ok(())
        }
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(DeleteClusterError::ClusterNotFoundException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) if still_draining(&err) => Err(Error::StillInUse {
            what: WHAT,
            name: name.to_owned(),
            reason: "it still holds services or tasks; delete them first (a FargateService's Delete waits for its tasks to stop), then retry".into(),
        }),
        Err(err) => Err(Error::aws("deleting ECS cluster", name, err)),
    }
}

fn still_draining<R>(err: &SdkError<DeleteClusterError, R>) -> bool {
    matches!(
        err.as_service_error(),
        Some(
            DeleteClusterError::ClusterContainsServicesException(_)
                | DeleteClusterError::ClusterContainsTasksException(_)
                | DeleteClusterError::UpdateInProgressException(_)
        )
    )
}

fn done(cluster: &Cluster) -> Outcome {
    let arn = cluster.cluster_arn().unwrap_or_default().to_owned();
    let name = cluster.cluster_name().unwrap_or_default().to_owned();
    Outcome::Done {
        physical_resource_id: arn.clone(),
        data: BTreeMap::from([("Arn".to_owned(), arn), ("Name".to_owned(), name)]),
    }
}

fn capacity_provider_names(props: &ClusterProperties) -> Vec<String> {
    props
        .capacity_providers
        .iter()
        .map(|provider| provider.as_str().to_owned())
        .collect()
}

/// FARGATE when the cluster has it, else the first provider it has.
fn default_strategy(props: &ClusterProperties) -> Result<Vec<CapacityProviderStrategyItem>, Error> {
    let provider = if props
        .capacity_providers
        .contains(&CapacityProvider::Fargate)
    {
        CapacityProvider::Fargate
    } else {
        props
            .capacity_providers
            .first()
            .copied()
            .unwrap_or(CapacityProvider::Fargate)
    };
    let item = CapacityProviderStrategyItem::builder()
        .capacity_provider(provider.as_str())
        .weight(1)
        .build();
    Ok(vec![built("the default capacity provider strategy", item)?])
}

fn container_insights_setting(value: &str) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(value)
        .build()
}
