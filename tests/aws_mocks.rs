//! What moto cannot show, with aws-smithy-mocks standing in for AWS, through the same handler
//! path the functions use and a real ResponseURL receiver: rollouts that fail, IAM propagation,
//! clusters that still hold services, throttling, and a wait handed to a new invocation.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput;
use aws_sdk_cloudformation::types::{ResourceStatus, StackResourceDetail};
use aws_sdk_ecs::Client as Ecs;
use aws_sdk_ecs::operation::create_service::{CreateServiceError, CreateServiceOutput};
use aws_sdk_ecs::operation::delete_cluster::{DeleteClusterError, DeleteClusterOutput};
use aws_sdk_ecs::operation::delete_service::DeleteServiceOutput;
use aws_sdk_ecs::operation::describe_clusters::{DescribeClustersError, DescribeClustersOutput};
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::error::{ClusterContainsServicesException, InvalidParameterException};
use aws_sdk_ecs::types::{
    Cluster, Deployment, DeploymentRolloutState, Failure, Service, Tag, Task,
};
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use ecs_private_auth::aws::Clients;
use ecs_private_auth::protocol::request::CONTINUATION_KEY;
use ecs_private_auth::settings::Settings;
use ecs_private_auth::tags::{TAG_LOGICAL_ID, TAG_STACK_ID};
use serde_json::{Value, json};
use support::lab::{answers_at, invoke};
use support::receiver::Receiver;
use support::{ACCOUNT, REGION, STACK_ID};

const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/lab/web";
const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/lab";
const TASK_DEFINITION: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/lab-web:1";
const DEPLOYMENT: &str = "ecs-svc/1234567890";
const UNAUTHORIZED: &str = "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref registry.example.com/lab/hello:1.0: failed to authorize: 401 Unauthorized";

/// Mocked clients with the product's retry policy. Each gets its own retry partition: adaptive
/// retries rate-limit every client of a partition after throttling, which would couple tests.
fn clients(request: &Value, ecs: &[&Rule], lambda: &[&Rule]) -> Clients {
    static PARTITION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let partition = format!(
        "ecs-test-{}",
        PARTITION.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let none: &[&Rule] = &[];
    let confirming = record_of(request);
    Clients {
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&confirming]),
        tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, none),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, ecs, |config| config
            .retry_config(ecs_private_auth::aws::retry_config())
            .retry_partition(aws_sdk_ecs::config::retry::RetryPartition::new(
                partition.clone()
            ))),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, none),
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, lambda),
        secrets: mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, none),
        ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, none),
        registry: ecs_private_auth::registry::client(),
    }
}

/// CloudFormation's record of `request` while it waits for the answer: the resource in the
/// request's in-progress state, with the request's physical id.
fn record_of(request: &Value) -> Rule {
    let resource_type = request["ResourceType"].as_str().unwrap().to_owned();
    let physical_id = request["PhysicalResourceId"].as_str().map(str::to_owned);
    let status = format!(
        "{}_IN_PROGRESS",
        request["RequestType"]
            .as_str()
            .unwrap()
            .to_ascii_uppercase()
    );
    mock!(aws_sdk_cloudformation::Client::describe_stack_resource).then_output(move || {
        DescribeStackResourceOutput::builder()
            .stack_resource_detail(
                StackResourceDetail::builder()
                    .logical_resource_id("recorded")
                    .resource_type(&resource_type)
                    .set_physical_resource_id(physical_id.clone())
                    .resource_status(ResourceStatus::from(status.as_str()))
                    .last_updated_timestamp(DateTime::from_secs(1_700_000_000))
                    .build(),
            )
            .build()
    })
}

fn settings(receiver: &Receiver) -> Settings {
    Settings {
        allowed_response_url_prefixes: vec![format!("{}/responses/", receiver.base_url)],
        function_name: Some("lab-on-create".to_owned()),
        ..Settings::default()
    }
}

