//! nightly-cleanup: the lab's last step, "Clean up! Don't forget to delete the resources", made
//! automatic and safe (docs/design.md#cleanup). Only resources tagged `ecs-private-auth:stack-id`
//! are ever considered; their stacks — and what the stacks' templates keep — decide what is
//! garbage (see [`plan`]); the resource types' own delete code removes it, within the run's time.

pub mod discover;
pub mod plan;
pub mod retention;
pub mod ttl;

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::Error;
use crate::arn::Arn;
use crate::aws::Clients;
use crate::resource_type::ResourceType;
use crate::wait::WaitError;
use plan::{Decision, Plan, StackDecision};

/// Deletions in flight at once.
pub(crate) const CONCURRENCY: usize = 4;
/// Default cap on deletions per run.
pub(crate) const DEFAULT_MAX_DELETIONS: usize = 100;
/// Default recovery window of a deleted secret: a mistake can be undone for a week.
pub(crate) const DEFAULT_SECRET_RECOVERY_DAYS: i64 = 7;

/// `DRY_RUN`, `MAX_DELETIONS` and `SECRET_RECOVERY_DAYS`, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupSettings {
    pub dry_run: bool,
    pub max_deletions: usize,
    /// Days a deleted secret can still be restored (7 to 30); never forced.
    pub secret_recovery_days: i64,
    /// `LOCAL_ACCOUNT_ID`: the identity under a local Lambda emulator (see `Settings`).
    pub emulated_identity: Option<crate::protocol::EmulatedIdentity>,
}

impl Default for CleanupSettings {
    fn default() -> Self {
        CleanupSettings {
            dry_run: false,
            max_deletions: DEFAULT_MAX_DELETIONS,
            secret_recovery_days: DEFAULT_SECRET_RECOVERY_DAYS,
            emulated_identity: None,
        }
    }
}

impl CleanupSettings {
    pub fn from_env() -> Self {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|value| value.trim().parse::<i64>().ok())
        };
        CleanupSettings {
            dry_run: std::env::var("DRY_RUN")
                .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true")),
            max_deletions: number("MAX_DELETIONS")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(DEFAULT_MAX_DELETIONS),
            // Secrets Manager's own bounds; anything else falls back to the safe default.
            secret_recovery_days: number("SECRET_RECOVERY_DAYS")
                .filter(|days| (7..=30).contains(days))
                .unwrap_or(DEFAULT_SECRET_RECOVERY_DAYS),
            emulated_identity: crate::settings::Settings::from_env().emulated_identity,
        }
    }

    /// An event can make a run safer, never less safe: `{"dryRun": true}` forces a dry run.
    pub(crate) fn for_event(&self, event: &Value) -> Self {
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

/// Something the run did not get to: a list call that failed, or a deletion the run's time did
/// not allow. It is looked at again the next night.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotReached {
    pub what: String,
    pub reason: String,
}

impl NotReached {
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        NotReached {
            what: what.into(),
            reason: reason.into(),
        }
    }
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
    pub not_reached: usize,
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
    pub not_reached: Vec<NotReached>,
    pub duration_ms: u64,
}

