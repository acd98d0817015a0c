//! The cleanup's decisions, as a pure function of what was found and what the stacks say
//! (docs/design.md#cleanup): easy to read, easy to test. Any doubt is a skip.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::retention::Retention;
use super::ttl::expiry;
use crate::arn::Arn;
use crate::resource_type::ResourceType;
use crate::tags::TAG_KEEP;

/// How old a leaked resource must be before it is deleted: younger ones may belong to an
/// operation CloudFormation has not finished recording.
pub(crate) const LEAK_MIN_AGE: time::Duration = time::Duration::HOUR;

/// A resource carrying the product's stack-id tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub arn: String,
    pub kind: ResourceType,
    pub stack_id: String,
    pub logical_id: String,
    #[serde(skip)]
    pub created_at: Option<OffsetDateTime>,
    pub keep: bool,
}

/// What the cleanup learned of a stack that still exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveStack {
    pub status: String,
    /// Logical id → physical id of every resource the stack holds.
    pub holds: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_at: Option<OffsetDateTime>,
    pub termination_protection: bool,
    /// It has a parent: only root stacks are deleted whole.
    pub nested: bool,
    /// What its template keeps.
    pub retention: Retention,
}

/// What a stack says, as far as the cleanup could learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StackState {
    /// DELETE_COMPLETE, with what its last template kept.
    Gone { retention: Retention },
    /// A stable `*_COMPLETE` state.
    Stable(LiveStack),
    /// ROLLBACK_COMPLETE: a failed first create, to be deleted as a whole.
    RolledBack(LiveStack),
    /// In progress, failed, or anything else that is no time to touch it.
    Busy(String),
    /// The lookup failed, or CloudFormation has no record of the stack: doubt.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    #[serde(flatten)]
    pub resource: Found,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackDecision {
    pub stack_id: String,
    pub reason: String,
}

/// Everything the run intends, before the guards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Plan {
    /// Resources to delete directly, in deletion order.
    pub delete: Vec<Decision>,
    /// Stacks to delete through CloudFormation.
    pub delete_stacks: Vec<StackDecision>,
    pub skipped: Vec<Decision>,
    /// Stacks that qualify but are protected or undecidable.
    pub stacks_skipped: Vec<StackDecision>,
    /// Resources in use by a live stack: found, left alone.
    pub in_use: usize,
}

impl Plan {
    pub fn deletions(&self) -> usize {
        self.delete.len() + self.delete_stacks.len()
    }
}

/// Decides for every found resource and every stack of interest.
pub(crate) fn plan(
    found: &[Found],
    stacks: &BTreeMap<String, StackState>,
    own_account: &str,
    now: OffsetDateTime,
) -> Plan {
    let mut plan = Plan::default();
    for resource in found {
        let decision = |reason| Decision {
            resource: resource.clone(),
            reason,
        };
        match decide(resource, stacks, own_account, now) {
            Verdict::Delete(reason) => plan.delete.push(decision(reason)),
            Verdict::Skip(reason) => plan.skipped.push(decision(reason)),
            Verdict::InUse => plan.in_use += 1,
            // The whole stack goes; CloudFormation deletes the resource with it.
            Verdict::WithItsStack => {}
        }
    }
    plan.delete.sort_by(|a, b| {
        let rank = |d: &Decision| (d.resource.kind.deletion_rank(), d.resource.arn.clone());
        rank(a).cmp(&rank(b))
    });
    for (stack_id, state) in stacks {
        let decision = |reason| StackDecision {
            stack_id: stack_id.clone(),
            reason,
        };
        match decide_stack(state, now) {
            Some(Ok(reason)) => plan.delete_stacks.push(decision(reason)),
            Some(Err(reason)) => plan.stacks_skipped.push(decision(reason)),
            None => {}
        }
    }
    plan
}

enum Verdict {
    Delete(String),
    Skip(String),
    InUse,
    WithItsStack,
}

fn decide(
    resource: &Found,
    stacks: &BTreeMap<String, StackState>,
    own_account: &str,
    now: OffsetDateTime,
) -> Verdict {
    if resource.keep {
        return Verdict::Skip(format!("tagged {TAG_KEEP}"));
    }
    let account = Arn::parse(&resource.stack_id)
        .map(|stack| stack.account)
        .unwrap_or_default();
    if account != own_account {
        return Verdict::Skip(format!("its stack is in another account ({account})"));
    }
    match stacks.get(&resource.stack_id) {
        None => Verdict::Skip("its stack could not be looked up".into()),
        Some(StackState::Unknown(reason)) => {
            Verdict::Skip(format!("its stack could not be read: {reason}"))
        }
        Some(StackState::Busy(status)) => Verdict::Skip(format!("its stack is {status}")),
        Some(StackState::RolledBack(stack)) => match guard(stack) {
            Ok(()) => Verdict::WithItsStack,
            Err(reason) => Verdict::Skip(format!(
                "its stack is ROLLBACK_COMPLETE and stays: {reason}"
            )),
        },
        Some(StackState::Gone { retention }) => orphan(resource, retention),
        Some(StackState::Stable(stack)) => in_live_stack(resource, stack, now),
    }
}

