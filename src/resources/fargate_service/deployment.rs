//! Watching a deployment until it completes: a FAILED rollout, or a task of the current deployment
//! stopped for a reason no retry fixes, ends the wait with that reason.

use aws_sdk_ecs::types::{DeploymentRolloutState, DesiredStatus};

use super::stop_reasons::is_unfixable;
use super::{IAM_PROPAGATION_WINDOW, POLL, find_service, same_task_definition};
use crate::Error;
use crate::properties::FargateServiceProperties;
use crate::resources::ResourceContext;
use crate::wait::{Poll, Waited};

/// Stopped tasks examined per look.
const STOPPED_TASKS_EXAMINED: i32 = 20;

/// Waits until the deployment of the requested task definition has completed. A FAILED rollout
/// or a task stopped for a reason retrying cannot fix ends the wait with that reason.
pub(super) async fn wait_for_deployment(
    context: &ResourceContext,
    props: &FargateServiceProperties,
    name: &str,
) -> Result<Waited<()>, Error> {
    let what = format!("for ECS service {name} to reach a steady state");
    context
        .wait_for(&what, POLL, || deployment_progress(context, props, name))
        .await
}

async fn deployment_progress(
    context: &ResourceContext,
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
    context: &ResourceContext,
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

fn iam_window_end(context: &ResourceContext) -> tokio::time::Instant {
    tokio::time::Instant::now() + IAM_PROPAGATION_WINDOW.saturating_sub(context.age())
}

fn past_iam_window(context: &ResourceContext) -> bool {
    iam_window_end(context) <= tokio::time::Instant::now()
}
