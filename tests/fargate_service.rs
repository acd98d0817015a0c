//! Custom::FargateService against moto, with a real VPC, subnet and security group in moto's EC2
//! and MOTO_ECS_SERVICE_RUNNING so that deployments complete. What moto cannot show (rollouts
//! that fail, stopped tasks, IAM propagation, waits across invocations) is covered with
//! aws-smithy-mocks in tests/aws_mocks.rs.

mod support;

use aws_sdk_ecs::types::ServiceField;
use serde_json::{Value, json};
use support::lab::Lab;
use support::network::Network;

const TYPE: &str = "Custom::FargateService";

struct Stack {
    lab: Lab,
    network: Network,
    cluster: String,
    task_definition: String,
}

async fn stack() -> Stack {
    let lab = Lab::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "1")]).await;
    let network = support::network::create(&lab.moto.endpoint).await.unwrap();
    lab.own_role("exec").await;
    let cluster = lab
        .create(
            "Custom::FargateCluster",
            "Cluster",
            json!({"ClusterName": "lab"}),
        )
        .await
        .physical_id();
    let task_definition = lab
        .create(
            "Custom::TaskDefinition",
            "TaskDefinition",
            task_definition("lab/hello:1.0"),
        )
        .await
        .physical_id();
    Stack {
        lab,
        network,
        cluster,
        task_definition,
    }
}

fn task_definition(image: &str) -> Value {
    json!({"Family": "lab-web", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/ecs-private-auth/exec",
           "ContainerDefinitions": [{"Name": "web", "Image": image}]})
}

impl Stack {
    fn props(&self, extra: Value) -> Value {
        let mut props = json!({"ServiceName": "web", "Cluster": self.cluster, "TaskDefinition": self.task_definition,
                               "Subnets": [self.network.subnet], "SecurityGroups": [self.network.security_group]});
        for (key, value) in extra.as_object().unwrap() {
            props[key] = value.clone();
        }
        props
    }

    async fn describe(&self, name: &str) -> aws_sdk_ecs::types::Service {
        self.lab
            .clients
            .ecs
            .describe_services()
            .cluster("lab")
            .services(name)
            .include(ServiceField::Tags)
            .send()
            .await
            .unwrap()
            .services
            .unwrap()
            .remove(0)
    }
}

#[tokio::test]
async fn create_update_and_delete_a_service() {
    let stack = stack().await;
    let props = stack.props(json!({"Tags": [{"Key": "team", "Value": "platform"}]}));

    let created = stack.lab.create(TYPE, "Service", props.clone()).await;
    created.assert_success();
    assert_eq!(
        created.physical_id(),
        "arn:aws:ecs:us-east-1:123456789012:service/lab/web"
    );
    assert_eq!(
        (created.data("Arn"), created.data("Name")),
        (created.physical_id(), "web".to_owned())
    );
    let service = stack.describe("web").await;
    assert_eq!(service.desired_count(), 1);
    assert_eq!(service.launch_type().unwrap().as_str(), "FARGATE");
    let vpc = service
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(vpc.subnets(), std::slice::from_ref(&stack.network.subnet));
    assert_eq!(
        vpc.security_groups(),
        std::slice::from_ref(&stack.network.security_group)
    );
    assert_eq!(vpc.assign_public_ip().unwrap().as_str(), "DISABLED");
    assert!(service.tags().iter().any(|t| t.key() == Some("team")));
    let logical_id = service
        .tags()
        .iter()
        .find(|tag| tag.key() == Some(ecs_private_auth::tags::TAG_LOGICAL_ID));
    assert_eq!(logical_id.and_then(|tag| tag.value()), Some("Service"));

    let scaled =
        stack.props(json!({"DesiredCount": "2", "Tags": [{"Key": "team", "Value": "platform"}]}));
    let updated = stack
        .lab
        .update(
            TYPE,
            "Service",
            &created.physical_id(),
            scaled.clone(),
            props,
        )
        .await;
    updated.assert_success();
    assert_eq!(updated.physical_id(), created.physical_id());
    assert_eq!(stack.describe("web").await.desired_count(), 2);

    let deleted = stack
        .lab
        .delete(TYPE, "Service", &created.physical_id(), scaled.clone())
        .await;
    deleted.assert_success();
    assert_eq!(stack.describe("web").await.status(), Some("INACTIVE"));
    stack
        .lab
        .delete(TYPE, "Service", &created.physical_id(), scaled)
        .await
        .assert_success();
    stack
        .lab
        .delete(
            "Custom::FargateCluster",
            "Cluster",
            &stack.cluster,
            json!({}),
        )
        .await
        .assert_success();
}