/// A resource of a deleted stack is garbage only when the stack's last template held its logical
/// id and did not keep it.
fn orphan(resource: &Found, retention: &Retention) -> Verdict {
    let logical_id = &resource.logical_id;
    let keeps = match retention {
        Ok(keeps) => keeps,
        Err(reason) => {
            return Verdict::Skip(format!(
                "its stack is deleted, but {reason}: what it kept cannot be told"
            ));
        }
    };
    match keeps.get(logical_id) {
        None => Verdict::Skip(format!(
            "its stack is deleted, but its last template no longer held {logical_id}: removed earlier, perhaps kept on purpose"
        )),
        Some(kept) if kept.on_delete || kept.on_replace => Verdict::Skip(format!(
            "its stack is deleted, and its template keeps {logical_id} (DeletionPolicy or UpdateReplacePolicy Retain)"
        )),
        Some(_) => Verdict::Delete("orphan: its stack is deleted".into()),
    }
}

/// A resource of a live, stable stack is garbage only when the stack holds its logical id with
/// another resource (a leak from a replacement), the template does not keep replaced ones, and it
/// is old enough.
fn in_live_stack(resource: &Found, stack: &LiveStack, now: OffsetDateTime) -> Verdict {
    let logical_id = &resource.logical_id;
    let current = match stack.holds.get(logical_id) {
        Some(physical) if names_same_resource(physical, &resource.arn) => return Verdict::InUse,
        Some(physical) => physical,
        None => {
            return Verdict::Skip(format!(
                "its stack no longer holds {logical_id}: it may have been removed with DeletionPolicy Retain"
            ));
        }
    };
    match &stack.retention {
        Err(reason) => {
            return Verdict::Skip(format!(
                "replaced in its stack, but {reason}: an UpdateReplacePolicy Retain cannot be ruled out"
            ));
        }
        Ok(keeps) if keeps.get(logical_id).is_none_or(|kept| kept.on_replace) => {
            return Verdict::Skip(format!(
                "replaced in its stack, and its template keeps replaced {logical_id} (UpdateReplacePolicy Retain)"
            ));
        }
        Ok(_) => {}
    }
    match resource.created_at.map(|created| now - created) {
        Some(age) if age >= LEAK_MIN_AGE => {
            Verdict::Delete(format!("leaked: the stack's {logical_id} is now {current}"))
        }
        Some(_) => Verdict::Skip("replaced in its stack, but younger than an hour".into()),
        None => Verdict::Skip("replaced in its stack, but its age is unknown".into()),
    }
}

/// Whether a stack's physical id names the resource with this ARN: our own resource types use
/// the ARN; native ones (AWS::ECS::Cluster, AWS::IAM::Role) use the name. Matching either is the
/// safe side: a resource in use is never garbage.
fn names_same_resource(physical_id: &str, arn: &str) -> bool {
    physical_id == arn || Arn::parse(arn).is_ok_and(|arn| arn.resource_name() == physical_id)
}

/// `Some(Ok(reason))` to delete the stack, `Some(Err(reason))` when it qualifies but is left,
/// `None` when it does not qualify.
fn decide_stack(state: &StackState, now: OffsetDateTime) -> Option<Result<String, String>> {
    match state {
        StackState::RolledBack(stack) => Some(
            guard(stack)
                .map(|()| "ROLLBACK_COMPLETE: a failed first create".to_owned())
                .map_err(|reason| format!("ROLLBACK_COMPLETE, but {reason}")),
        ),
        StackState::Stable(stack) => {
            let expiry = match expiry(&stack.tags, stack.created_at)? {
                Ok(expiry) => expiry,
                Err(reason) => return Some(Err(reason)),
            };
            if expiry > now {
                return None;
            }
            let at = expiry.format(&Rfc3339).unwrap_or_default();
            Some(
                guard(stack)
                    .map(|()| format!("expired at {at}"))
                    .map_err(|reason| format!("expired at {at}, but {reason}")),
            )
        }
        _ => None,
    }
}

/// What keeps a whole stack from being deleted even when it qualifies.
fn guard(stack: &LiveStack) -> Result<(), String> {
    if stack.nested {
        Err("it is a nested stack: only root stacks are deleted, with their nested stacks".into())
    } else if stack
        .tags
        .keys()
        .any(|key| key.eq_ignore_ascii_case(TAG_KEEP))
    {
        Err(format!("it is tagged {TAG_KEEP}"))
    } else if stack.termination_protection {
        Err("termination protection is on".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
