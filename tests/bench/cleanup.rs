//! The cleanup at scale: a benchmark, not a test. It plants N orphans of a deleted stack in moto
//! (clusters, services in some of them, task definitions, roles with an inline and a managed
//! policy, secrets), runs the real nightly-cleanup binary once under a Lambda Runtime API with
//! Lambda's 900 s, and prints the wall time, the AWS calls by operation (counted at the emulator),
//! the deletions and the function's peak RSS. `make bench-cleanup` runs it; `BENCH_ORPHANS` sets N
//! (default 1000). The figures also go to target/bench/cleanup.json.

#[path = "../support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::Tag as EcsTag;
use ecs_private_auth::local::cloudformation::{LocalCloudFormation, StackRecord};
use ecs_private_auth::tags::{TAG_CREATED_AT, TAG_LOGICAL_ID, TAG_STACK_ID};
use futures::StreamExt;
use serde_json::json;
use support::counting_proxy::CountingProxy;
use support::moto::Moto;
use support::runtime_api::{FunctionProcess, RuntimeApi};
use support::{ACCOUNT, REGION, function_arn, function_binary};

const GONE: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/0b0b0b0b-0000-4000-8000-000000000000";
const OLD: &str = "2026-01-01T00:00:00Z";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
/// Planting runs this many calls at once.
const PLANTING: usize = 16;

/// How the N orphans divide: services (each in its own cluster), further clusters, task
/// definitions, roles and secrets.
struct Mix {
    services: usize,
    clusters: usize,
    task_definitions: usize,
    roles: usize,
    secrets: usize,
}

impl Mix {
    fn of(total: usize) -> Self {
        let services = (total / 20).max(1);
        let clusters = total / 5 - services;
        let task_definitions = total / 4;
        let roles = total / 5;
        Mix {
            services,
            clusters,
            task_definitions,
            roles,
            secrets: total - services - (clusters + services) - task_definitions - roles,
        }
    }
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("BENCH_ORPHANS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let mix = Mix::of(total);
    let moto = Moto::start().await.unwrap();
    let proxy = CountingProxy::start(&moto.endpoint).await;
    let cloudformation = LocalCloudFormation::start().await.unwrap();
    let mut gone = StackRecord::new(GONE, "DELETE_COMPLETE");
    gone.template_body = r#"{"Resources": {"Cluster": {"Type": "Custom::FargateCluster"}, "Service": {"Type": "Custom::FargateService"},
        "TaskDefinition": {"Type": "Custom::TaskDefinition"}, "ExecutionRole": {"Type": "Custom::TaskExecutionRole"},
        "Credentials": {"Type": "Custom::RegistryCredentials"}}}"#
        .into();
    cloudformation.put_stack(gone);

    eprintln!("planting {total} orphans in moto …");
    let planted = Instant::now();
    let config = moto.sdk_config().await;
    plant(&config, &mix).await;
    eprintln!("  planted in {:.1} s", planted.elapsed().as_secs_f64());

    let runtime = RuntimeApi::start().await.unwrap();
    let process = FunctionProcess::start(
        &function_binary("nightly-cleanup"),
        &runtime,
        "nightly-cleanup",
        &[
            ("AWS_ENDPOINT_URL", &proxy.endpoint),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", &cloudformation.endpoint),
            ("MAX_DELETIONS", "100000"),
            ("RUST_LOG", "warn"),
        ],
    )
    .unwrap();
    proxy.reset();
    let started = Instant::now();
    let report = runtime
        .call(
            &function_arn("nightly-cleanup"),
            json!({"source": "bench"}),
            Duration::from_secs(900),
        )
        .await
        .response();
    let wall = started.elapsed();
    let rss = process.peak_rss_kib();

    let mut calls = proxy.counts();
    for call in cloudformation.calls() {
        let action = call.split(' ').next().unwrap_or_default();
        *calls.entry(format!("cloudformation:{action}")).or_default() += 1;
    }
    let total_calls: u64 = calls.values().sum();
    let counts = &report["counts"];
    println!(
        "\n== nightly-cleanup, {total} orphans, one invocation (release build, moto on loopback)"
    );
    println!(
        "  mix: {} services (in clusters of their own), {} more clusters, {} task definitions, {} roles, {} secrets",
        mix.services, mix.clusters, mix.task_definitions, mix.roles, mix.secrets
    );
    println!(
        "  wall time        {:>8.1} s (of 900 s)",
        wall.as_secs_f64()
    );
    println!(
        "  deleted          {:>8} (failed {}, not reached {}, skipped {})",
        counts["deleted"], counts["failed"], counts["notReached"], counts["skipped"]
    );
    println!(
        "  peak RSS         {:>8} KiB",
        rss.map_or("?".into(), |kib| kib.to_string())
    );
    println!(
        "  AWS calls        {:>8} ({:.2} per orphan)",
        total_calls,
        total_calls as f64 / total as f64
    );
    for (operation, count) in &calls {
        println!("    {operation:<44} {count:>6}");
    }
    let figures = json!({
        "orphans": total,
        "wallSeconds": wall.as_secs_f64(),
        "deleted": counts["deleted"],
        "failed": counts["failed"],
        "notReached": counts["notReached"],
        "peakRssKib": rss,
        "calls": calls,
        "callsTotal": total_calls,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("cleanup.json"),
        serde_json::to_string_pretty(&figures).unwrap(),
    )
    .unwrap();
    assert_eq!(
        counts["deleted"], total,
        "every orphan is deleted in one run: {report:#}"
    );
    drop(process);
}

