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
    let stacks = BTreeMap::from([(stack("live"), stable(&[("Thing", "arn:new-cluster")], &[]))]);
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
