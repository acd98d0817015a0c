//! `Custom::FargateService`: a Fargate service running the task definition, waited on until its
//! deployment completes (the watcher is in [`deployment`], what a stopped task's reason means in
//! [`stop_reasons`], what the properties ask of ECS in [`configuration`]).
//!
//! IAM propagation delays (a role made seconds ago that ECS cannot assume yet, a secret it may not
//! read yet) are retried, not failed. Waits longer than one invocation continue in a new one.

mod configuration;
mod deployment;
mod stop_reasons;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::operation::create_service::CreateServiceError;
use aws_sdk_ecs::types::{CpuArchitecture, LaunchType, PropagateTags, Service, ServiceField};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::common::{name_of, named_exactly};
use super::tag_sync::sync_ecs;
use super::{Deleted, ResourceContext};
use crate::Error;
use crate::arn::Arn;
use crate::aws::Clients;
use crate::naming::{generated_name, limits};
use crate::properties::FargateServiceProperties;
use crate::protocol::{Outcome, Request, RequestType};
use crate::tags::{ecs_pairs, ecs_tags, from_ecs, is_ours, managed_tags};
use crate::wait::{Backoff, Poll, Waited, retry_until};
use configuration::same_task_definition;
use configuration::{
    capacity_provider_strategy, create_token, deployment_configuration, needs_update,
    network_configuration,
};
use deployment::wait_for_deployment;
use stop_reasons::is_iam_propagation;

const WHAT: &str = "ECS service";
/// How long after a request first arrived IAM errors count as propagation delay.
pub(crate) const IAM_PROPAGATION_WINDOW: Duration = Duration::from_secs(180);
/// Pauses between CreateService attempts while IAM propagates.
const IAM_RETRY: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(20));
/// Pauses between looks at a deployment or a draining service.
const POLL: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(15));