fn ecs_tags(logical: &str) -> Vec<EcsTag> {
    vec![
        EcsTag::builder().key(TAG_STACK_ID).value(GONE).build(),
        EcsTag::builder().key(TAG_LOGICAL_ID).value(logical).build(),
        EcsTag::builder().key(TAG_CREATED_AT).value(OLD).build(),
    ]
}

/// Creates the orphans straight in moto, a few at a time.
async fn plant(config: &aws_config::SdkConfig, mix: &Mix) {
    let ecs = aws_sdk_ecs::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let definition = ecs
        .register_task_definition()
        .family("bench-service")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("x")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    let clusters =
        futures::stream::iter(0..mix.services + mix.clusters).for_each_concurrent(PLANTING, |i| {
            let ecs = ecs.clone();
            let definition = definition.clone();
            let with_service = i < mix.services;
            async move {
                let cluster = format!("bench-cluster-{i:04}");
                ecs.create_cluster()
                    .cluster_name(&cluster)
                    .set_tags(Some(ecs_tags("Cluster")))
                    .send()
                    .await
                    .unwrap();
                if with_service {
                    ecs.create_service()
                        .cluster(&cluster)
                        .service_name(format!("bench-service-{i:04}"))
                        .task_definition(&definition)
                        .desired_count(0)
                        .set_tags(Some(ecs_tags("Service")))
                        .send()
                        .await
                        .unwrap();
                }
            }
        });
    let definitions =
        futures::stream::iter(0..mix.task_definitions).for_each_concurrent(PLANTING, |i| {
            let ecs = ecs.clone();
            async move {
                ecs.register_task_definition()
                    .family(format!("bench-family-{i:04}"))
                    .container_definitions(
                        aws_sdk_ecs::types::ContainerDefinition::builder()
                            .name("web")
                            .image("x")
                            .memory(128)
                            .build(),
                    )
                    .set_tags(Some(ecs_tags("TaskDefinition")))
                    .send()
                    .await
                    .unwrap();
            }
        });
    let roles = futures::stream::iter(0..mix.roles).for_each_concurrent(PLANTING, |i| {
        let iam = iam.clone();
        async move {
            let name = format!("bench-role-{i:04}");
            let tag = |k: &str, v: &str| {
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .unwrap()
            };
            iam.create_role()
                .role_name(&name)
                .path("/ecs-private-auth/")
                .assume_role_policy_document(TRUST)
                .tags(tag(TAG_STACK_ID, GONE))
                .tags(tag(TAG_LOGICAL_ID, "ExecutionRole"))
                .tags(tag(TAG_CREATED_AT, OLD))
                .send()
                .await
                .unwrap();
            iam.put_role_policy()
                .role_name(&name)
                .policy_name("ecs-private-auth-registry-credentials")
                .policy_document(format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x"}}]}}"#))
                .send()
                .await
                .unwrap();
            iam.attach_role_policy()
                .role_name(&name)
                .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
                .send()
                .await
                .unwrap();
        }
    });
    let stored = futures::stream::iter(0..mix.secrets).for_each_concurrent(PLANTING, |i| {
        let secrets = secrets.clone();
        async move {
            let tag = |k: &str, v: &str| {
                aws_sdk_secretsmanager::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            };
            secrets
                .create_secret()
                .name(format!("bench-secret-{i:04}"))
                .secret_string("{}")
                .tags(tag(TAG_STACK_ID, GONE))
                .tags(tag(TAG_LOGICAL_ID, "Credentials"))
                .tags(tag(TAG_CREATED_AT, OLD))
                .send()
                .await
                .unwrap();
        }
    });
    futures::join!(clusters, definitions, roles, stored);
}
