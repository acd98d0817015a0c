//! `Custom::FargateService`: a Fargate service running the task definition, waited on until its
//! deployment completes.
//!
//! IAM propagation delays (a role made seconds ago that ECS cannot assume yet, a secret it may not
//! read yet) are retried, not failed. A rollout the circuit breaker failed, or a task stopped for
//! a reason no retry can fix (the registry refused the credentials, the image does not exist),
//! fails at once with the task's own `stoppedReason` in the Reason. Waits longer than one
//! invocation continue in a new one.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_ecs::operation::create_service::CreateServiceError;
use aws_sdk_ecs::types::{
    AssignPublicIp as EcsAssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem,
    CpuArchitecture, DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentRolloutState,
    DesiredStatus, LaunchType, NetworkConfiguration, PropagateTags, Service, ServiceField,
};
use time::OffsetDateTime;

use super::common::{
    built, ecs_tag_pairs, ecs_tags, named_exactly, retry_until, sync_ecs_tags, tags_from_ecs,
};
use super::{Poll, SliceContext, Waited};
use crate::Error;
use crate::naming::{generated_name, idempotency_token, is_ours, limits, managed_tags};
use crate::properties::{AssignPublicIp, FargateServiceProperties};
use crate::protocol::{Outcome, Request, RequestType};

const WHAT: &str = "ECS service";
/// How long after a request first arrived IAM errors count as propagation delay.
pub const IAM_PROPAGATION_WINDOW: Duration = Duration::from_secs(180);
/// Pauses between CreateService attempts while IAM propagates.
const IAM_RETRY_FIRST_PAUSE: Duration = Duration::from_secs(5);
const IAM_RETRY_MAX_PAUSE: Duration = Duration::from_secs(20);
/// Pauses between looks at a deployment or a draining service.
const POLL_FIRST_PAUSE: Duration = Duration::from_secs(5);
const POLL_MAX_PAUSE: Duration = Duration::from_secs(15);
/// Stopped tasks examined per look.
const STOPPED_TASKS_EXAMINED: i32 = 20;

