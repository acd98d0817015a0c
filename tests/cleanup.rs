//! nightly-cleanup against moto (ECS, IAM, Secrets Manager, the Tagging API) and stacks played
//! on the local CloudFormation endpoint: only the garbage goes, everything else stays.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ecs::types::Tag as EcsTag;
use aws_sdk_secretsmanager::types::Tag as SecretTag;
use ecs_private_auth::aws::Clients;
use ecs_private_auth::cleanup::{Cleaner, CleanupSettings};
use ecs_private_auth::local::cloudformation::{LocalCloudFormation, ResourceRecord, StackRecord};
use ecs_private_auth::tags::{TAG_CREATED_AT, TAG_KEEP, TAG_LOGICAL_ID, TAG_STACK_ID};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use support::moto::Moto;

const OLD: &str = "2026-01-01T00:00:00Z";
/// The template the deleted stack last had: every logical id its resources carry, none kept.
const GONE_TEMPLATE: &str = r#"{"Resources": {"Cluster": {"Type": "Custom::FargateCluster"},
  "Service": {"Type": "Custom::FargateService"}, "TaskDefinition": {"Type": "Custom::TaskDefinition"},
  "ExecutionRole": {"Type": "Custom::TaskExecutionRole"}, "Credentials": {"Type": "Custom::RegistryCredentials"},
  "Kept": {"Type": "Custom::RegistryCredentials"}}}"#;
const READ_SECRET_X: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

struct World {
    _moto: Moto,
    cloudformation: LocalCloudFormation,
    clients: Clients,
    deleted_stack: String,
    live_stack: String,
    expired_stack: String,
    plain_stack: String,
}

fn stack_id(name: &str) -> String {
    format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/5c0a9e70-{name}")
}

fn ecs_tags(stack: &str, logical: &str) -> Vec<EcsTag> {
    vec![
        EcsTag::builder().key(TAG_STACK_ID).value(stack).build(),
        EcsTag::builder().key(TAG_LOGICAL_ID).value(logical).build(),
        EcsTag::builder().key(TAG_CREATED_AT).value(OLD).build(),
    ]
}

fn secret_tags(stack: &str, logical: &str) -> Vec<SecretTag> {
    vec![
        SecretTag::builder().key(TAG_STACK_ID).value(stack).build(),
        SecretTag::builder()
            .key(TAG_LOGICAL_ID)
            .value(logical)
            .build(),
        SecretTag::builder().key(TAG_CREATED_AT).value(OLD).build(),
    ]
}

fn iam_tag(key: &str, value: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap()
}