/// Create, in-place Update and replacement alike: the service this request names is adopted
/// when it exists and is ours, made when it does not, brought in line, and waited on.
pub async fn create(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

pub async fn update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

async fn create_or_update(request: &Request, context: &ResourceContext) -> Result<Outcome, Error> {
    let props = FargateServiceProperties::parse(request.properties())?;
    reject_spot_on_arm64(context, &props).await?;
    let name = service_name(request, &props);
    let (service, made_here) =
        match find_service(&context.clients.ecs, &props.cluster, &name).await? {
            None => (create_service(request, context, &name, &props).await?, true),
            Some(existing) if !is_ours(ecs_pairs(existing.tags()), request) => {
                return Err(Error::NotOurs {
                    what: WHAT,
                    name,
                    logical_id: request.logical_resource_id.clone(),
                });
            }
            Some(existing) => {
                tracing::info!(service = %name, "service exists and is ours: adopting it");
                let arn = existing.service_arn().unwrap_or_default();
                context.progress.adopted(arn);
                // Made by this very request, before a wait handed it to this invocation.
                let made_here = context.progress.made_by_this_request().as_deref() == Some(arn);
                reconcile(context, &existing, &props).await?;
                (existing, made_here)
            }
        };
    let arn = service.service_arn().unwrap_or_default().to_owned();
    if props.wait_for_steady_state {
        let waited = wait_for_deployment(context, &props, &name).await;
        match waited {
            Ok(Waited::Continued) => return Ok(Outcome::Continued),
            Ok(Waited::Ready(())) => {}
            Err(err) => {
                undo_replacement(request, context, &props.cluster, &name, made_here).await;
                return Err(err);
            }
        }
    }
    Ok(Outcome::Done {
        physical_resource_id: arn.clone(),
        data: BTreeMap::from([("Arn".to_owned(), arn), ("Name".to_owned(), name)]),
    })
}

/// Scales to zero, deletes, and waits until the service is INACTIVE so that the cluster's
/// Delete can follow.
pub async fn delete(request: &Request, context: &ResourceContext) -> Result<Deleted, Error> {
    let Some((cluster, name)) = cluster_and_name(request.physical_id()) else {
        tracing::warn!("the id names no service of a cluster: nothing to delete");
        return Ok(Deleted::Done);
    };
    match find_service(&context.clients.ecs, &cluster, &name).await? {
        None => tracing::info!(service = %name, "service already gone"),
        Some(service) if !named_exactly(service.service_arn(), request) => {}
        Some(service) if !is_ours(ecs_pairs(service.tags()), request) => {
            tracing::warn!(
                service = %name,
                "service is not ours (its tags name another stack resource): left untouched",
            );
        }
        Some(service) => {
            if service.status() == Some("ACTIVE") {
                stop_service(&context.clients.ecs, &cluster, &name).await?;
            }
            if let Waited::Continued = wait_until_inactive(context, &cluster, &name).await? {
                return Ok(Deleted::Continued);
            }
        }
    }
    Ok(Deleted::Done)
}

/// For the cleanup: whether a tagged service still exists (not INACTIVE).
pub(crate) async fn leftover_exists(clients: &Clients, arn: &str) -> Result<bool, Error> {
    match cluster_and_name(arn) {
        Some((cluster, name)) => Ok(find_service(&clients.ecs, &cluster, &name).await?.is_some()),
        // An old-format ARN names no cluster: it cannot be looked up, so it is left alone.
        None => Ok(false),
    }
}

/// For the cleanup: scales a leftover service to zero, deletes it and waits until it has drained,
/// until `until`.
pub(crate) async fn remove_leftover(
    clients: &Clients,
    arn: &str,
    until: Instant,
) -> Result<(), Error> {
    let Some((cluster, name)) = cluster_and_name(arn) else {
        return Ok(());
    };
    stop_service(&clients.ecs, &cluster, &name).await?;
    let bounds = crate::wait::Bounds {
        look_until: until,
        overall: std::time::SystemTime::now() + until.saturating_duration_since(Instant::now()),
        began: std::time::SystemTime::now(),
    };
    let what = format!("for ECS service {name} to drain");
    crate::wait::poll(&what, POLL, bounds, None, || {
        gone(&clients.ecs, &cluster, &name)
    })
    .await
    .map(drop)
}

/// One look at a service being deleted.
async fn gone(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str) -> Result<Poll<()>, Error> {
    Ok(match find_service(ecs, cluster, name).await? {
        None => Poll::Ready(()),
        Some(_) => Poll::Pending,
    })
}

fn service_name(request: &Request, props: &FargateServiceProperties) -> String {
    props.service_name.clone().unwrap_or_else(|| {
        generated_name(
            request,
            &[
                ("ServiceName", None),
                ("Cluster", Some(cluster_short_name(&props.cluster))),
            ],
            limits::ECS_SERVICE,
        )
    })
}

/// The cluster and service an id names: `arn:…:service/<cluster>/<name>`. The old short form
/// (`service/<name>`) names no cluster; the provider never answers with it.
fn cluster_and_name(id: &str) -> Option<(String, String)> {
    let arn = Arn::parse(id).ok()?;
    let (cluster, name) = arn.resource.strip_prefix("service/")?.split_once('/')?;
    Some((cluster.to_owned(), name.to_owned()))
}

fn cluster_short_name(cluster: &str) -> &str {
    name_of(cluster)
}

/// Fargate Spot has no ARM64 capacity: such a service would never start a task.
async fn reject_spot_on_arm64(
    context: &ResourceContext,
    props: &FargateServiceProperties,
) -> Result<(), Error> {
    if !props.uses_fargate_spot() {
        return Ok(());
    }
    let output = context
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(&props.task_definition)
        .send()
        .await
        .map_err(|err| {
            Error::aws(
                "describing ECS task definition",
                &props.task_definition,
                err,
            )
        })?;
    let arm64 = output
        .task_definition()
        .and_then(|definition| definition.runtime_platform())
        .and_then(|platform| platform.cpu_architecture())
        == Some(&CpuArchitecture::Arm64);
    if arm64 {
        return Err(Error::Rejected(
            "CapacityProviderStrategy uses FARGATE_SPOT, which does not run ARM64 tasks; use FARGATE for this task definition (CpuArchitecture ARM64) or build it for X86_64".into(),
        ));
    }
    Ok(())
}

/// The one place that decides whether a service exists: a `MISSING` failure, an unknown
/// cluster, or an `INACTIVE` status (a deleted service stays visible for a while) mean it does
/// not.
pub(crate) async fn find_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Service>, Error> {
    let output = match ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await
    {
        Ok(output) => output,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_cluster_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(Error::aws("describing ECS service", name, err)),
    };
    Ok(output
        .services
        .unwrap_or_default()
        .into_iter()
        .find(|service| service.status() != Some("INACTIVE")))
}

async fn create_service(
    request: &Request,
    context: &ResourceContext,
    name: &str,
    props: &FargateServiceProperties,
) -> Result<Service, Error> {
    let tags = managed_tags(request, &props.tags, OffsetDateTime::now_utc());
    let network = network_configuration(props)?;
    let strategy = capacity_provider_strategy(props)?;
    let deployment = deployment_configuration(props);
    let token = create_token(request, name, props);
    let iam_window_ends = Instant::now() + IAM_PROPAGATION_WINDOW.saturating_sub(context.age());
    let created = retry_until(
        iam_window_ends.min(context.deadline.answer_by()),
        IAM_RETRY,
        |err: &aws_sdk_ecs::error::SdkError<CreateServiceError, _>| {
            err.as_service_error().is_some_and(|service_error| {
                is_iam_propagation(&crate::aws::describe_error(service_error))
            })
        },
        || {
            let mut call = context
                .clients
                .ecs
                .create_service()
                .cluster(&props.cluster)
                .service_name(name)
                .task_definition(&props.task_definition)
                .desired_count(props.desired_count as i32)
                .platform_version(&props.platform_version)
                .network_configuration(network.clone())
                .deployment_configuration(deployment.clone())
                .enable_execute_command(props.enable_execute_command)
                .propagate_tags(PropagateTags::Service)
                .set_tags(Some(ecs_tags(&tags)))
                .client_token(&token);
            call = if strategy.is_empty() {
                call.launch_type(LaunchType::Fargate)
            } else {
                call.set_capacity_provider_strategy(Some(strategy.clone()))
            };
            call.send()
        },
    )
    .await
    .map_err(|err| Error::aws("creating ECS service", name, err))?;
    let service = created.service.ok_or_else(|| Error::IncompleteAnswer {
        action: "creating ECS service",
        name: name.to_owned(),
        missing: "the service",
    })?;
    context
        .progress
        .made(service.service_arn().unwrap_or_default());
    tracing::info!(service = name, "service created");
    Ok(service)
}

/// Task definition, count, network, platform, strategy, circuit breaker and ECS Exec brought in
/// line with one UpdateService when any differs; then user tags.
async fn reconcile(
    context: &ResourceContext,
    service: &Service,
    props: &FargateServiceProperties,
) -> Result<(), Error> {
    let name = service.service_name().unwrap_or_default();
    let ecs = &context.clients.ecs;
    if needs_update(service, props) {
        let strategy = capacity_provider_strategy(props)?;
        if strategy.is_empty() && !service.capacity_provider_strategy().is_empty() {
            return Err(Error::Rejected(format!(
                "service {name} runs on a CapacityProviderStrategy, and ECS cannot move a service back to the FARGATE launch type; give a CapacityProviderStrategy with FARGATE, or change ServiceName to replace the service"
            )));
        }
        let switching_to_strategy = !strategy.is_empty() && service.launch_type().is_some();
        ecs.update_service()
            .cluster(&props.cluster)
            .service(name)
            .task_definition(&props.task_definition)
            .desired_count(props.desired_count as i32)
            .platform_version(&props.platform_version)
            .network_configuration(network_configuration(props)?)
            .deployment_configuration(deployment_configuration(props))
            .enable_execute_command(props.enable_execute_command)
            .set_capacity_provider_strategy((!strategy.is_empty()).then_some(strategy))
            // Moving from a launch type to a capacity provider strategy needs a new deployment.
            .force_new_deployment(switching_to_strategy)
            .send()
            .await
            .map_err(|err| Error::aws("updating ECS service", name, err))?;
        tracing::info!(service = name, "service updated");
    }
    let arn = service.service_arn().unwrap_or(name);
    sync_ecs(ecs, arn, WHAT, &from_ecs(service.tags()), &props.tags).await
}

pub(crate) async fn stop_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
) -> Result<(), Error> {
    if let Err(err) = ecs
        .update_service()
        .cluster(cluster)
        .service(name)
        .desired_count(0)
        .send()
        .await
    {
        // Deleting with force stops the tasks too; scaling first only makes it gentler.
        tracing::warn!(
            service = name,
            error = %crate::aws::describe_error(&err),
            "could not scale to 0 before deleting",
        );
    }
    match ecs
        .delete_service()
        .cluster(cluster)
        .service(name)
        .force(true)
        .send()
        .await
    {
        Ok(_) => {
            tracing::info!(service = name, "service deleted; waiting for it to drain");
            Ok(())
        }
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_service_not_found_exception() || e.is_cluster_not_found_exception()
            }) =>
        {
            Ok(())
        }
        Err(err) => Err(Error::aws("deleting ECS service", name, err)),
    }
}

async fn wait_until_inactive(
    context: &ResourceContext,
    cluster: &str,
    name: &str,
) -> Result<Waited<()>, Error> {
    let what = format!("for ECS service {name} to drain");
    context
        .wait_for(&what, POLL, || gone(&context.clients.ecs, cluster, name))
        .await
}

/// A Create or replacing Update that fails after making its service removes it again; the
/// answer then carries the marker (Create) or the id it was given (Update).
async fn undo_replacement(
    request: &Request,
    context: &ResourceContext,
    cluster: &str,
    name: &str,
    made_here: bool,
) {
    if !made_here {
        return;
    }
    match stop_service(&context.clients.ecs, cluster, name).await {
        Ok(()) => {
            if request.request_type == RequestType::Create {
                context.progress.undone();
            }
            tracing::warn!(
                service = name,
                "the service made by this failed request was deleted again"
            );
        }
        Err(err) => {
            tracing::error!(
                service = name,
                error = %err,
                "could not delete the service this failed request made; the Delete that follows will",
            )
        }
    }
}
