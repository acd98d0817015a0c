//! The cleanup's decisions, as a pure function of what was found and what the stacks say: easy to
//! read, easy to test. Any doubt is a skip.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How old a leaked resource must be before it is deleted: younger ones may belong to an
/// operation CloudFormation has not finished recording.
pub const LEAK_MIN_AGE: time::Duration = time::Duration::HOUR;

/// Our resource kinds, in the order they are deleted (dependents first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Service,
    Cluster,
    TaskDefinition,
    Role,
    Secret,
}

/// A resource carrying the product's stack-id tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub arn: String,
    pub kind: Kind,
    pub stack_id: String,
    pub logical_id: String,
    #[serde(skip)]
    pub created_at: Option<OffsetDateTime>,
    pub keep: bool,
}

/// What a stack says, as far as the cleanup could learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// DELETE_COMPLETE, or no longer known at all by its unique id.
    Gone,
    /// A stable `*_COMPLETE` state; `holds` maps logical ids to physical ids.
    Stable {
        status: String,
        holds: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
        created_at: Option<OffsetDateTime>,
        termination_protection: bool,
    },
    /// ROLLBACK_COMPLETE: a failed first create, to be deleted as a whole.
    RolledBack { termination_protection: bool },
    /// In progress, failed, or anything else that is no time to touch it.
    Busy(String),
    /// The lookup failed (access denied, throttling that did not clear, …).
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
        match decide(resource, stacks, own_account, now) {
            Verdict::Delete(reason) => plan.delete.push(Decision {
                resource: resource.clone(),
                reason,
            }),
            Verdict::Skip(reason) => plan.skipped.push(Decision {
                resource: resource.clone(),
                reason,
            }),
            Verdict::InUse => plan.in_use += 1,
            // The whole stack goes; CloudFormation deletes the resource with it.
            Verdict::WithItsStack => {}
        }
    }
    plan.delete.sort_by(|a, b| {
        (a.resource.kind, &a.resource.arn).cmp(&(b.resource.kind, &b.resource.arn))
    });
    for (stack_id, state) in stacks {
        if let Some(decision) = decide_stack(stack_id, state, now) {
            match decision {
                Ok(reason) => plan.delete_stacks.push(StackDecision {
                    stack_id: stack_id.clone(),
                    reason,
                }),
                Err(reason) => plan.stacks_skipped.push(StackDecision {
                    stack_id: stack_id.clone(),
                    reason,
                }),
            }
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
        return Verdict::Skip("tagged ecs-private-auth:keep".into());
    }
    let account = resource.stack_id.split(':').nth(4).unwrap_or_default();
    if account != own_account {
        return Verdict::Skip(format!("its stack is in another account ({account})"));
    }
    match stacks.get(&resource.stack_id) {
        None => Verdict::Skip("its stack could not be looked up".into()),
        Some(StackState::Gone) => Verdict::Delete("orphan: its stack is deleted".into()),
        Some(StackState::Unknown(reason)) => {
            Verdict::Skip(format!("its stack could not be read: {reason}"))
        }
        Some(StackState::Busy(status)) => Verdict::Skip(format!("its stack is {status}")),
        Some(StackState::RolledBack { .. }) => Verdict::WithItsStack,
        Some(StackState::Stable { holds, .. }) => match holds.get(&resource.logical_id) {
            Some(physical) if names_same_resource(physical, &resource.arn) => Verdict::InUse,
            other => {
                let age = resource.created_at.map(|created| now - created);
                let now_holds = other.map_or("nothing".to_owned(), |id| id.clone());
                match age {
                    Some(age) if age >= LEAK_MIN_AGE => Verdict::Delete(format!(
                        "leaked: the stack's {} is now {now_holds}",
                        resource.logical_id
                    )),
                    Some(_) => {
                        Verdict::Skip("not held by its stack, but younger than an hour".into())
                    }
                    None => Verdict::Skip("not held by its stack, and its age is unknown".into()),
                }
            }
        },
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
fn decide_stack(
    stack_id: &str,
    state: &StackState,
    now: OffsetDateTime,
) -> Option<Result<String, String>> {
    let _ = stack_id;
    match state {
        StackState::RolledBack {
            termination_protection: true,
        } => Some(Err(
            "ROLLBACK_COMPLETE, but termination protection is on".into()
        )),
        StackState::RolledBack { .. } => {
            Some(Ok("ROLLBACK_COMPLETE: a failed first create".into()))
        }
        StackState::Stable {
            tags,
            created_at,
            termination_protection,
            ..
        } => {
            let expiry = match expiry(tags, *created_at) {
                None => return None,
                Some(Err(reason)) => return Some(Err(reason)),
                Some(Ok(expiry)) => expiry,
            };
            if expiry > now {
                return None;
            }
            let at = expiry.format(&Rfc3339).unwrap_or_default();
            if *termination_protection {
                Some(Err(format!(
                    "expired at {at}, but termination protection is on"
                )))
            } else {
                Some(Ok(format!("expired at {at}")))
            }
        }
        _ => None,
    }
}

/// When a stack expires, from its `ecs-private-auth:expires-at` (RFC 3339) or
/// `ecs-private-auth:ttl-hours` (from its creation) tag. `None` when it has neither.
pub fn expiry(
    tags: &BTreeMap<String, String>,
    created_at: Option<OffsetDateTime>,
) -> Option<Result<OffsetDateTime, String>> {
    if let Some(at) = tags.get(crate::naming::TAG_EXPIRES_AT) {
        return Some(
            OffsetDateTime::parse(at.trim(), &Rfc3339)
                .map_err(|_| format!("{} is not an RFC 3339 time", crate::naming::TAG_EXPIRES_AT)),
        );
    }
    let hours = tags.get(crate::naming::TAG_TTL_HOURS)?;
    let Ok(hours) = hours.trim().parse::<f64>() else {
        return Some(Err(format!(
            "{} is not a number",
            crate::naming::TAG_TTL_HOURS
        )));
    };
    if !hours.is_finite() || hours < 0.0 {
        return Some(Err(format!(
            "{} is not a positive number",
            crate::naming::TAG_TTL_HOURS
        )));
    }
    let Some(created) = created_at else {
        return Some(Err("the stack's creation time is unknown".into()));
    };
    Some(Ok(created + time::Duration::seconds_f64(hours * 3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ACCOUNT: &str = "123456789012";
    const NOW: OffsetDateTime = datetime!(2026-11-26 03:00 UTC);

    fn stack(name: &str) -> String {
        format!("arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/1")
    }

    fn found(kind: Kind, arn: &str, stack_name: &str, age_hours: i64) -> Found {
        Found {
            arn: arn.into(),
            kind,
            stack_id: stack(stack_name),
            logical_id: "Thing".into(),
            created_at: Some(NOW - time::Duration::hours(age_hours)),
            keep: false,
        }
    }

    fn stable(holds: &[(&str, &str)], tags: &[(&str, &str)]) -> StackState {
        StackState::Stable {
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
        }
    }

    #[test]
    fn orphans_of_deleted_stacks_are_deleted_in_dependency_order() {
        let resources = vec![
            found(Kind::Secret, "arn:secret", "gone", 2),
            found(Kind::Cluster, "arn:cluster", "gone", 2),
            found(Kind::Service, "arn:service", "gone", 2),
            found(Kind::Role, "arn:role", "gone", 2),
        ];
        let stacks = BTreeMap::from([(stack("gone"), StackState::Gone)]);
        let plan = plan(&resources, &stacks, ACCOUNT, NOW);
        let order: Vec<Kind> = plan.delete.iter().map(|d| d.resource.kind).collect();
        assert_eq!(
            order,
            vec![Kind::Service, Kind::Cluster, Kind::Role, Kind::Secret]
        );
        assert_eq!(plan.delete[0].reason, "orphan: its stack is deleted");
    }

    #[test]
    fn a_resource_its_live_stack_holds_is_in_use() {
        let resources = vec![found(Kind::Cluster, "arn:cluster", "live", 100)];
        let stacks = BTreeMap::from([(stack("live"), stable(&[("Thing", "arn:cluster")], &[]))]);
        let plan = plan(&resources, &stacks, ACCOUNT, NOW);
        assert!(plan.delete.is_empty() && plan.skipped.is_empty());
        assert_eq!(plan.in_use, 1);
    }

    #[test]
    fn a_native_resource_held_by_name_is_in_use() {
        let resources = vec![found(
            Kind::Cluster,
            "arn:aws:ecs:us-east-1:123456789012:cluster/live",
            "live",
            100,
        )];
        let stacks = BTreeMap::from([(stack("live"), stable(&[("Thing", "live")], &[]))]);
        assert_eq!(plan(&resources, &stacks, ACCOUNT, NOW).in_use, 1);
    }

    #[test]
    fn a_leak_is_deleted_only_once_it_is_an_hour_old() {
        let old = found(Kind::Cluster, "arn:old-cluster", "live", 2);
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
            plan.skipped[0].reason,
            "not held by its stack, but younger than an hour"
        );
    }

    #[test]
    fn doubt_keep_tags_and_other_accounts_mean_skip() {
        let mut kept = found(Kind::Secret, "arn:kept", "gone", 5);
        kept.keep = true;
        let mut foreign = found(Kind::Secret, "arn:foreign", "gone", 5);
        foreign.stack_id = "arn:aws:cloudformation:us-east-1:999999999999:stack/gone/1".into();
        let busy = found(Kind::Secret, "arn:busy", "busy", 5);
        let unknown = found(Kind::Secret, "arn:unknown", "denied", 5);
        let stacks = BTreeMap::from([
            (stack("gone"), StackState::Gone),
            (stack("busy"), StackState::Busy("UPDATE_IN_PROGRESS".into())),
            (stack("denied"), StackState::Unknown("AccessDenied".into())),
        ]);
        let plan = plan(&[kept, foreign, busy, unknown], &stacks, ACCOUNT, NOW);
        assert!(plan.delete.is_empty());
        let reasons: Vec<&str> = plan.skipped.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "tagged ecs-private-auth:keep",
                "its stack is in another account (999999999999)",
                "its stack is UPDATE_IN_PROGRESS",
                "its stack could not be read: AccessDenied",
            ]
        );
    }

    #[test]
    fn expired_stacks_are_deleted_unless_protected() {
        let stacks = BTreeMap::from([
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
            (
                stack("rolled-back"),
                StackState::RolledBack {
                    termination_protection: false,
                },
            ),
        ]);
        let mut protected = stable(
            &[],
            &[("ecs-private-auth:expires-at", "2026-01-01T00:00:00Z")],
        );
        if let StackState::Stable {
            termination_protection,
            ..
        } = &mut protected
        {
            *termination_protection = true;
        }
        let mut stacks = stacks;
        stacks.insert(stack("protected"), protected);
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
        assert_eq!(plan.stacks_skipped.len(), 1);
        assert!(
            plan.stacks_skipped[0]
                .reason
                .contains("termination protection")
        );
    }

    #[test]
    fn bad_ttl_tags_are_reported_not_acted_on() {
        let tags = BTreeMap::from([("ecs-private-auth:ttl-hours".to_owned(), "soon".to_owned())]);
        assert_eq!(
            expiry(&tags, Some(NOW)),
            Some(Err("ecs-private-auth:ttl-hours is not a number".into()))
        );
    }
}