/// Create, in-place Update and replacement alike: the service this request names is adopted
/// when it exists and is ours, made when it does not, brought in line, and waited on.
pub async fn create(request: &Request, context: &SliceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

pub async fn update(request: &Request, context: &SliceContext) -> Result<Outcome, Error> {
    create_or_update(request, context).await
}

async fn create_or_update(request: &Request, context: &SliceContext) -> Result<Outcome, Error> {
    let props = FargateServiceProperties::parse(request.properties())?;
    reject_spot_on_arm64(context, &props).await?;
    let name = service_name(request, &props);
    let (service, made_here) =
        match find_service(&context.clients.ecs, &props.cluster, &name).await? {
            None => (create_service(request, context, &name, &props).await?, true),
            Some(existing) if !is_ours(ecs_tag_pairs(existing.tags()), request) => {
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
pub async fn delete(request: &Request, context: &SliceContext) -> Result<Outcome, Error> {
    let arn = request.physical_id();
    let (cluster, name) = cluster_and_name(request);
    match find_service(&context.clients.ecs, &cluster, &name).await? {
        None => tracing::info!(service = %name, "service already gone"),
        Some(service) if !named_exactly(service.service_arn(), request) => {}
        Some(service) if !is_ours(ecs_tag_pairs(service.tags()), request) => {
            tracing::warn!(service = %name, "service is not ours (its tags name another stack resource): left untouched");
        }
        Some(service) => {
            if service.status() == Some("ACTIVE") {
                stop_service(&context.clients.ecs, &cluster, &name).await?;
            }
            if let Waited::Continued = wait_until_inactive(context, &cluster, &name).await? {
                return Ok(Outcome::Continued);
            }
        }
    }
    Ok(Outcome::Done {
        physical_resource_id: arn.to_owned(),
        data: BTreeMap::new(),
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

/// The cluster and service a Delete's id names: `arn:…:service/<cluster>/<name>`. An old-format
/// ARN (`service/<name>`) does not name its cluster; the properties then do.
fn cluster_and_name(request: &Request) -> (String, String) {
    let id = request.physical_id();
    let resource = id.split(":service/").nth(1).unwrap_or(id);
    match resource.split_once('/') {
        Some((cluster, name)) => (cluster.to_owned(), name.to_owned()),
        None => {
            let cluster = request
                .properties()
                .get("Cluster")
                .and_then(|value| value.as_str())
                .unwrap_or("default");
            (cluster_short_name(cluster).to_owned(), resource.to_owned())
        }
    }
}

fn cluster_short_name(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// Fargate Spot has no ARM64 capacity: such a service would never start a task.
async fn reject_spot_on_arm64(
    context: &SliceContext,
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
pub async fn find_service(
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
    context: &SliceContext,
    name: &str,
    props: &FargateServiceProperties,
) -> Result<Service, Error> {
    let tags = managed_tags(request, &props.tags, OffsetDateTime::now_utc());
    let network = network_configuration(props)?;
    let strategy = capacity_provider_strategy(props)?;
    let deployment = deployment_configuration(props);
    let token = create_token(request, name, props);
    let iam_window_ends = iam_window_end(context);
    let created = retry_until(
        iam_window_ends.min(context.deadline.answer_by()),
        IAM_RETRY_FIRST_PAUSE,
        IAM_RETRY_MAX_PAUSE,
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

/// CreateService's `clientToken`: from everything the call sends (but the creation time), so that a
/// redelivery is recognised and a different ask — after an undo, or a move X → Y → X — is not
/// mistaken for it.
pub fn create_token(request: &Request, name: &str, props: &FargateServiceProperties) -> String {
    let strategy: Vec<String> = props
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            format!(
                "{}/{}/{}",
                item.capacity_provider.as_str(),
                item.weight,
                item.base
            )
        })
        .collect();
    let tags: Vec<String> = props
        .tags
        .iter()
        .map(|tag| format!("{}={}", tag.key, tag.value))
        .collect();
    idempotency_token(&[
        &request.stack_id,
        &request.logical_resource_id,
        &props.cluster,
        name,
        &props.task_definition,
        &props.desired_count.to_string(),
        &props.platform_version,
        &props.subnets.join(","),
        &props.security_groups.join(","),
        props.assign_public_ip.as_str(),
        &strategy.join(","),
        &props.circuit_breaker.to_string(),
        &props.enable_execute_command.to_string(),
        &tags.join(","),
    ])
}

/// Task definition, count, network, platform, strategy, circuit breaker and ECS Exec brought in
/// line with one UpdateService when any differs; then user tags.
async fn reconcile(
    context: &SliceContext,
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
    sync_ecs_tags(ecs, arn, WHAT, &tags_from_ecs(service.tags()), &props.tags).await
}

fn needs_update(service: &Service, props: &FargateServiceProperties) -> bool {
    let awsvpc = service
        .network_configuration()
        .and_then(|network| network.awsvpc_configuration());
    let sorted = |items: &[String]| {
        let mut items = items.to_vec();
        items.sort();
        items
    };
    let network_same = awsvpc.is_some_and(|vpc| {
        sorted(vpc.subnets()) == sorted(&props.subnets)
            && sorted(vpc.security_groups()) == sorted(&props.security_groups)
            && vpc
                .assign_public_ip()
                .map(|ip| ip.as_str())
                .unwrap_or("DISABLED")
                == props.assign_public_ip.as_str()
    });
    let breaker = service
        .deployment_configuration()
        .and_then(|config| config.deployment_circuit_breaker());
    let breaker_same =
        breaker.map(|b| b.enable() && b.rollback()).unwrap_or(false) == props.circuit_breaker;
    let mut current_strategy: Vec<(String, i32, i32)> = service
        .capacity_provider_strategy()
        .iter()
        .map(|item| {
            (
                item.capacity_provider().to_owned(),
                item.weight(),
                item.base(),
            )
        })
        .collect();
    current_strategy.sort();
    let mut wanted_strategy: Vec<(String, i32, i32)> = props
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            (
                item.capacity_provider.as_str().to_owned(),
                item.weight as i32,
                item.base as i32,
            )
        })
        .collect();
    wanted_strategy.sort();
    !(same_task_definition(
        &props.task_definition,
        service.task_definition().unwrap_or_default(),
    ) && service.desired_count() == props.desired_count as i32
        && network_same
        && service.platform_version().unwrap_or("LATEST") == props.platform_version
        && breaker_same
        && current_strategy == wanted_strategy
        && service.enable_execute_command() == props.enable_execute_command)
}

/// Whether a task definition as the properties give it (ARN, `family:revision` or `family`)
/// names the revision ECS reports.
pub fn same_task_definition(requested: &str, actual_arn: &str) -> bool {
    let requested = requested
        .rsplit("task-definition/")
        .next()
        .unwrap_or(requested);
    let actual = actual_arn
        .rsplit("task-definition/")
        .next()
        .unwrap_or(actual_arn);
    if requested.contains(':') {
        requested == actual
    } else {
        actual.split(':').next() == Some(requested)
    }
}

/// Waits until the deployment of the requested task definition has completed. A FAILED rollout
/// or a task stopped for a reason retrying cannot fix ends the wait with that reason.
async fn wait_for_deployment(
    context: &SliceContext,
    props: &FargateServiceProperties,
    name: &str,
) -> Result<Waited<()>, Error> {
    let what = format!("for ECS service {name} to reach a steady state");
    context
        .wait_for(&what, POLL_FIRST_PAUSE, POLL_MAX_PAUSE, || {
            deployment_progress(context, props, name)
        })
        .await
}

async fn deployment_progress(
    context: &SliceContext,
    props: &FargateServiceProperties,
    name: &str,
) -> Result<Poll<()>, Error> {
    let service = find_service(&context.clients.ecs, &props.cluster, name)
        .await?
        .ok_or_else(|| Error::DeploymentFailed {
            service: name.to_owned(),
            reason: "the service was deleted while being deployed".into(),
        })?;
    let ours = service
        .deployments()
        .iter()
        .filter(|deployment| {
            same_task_definition(
                &props.task_definition,
                deployment.task_definition().unwrap_or_default(),
            )
        })
        .max_by_key(|deployment| {
            deployment
                .created_at()
                .map(|at| at.secs())
                .unwrap_or_default()
        });
    let Some(deployment) = ours else {
        return Err(Error::DeploymentFailed {
            service: name.to_owned(),
            reason: format!(
                "no deployment of {} exists any more; the circuit breaker rolled it back",
                props.task_definition
            ),
        });
    };
    let stopped = stopped_task_reason(
        context,
        &props.cluster,
        name,
        deployment.id().unwrap_or_default(),
    )
    .await?;
    match deployment.rollout_state() {
        Some(DeploymentRolloutState::Completed) if deployment.status() == Some("PRIMARY") => {
            tracing::info!(service = name, "deployment completed");
            Ok(Poll::Ready(()))
        }
        Some(DeploymentRolloutState::Failed) => Err(Error::DeploymentFailed {
            service: name.to_owned(),
            reason: format!(
                "{}{}",
                deployment
                    .rollout_state_reason()
                    .unwrap_or("the circuit breaker stopped the rollout"),
                stopped
                    .map(|reason| format!("; a task stopped: {reason}"))
                    .unwrap_or_default()
            ),
        }),
        _ => match stopped {
            Some(reason) if is_unfixable(&reason, past_iam_window(context)) => {
                Err(Error::DeploymentFailed {
                    service: name.to_owned(),
                    reason: format!("a task stopped for a reason retrying cannot fix: {reason}"),
                })
            }
            _ => {
                tracing::info!(
                    service = name,
                    running = deployment.running_count(),
                    desired = deployment.desired_count(),
                    "deployment in progress"
                );
                Ok(Poll::Pending)
            }
        },
    }
}

/// The `stoppedReason` (with the container's own reason) of the newest stopped task of the
/// deployment, if any.
async fn stopped_task_reason(
    context: &SliceContext,
    cluster: &str,
    service: &str,
    deployment_id: &str,
) -> Result<Option<String>, Error> {
    let ecs = &context.clients.ecs;
    let listed = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Stopped)
        .max_results(STOPPED_TASKS_EXAMINED)
        .send()
        .await
        .map_err(|err| Error::aws("listing the stopped tasks of ECS service", service, err))?;
    if listed.task_arns().is_empty() {
        return Ok(None);
    }
    let described = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .map_err(|err| Error::aws("describing the stopped tasks of ECS service", service, err))?;
    Ok(described
        .tasks()
        .iter()
        .filter(|task| task.started_by() == Some(deployment_id))
        .max_by_key(|task| task.stopped_at().map(|at| at.secs()).unwrap_or_default())
        .map(|task| {
            let container_reasons: Vec<&str> = task
                .containers()
                .iter()
                .filter_map(|container| container.reason())
                .collect();
            let mut reason = task.stopped_reason().unwrap_or("stopped").to_owned();
            for container_reason in container_reasons {
                if !reason.contains(container_reason) {
                    reason.push_str(" — ");
                    reason.push_str(container_reason);
                }
            }
            reason
        }))
}

/// What a registry (and containerd, which ECS quotes) says when it refuses the credentials.
const REGISTRY_REFUSALS: &[&str] = &[
    "401 unauthorized",
    "403 forbidden",
    "unauthorized:",
    "unauthorized to access repository",
    "authentication required",
    "no basic auth credentials",
    "pull access denied",
    "denied: requested access",
    "insufficient_scope",
];
/// What it says when the image is not there.
const REGISTRY_MISSING: &[&str] = &[
    "manifest unknown",
    "name unknown",
    "404 not found",
    "not found: manifest",
    "repository does not exist",
];

/// A task stop that no retry fixes: ECS's CannotPullContainerError quoting the registry's
/// refusal of the credentials or its "no such image" — matched as whole phrases, so that a digest
/// or an address that happens to contain "401" or "404" is no refusal. Access to the secret
/// denied counts only once IAM has had time to propagate.
pub fn is_unfixable(reason: &str, past_iam_window: bool) -> bool {
    let lowered = reason.to_ascii_lowercase();
    let pull_error = lowered.contains("cannotpullcontainererror");
    let refused = REGISTRY_REFUSALS.iter().any(|hint| lowered.contains(hint));
    let missing = REGISTRY_MISSING.iter().any(|hint| lowered.contains(hint));
    let secret_denied =
        lowered.contains("resourceinitializationerror") && lowered.contains("accessdenied");
    (pull_error && (refused || missing)) || (secret_denied && past_iam_window)
}

/// ECS's messages while a role made moments ago is not yet usable everywhere.
pub fn is_iam_propagation(message: &str) -> bool {
    let lowered = message.to_ascii_lowercase();
    lowered.contains("unable to assume the role")
        || lowered.contains("unable to assume role")
        || lowered.contains("verify that the ecs service role")
        || lowered.contains("unable to assume the service linked role")
}

fn iam_window_end(context: &SliceContext) -> tokio::time::Instant {
    let elapsed = SystemTime::now()
        .duration_since(
            std::time::UNIX_EPOCH + Duration::from_secs(context.incoming.first_received_at),
        )
        .unwrap_or_default();
    tokio::time::Instant::now() + IAM_PROPAGATION_WINDOW.saturating_sub(elapsed)
}

fn past_iam_window(context: &SliceContext) -> bool {
    iam_window_end(context) <= tokio::time::Instant::now()
}

pub async fn stop_service(
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
        tracing::warn!(service = name, error = %crate::aws::describe_error(&err), "could not scale to 0 before deleting");
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

/// Polls until the service is INACTIVE or gone, within `give_up_at` (for callers without a
/// request to continue, like the nightly cleanup).
pub async fn wait_until_gone(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
    give_up_at: tokio::time::Instant,
) -> Result<(), Error> {
    let mut pause = POLL_FIRST_PAUSE;
    let started = tokio::time::Instant::now();
    while find_service(ecs, cluster, name).await?.is_some() {
        if tokio::time::Instant::now() + pause >= give_up_at {
            return Err(Error::WaitTimedOut {
                waiting_for: format!("for ECS service {name} to drain"),
                seconds: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL_MAX_PAUSE);
    }
    Ok(())
}

async fn wait_until_inactive(
    context: &SliceContext,
    cluster: &str,
    name: &str,
) -> Result<Waited<()>, Error> {
    let what = format!("for ECS service {name} to drain");
    context
        .wait_for(&what, POLL_FIRST_PAUSE, POLL_MAX_PAUSE, || async {
            Ok(
                match find_service(&context.clients.ecs, cluster, name).await? {
                    None => Poll::Ready(()),
                    Some(_) => Poll::Pending,
                },
            )
        })
        .await
}

/// A Create or replacing Update that fails after making its service removes it again; the
/// answer then carries the marker (Create) or the id it was given (Update).
async fn undo_replacement(
    request: &Request,
    context: &SliceContext,
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
            tracing::error!(service = name, error = %err, "could not delete the service this failed request made; the Delete that follows will")
        }
    }
}

fn network_configuration(props: &FargateServiceProperties) -> Result<NetworkConfiguration, Error> {
    let awsvpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(props.subnets.clone()))
        .set_security_groups(Some(props.security_groups.clone()))
        .assign_public_ip(match props.assign_public_ip {
            AssignPublicIp::Enabled => EcsAssignPublicIp::Enabled,
            AssignPublicIp::Disabled => EcsAssignPublicIp::Disabled,
        })
        .build();
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(built("the awsvpc network configuration", awsvpc)?)
        .build())
}

fn capacity_provider_strategy(
    props: &FargateServiceProperties,
) -> Result<Vec<CapacityProviderStrategyItem>, Error> {
    props
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            built(
                "the capacity provider strategy",
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(item.capacity_provider.as_str())
                    .weight(item.weight as i32)
                    .base(item.base as i32)
                    .build(),
            )
        })
        .collect()
}

fn deployment_configuration(props: &FargateServiceProperties) -> DeploymentConfiguration {
    let breaker = DeploymentCircuitBreaker::builder()
        .enable(props.circuit_breaker)
        .rollback(props.circuit_breaker)
        .build();
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(breaker)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definitions_match_by_arn_family_revision_or_family() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        assert!(same_task_definition(arn, arn));
        assert!(same_task_definition("web:3", arn));
        assert!(same_task_definition("web", arn));
        assert!(!same_task_definition("web:2", arn));
        assert!(!same_task_definition("web-api", arn));
    }

    #[test]
    fn registry_refusals_and_missing_images_are_unfixable() {
        let unauthorized = "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 127.0.0.1:5000/lab/hello:1.0: pulling from host 127.0.0.1:5000 failed with status code [manifests 1.0]: 401 Unauthorized";
        assert!(is_unfixable(unauthorized, false));
        assert!(is_unfixable(
            "CannotPullContainerError: ref pull has been retried: manifest unknown",
            false
        ));
        assert!(!is_unfixable(
            "CannotPullContainerError: dial tcp 10.0.0.1:443: i/o timeout",
            true
        ));
        assert!(!is_unfixable("Essential container in task exited", true));
        assert!(is_unfixable(
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/acme/app:1: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
            false
        ));
    }

    #[test]
    fn numbers_inside_digests_and_addresses_are_no_refusal() {
        for transient in [
            "CannotPullContainerError: failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/4041-401e/sha256:4014040f\": dial tcp 52.216.40.4:443: i/o timeout",
            "CannotPullContainerError: ref 127.0.0.1:5000/lab/hello@sha256:40340140440440140340340340340340340340340340340340340340340340a3: context deadline exceeded",
            "CannotPullContainerError: registry.example.com:4040 is not found in DNS right now, try again",
        ] {
            assert!(!is_unfixable(transient, true), "{transient}");
        }
    }

    fn props(extra: serde_json::Value) -> FargateServiceProperties {
        let mut value = serde_json::json!({"Cluster": "lab", "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
            "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]});
        for (key, item) in extra.as_object().unwrap() {
            value[key] = item.clone();
        }
        FargateServiceProperties::parse(&value).unwrap()
    }

    fn running(launch_type: Option<LaunchType>, strategy: &[(&str, i32)]) -> Service {
        let awsvpc = AwsVpcConfiguration::builder()
            .subnets("subnet-1")
            .security_groups("sg-1")
            .assign_public_ip(EcsAssignPublicIp::Disabled)
            .build()
            .unwrap();
        Service::builder()
            .task_definition("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3")
            .desired_count(1)
            .platform_version("LATEST")
            .set_launch_type(launch_type)
            .set_capacity_provider_strategy(Some(
                strategy
                    .iter()
                    .map(|(provider, weight)| {
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider(*provider)
                            .weight(*weight)
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(awsvpc)
                    .build(),
            )
            .deployment_configuration(deployment_configuration(&props(serde_json::json!({}))))
            .build()
    }

    #[test]
    fn a_capacity_provider_strategy_change_alone_is_an_update() {
        let on_fargate = running(Some(LaunchType::Fargate), &[]);
        assert!(!needs_update(&on_fargate, &props(serde_json::json!({}))));
        let spot = props(
            serde_json::json!({"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "1"}]}),
        );
        assert!(needs_update(&on_fargate, &spot));
        let on_spot = running(None, &[("FARGATE_SPOT", 1)]);
        assert!(!needs_update(&on_spot, &spot));
        let mixed = props(
            serde_json::json!({"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "3"}, {"CapacityProvider": "FARGATE", "Weight": "1"}]}),
        );
        assert!(needs_update(&on_spot, &mixed));
    }

    #[test]
    fn the_client_token_changes_with_anything_the_create_sends() {
        let request = crate::protocol::request::tests::sample_request(RequestType::Create);
        let base = create_token(&request, "web", &props(serde_json::json!({})));
        assert_eq!(
            base,
            create_token(&request, "web", &props(serde_json::json!({})))
        );
        for changed in [
            serde_json::json!({"TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:4"}),
            serde_json::json!({"DesiredCount": "2"}),
            serde_json::json!({"Subnets": ["subnet-2"]}),
            serde_json::json!({"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT"}]}),
            serde_json::json!({"Tags": [{"Key": "team", "Value": "a"}]}),
        ] {
            assert_ne!(
                base,
                create_token(&request, "web", &props(changed.clone())),
                "{changed}"
            );
        }
    }

    #[test]
    fn a_secret_access_denial_is_fixable_only_while_iam_propagates() {
        let denied = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException";
        assert!(!is_unfixable(denied, false));
        assert!(is_unfixable(denied, true));
    }

    #[test]
    fn iam_propagation_messages_are_recognised() {
        assert!(is_iam_propagation(
            "Unable to assume the role arn:aws:iam::123456789012:role/x. Please verify that the ECS service role being passed has the proper permissions."
        ));
        assert!(!is_iam_propagation("The specified cluster is inactive"));
    }
}