#[tokio::test]
async fn a_new_task_definition_revision_is_rolled_out_in_place() {
    let stack = stack().await;
    let props = stack.props(json!({}));
    let created = stack
        .lab
        .create(TYPE, "Service", props.clone())
        .await
        .physical_id();
    let revision_2 = stack
        .lab
        .update(
            "Custom::TaskDefinition",
            "TaskDefinition",
            &stack.task_definition,
            task_definition("lab/hello:1.1"),
            task_definition("lab/hello:1.0"),
        )
        .await
        .physical_id();

    // moto does not start a deployment for UpdateService; the wait itself is covered by the
    // mock tests.
    let new_props =
        stack.props(json!({"TaskDefinition": revision_2, "WaitForSteadyState": "false"}));
    let updated = stack
        .lab
        .update(TYPE, "Service", &created, new_props, props)
        .await;

    updated.assert_success();
    assert_eq!(updated.physical_id(), created);
    assert_eq!(
        stack.describe("web").await.task_definition(),
        Some(revision_2.as_str())
    );
}

#[tokio::test]
async fn a_renamed_service_is_a_new_service_and_the_old_ids_delete_removes_only_the_old_one() {
    let stack = stack().await;
    let old = stack.props(json!({}));
    let new = stack.props(json!({"ServiceName": "web-2"}));
    let first = stack
        .lab
        .create(TYPE, "Service", old.clone())
        .await
        .physical_id();

    let second = stack
        .lab
        .update(TYPE, "Service", &first, new.clone(), old.clone())
        .await;
    second.assert_success();
    assert!(second.physical_id().ends_with("/lab/web-2"));

    stack
        .lab
        .delete(TYPE, "Service", &first, old)
        .await
        .assert_success();
    assert_eq!(stack.describe("web").await.status(), Some("INACTIVE"));
    assert_eq!(stack.describe("web-2").await.status(), Some("ACTIVE"));
}

#[tokio::test]
async fn a_service_that_is_not_ours_fails_the_create_and_survives_a_delete() {
    let stack = stack().await;
    let theirs = stack
        .lab
        .clients
        .ecs
        .create_service()
        .cluster("lab")
        .service_name("web")
        .task_definition(&stack.task_definition)
        .desired_count(1)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();

    let answer = stack
        .lab
        .create(TYPE, "Service", stack.props(json!({"DesiredCount": "3"})))
        .await;
    let deleted = stack
        .lab
        .delete(TYPE, "Service", theirs.service_arn().unwrap(), json!({}))
        .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("ECS service web already exists"),
        "{}",
        answer.reason()
    );
    deleted.assert_success();
    let service = stack.describe("web").await;
    assert_eq!(
        (service.status(), service.desired_count()),
        (Some("ACTIVE"), 1)
    );
}

#[tokio::test]
async fn a_redelivered_create_makes_one_service() {
    let stack = stack().await;
    let request = stack.lab.request(
        ecs_private_auth::protocol::RequestType::Create,
        TYPE,
        "Service",
        stack.props(json!({"ServiceName": null})),
        None,
        None,
    );

    let first = stack.lab.send(&request).await;
    let second = stack.lab.send(&request).await;

    first.assert_success();
    assert_eq!(first.physical_id(), second.physical_id());
    assert!(first.data("Name").starts_with("lab-Service-"));
    let listed = stack
        .lab
        .clients
        .ecs
        .list_services()
        .cluster("lab")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.service_arns().len(), 1);
}
