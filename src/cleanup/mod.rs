//! nightly-cleanup: the lab's last step, "Clean up! Don't forget to delete the resources", made
//! automatic and safe. Only resources tagged `ecs-private-auth:stack-id` are ever considered;
//! their stacks decide what is garbage (see [`plan`]); the slices' own delete code removes it.

pub mod discover;
pub mod plan;

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::Error;
use crate::slices::{cluster, credentials, role, service, task_definition};
use plan::{Decision, Kind, Plan, StackDecision};

/// Deletions in flight at once.
pub const CONCURRENCY: usize = 4;
/// Default cap on deletions per run.
pub const DEFAULT_MAX_DELETIONS: usize = 100;

/// The clients the cleanup uses; CloudFormation clients are made per region as stacks need.
#[derive(Debug, Clone)]
pub struct CleanupClients {
    pub config: aws_config::SdkConfig,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub iam: aws_sdk_iam::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl CleanupClients {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        CleanupClients {
            config: config.clone(),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// The CloudFormation client for the region a stack id names.
    pub fn cloudformation_in(&self, region: &str) -> aws_sdk_cloudformation::Client {
        if self.config.region().map(|r| r.as_ref()) == Some(region) || region.is_empty() {
            return self.cloudformation.clone();
        }
        let config = aws_sdk_cloudformation::config::Builder::from(&self.config)
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        aws_sdk_cloudformation::Client::from_conf(config)
    }
}

/// `DRY_RUN` and `MAX_DELETIONS`, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupSettings {
    pub dry_run: bool,
    pub max_deletions: usize,
}

impl CleanupSettings {
    pub fn from_env() -> Self {
        CleanupSettings {
            dry_run: std::env::var("DRY_RUN")
                .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true")),
            max_deletions: std::env::var("MAX_DELETIONS")
                .ok()
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(DEFAULT_MAX_DELETIONS),
        }
    }

