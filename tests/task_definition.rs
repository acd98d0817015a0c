//! Custom::TaskDefinition against moto: revisions, adoption, tags in place, delete.

mod support;

use aws_sdk_ecs::types::{TaskDefinitionField, TaskDefinitionStatus};
use serde_json::{Value, json};
use support::lab::Lab;

const TYPE: &str = "Custom::TaskDefinition";
const ROLE: &str = "arn:aws:iam::123456789012:role/ecs-private-auth/lab-exec";

/// A lab whose stack already holds the execution role ROLE and a registry secret (its ARN).
async fn lab_with_role_and_secret() -> (Lab, String) {
    let lab = Lab::start().await;
    assert_eq!(lab.own_role("lab-exec").await, ROLE);
    let secret = lab.own_secret("lab-registry").await;
    (lab, secret)
}

fn props(secret: &str, image: &str, tags: Value) -> Value {
    json!({
        "Family": "lab-web",
        "Cpu": "512",
        "Memory": "1024",
        "ExecutionRoleArn": ROLE,
        "CpuArchitecture": "ARM64",
        "ContainerDefinitions": [{
            "Name": "web", "Image": image,
            "RepositoryCredentials": {"CredentialsParameter": secret},
            "PortMappings": [{"ContainerPort": "8080"}],
            "Environment": [{"Name": "GREETING", "Value": "hello"}],
            "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "/lab/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}
        }],
        "Tags": tags
    })
}

async fn describe(
    lab: &Lab,
    arn: &str,
) -> (aws_sdk_ecs::types::TaskDefinition, Vec<(String, String)>) {
    let output = lab
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let tags = output
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    (output.task_definition.unwrap(), tags)
}

#[tokio::test]
async fn a_fargate_revision_with_repository_credentials() {
    let (lab, secret) = lab_with_role_and_secret().await;

    let answer = lab
        .create(
            TYPE,
            "TaskDefinition",
            props(&secret, "127.0.0.1:5000/lab/hello:1.0", json!([])),
        )
        .await;

    answer.assert_success();
    assert_eq!(
        answer.physical_id(),
        "arn:aws:ecs:us-east-1:123456789012:task-definition/lab-web:1"
    );
    assert_eq!(
        (
            answer.data("Family").as_str(),
            answer.data("Revision").as_str()
        ),
        ("lab-web", "1")
    );
    let (definition, tags) = describe(&lab, &answer.physical_id()).await;
    assert_eq!(definition.requires_compatibilities()[0].as_str(), "FARGATE");
    assert_eq!(definition.network_mode().unwrap().as_str(), "awsvpc");
    assert_eq!(
        definition
            .runtime_platform()
            .unwrap()
            .cpu_architecture()
            .unwrap()
            .as_str(),
        "ARM64"
    );
    assert_eq!(
        (definition.cpu(), definition.memory()),
        (Some("512"), Some("1024"))
    );
    assert_eq!(definition.execution_role_arn(), Some(ROLE));
    let container = &definition.container_definitions()[0];
    assert_eq!(
        container
            .repository_credentials()
            .unwrap()
            .credentials_parameter(),
        secret
    );
    assert_eq!(container.port_mappings()[0].container_port(), Some(8080));
    assert!(
        tags.iter()
            .any(|(k, v)| k == "ecs-private-auth:logical-id" && v == "TaskDefinition")
    );
}

#[tokio::test]
async fn an_image_change_is_a_new_revision_and_the_old_ids_delete_deregisters_only_the_old_one() {
    let (lab, secret) = lab_with_role_and_secret().await;
    let old = props(&secret, "lab/hello:1.0", json!([]));
    let new = props(&secret, "lab/hello:1.1", json!([]));
    let first = lab
        .create(TYPE, "TaskDefinition", old.clone())
        .await
        .physical_id();

    let second = lab
        .update(TYPE, "TaskDefinition", &first, new.clone(), old.clone())
        .await;
    second.assert_success();
    assert!(
        second.physical_id().ends_with("lab-web:2"),
        "{}",
        second.physical_id()
    );

    // The rollback Update asks again for the old content: the ACTIVE old revision is adopted.
    let rollback = lab
        .update(
            TYPE,
            "TaskDefinition",
            &second.physical_id(),
            old.clone(),
            new.clone(),
        )
        .await;
    assert_eq!(rollback.physical_id(), first);

    lab.delete(TYPE, "TaskDefinition", &second.physical_id(), new)
        .await
        .assert_success();
    let gone = lab
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(second.physical_id())
        .send()
        .await;
    assert!(
        gone.map(|o| o.task_definition.unwrap().status() != Some(&TaskDefinitionStatus::Active))
            .unwrap_or(true)
    );
    let (kept, _) = describe(&lab, &first).await;
    assert_eq!(kept.status(), Some(&TaskDefinitionStatus::Active));
}