/// One run: discover, plan, and (unless a guard says no) delete, all before `give_up_at`. The
/// report always comes back, naming what was not reached.
pub async fn run(
    clients: &Clients,
    settings: &CleanupSettings,
    own_account: &str,
    give_up_at: Instant,
) -> Report {
    let started = Instant::now();
    let mut report = Report {
        dry_run: settings.dry_run,
        max_deletions: settings.max_deletions,
        ..Report::default()
    };
    let discovery = async {
        let found = discover::tagged_resources(clients).await;
        let stacks = discover::stack_states(clients, &found.items, own_account).await;
        (found, stacks)
    };
    match tokio::time::timeout_at(give_up_at, discovery).await {
        Ok((found, stacks)) => {
            report.not_reached.extend(found.not_reached);
            report.not_reached.extend(stacks.not_reached);
            let plan = plan::plan(
                &found.items,
                &stacks.items,
                own_account,
                OffsetDateTime::now_utc(),
            );
            report.counts.found = found.items.len();
            act_on(clients, settings, &plan, give_up_at, &mut report).await;
        }
        Err(_) => report.not_reached.push(NotReached::new(
            "everything",
            "the run's time ran out while listing resources and stacks",
        )),
    }
    report.counts.skipped = report.skipped.len();
    report.counts.deleted = report.deleted.len();
    report.counts.stacks_deleted = report.stacks_deleted.len();
    report.counts.failed = report.failed.len();
    report.counts.not_reached = report.not_reached.len();
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// Reports the plan, and carries it out unless this is a dry run or the plan is over the cap.
async fn act_on(
    clients: &Clients,
    settings: &CleanupSettings,
    plan: &Plan,
    give_up_at: Instant,
    report: &mut Report,
) {
    report.counts.in_use = plan.in_use;
    report.counts.candidates = plan.deletions();
    report.candidates = plan.delete.clone();
    report.stack_candidates = plan.delete_stacks.clone();
    report.skipped = plan.skipped.clone();
    report.stacks_skipped = plan.stacks_skipped.clone();
    for decision in &plan.skipped {
        tracing::info!(arn = %decision.resource.arn, reason = %decision.reason, "skipped");
    }
    for decision in &plan.stacks_skipped {
        tracing::info!(stack = %decision.stack_id, reason = %decision.reason, "stack skipped");
    }
    if settings.dry_run {
        for decision in &plan.delete {
            tracing::info!(
                arn = %decision.resource.arn,
                reason = %decision.reason,
                "would delete (dry run)",
            );
        }
        for decision in &plan.delete_stacks {
            tracing::info!(
                stack = %decision.stack_id,
                reason = %decision.reason,
                "would delete stack (dry run)",
            );
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
        execute(clients, settings, plan, give_up_at, report).await;
    }
}

/// The longest one deletion of a kind may take: a service is scaled down, deleted and waited on
/// until it has drained; a cluster is retried while services drain out of it.
fn budget(kind: ResourceType) -> Duration {
    match kind {
        ResourceType::FargateService => Duration::from_secs(120),
        ResourceType::FargateCluster => Duration::from_secs(60),
        ResourceType::TaskDefinition
        | ResourceType::TaskExecutionRole
        | ResourceType::RegistryCredentials => Duration::from_secs(20),
    }
}

/// How long a stack's DeleteStack call may take.
const STACK_DELETE_BUDGET: Duration = Duration::from_secs(20);

/// Deletes stacks through CloudFormation, then resources kind by kind in dependency order, a few
/// at a time. A deletion starts only when its whole budget fits before `give_up_at`; one failure
/// does not stop the others.
async fn execute(
    clients: &Clients,
    settings: &CleanupSettings,
    plan: &Plan,
    give_up_at: Instant,
    report: &mut Report,
) {
    for decision in &plan.delete_stacks {
        if Instant::now() + STACK_DELETE_BUDGET > give_up_at {
            report.not_reached.push(not_started(&decision.stack_id));
            continue;
        }
        let deleted = tokio::time::timeout(
            STACK_DELETE_BUDGET,
            delete_stack(clients, &decision.stack_id),
        )
        .await
        .unwrap_or_else(|_| Err(timed_out(STACK_DELETE_BUDGET)));
        match deleted {
            Ok(()) => {
                tracing::info!(
                    stack = %decision.stack_id,
                    reason = %decision.reason,
                    "stack deletion started",
                );
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
    for kind in ResourceType::DELETION_ORDER {
        let batch = plan.delete.iter().filter(|d| d.resource.kind == kind);
        let outcomes: Vec<(Decision, Option<Result<(), Error>>)> = futures::stream::iter(batch)
            .map(|decision| async move {
                let budget = budget(kind);
                // Checked as the deletion starts, not when the batch does.
                if Instant::now() + budget > give_up_at {
                    return (decision.clone(), None);
                }
                let until = Instant::now() + budget;
                let deletion = kind.remove_leftover(
                    clients,
                    &decision.resource.arn,
                    until,
                    settings.secret_recovery_days,
                );
                let deleted = tokio::time::timeout_at(until, deletion)
                    .await
                    .unwrap_or_else(|_| Err(timed_out(budget)));
                (decision.clone(), Some(deleted))
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (decision, outcome) in outcomes {
            match outcome {
                None => report.not_reached.push(not_started(&decision.resource.arn)),
                Some(Ok(())) => {
                    tracing::info!(
                        arn = %decision.resource.arn,
                        reason = %decision.reason,
                        "deleted",
                    );
                    report.deleted.push(decision);
                }
                Some(Err(err)) => {
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

fn not_started(what: &str) -> NotReached {
    NotReached::new(
        what,
        "not started: the run's time was running out; the next run will look again",
    )
}

fn timed_out(budget: Duration) -> Error {
    Error::Wait(WaitError::TimedOut {
        waiting_for: "for the deletion to finish".into(),
        seconds: budget.as_secs(),
    })
}

async fn delete_stack(clients: &Clients, stack_id: &str) -> Result<(), Error> {
    let region = Arn::parse(stack_id)
        .map(|stack| stack.region)
        .unwrap_or_default();
    clients
        .cloudformation_in(&region)
        .delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|err| Error::aws("deleting CloudFormation stack", stack_id, err))?;
    Ok(())
}

/// Time the run keeps back before the Lambda deadline.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The nightly-cleanup function: built once in `main`, shared by every invocation.
pub struct Cleaner {
    clients: Clients,
    settings: CleanupSettings,
}

impl Cleaner {
    pub fn new(clients: Clients, settings: CleanupSettings) -> Self {
        Cleaner { clients, settings }
    }

    /// Runs once for the schedule's event (or a manual one, `{"dryRun": true}` for a dry run)
    /// and returns the report.
    pub async fn handle(
        &self,
        event: lambda_runtime::LambdaEvent<Value>,
    ) -> Result<Value, lambda_runtime::Error> {
        use tracing::Instrument;
        let span = crate::protocol::pipeline::InvocationIds::of(&event.context).span();
        // Boxed: the run's future is deep enough to strain the compiler's layout of the binary.
        Box::pin(self.handle_invocation(event))
            .instrument(span)
            .await
    }

    async fn handle_invocation(
        &self,
        event: lambda_runtime::LambdaEvent<Value>,
    ) -> Result<Value, lambda_runtime::Error> {
        let identity = crate::protocol::FunctionIdentity::of_invocation(
            &event.context.invoked_function_arn,
            self.settings.emulated_identity.as_ref(),
        )
        .ok_or(
            "the function's own ARN could not be read, so its account is unknown: nothing was done (under a local emulator, set LOCAL_ACCOUNT_ID and AWS_REGION)",
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
        let report = run(&self.clients, &settings, &identity.account, give_up_at).await;
        let json = serde_json::to_value(&report)?;
        let counts = &report.counts;
        // The counts as top-level fields, for CloudWatch Logs Insights to sum.
        tracing::info!(
            dry_run = report.dry_run,
            found = counts.found,
            in_use = counts.in_use,
            candidates = counts.candidates,
            deleted = counts.deleted,
            stacks_deleted = counts.stacks_deleted,
            skipped = counts.skipped,
            failed = counts.failed,
            not_reached = counts.not_reached,
            duration_ms = report.duration_ms,
            report = %json,
            "cleanup report"
        );
        Ok(json)
    }
}
