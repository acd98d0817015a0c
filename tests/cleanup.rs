//! nightly-cleanup against moto: only the garbage goes, everything else stays.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::types::{StackStatus, Tag as StackTag};
use aws_sdk_ecs::types::Tag as EcsTag;
use aws_sdk_secretsmanager::types::Tag as SecretTag;
use ecs_private_auth::cleanup::{Cleaner, CleanupClients, CleanupSettings};
use ecs_private_auth::naming::{TAG_CREATED_AT, TAG_KEEP, TAG_LOGICAL_ID, TAG_STACK_ID};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use support::moto::Moto;

const OLD: &str = "2026-01-01T00:00:00Z";
const TOPIC_TEMPLATE: &str = r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#;
// Clusters get an unrelated tag: moto's Tagging API fails on a cluster with no tags at all.
const CLUSTER_TEMPLATE: &str = r#"{"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "live-cluster", "Tags": [{"Key": "team", "Value": "live"}]}}}}"#;
const ROLE_TEMPLATE: &str = r#"{"Resources": {"ExecutionRole": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "plain-exec", "Path": "/ecs-private-auth/",
  "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}}}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

struct World {
    _moto: Moto,
    clients: CleanupClients,
    deleted_stack: String,
    live_stack: String,
    expired_stack: String,
    plain_stack: String,
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

async fn stack(
    clients: &CleanupClients,
    name: &str,
    template: &str,
    tags: &[(&str, &str)],
) -> String {
    clients
        .cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(template)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| StackTag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .send()
        .await
        .unwrap()
        .stack_id
        .unwrap()
}

async fn world() -> World {
    let moto = Moto::start().await;
    let clients = CleanupClients::new(&moto.sdk_config().await);
    let deleted_stack = stack(&clients, "gone", TOPIC_TEMPLATE, &[]).await;
    clients
        .cloudformation
        .delete_stack()
        .stack_name(&deleted_stack)
        .send()
        .await
        .unwrap();
    let live_stack = stack(&clients, "live", CLUSTER_TEMPLATE, &[]).await;
    let expired_stack = stack(
        &clients,
        "expired",
        TOPIC_TEMPLATE,
        &[("ecs-private-auth:expires-at", "2026-01-02T00:00:00Z")],
    )
    .await;
    let plain_stack = stack(&clients, "plain", ROLE_TEMPLATE, &[]).await;
    // Both live stacks' resources carry our tags, as if made through the provider.
    let live_cluster = clients
        .ecs
        .describe_clusters()
        .clusters("live-cluster")
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap()
        .remove(0);
    clients
        .ecs
        .tag_resource()
        .resource_arn(live_cluster.cluster_arn().unwrap())
        .set_tags(Some(ecs_tags(&live_stack, "Cluster")))
        .send()
        .await
        .unwrap();
    clients
        .iam
        .tag_role()
        .role_name("plain-exec")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(TAG_STACK_ID)
                .value(&plain_stack)
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(TAG_LOGICAL_ID)
                .value("ExecutionRole")
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(TAG_CREATED_AT)
                .value(OLD)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    World {
        _moto: moto,
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
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(TAG_STACK_ID)
                    .value(gone)
                    .build()
                    .unwrap(),
            )
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(TAG_LOGICAL_ID)
                    .value("ExecutionRole")
                    .build()
                    .unwrap(),
            )
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(TAG_CREATED_AT)
                    .value(OLD)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        iam.put_role_policy().role_name("gone-exec").policy_name("ecs-private-auth-registry-credentials").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}]}"#).send().await.unwrap();
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
        matches!(self.clients.secrets.describe_secret().secret_id(name).send().await, Ok(s) if s.deleted_date().is_none())
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

    async fn stack_status(&self, id: &str) -> Option<StackStatus> {
        let output = self
            .clients
            .cloudformation
            .describe_stacks()
            .stack_name(id)
            .send()
            .await
            .ok()?;
        output
            .stacks()
            .first()
            .and_then(|s| s.stack_status().cloned())
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
            self.stack_status(&self.live_stack).await,
            Some(StackStatus::CreateComplete)
        );
        assert_eq!(
            self.stack_status(&self.plain_stack).await,
            Some(StackStatus::CreateComplete)
        );
    }
}

fn settings(dry_run: bool, max_deletions: usize) -> CleanupSettings {
    CleanupSettings {
        dry_run,
        max_deletions,
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
        world.stack_status(&world.expired_stack).await,
        Some(StackStatus::CreateComplete)
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
        world.stack_status(&world.expired_stack).await,
        Some(StackStatus::DeleteComplete)
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
        world.stack_status(&world.expired_stack).await,
        Some(StackStatus::CreateComplete)
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