fn request(
    receiver: &Receiver,
    request_type: &str,
    resource_type: &str,
    logical_id: &str,
    properties: Value,
    physical_id: Option<&str>,
) -> Value {
    let mut properties = properties;
    properties["ServiceToken"] = json!(format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth"));
    let mut request = json!({
        "RequestType": request_type, "RequestId": format!("{logical_id}-{request_type}"), "ResponseURL": receiver.url(logical_id),
        "StackId": STACK_ID, "ResourceType": resource_type, "LogicalResourceId": logical_id, "ResourceProperties": properties,
    });
    if let Some(id) = physical_id {
        request["PhysicalResourceId"] = json!(id);
    }
    request
}

fn service_props() -> Value {
    json!({"ServiceName": "web", "Cluster": "lab", "TaskDefinition": TASK_DEFINITION, "Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["sg-0a1b2c3d"]})
}

fn our_tags(logical_id: &str) -> Vec<Tag> {
    vec![
        Tag::builder().key(TAG_STACK_ID).value(STACK_ID).build(),
        Tag::builder().key(TAG_LOGICAL_ID).value(logical_id).build(),
    ]
}

fn service_with(rollout: DeploymentRolloutState, reason: &str) -> Service {
    Service::builder()
        .service_arn(SERVICE_ARN)
        .service_name("web")
        .status("ACTIVE")
        .task_definition(TASK_DEFINITION)
        .desired_count(1)
        .deployments(
            Deployment::builder()
                .id(DEPLOYMENT)
                .status("PRIMARY")
                .task_definition(TASK_DEFINITION)
                .rollout_state(rollout)
                .rollout_state_reason(reason)
                .created_at(DateTime::from_secs(1_700_000_000))
                .build(),
        )
        .set_tags(Some(our_tags("Service")))
        .build()
}

fn no_service() -> DescribeServicesOutput {
    DescribeServicesOutput::builder()
        .failures(
            Failure::builder()
                .arn(SERVICE_ARN)
                .reason("MISSING")
                .build(),
        )
        .build()
}

fn created() -> CreateServiceOutput {
    CreateServiceOutput::builder()
        .service(service_with(
            DeploymentRolloutState::InProgress,
            "in progress",
        ))
        .build()
}

fn stopped_task(reason: &'static str) -> (Rule, Rule) {
    let listed = mock!(Ecs::list_tasks).then_output(|| {
        ListTasksOutput::builder()
            .task_arns("arn:aws:ecs:us-east-1:123456789012:task/lab/0abc")
            .build()
    });
    let described = mock!(Ecs::describe_tasks).then_output(move || {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .started_by(DEPLOYMENT)
                    .stopped_reason(reason)
                    .stopped_at(DateTime::from_secs(1_700_000_100))
                    .build(),
            )
            .build()
    });
    (listed, described)
}

fn undo_rules() -> (Rule, Rule) {
    (
        mock!(Ecs::update_service).then_output(|| UpdateServiceOutput::builder().build()),
        mock!(Ecs::delete_service).then_output(|| DeleteServiceOutput::builder().build()),
    )
}

#[tokio::test]
async fn a_failed_rollout_quotes_the_stopped_tasks_reason_and_removes_the_new_service() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_services)
        .sequence()
        .output(no_service)
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service_with(
                    DeploymentRolloutState::Failed,
                    "ECS deployment circuit breaker: tasks failed to start.",
                ))
                .build()
        })
        .repeatedly()
        .build();
    let create = mock!(Ecs::create_service).then_output(created);
    let (listed, described) = stopped_task(UNAUTHORIZED);
    let (scale, delete) = undo_rules();
    let request = request(
        &receiver,
        "Create",
        "Custom::FargateService",
        "Service",
        service_props(),
        None,
    );

    invoke(
        &request,
        clients(
            &request,
            &[&describe, &create, &listed, &described, &scale, &delete],
            &[],
        ),
        settings(&receiver),
        Duration::from_secs(60),
    )
    .await;

    let answer = answers_at(&receiver, receiver.url("Service").as_str())[0].json();
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains("ECS deployment circuit breaker: tasks failed to start."),
        "{reason}"
    );
    assert!(
        reason.contains(UNAUTHORIZED),
        "the task's own stoppedReason is quoted: {reason}"
    );
    assert!(
        answer["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("ecs-private-auth:failed-create:"),
        "undone, so the marker"
    );
    assert_eq!(
        delete.num_calls(),
        1,
        "the service this Create made is removed again"
    );
}

