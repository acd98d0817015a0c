//! The whole lab, locally, through the same runner `make demo` drives (src/local/runner.rs):
//! template.yaml's custom resources through Create, Update and Delete, sent SNS-style to the real
//! function binaries over the Lambda Runtime API, against moto and the Debian docker-registry,
//! then nightly-cleanup in dry-run and for real. A failed Create and a failed Update roll back as
//! CloudFormation rolls them back.

mod support;

use ecs_private_auth::local::cloudformation::StackRecord;
use ecs_private_auth::local::registry::PASSWORD;
use serde_json::{Value, json};
use support::played::{MADE_IN_ORDER, STACK_NAME, World, id, logical_ids};
use support::{ACCOUNT, REGION};

const LAB: &str = "local/parameters/lab.json";
const ROTATED_PASSWORD: &str = "Rotated-Registry-Passw0rd";

#[tokio::test]
async fn the_whole_lab_runs_through_create_update_delete_and_cleanup() {
    let world = World::start("template.yaml").await;
    let mut runner = world.runner();

    let mut stack = runner.create(world.parameters(&[LAB])).await.unwrap();
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert_eq!(logical_ids(&stack), MADE_IN_ORDER);
    let credentials = id(&stack, "RegistryCredentials");
    assert_eq!(world.password_in(&credentials).await, PASSWORD);
    let definition = world
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(id(&stack, "TaskDefinition"))
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    let container = &definition.container_definitions()[0];
    assert_eq!(
        container
            .repository_credentials()
            .unwrap()
            .credentials_parameter(),
        credentials
    );
    assert_eq!(
        definition.execution_role_arn(),
        Some(id(&stack, "ExecutionRole").as_str())
    );
    let outputs: Vec<&str> = stack.outputs.iter().map(|(key, _)| key.as_str()).collect();
    assert!(outputs.contains(&"ServiceArn") && outputs.contains(&"ServiceToken"));

    // Update: the registry password rotates, and the image moves to tag 1.1.
    world
        .emulator
        .registry
        .change_password(ROTATED_PASSWORD)
        .await
        .unwrap();
    world
        .emulator
        .put_password(
            &format!("/ecs-private-auth/{STACK_NAME}/registry-password-rotated"),
            ROTATED_PASSWORD,
        )
        .await
        .unwrap();
    let created = stack.clone();
    let mut parameters = world.parameters(&[LAB, "local/parameters/lab-update.json"]);
    parameters.insert(
        "RegistryPasswordParameterName".into(),
        json!(format!(
            "/ecs-private-auth/{STACK_NAME}/registry-password-rotated"
        )),
    );
    runner.update(&mut stack, parameters).await.unwrap();
    assert_eq!(stack.status, "UPDATE_COMPLETE");
    assert_eq!(
        id(&stack, "RegistryCredentials"),
        credentials,
        "a password change keeps the secret"
    );
    assert_eq!(world.password_in(&credentials).await, ROTATED_PASSWORD);
    assert_ne!(
        id(&stack, "TaskDefinition"),
        id(&created, "TaskDefinition"),
        "a new image is a new revision"
    );
    let timeline = world.timeline();
    assert!(
        timeline.contains(&("DELETE_COMPLETE".into(), "TaskDefinition".into())),
        "the replaced revision is deleted in the clean-up: {timeline:?}"
    );

    runner.delete(&mut stack).await.unwrap();
    assert_eq!(stack.status, "DELETE_COMPLETE");

    // nightly-cleanup, with one orphan planted: a stack deleted long ago whose last template
    // held RegistryCredentials without keeping it.
    let old_stack = format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/old-lab/0a0a0a0a-0000-4000-8000-000000000000"
    );
    let mut old = StackRecord::new(&old_stack, "DELETE_COMPLETE");
    old.template_body =
        r#"{"Resources": {"RegistryCredentials": {"Type": "Custom::RegistryCredentials"}}}"#.into();
    world.cloudformation.put_stack(old);
    let tag = |k: &str, v: &str| {
        aws_sdk_secretsmanager::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    world
        .clients
        .secrets
        .create_secret()
        .name("old-lab-RegistryCredentials-orphan")
        .secret_string("{}")
        .tags(tag("ecs-private-auth:stack-id", &old_stack))
        .tags(tag("ecs-private-auth:logical-id", "RegistryCredentials"))
        .tags(tag("ecs-private-auth:created-at", "2026-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    let cleanup = |payload: Value| async {
        world
            .provider
            .invoke("nightly-cleanup", payload)
            .await
            .unwrap()
            .unwrap()
            .response()
    };
    let dry = cleanup(json!({"dryRun": true})).await;
    assert_eq!(dry["counts"]["candidates"], 1, "{dry:#}");
    assert_eq!(dry["counts"]["deleted"], 0);
    let real = cleanup(json!({"source": "schedule"})).await;
    assert_eq!(real["counts"]["deleted"], 1, "{real:#}");

    assert_eq!(world.left_over().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_create_rolls_back_and_leaves_nothing() {
    let world = World::start("template.yaml").await;
    let mut runner = world.runner();
    let mut parameters = world.parameters(&[LAB]);
    let missing = format!("{}/lab/hello:9.9", world.emulator.registry.host);
    parameters.insert("Image".into(), json!(missing));

    let stack = runner.create(parameters).await.unwrap();

    assert_eq!(stack.status, "ROLLBACK_COMPLETE");
    let timeline = world.timeline();
    let expected: Vec<(String, String)> = [
        ("CREATE_IN_PROGRESS", "lab"),
        ("CREATE_IN_PROGRESS", "Cluster"),
        ("CREATE_COMPLETE", "Cluster"),
        ("CREATE_IN_PROGRESS", "RegistryCredentials"),
        ("CREATE_FAILED", "RegistryCredentials"),
        ("ROLLBACK_IN_PROGRESS", "lab"),
        ("DELETE_IN_PROGRESS", "RegistryCredentials"),
        ("DELETE_COMPLETE", "RegistryCredentials"),
        ("DELETE_IN_PROGRESS", "Cluster"),
        ("DELETE_COMPLETE", "Cluster"),
        ("ROLLBACK_COMPLETE", "lab"),
    ]
    .iter()
    .map(|(status, id)| (status.to_string(), id.to_string()))
    .collect();
    assert_eq!(timeline, expected);
    let events = world.events.lock().unwrap().clone();
    let failed = events
        .iter()
        .find(|event| event.status == "CREATE_FAILED")
        .unwrap();
    assert!(
        failed.reason.as_deref().unwrap_or_default().contains("9.9"),
        "the reason names the missing tag: {failed:?}"
    );
    assert_eq!(world.left_over().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_update_rolls_back_to_what_was() {
    let world = World::start("template.yaml").await;
    let mut runner = world.runner();
    let mut stack = runner.create(world.parameters(&[LAB])).await.unwrap();
    let created = stack.clone();
    let mut parameters = world.parameters(&[LAB]);
    let missing = format!("{}/lab/hello:9.9", world.emulator.registry.host);
    parameters.insert("Image".into(), json!(missing));

    runner.update(&mut stack, parameters).await.unwrap();

    assert_eq!(stack.status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(
        stack.resources, created.resources,
        "every resource as it was"
    );
    let timeline = world.timeline();
    let rolled_back = timeline
        .iter()
        .position(|event| event.0 == "UPDATE_ROLLBACK_IN_PROGRESS")
        .expect("a rollback");
    assert!(
        timeline[rolled_back..].contains(&("UPDATE_COMPLETE".into(), "RegistryCredentials".into())),
        "the failed resource is updated back: {timeline:?}"
    );
    let credentials = id(&stack, "RegistryCredentials");
    assert_eq!(world.password_in(&credentials).await, PASSWORD);
    runner.delete(&mut stack).await.unwrap();
    assert_eq!(world.left_over().await, Vec::<String>::new());
}