    /// An event can make a run safer, never less safe: `{"dryRun": true}` forces a dry run.
    pub fn for_event(&self, event: &Value) -> Self {
        let requested = event.get("dryRun").and_then(|value| match value {
            Value::Bool(flag) => Some(*flag),
            Value::String(text) => Some(text.eq_ignore_ascii_case("true")),
            _ => None,
        });
        CleanupSettings {
            dry_run: self.dry_run || requested == Some(true),
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub arn: String,
    pub error: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub found: usize,
    pub in_use: usize,
    pub candidates: usize,
    pub deleted: usize,
    pub skipped: usize,
    pub failed: usize,
    pub stacks_deleted: usize,
}

/// The run's report: the function's result, and logged once.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub max_deletions: usize,
    /// Why nothing was deleted although there was something to delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<String>,
    pub counts: Counts,
    pub candidates: Vec<Decision>,
    pub stack_candidates: Vec<StackDecision>,
    pub deleted: Vec<Decision>,
    pub stacks_deleted: Vec<StackDecision>,
    pub skipped: Vec<Decision>,
    pub stacks_skipped: Vec<StackDecision>,
    pub failed: Vec<Failure>,
    pub duration_ms: u64,
}

/// One run: discover, plan, and (unless a guard says no) delete.
pub async fn run(
    clients: &CleanupClients,
    settings: &CleanupSettings,
    own_account: &str,
    give_up_at: Instant,
) -> Result<Report, Error> {
    let started = Instant::now();
    let found = discover::tagged_resources(clients).await?;
    let stacks = discover::stack_states(clients, &found, own_account).await?;
    let plan = plan::plan(&found, &stacks, own_account, OffsetDateTime::now_utc());
    let mut report = Report {
        dry_run: settings.dry_run,
        max_deletions: settings.max_deletions,
        counts: Counts {
            found: found.len(),
            in_use: plan.in_use,
            candidates: plan.deletions(),
            ..Counts::default()
        },
        candidates: plan.delete.clone(),
        stack_candidates: plan.delete_stacks.clone(),
        skipped: plan.skipped.clone(),
        stacks_skipped: plan.stacks_skipped.clone(),
        ..Report::default()
    };
    for decision in &plan.skipped {
        tracing::info!(arn = %decision.resource.arn, reason = %decision.reason, "skipped");
    }
    if settings.dry_run {
        for decision in &plan.delete {
            tracing::info!(arn = %decision.resource.arn, reason = %decision.reason, "would delete (dry run)");
        }
        for decision in &plan.delete_stacks {
            tracing::info!(stack = %decision.stack_id, reason = %decision.reason, "would delete stack (dry run)");
        }
    } else if plan.deletions() > settings.max_deletions {
        let reason = format!(
            "the plan has {} deletions, more than MAX_DELETIONS ({}): nothing was deleted; review the candidates, then raise the cap or delete by hand",
            plan.deletions(),
            settings.max_deletions
        );
        tracing::warn!(%reason, "held back");
        report.held_back = Some(reason);
    } else {
        execute(clients, &plan, give_up_at, &mut report).await;
    }
    report.counts.skipped = report.skipped.len();
    report.counts.deleted = report.deleted.len();
    report.counts.stacks_deleted = report.stacks_deleted.len();
    report.counts.failed = report.failed.len();
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Deletes stacks through CloudFormation, then resources kind by kind in dependency order, a few
/// at a time; one failure does not stop the others.
async fn execute(clients: &CleanupClients, plan: &Plan, give_up_at: Instant, report: &mut Report) {
    for decision in &plan.delete_stacks {
        match delete_stack(clients, &decision.stack_id).await {
            Ok(()) => {
                tracing::info!(stack = %decision.stack_id, reason = %decision.reason, "stack deletion started");
                report.stacks_deleted.push(decision.clone());
            }
            Err(err) => {
                tracing::error!(stack = %decision.stack_id, error = %err, "stack deletion failed");
                report.failed.push(Failure {
                    arn: decision.stack_id.clone(),
                    error: err.to_string(),
                });
            }
        }
    }
    for kind in [
        Kind::Service,
        Kind::Cluster,
        Kind::TaskDefinition,
        Kind::Role,
        Kind::Secret,
    ] {
        let batch: Vec<&Decision> = plan
            .delete
            .iter()
            .filter(|d| d.resource.kind == kind)
            .collect();
        let results: Vec<(Decision, Result<(), Error>)> = futures::stream::iter(batch)
            .map(|decision| async move {
                (
                    decision.clone(),
                    delete_resource(clients, &decision.resource.arn, kind, give_up_at).await,
                )
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (decision, result) in results {
            match result {
                Ok(()) => {
                    tracing::info!(arn = %decision.resource.arn, reason = %decision.reason, "deleted");
                    report.deleted.push(decision);
                }
                Err(err) => {
                    tracing::error!(arn = %decision.resource.arn, error = %err, "delete failed");
                    report.failed.push(Failure {
                        arn: decision.resource.arn.clone(),
                        error: err.to_string(),
                    });
                }
            }
        }
    }
}

async fn delete_stack(clients: &CleanupClients, stack_id: &str) -> Result<(), Error> {
    let region = stack_id.split(':').nth(3).unwrap_or_default();
    clients
        .cloudformation_in(region)
        .delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|err| Error::aws("deleting CloudFormation stack", stack_id, err))?;
    Ok(())
}

/// The slices' own delete code, by ARN.
async fn delete_resource(
    clients: &CleanupClients,
    arn: &str,
    kind: Kind,
    give_up_at: Instant,
) -> Result<(), Error> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    match kind {
        Kind::Service => {
            // service/<cluster>/<name>
            let mut parts = resource.trim_start_matches("service/").splitn(2, '/');
            let (cluster, name) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            service::stop_service(&clients.ecs, cluster, name).await?;
            service::wait_until_gone(&clients.ecs, cluster, name, give_up_at).await
        }
        Kind::Cluster => {
            cluster::delete_when_drained(
                &clients.ecs,
                resource.trim_start_matches("cluster/"),
                give_up_at,
            )
            .await
        }
        Kind::TaskDefinition => match task_definition::find_revision(&clients.ecs, arn).await? {
            Some(revision) => {
                task_definition::delete_revision(&clients.ecs, &revision.definition).await
            }
            None => Ok(()),
        },
        Kind::Role => {
            role::delete_role(
                &clients.iam,
                resource.rsplit('/').next().unwrap_or_default(),
            )
            .await
        }
        Kind::Secret => credentials::delete_secret(&clients.secrets, arn, 0).await,
    }
}

/// Time the run keeps back before the Lambda deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The nightly-cleanup function: built once in `main`, shared by every invocation.
pub struct Cleaner {
    clients: CleanupClients,
    settings: CleanupSettings,
}

impl Cleaner {
    pub fn new(clients: CleanupClients, settings: CleanupSettings) -> Self {
        Cleaner { clients, settings }
    }

    /// Runs once for the schedule's event (or a manual one, `{"dryRun": true}` for a dry run)
    /// and returns the report.
    pub async fn handle(
        &self,
        event: lambda_runtime::LambdaEvent<Value>,
    ) -> Result<Value, lambda_runtime::Error> {
        let identity = crate::protocol::FunctionIdentity::from_function_arn(
            &event.context.invoked_function_arn,
        )
        .ok_or(
            "the function's own ARN could not be read, so its account is unknown: nothing was done",
        )?;
        let settings = self.settings.for_event(&event.payload);
        let deadline = crate::protocol::Deadline::from_epoch_millis(event.context.deadline);
        let give_up_at = deadline
            .at()
            .checked_sub(DEADLINE_MARGIN)
            .unwrap_or_else(Instant::now);
        tracing::info!(
            dry_run = settings.dry_run,
            max_deletions = settings.max_deletions,
            "cleanup started"
        );
        let report = run(&self.clients, &settings, &identity.account, give_up_at).await?;
        let json = serde_json::to_value(&report)?;
        tracing::info!(report = %json, "cleanup report");
        Ok(json)
    }
}