#[tokio::test]
async fn a_task_stopped_by_the_registry_fails_fast_while_the_rollout_is_still_in_progress() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_services)
        .sequence()
        .output(no_service)
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service_with(
                    DeploymentRolloutState::InProgress,
                    "in progress",
                ))
                .build()
        })
        .repeatedly()
        .build();
    let create = mock!(Ecs::create_service).then_output(created);
    let (listed, described) = stopped_task(UNAUTHORIZED);
    let (scale, delete) = undo_rules();
    let request = request(
        &receiver,
        "Create",
        "Custom::FargateService",
        "Service",
        service_props(),
        None,
    );

    let started = std::time::Instant::now();
    invoke(
        &request,
        clients(
            &request,
            &[&describe, &create, &listed, &described, &scale, &delete],
            &[],
        ),
        settings(&receiver),
        Duration::from_secs(60),
    )
    .await;

    let answer = answers_at(&receiver, receiver.url("Service").as_str())[0].json();
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("a task stopped for a reason retrying cannot fix: CannotPullContainerError"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "fails at the first look, not after the circuit breaker"
    );
}

#[tokio::test]
async fn iam_propagation_errors_are_retried_until_create_service_succeeds() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_services)
        .sequence()
        .output(no_service)
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service_with(DeploymentRolloutState::Completed, "completed"))
                .build()
        })
        .repeatedly()
        .build();
    let create = mock!(Ecs::create_service)
        .sequence()
        .error(|| {
            CreateServiceError::InvalidParameterException(
                InvalidParameterException::builder()
                    .message("Unable to assume the role arn:aws:iam::123456789012:role/ecs-private-auth/exec. Please verify that the ECS service role being passed has the proper permissions.")
                    .build(),
            )
        })
        .output(created)
        .build();
    let listed = mock!(Ecs::list_tasks).then_output(|| ListTasksOutput::builder().build());
    let request = request(
        &receiver,
        "Create",
        "Custom::FargateService",
        "Service",
        service_props(),
        None,
    );

    invoke(
        &request,
        clients(&request, &[&describe, &create, &listed], &[]),
        settings(&receiver),
        Duration::from_secs(60),
    )
    .await;

    let answer = answers_at(&receiver, receiver.url("Service").as_str())[0].json();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], SERVICE_ARN);
    assert_eq!(create.num_calls(), 2);
}

#[tokio::test]
async fn a_wait_that_outlasts_the_invocation_continues_in_a_new_one_without_answering() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_services)
        .sequence()
        .output(no_service)
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service_with(
                    DeploymentRolloutState::InProgress,
                    "in progress",
                ))
                .build()
        })
        .repeatedly()
        .build();
    let create = mock!(Ecs::create_service).then_output(created);
    let listed = mock!(Ecs::list_tasks).then_output(|| ListTasksOutput::builder().build());
    let sent: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
    let recorder = sent.clone();
    let reinvoke = mock!(Lambda::invoke)
        .match_requests(move |input| {
            let payload = serde_json::from_slice(input.payload().unwrap().as_ref()).unwrap();
            let kind = input
                .invocation_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default();
            recorder.lock().unwrap().push((
                input.function_name().unwrap_or_default().to_owned(),
                kind,
                payload,
            ));
            true
        })
        .then_output(|| InvokeOutput::builder().status_code(202).build());
    let mut props = service_props();
    props["ServiceTimeout"] = json!("1800");
    let request = request(
        &receiver,
        "Create",
        "Custom::FargateService",
        "Service",
        props,
        None,
    );

    let started = std::time::Instant::now();
    let result = invoke(
        &request,
        clients(&request, &[&describe, &create, &listed], &[&reinvoke]),
        settings(&receiver),
        Duration::from_secs(12),
    )
    .await;

    assert!(
        receiver.received().is_empty(),
        "the new invocation answers, not this one"
    );
    assert_eq!(result["requests"][0]["outcome"], "continued");
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let (function, kind, payload) = &sent[0];
    assert_eq!(
        (function.as_str(), kind.as_str()),
        ("lab-on-create", "Event")
    );
    let continuation = &payload[CONTINUATION_KEY];
    assert_eq!(continuation["request"]["RequestId"], "Service-Create");
    assert_eq!(
        continuation["request"]["ResourceProperties"]["ServiceTimeout"],
        "1800"
    );
    assert_eq!(continuation["continuations"], 1);
    assert_eq!(
        continuation["made"], SERVICE_ARN,
        "what this request made travels with it"
    );
    let first_received = continuation["firstReceivedAt"].as_u64().unwrap();
    assert!(first_received <= ecs_private_auth::protocol::request::now_epoch_secs());
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "it waited at least one poll interval before handing over"
    );
}

