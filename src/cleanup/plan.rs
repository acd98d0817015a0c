//! The cleanup's decisions, as a pure function of what was found and what the stacks say
//! (docs/design.md#cleanup): easy to read, easy to test. Any doubt is a skip.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::retention::Retention;
use super::ttl::expiry;
use crate::resource_type::ResourceType;
use crate::tags::TAG_KEEP;

/// How old a leaked resource must be before it is deleted: younger ones may belong to an
/// operation CloudFormation has not finished recording.
pub const LEAK_MIN_AGE: time::Duration = time::Duration::HOUR;

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
pub struct LiveStack {
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
pub enum StackState {
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
pub struct Plan {
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
pub fn plan(
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
    let account = resource.stack_id.split(':').nth(4).unwrap_or_default();
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
    physical_id == arn || arn.rsplit('/').next() == Some(physical_id)
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
mod tests {
    use super::super::retention::Keeps;
    use super::*;
    use time::macros::datetime;

    const ACCOUNT: &str = "123456789012";
    const NOW: OffsetDateTime = datetime!(2026-11-26 03:00 UTC);

    fn stack(name: &str) -> String {
        format!("arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/1")
    }

    fn found(kind: ResourceType, arn: &str, stack_name: &str, age_hours: i64) -> Found {
        Found {
            arn: arn.into(),
            kind,
            stack_id: stack(stack_name),
            logical_id: "Thing".into(),
            created_at: Some(NOW - time::Duration::hours(age_hours)),
            keep: false,
        }
    }

    /// A template that holds `Thing` with the given policies.
    fn keeping(keeps: Keeps) -> Retention {
        Ok(BTreeMap::from([("Thing".to_owned(), keeps)]))
    }

    fn gone() -> StackState {
        StackState::Gone {
            retention: keeping(Keeps::default()),
        }
    }

    fn live(holds: &[(&str, &str)], tags: &[(&str, &str)]) -> LiveStack {
        LiveStack {
            status: "UPDATE_COMPLETE".into(),
            holds: holds
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            created_at: Some(NOW - time::Duration::hours(48)),
            termination_protection: false,
            nested: false,
            retention: keeping(Keeps::default()),
        }
    }

    fn stable(holds: &[(&str, &str)], tags: &[(&str, &str)]) -> StackState {
        StackState::Stable(live(holds, tags))
    }

    fn reasons(plan: &Plan) -> Vec<&str> {
        plan.skipped.iter().map(|d| d.reason.as_str()).collect()
    }

    #[test]
    fn orphans_of_deleted_stacks_are_deleted_in_dependency_order() {
        let resources = vec![
            found(ResourceType::RegistryCredentials, "arn:secret", "gone", 2),
            found(ResourceType::FargateCluster, "arn:cluster", "gone", 2),
            found(ResourceType::FargateService, "arn:service", "gone", 2),
            found(ResourceType::TaskExecutionRole, "arn:role", "gone", 2),
        ];
        let stacks = BTreeMap::from([(stack("gone"), gone())]);
        let plan = plan(&resources, &stacks, ACCOUNT, NOW);
        let order: Vec<ResourceType> = plan.delete.iter().map(|d| d.resource.kind).collect();
        assert_eq!(
            order,
            vec![
                ResourceType::FargateService,
                ResourceType::FargateCluster,
                ResourceType::TaskExecutionRole,
                ResourceType::RegistryCredentials
            ]
        );
        assert_eq!(plan.delete[0].reason, "orphan: its stack is deleted");
    }

    #[test]
    fn what_a_deleted_stacks_template_kept_or_no_longer_held_stays() {
        let resources = vec![
            found(ResourceType::RegistryCredentials, "arn:kept", "retained", 2),
            found(
                ResourceType::RegistryCredentials,
                "arn:kept-on-replace",
                "replaced",
                2,
            ),
            found(
                ResourceType::RegistryCredentials,
                "arn:removed",
                "removed",
                2,
            ),
            found(
                ResourceType::RegistryCredentials,
                "arn:unreadable",
                "unreadable",
                2,
            ),
        ];
        let stacks = BTreeMap::from([
            (
                stack("retained"),
                StackState::Gone {
                    retention: keeping(Keeps {
                        on_delete: true,
                        on_replace: false,
                    }),
                },
            ),
            (
                stack("replaced"),
                StackState::Gone {
                    retention: keeping(Keeps {
                        on_delete: false,
                        on_replace: true,
                    }),
                },
            ),
            (
                stack("removed"),
                StackState::Gone {
                    retention: Ok(BTreeMap::new()),
                },
            ),
            (
                stack("unreadable"),
                StackState::Gone {
                    retention: Err("its template could not be read: AccessDenied".into()),
                },
            ),
        ]);
        let plan = plan(&resources, &stacks, ACCOUNT, NOW);
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
        assert_eq!(
            reasons(&plan),
            vec![
                "its stack is deleted, and its template keeps Thing (DeletionPolicy or UpdateReplacePolicy Retain)",
                "its stack is deleted, and its template keeps Thing (DeletionPolicy or UpdateReplacePolicy Retain)",
                "its stack is deleted, but its last template no longer held Thing: removed earlier, perhaps kept on purpose",
                "its stack is deleted, but its template could not be read: AccessDenied: what it kept cannot be told",
            ]
        );
    }

    #[test]
    fn a_resource_its_live_stack_holds_is_in_use() {
        let resources = vec![found(
            ResourceType::FargateCluster,
            "arn:cluster",
            "live",
            100,
        )];
        let stacks = BTreeMap::from([(stack("live"), stable(&[("Thing", "arn:cluster")], &[]))]);
        let plan = plan(&resources, &stacks, ACCOUNT, NOW);
        assert!(plan.delete.is_empty() && plan.skipped.is_empty());
        assert_eq!(plan.in_use, 1);
    }

    #[test]
    fn a_native_resource_held_by_name_is_in_use() {
        let resources = vec![found(
            ResourceType::FargateCluster,
            "arn:aws:ecs:us-east-1:123456789012:cluster/live",
            "live",
            100,
        )];
        let stacks = BTreeMap::from([(stack("live"), stable(&[("Thing", "live")], &[]))]);
        assert_eq!(plan(&resources, &stacks, ACCOUNT, NOW).in_use, 1);
    }

    #[test]
    fn a_leak_is_deleted_only_once_it_is_an_hour_old() {
        let old = found(ResourceType::FargateCluster, "arn:old-cluster", "live", 2);
        let young = Found {
            arn: "arn:young".into(),
            created_at: Some(NOW - time::Duration::minutes(10)),
            ..old.clone()
        };
        let stacks =
            BTreeMap::from([(stack("live"), stable(&[("Thing", "arn:new-cluster")], &[]))]);
        let plan = plan(&[old, young], &stacks, ACCOUNT, NOW);
        assert_eq!(plan.delete.len(), 1);
        assert_eq!(
            plan.delete[0].reason,
            "leaked: the stack's Thing is now arn:new-cluster"
        );
        assert_eq!(
            reasons(&plan),
            vec!["replaced in its stack, but younger than an hour"]
        );
    }

    #[test]
    fn a_logical_id_the_live_stack_no_longer_holds_may_have_been_retained() {
        let removed = found(
            ResourceType::RegistryCredentials,
            "arn:removed",
            "live",
            500,
        );
        let stacks = BTreeMap::from([(stack("live"), stable(&[("Other", "arn:x")], &[]))]);
        let plan = plan(&[removed], &stacks, ACCOUNT, NOW);
        assert!(plan.delete.is_empty());
        assert_eq!(
            reasons(&plan),
            vec![
                "its stack no longer holds Thing: it may have been removed with DeletionPolicy Retain"
            ]
        );
    }

    #[test]
    fn a_replaced_resource_the_template_keeps_is_no_leak() {
        let replaced = found(ResourceType::RegistryCredentials, "arn:old", "live", 500);
        let mut stack_state = live(&[("Thing", "arn:new")], &[]);
        stack_state.retention = keeping(Keeps {
            on_delete: false,
            on_replace: true,
        });
        let stacks = BTreeMap::from([(stack("live"), StackState::Stable(stack_state))]);
        let plan = plan(&[replaced], &stacks, ACCOUNT, NOW);
        assert!(plan.delete.is_empty());
        assert_eq!(
            reasons(&plan),
            vec![
                "replaced in its stack, and its template keeps replaced Thing (UpdateReplacePolicy Retain)"
            ]
        );
    }

    #[test]
    fn doubt_keep_tags_and_other_accounts_mean_skip() {
        let mut kept = found(ResourceType::RegistryCredentials, "arn:kept", "gone", 5);
        kept.keep = true;
        let mut foreign = found(ResourceType::RegistryCredentials, "arn:foreign", "gone", 5);
        foreign.stack_id = "arn:aws:cloudformation:us-east-1:999999999999:stack/gone/1".into();
        let busy = found(ResourceType::RegistryCredentials, "arn:busy", "busy", 5);
        let unknown = found(
            ResourceType::RegistryCredentials,
            "arn:unknown",
            "denied",
            5,
        );
        let never_seen = found(ResourceType::RegistryCredentials, "arn:never", "never", 5);
        let stacks = BTreeMap::from([
            (stack("gone"), gone()),
            (stack("busy"), StackState::Busy("UPDATE_IN_PROGRESS".into())),
            (stack("denied"), StackState::Unknown("AccessDenied".into())),
            (
                stack("never"),
                StackState::Unknown("CloudFormation has no record of it".into()),
            ),
        ]);
        let plan = plan(
            &[kept, foreign, busy, unknown, never_seen],
            &stacks,
            ACCOUNT,
            NOW,
        );
        assert!(plan.delete.is_empty());
        assert_eq!(
            reasons(&plan),
            vec![
                "tagged ecs-private-auth:keep",
                "its stack is in another account (999999999999)",
                "its stack is UPDATE_IN_PROGRESS",
                "its stack could not be read: AccessDenied",
                "its stack could not be read: CloudFormation has no record of it",
            ]
        );
    }

    #[test]
    fn expired_root_stacks_are_deleted_unless_protected_kept_or_nested() {
        let mut stacks = BTreeMap::from([
            (
                stack("expired"),
                stable(
                    &[],
                    &[("ecs-private-auth:expires-at", "2026-11-25T00:00:00Z")],
                ),
            ),
            (
                stack("ttl"),
                stable(&[], &[("ecs-private-auth:ttl-hours", "24")]),
            ),
            (
                stack("fresh"),
                stable(&[], &[("ecs-private-auth:ttl-hours", "72")]),
            ),
            (stack("untagged"), stable(&[], &[])),
            (stack("rolled-back"), StackState::RolledBack(live(&[], &[]))),
            (
                stack("kept"),
                stable(
                    &[],
                    &[
                        ("ecs-private-auth:ttl-hours", "1"),
                        ("Ecs-Private-Auth:Keep", "True"),
                    ],
                ),
            ),
            (
                stack("huge"),
                stable(&[], &[("ecs-private-auth:ttl-hours", "999999999")]),
            ),
        ]);
        let mut protected = live(
            &[],
            &[("ecs-private-auth:expires-at", "2026-01-01T00:00:00Z")],
        );
        protected.termination_protection = true;
        stacks.insert(stack("protected"), StackState::Stable(protected));
        let mut nested = live(&[], &[("ecs-private-auth:ttl-hours", "1")]);
        nested.nested = true;
        stacks.insert(stack("nested"), StackState::Stable(nested));

        let plan = plan(&[], &stacks, ACCOUNT, NOW);

        let deleted: Vec<&str> = plan
            .delete_stacks
            .iter()
            .map(|d| d.stack_id.as_str())
            .collect();
        assert_eq!(
            deleted,
            vec![
                stack("expired").as_str(),
                stack("rolled-back").as_str(),
                stack("ttl").as_str()
            ]
        );
        let skipped: BTreeMap<&str, &str> = plan
            .stacks_skipped
            .iter()
            .map(|d| (d.stack_id.rsplit('/').nth(1).unwrap(), d.reason.as_str()))
            .collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped["protected"].ends_with("termination protection is on"));
        assert!(skipped["kept"].ends_with("it is tagged ecs-private-auth:keep"));
        assert!(skipped["nested"].contains("only root stacks are deleted"));
        assert!(skipped["huge"].contains("is more than"));
    }
}