#[tokio::test]
async fn a_tags_only_change_is_made_in_place() {
    let (lab, secret) = lab_with_role_and_secret().await;
    let old = props(
        &secret,
        "lab/hello:1.0",
        json!([{"Key": "team", "Value": "a"}]),
    );
    let new = props(
        &secret,
        "lab/hello:1.0",
        json!([{"Key": "team", "Value": "b"}]),
    );
    let first = lab
        .create(TYPE, "TaskDefinition", old.clone())
        .await
        .physical_id();

    let updated = lab.update(TYPE, "TaskDefinition", &first, new, old).await;

    updated.assert_success();
    assert_eq!(updated.physical_id(), first);
    let (_, tags) = describe(&lab, &first).await;
    assert!(
        tags.contains(&("team".to_owned(), "b".to_owned())),
        "{tags:?}"
    );
}

#[tokio::test]
async fn a_redelivered_create_registers_one_revision() {
    let (lab, secret) = lab_with_role_and_secret().await;
    let request = lab.request(
        ecs_private_auth::protocol::RequestType::Create,
        TYPE,
        "TaskDefinition",
        props(&secret, "lab/hello:1.0", json!([])),
        None,
        None,
    );

    let first = lab.send(&request).await;
    let second = lab.send(&request).await;

    assert_eq!(first.physical_id(), second.physical_id());
    let listed = lab
        .clients
        .ecs
        .list_task_definitions()
        .family_prefix("lab-web")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.task_definition_arns().len(), 1);
}

#[tokio::test]
async fn a_family_that_is_not_ours_fails_and_a_bad_size_fails_before_any_call() {
    let (lab, secret) = lab_with_role_and_secret().await;
    lab.clients
        .ecs
        .register_task_definition()
        .family("lab-web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("x")
                .image("x")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let theirs = lab
        .create(
            TYPE,
            "TaskDefinition",
            props(&secret, "lab/hello:1.0", json!([])),
        )
        .await;
    let mut bad = props(&secret, "lab/hello:1.0", json!([]));
    bad["Family"] = json!("other");
    bad["Memory"] = json!("5120");
    let bad_size = lab.create(TYPE, "Sized", bad).await;

    theirs.assert_failed();
    assert!(
        theirs
            .reason()
            .starts_with("ECS task definition family lab-web already exists"),
        "{}",
        theirs.reason()
    );
    bad_size.assert_failed();
    assert_eq!(
        bad_size.reason(),
        "property Memory must be from 1024 to 4096 in steps of 1024 MiB for Cpu 512 on Fargate"
    );
    let listed = lab
        .clients
        .ecs
        .list_task_definitions()
        .family_prefix("other")
        .send()
        .await
        .unwrap();
    assert!(listed.task_definition_arns().is_empty());
}

#[tokio::test]
async fn an_image_change_describes_the_current_revision_once() {
    let (lab, secret) = lab_with_role_and_secret().await;
    let (lab, proxy) = lab.counting_calls().await;
    let old = props(&secret, "lab/hello:1.0", json!([]));
    let new = props(&secret, "lab/hello:1.1", json!([]));
    let first = lab
        .create(TYPE, "TaskDefinition", old.clone())
        .await
        .physical_id();
    proxy.reset();

    lab.update(TYPE, "TaskDefinition", &first, new, old)
        .await
        .assert_success();

    let counts = proxy.counts();
    assert_eq!(
        counts.get("ecs:DescribeTaskDefinition"),
        Some(&1),
        "the revision found first is not asked for again: {counts:?}"
    );
    assert_eq!(counts.get("ecs:RegisterTaskDefinition"), Some(&1));
}