#[tokio::test]
async fn an_invocation_too_short_to_wait_one_poll_interval_says_so_instead_of_handing_over() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_services)
        .sequence()
        .output(no_service)
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service_with(
                    DeploymentRolloutState::InProgress,
                    "in progress",
                ))
                .build()
        })
        .repeatedly()
        .build();
    let create = mock!(Ecs::create_service).then_output(created);
    let listed = mock!(Ecs::list_tasks).then_output(|| ListTasksOutput::builder().build());
    let reinvoke =
        mock!(Lambda::invoke).then_output(|| InvokeOutput::builder().status_code(202).build());
    let (scale, delete) = undo_rules();
    let request = request(
        &receiver,
        "Create",
        "Custom::FargateService",
        "Service",
        service_props(),
        None,
    );

    invoke(
        &request,
        clients(
            &request,
            &[&describe, &create, &listed, &scale, &delete],
            &[&reinvoke],
        ),
        settings(&receiver),
        Duration::from_secs(6),
    )
    .await;

    assert_eq!(
        reinvoke.num_calls(),
        0,
        "no hand-over after a moment's wait"
    );
    let answer = answers_at(&receiver, receiver.url("Service").as_str())[0].json();
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("less than one poll interval (5s); raise the function's Timeout"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_continued_create_whose_rollout_fails_undoes_the_service_it_made() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .services(service_with(
                DeploymentRolloutState::Failed,
                "ECS deployment circuit breaker: tasks failed to start.",
            ))
            .build()
    });
    let (listed, described) = stopped_task(UNAUTHORIZED);
    let (scale, delete) = undo_rules();
    let request = request(
        &receiver,
        "Create",
        "Custom::FargateService",
        "Service",
        service_props(),
        None,
    );
    // An earlier invocation made the service, then handed the wait over.
    let continuation = json!({CONTINUATION_KEY: {
        "request": request, "firstReceivedAt": ecs_private_auth::protocol::request::now_epoch_secs(),
        "continuations": 1, "made": SERVICE_ARN}});

    support::lab::invoke_function(
        ecs_private_auth::provider::FunctionRole::OnCreate,
        &continuation,
        clients(
            &request,
            &[&describe, &listed, &described, &scale, &delete],
            &[],
        ),
        settings(&receiver),
        Duration::from_secs(60),
    )
    .await;

    let answer = answers_at(&receiver, receiver.url("Service").as_str())[0].json();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        delete.num_calls(),
        1,
        "the service it made is removed again"
    );
    assert!(
        answer["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("ecs-private-auth:failed-create:"),
        "undone, so the marker: {answer}"
    );
}

#[tokio::test]
async fn a_cluster_delete_is_retried_while_services_drain_out_of_it() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_clusters).then_output(|| {
        DescribeClustersOutput::builder()
            .clusters(
                Cluster::builder()
                    .cluster_arn(CLUSTER_ARN)
                    .cluster_name("lab")
                    .status("ACTIVE")
                    .set_tags(Some(our_tags("Cluster")))
                    .build(),
            )
            .build()
    });
    let delete = mock!(Ecs::delete_cluster)
        .sequence()
        .error(|| {
            DeleteClusterError::ClusterContainsServicesException(
                ClusterContainsServicesException::builder()
                    .message("The Cluster cannot be deleted while Services are active.")
                    .build(),
            )
        })
        .output(|| DeleteClusterOutput::builder().build())
        .build();
    let request = request(
        &receiver,
        "Delete",
        "Custom::FargateCluster",
        "Cluster",
        json!({}),
        Some(CLUSTER_ARN),
    );

    invoke(
        &request,
        clients(&request, &[&describe, &delete], &[]),
        settings(&receiver),
        Duration::from_secs(60),
    )
    .await;

    let answer = answers_at(&receiver, receiver.url("Cluster").as_str())[0].json();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(delete.num_calls(), 2);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_policy() {
    let receiver = Receiver::start().await.unwrap();
    let describe = mock!(Ecs::describe_clusters)
        .sequence()
        .error(|| {
            DescribeClustersError::generic(
                aws_sdk_ecs::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| DescribeClustersOutput::builder().build())
        .build();
    let request = request(
        &receiver,
        "Delete",
        "Custom::FargateCluster",
        "Cluster",
        json!({}),
        Some(CLUSTER_ARN),
    );

    invoke(
        &request,
        clients(&request, &[&describe], &[]),
        settings(&receiver),
        Duration::from_secs(60),
    )
    .await;

    let answer = answers_at(&receiver, receiver.url("Cluster").as_str())[0].json();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(describe.num_calls(), 2, "the throttled call was retried");
}