/// A stack as CloudFormation records it: status, template, tags, and what it holds.
fn played(
    name: &str,
    status: &str,
    template: &str,
    tags: &[(&str, &str)],
    holds: &[(&str, &str)],
) -> StackRecord {
    let mut stack = StackRecord::new(&stack_id(name), status);
    stack.template_body = template.to_owned();
    stack.created_at = time::macros::datetime!(2026-01-01 00:00 UTC);
    stack.tags = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    stack.resources = holds
        .iter()
        .map(|(logical, physical)| {
            (
                logical.to_string(),
                ResourceRecord {
                    resource_type: "Custom::Thing".into(),
                    physical_id: Some(physical.to_string()),
                    status: "CREATE_COMPLETE".into(),
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    stack
}

async fn world() -> World {
    let moto = Moto::start().await.unwrap();
    let cloudformation = LocalCloudFormation::start().await.unwrap();
    let config = moto.sdk_config().await;
    let clients = Clients {
        cloudformation: aws_sdk_cloudformation::Client::from_conf(
            aws_sdk_cloudformation::config::Builder::from(&config)
                .endpoint_url(&cloudformation.endpoint)
                .build(),
        ),
        ..Clients::new(&config)
    };
    let deleted_stack = stack_id("gone");
    cloudformation.put_stack(played("gone", "DELETE_COMPLETE", GONE_TEMPLATE, &[], &[]));
    let live_stack = stack_id("live");
    cloudformation.put_stack(played(
        "live",
        "CREATE_COMPLETE",
        r#"{"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}}}"#,
        &[],
        &[("Cluster", "live-cluster")],
    ));
    let expired_stack = stack_id("expired");
    cloudformation.put_stack(played(
        "expired",
        "CREATE_COMPLETE",
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#,
        &[("ecs-private-auth:expires-at", "2026-01-02T00:00:00Z")],
        &[],
    ));
    let plain_stack = stack_id("plain");
    cloudformation.put_stack(played(
        "plain",
        "CREATE_COMPLETE",
        r#"{"Resources": {"ExecutionRole": {"Type": "AWS::IAM::Role"}}}"#,
        &[],
        &[("ExecutionRole", "plain-exec")],
    ));
    // Both live stacks' resources carry our tags, as if made through the provider. Clusters get
    // an unrelated tag too: moto's Tagging API fails on a cluster with no tags at all.
    let mut live_tags = ecs_tags(&live_stack, "Cluster");
    live_tags.push(EcsTag::builder().key("team").value("live").build());
    clients
        .ecs
        .create_cluster()
        .cluster_name("live-cluster")
        .set_tags(Some(live_tags))
        .send()
        .await
        .unwrap();
    clients
        .iam
        .create_role()
        .role_name("plain-exec")
        .path("/ecs-private-auth/")
        .assume_role_policy_document(TRUST)
        .tags(iam_tag(TAG_STACK_ID, &plain_stack))
        .tags(iam_tag(TAG_LOGICAL_ID, "ExecutionRole"))
        .tags(iam_tag(TAG_CREATED_AT, OLD))
        .send()
        .await
        .unwrap();
    World {
        _moto: moto,
        cloudformation,
        clients,
        deleted_stack,
        live_stack,
        expired_stack,
        plain_stack,
    }
}

impl World {
    /// Resources of the deleted stack (garbage), and everything that must stay.
    async fn populate(&self) {
        let ecs = &self.clients.ecs;
        let gone = self.deleted_stack.as_str();
        ecs.create_cluster()
            .cluster_name("gone-cluster")
            .set_tags(Some(ecs_tags(gone, "Cluster")))
            .send()
            .await
            .unwrap();
        let definition = ecs
            .register_task_definition()
            .family("gone-web")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("web")
                    .image("x")
                    .memory(128)
                    .build(),
            )
            .set_tags(Some(ecs_tags(gone, "TaskDefinition")))
            .send()
            .await
            .unwrap()
            .task_definition
            .unwrap();
        ecs.create_service()
            .cluster("gone-cluster")
            .service_name("gone-web")
            .task_definition(definition.task_definition_arn().unwrap())
            .desired_count(0)
            .set_tags(Some(ecs_tags(gone, "Service")))
            .send()
            .await
            .unwrap();
        self.clients
            .secrets
            .create_secret()
            .name("gone-credentials")
            .secret_string("{}")
            .set_tags(Some(secret_tags(gone, "Credentials")))
            .send()
            .await
            .unwrap();
        let iam = &self.clients.iam;
        iam.create_role()
            .role_name("gone-exec")
            .path("/ecs-private-auth/")
            .assume_role_policy_document(TRUST)
            .tags(iam_tag(TAG_STACK_ID, gone))
            .tags(iam_tag(TAG_LOGICAL_ID, "ExecutionRole"))
            .tags(iam_tag(TAG_CREATED_AT, OLD))
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name("gone-exec")
            .policy_name("ecs-private-auth-registry-credentials")
            .policy_document(READ_SECRET_X)
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name("gone-exec")
            .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
            .send()
            .await
            .unwrap();

        // Decoys: look-alike names without our tags.
        let unrelated = EcsTag::builder().key("team").value("decoy").build();
        ecs.create_cluster()
            .cluster_name("gone-cluster-decoy")
            .tags(unrelated)
            .send()
            .await
            .unwrap();
        self.clients
            .secrets
            .create_secret()
            .name("gone-credentials-decoy")
            .secret_string("{}")
            .send()
            .await
            .unwrap();
        iam.create_role()
            .role_name("gone-exec-decoy")
            .path("/ecs-private-auth/")
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .unwrap();
        // Another account's, and one kept on purpose.
        ecs.create_cluster()
            .cluster_name("foreign-cluster")
            .set_tags(Some(ecs_tags(
                "arn:aws:cloudformation:us-east-1:999999999999:stack/gone/1",
                "Cluster",
            )))
            .send()
            .await
            .unwrap();
        let mut kept = secret_tags(gone, "Kept");
        kept.push(SecretTag::builder().key(TAG_KEEP).value("true").build());
        self.clients
            .secrets
            .create_secret()
            .name("gone-kept")
            .secret_string("{}")
            .set_tags(Some(kept))
            .send()
            .await
            .unwrap();
    }

    async fn run(&self, settings: CleanupSettings, event: Value) -> Value {
        let cleaner = Cleaner::new(self.clients.clone(), settings);
        let mut context = Context::default();
        context.invoked_function_arn = support::function_arn("nightly-cleanup");
        context.deadline = (SystemTime::now() + Duration::from_secs(300))
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        cleaner
            .handle(LambdaEvent::new(event, context))
            .await
            .unwrap()
    }

    async fn cluster_active(&self, name: &str) -> bool {
        let output = self
            .clients
            .ecs
            .describe_clusters()
            .clusters(name)
            .send()
            .await
            .unwrap();
        output
            .clusters()
            .iter()
            .any(|c| c.status() == Some("ACTIVE"))
    }

    async fn secret_alive(&self, name: &str) -> bool {
        let described = self
            .clients
            .secrets
            .describe_secret()
            .secret_id(name)
            .send()
            .await;
        matches!(described, Ok(secret) if secret.deleted_date().is_none())
    }

    async fn role_exists(&self, name: &str) -> bool {
        self.clients
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .is_ok()
    }

    fn stack_status(&self, id: &str) -> Option<String> {
        self.cloudformation.stack(id).map(|stack| stack.status)
    }

    async fn everything_else_stays(&self) {
        assert!(self.cluster_active("gone-cluster-decoy").await);
        assert!(self.secret_alive("gone-credentials-decoy").await);
        assert!(self.role_exists("gone-exec-decoy").await);
        assert!(self.cluster_active("foreign-cluster").await);
        assert!(self.secret_alive("gone-kept").await);
        assert!(self.cluster_active("live-cluster").await);
        assert!(self.role_exists("plain-exec").await);
        assert_eq!(
            self.stack_status(&self.live_stack).as_deref(),
            Some("CREATE_COMPLETE")
        );
        assert_eq!(
            self.stack_status(&self.plain_stack).as_deref(),
            Some("CREATE_COMPLETE")
        );
    }
}

fn settings(dry_run: bool, max_deletions: usize) -> CleanupSettings {
    CleanupSettings {
        dry_run,
        max_deletions,
        ..CleanupSettings::default()
    }
}

fn arns(report: &Value, list: &str) -> Vec<String> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["arn"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_dry_run_reports_every_candidate_and_deletes_nothing() {
    let world = world().await;
    world.populate().await;

    let report = world
        .run(settings(false, 100), json!({"dryRun": true}))
        .await;

    assert_eq!(report["dryRun"], true, "the event made it a dry run");
    let candidates = arns(&report, "candidates");
    assert_eq!(candidates.len(), 5, "{report:#}");
    assert_eq!(
        report["stackCandidates"][0]["stackId"],
        world.expired_stack.as_str()
    );
    assert!(report["deleted"].as_array().unwrap().is_empty());
    assert!(world.cluster_active("gone-cluster").await);
    assert!(world.secret_alive("gone-credentials").await);
    assert!(world.role_exists("gone-exec").await);
    assert_eq!(
        world.stack_status(&world.expired_stack).as_deref(),
        Some("CREATE_COMPLETE")
    );
    world.everything_else_stays().await;
}

#[tokio::test]
async fn a_real_run_removes_exactly_the_garbage_in_dependency_order() {
    let world = world().await;
    world.populate().await;

    let report = world
        .run(settings(false, 100), json!({"source": "schedule"}))
        .await;

    assert_eq!(report["dryRun"], false);
    assert!(
        report["failed"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    let kinds: Vec<&str> = report["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["service", "cluster", "task-definition", "role", "secret"]
    );
    assert!(!world.cluster_active("gone-cluster").await);
    assert!(!world.secret_alive("gone-credentials").await);
    assert!(
        !world.role_exists("gone-exec").await,
        "policies detached and deleted first, then the role"
    );
    let services = world
        .clients
        .ecs
        .describe_services()
        .cluster("gone-cluster")
        .services("gone-web")
        .send()
        .await;
    assert!(
        services
            .map(|s| s.services().iter().all(|s| s.status() == Some("INACTIVE")))
            .unwrap_or(true)
    );
    assert_eq!(report["stacksDeleted"].as_array().unwrap().len(), 1);
    assert_eq!(
        world.stack_status(&world.expired_stack).as_deref(),
        Some("DELETE_COMPLETE")
    );
    let skipped: Vec<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        skipped.contains(&"tagged ecs-private-auth:keep".to_owned()),
        "{skipped:?}"
    );
    assert!(
        skipped.contains(&"its stack is in another account (999999999999)".to_owned()),
        "{skipped:?}"
    );
    world.everything_else_stays().await;
}

#[tokio::test]
async fn a_plan_over_the_cap_deletes_nothing_and_says_why() {
    let world = world().await;
    world.populate().await;

    let report = world.run(settings(false, 3), json!({})).await;

    assert!(
        report["heldBack"]
            .as_str()
            .unwrap()
            .contains("more than MAX_DELETIONS (3)"),
        "{report:#}"
    );
    assert!(report["deleted"].as_array().unwrap().is_empty());
    assert!(world.cluster_active("gone-cluster").await);
    assert_eq!(
        world.stack_status(&world.expired_stack).as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test]
async fn five_hundred_orphans_are_swept_in_one_run() {
    let world = world().await;
    let gone = world.deleted_stack.clone();
    let secrets = world.clients.secrets.clone();
    let creations = (0..500).map(|i| {
        let secrets = secrets.clone();
        let gone = gone.clone();
        async move {
            secrets
                .create_secret()
                .name(format!("orphan-{i:03}"))
                .secret_string("{}")
                .set_tags(Some(secret_tags(&gone, "Credentials")))
                .send()
                .await
                .unwrap();
        }
    });
    futures::future::join_all(creations).await;

    let report = world.run(settings(false, 1000), json!({})).await;

    assert_eq!(report["counts"]["deleted"], 500, "{}", report["counts"]);
    assert_eq!(report["counts"]["failed"], 0);
    let listed = world
        .clients
        .secrets
        .list_secrets()
        .max_results(100)
        .send()
        .await
        .unwrap();
    assert!(
        listed
            .secret_list()
            .iter()
            .all(|s| !s.name().unwrap().starts_with("orphan-"))
    );
}

impl World {
    async fn secret_of(&self, name: &str, stack: &str, logical: &str) {
        self.clients
            .secrets
            .create_secret()
            .name(name)
            .secret_string("{}")
            .set_tags(Some(secret_tags(stack, logical)))
            .send()
            .await
            .unwrap();
    }
}

fn reason_for<'a>(report: &'a Value, arn_part: &str) -> &'a str {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["arn"].as_str().unwrap().contains(arn_part))
        .and_then(|d| d["reason"].as_str())
        .unwrap_or_else(|| panic!("{arn_part} is not among the skipped: {report:#}"))
}

#[tokio::test]
async fn a_resource_its_live_stack_no_longer_holds_is_kept() {
    let world = world().await;
    // Removed from the live stack's template with DeletionPolicy: Retain, months ago.
    world
        .secret_of("live-retained", &world.live_stack, "OldCredentials")
        .await;

    let report = world.run(settings(false, 100), json!({})).await;

    assert!(world.secret_alive("live-retained").await);
    assert_eq!(
        reason_for(&report, "live-retained"),
        "its stack no longer holds OldCredentials: it may have been removed with DeletionPolicy Retain"
    );
}

#[tokio::test]
async fn what_a_template_keeps_is_never_deleted() {
    let world = world().await;
    let retained = stack_id("retained");
    world.cloudformation.put_stack(played(
        "retained",
        "DELETE_COMPLETE",
        "Resources:\n  Credentials:\n    Type: Custom::RegistryCredentials\n    DeletionPolicy: Retain\n",
        &[],
        &[],
    ));
    world
        .secret_of("retained-credentials", &retained, "Credentials")
        .await;
    let replacing = stack_id("replacing");
    world.cloudformation.put_stack(played(
        "replacing",
        "UPDATE_COMPLETE",
        "Resources:\n  Credentials:\n    Type: Custom::RegistryCredentials\n    UpdateReplacePolicy: Retain\n",
        &[],
        &[("Credentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:new-AbCdEf")],
    ));
    world
        .secret_of("replaced-credentials", &replacing, "Credentials")
        .await;

    let report = world.run(settings(false, 100), json!({})).await;

    assert!(world.secret_alive("retained-credentials").await);
    assert!(world.secret_alive("replaced-credentials").await);
    assert!(
        reason_for(&report, "retained-credentials").contains("its template keeps Credentials"),
        "{report:#}"
    );
    assert!(
        reason_for(&report, "replaced-credentials")
            .contains("its template keeps replaced Credentials (UpdateReplacePolicy Retain)"),
        "{report:#}"
    );
}

#[tokio::test]
async fn resources_of_a_stack_cloudformation_does_not_know_are_doubt_not_garbage() {
    let world = world().await;
    world
        .secret_of(
            "unknown-stack-credentials",
            &stack_id("never-seen"),
            "Credentials",
        )
        .await;

    let report = world.run(settings(false, 100), json!({})).await;

    assert!(world.secret_alive("unknown-stack-credentials").await);
    assert!(
        reason_for(&report, "unknown-stack-credentials")
            .starts_with("its stack could not be read: CloudFormation has no record of it"),
        "{report:#}"
    );
}

#[tokio::test]
async fn deleted_secrets_can_be_restored_within_the_recovery_window() {
    let world = world().await;
    world.populate().await;

    let report = world.run(settings(false, 100), json!({})).await;

    assert!(
        arns(&report, "deleted")
            .iter()
            .any(|arn| arn.contains("gone-credentials"))
    );
    let described = world
        .clients
        .secrets
        .describe_secret()
        .secret_id("gone-credentials")
        .send()
        .await
        .expect("a secret deleted with a recovery window can still be described");
    assert!(described.deleted_date().is_some(), "scheduled for deletion");
    world
        .clients
        .secrets
        .restore_secret()
        .secret_id("gone-credentials")
        .send()
        .await
        .expect("and restored");
}

#[tokio::test]
async fn a_ttl_of_a_billion_hours_is_reported_and_the_run_goes_on() {
    let world = world().await;
    world.populate().await;
    let absurd = stack_id("absurd");
    world.cloudformation.put_stack(played(
        "absurd",
        "CREATE_COMPLETE",
        "{}",
        &[("ecs-private-auth:ttl-hours", "999999999")],
        &[],
    ));

    let report = world.run(settings(false, 100), json!({})).await;

    let skipped = report["stacksSkipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["stackId"] == absurd.as_str()
            && s["reason"].as_str().unwrap().contains("more than")),
        "{report:#}"
    );
    assert_eq!(
        world.stack_status(&absurd).as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(report["counts"]["deleted"], 5, "the rest still goes");
}

#[tokio::test]
async fn nested_and_kept_stacks_are_reported_not_deleted() {
    let world = world().await;
    let mut nested = played(
        "root-Nested-1ABC",
        "CREATE_COMPLETE",
        "{}",
        &[("ecs-private-auth:ttl-hours", "1")],
        &[],
    );
    nested.parent_id = Some(stack_id("root"));
    nested.root_id = Some(stack_id("root"));
    let nested_id = nested.stack_id.clone();
    world.cloudformation.put_stack(nested);
    let kept = stack_id("kept");
    world.cloudformation.put_stack(played(
        "kept",
        "CREATE_COMPLETE",
        "{}",
        &[
            ("ecs-private-auth:ttl-hours", "1"),
            ("Ecs-Private-Auth:Keep", "yes"),
        ],
        &[],
    ));

    let report = world.run(settings(false, 100), json!({})).await;

    let deleted: Vec<&str> = report["stacksDeleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stackId"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, vec![world.expired_stack.as_str()]);
    let skipped: BTreeMap<&str, &str> = report["stacksSkipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stackId"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        skipped[nested_id.as_str()].contains("nested stack"),
        "{skipped:?}"
    );
    assert!(
        skipped[kept.as_str()].contains("ecs-private-auth:keep"),
        "{skipped:?}"
    );
    assert_eq!(
        world.stack_status(&nested_id).as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        world.stack_status(&kept).as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        world.cloudformation.delete_requests(),
        vec![world.expired_stack.clone()]
    );
}
