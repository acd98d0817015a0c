//! Every path CloudFormation takes with a custom resource, with its record set exactly as
//! CloudFormation holds it at that moment: each is confirmed and acted on. And when the record
//! cannot be read, nothing is done.

mod support;

use std::time::Duration;

use aws_sdk_cloudformation::operation::describe_stack_resource::{
    DescribeStackResourceError, DescribeStackResourceOutput,
};
use aws_sdk_cloudformation::types::{ResourceStatus, StackResourceDetail};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use ecs_private_auth::aws::Clients;
use ecs_private_auth::local::cloudformation::{ResourceRecord, StackRecord};
use ecs_private_auth::protocol::RequestType;
use serde_json::{Value, json};
use support::STACK_ID;
use support::lab::{Answer, Lab};

const TYPE: &str = "Custom::FargateCluster";

/// Sets CloudFormation's record: the stack's status, and the cluster resource's.
fn record(lab: &Lab, stack_status: &str, resource_status: &str, physical_id: Option<&str>) {
    let mut stack = lab
        .cloudformation
        .stack(STACK_ID)
        .unwrap_or_else(|| StackRecord::new(STACK_ID, stack_status));
    stack.status = stack_status.to_owned();
    stack.resources.insert(
        "Cluster".into(),
        ResourceRecord {
            resource_type: TYPE.into(),
            physical_id: physical_id.map(str::to_owned),
            status: resource_status.to_owned(),
        },
    );
    lab.cloudformation.put_stack(stack);
}

/// Sends a request exactly as given, CloudFormation's record as the test set it.
async fn send(
    lab: &Lab,
    request_type: RequestType,
    properties: Value,
    physical_id: Option<&str>,
) -> Answer {
    let old = (request_type == RequestType::Update).then(|| json!({}));
    let request = lab.request(request_type, TYPE, "Cluster", properties, physical_id, old);
    lab.send_unplayed(
        &request,
        lab.clients.clone(),
        lab.settings(),
        Duration::from_secs(30),
    )
    .await
}

async fn cluster_exists(lab: &Lab, name: &str) -> bool {
    lab.clients
        .ecs
        .describe_clusters()
        .clusters(name)
        .send()
        .await
        .unwrap()
        .clusters()
        .iter()
        .any(|cluster| cluster.status() == Some("ACTIVE"))
}

/// A cluster made by a genuine first Create; returns its id.
async fn first_create(lab: &Lab, name: &str) -> String {
    record(lab, "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", None);
    let answer = send(lab, RequestType::Create, json!({"ClusterName": name}), None).await;
    answer.assert_success();
    answer.physical_id()
}

#[tokio::test]
async fn a_first_create_and_its_rollback() {
    let lab = Lab::start().await;
    let id = first_create(&lab, "lab").await;
    assert!(cluster_exists(&lab, "lab").await);

    // Another resource failed: CloudFormation rolls the stack back.
    record(
        &lab,
        "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        Some(&id),
    );
    send(&lab, RequestType::Delete, json!({}), Some(&id))
        .await
        .assert_success();

    assert!(!cluster_exists(&lab, "lab").await);
}

#[tokio::test]
async fn an_update_in_place() {
    let lab = Lab::start().await;
    let id = first_create(&lab, "lab").await;

    record(&lab, "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(&id));
    let answer = send(
        &lab,
        RequestType::Update,
        json!({"ClusterName": "lab", "ContainerInsights": "enabled"}),
        Some(&id),
    )
    .await;

    answer.assert_success();
    assert_eq!(answer.physical_id(), id);
}

#[tokio::test]
async fn a_replacing_update_and_the_clean_up_of_the_old_resource() {
    let lab = Lab::start().await;
    let old = first_create(&lab, "lab-a").await;

    record(&lab, "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(&old));
    let new = send(
        &lab,
        RequestType::Update,
        json!({"ClusterName": "lab-b"}),
        Some(&old),
    )
    .await;
    new.assert_success();
    assert_ne!(new.physical_id(), old);

    record(
        &lab,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
        Some(&new.physical_id()),
    );
    send(&lab, RequestType::Delete, json!({}), Some(&old))
        .await
        .assert_success();

    assert!(!cluster_exists(&lab, "lab-a").await);
    assert!(cluster_exists(&lab, "lab-b").await);
}

#[tokio::test]
async fn an_update_rollback_and_the_clean_up_of_what_the_update_made() {
    let lab = Lab::start().await;
    let old = first_create(&lab, "lab-a").await;
    record(&lab, "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(&old));
    let new = send(
        &lab,
        RequestType::Update,
        json!({"ClusterName": "lab-b"}),
        Some(&old),
    )
    .await
    .physical_id();

    // Another resource's Update failed: CloudFormation asks for the old properties again, of the
    // id it now holds.
    record(
        &lab,
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        Some(&new),
    );
    let rolled_back = send(
        &lab,
        RequestType::Update,
        json!({"ClusterName": "lab-a"}),
        Some(&new),
    )
    .await;
    rolled_back.assert_success();
    assert_eq!(rolled_back.physical_id(), old, "the old cluster is adopted");

    record(
        &lab,
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
        Some(&old),
    );
    send(&lab, RequestType::Delete, json!({}), Some(&new))
        .await
        .assert_success();

    assert!(cluster_exists(&lab, "lab-a").await);
    assert!(!cluster_exists(&lab, "lab-b").await);
}

#[tokio::test]
async fn a_stack_delete() {
    let lab = Lab::start().await;
    let id = first_create(&lab, "lab").await;

    record(&lab, "DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(&id));
    send(&lab, RequestType::Delete, json!({}), Some(&id))
        .await
        .assert_success();

    assert!(!cluster_exists(&lab, "lab").await);
}

#[tokio::test]
async fn a_delete_of_a_failed_creates_marker_needs_no_record_and_touches_nothing() {
    let lab = Lab::start().await;
    let marker = "ecs-private-auth:failed-create:Cluster:request-1";

    let answer = send(&lab, RequestType::Delete, json!({}), Some(marker)).await;

    answer.assert_success();
    assert_eq!(answer.physical_id(), marker);
    assert!(
        lab.cloudformation.calls().is_empty(),
        "nothing was read: {:?}",
        lab.cloudformation.calls()
    );
}

/// A CloudFormation client whose DescribeStackResource answers with `error` `failures` times,
/// then with a genuine Create's record.
fn cloudformation_failing(failures: usize, error: fn() -> DescribeStackResourceError) -> Clients {
    let mut rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resource).sequence();
    for _ in 0..failures {
        rule = rule.error(error);
    }
    let rule = rule
        .output(|| {
            DescribeStackResourceOutput::builder()
                .stack_resource_detail(
                    StackResourceDetail::builder()
                        .logical_resource_id("Cluster")
                        .resource_type(TYPE)
                        .resource_status(ResourceStatus::CreateInProgress)
                        .last_updated_timestamp(
                            aws_sdk_cloudformation::primitives::DateTime::from_secs(0),
                        )
                        .build(),
                )
                .build()
        })
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&rule],
        |config| {
            config.retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled())
        }
    );
    Clients {
        cloudformation: client,
        ..Clients::new(&aws_config::SdkConfig::builder().build())
    }
}

fn access_denied() -> DescribeStackResourceError {
    DescribeStackResourceError::generic(
        aws_sdk_cloudformation::error::ErrorMetadata::builder()
            .code("AccessDenied")
            .message("User is not authorized to perform: cloudformation:DescribeStackResource")
            .build(),
    )
}

#[tokio::test]
async fn a_record_that_stays_unreadable_is_answered_failed_and_nothing_is_made() {
    let lab = Lab::start().await;
    let request = lab.request(
        RequestType::Create,
        TYPE,
        "Cluster",
        json!({"ClusterName": "lab"}),
        None,
        None,
    );
    let clients = Clients {
        ecs: lab.clients.ecs.clone(),
        ..cloudformation_failing(1000, access_denied)
    };

    let started = std::time::Instant::now();
    let answer = lab
        .send_unplayed(&request, clients, lab.settings(), Duration::from_secs(6))
        .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("CloudFormation's record of Cluster could not be read (AccessDenied: User is not authorized"),
        "{}",
        answer.reason()
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "answered in time"
    );
    assert!(!cluster_exists(&lab, "lab").await);
}

#[tokio::test]
async fn a_record_that_is_denied_at_first_is_read_again() {
    let lab = Lab::start().await;
    let request = lab.request(
        RequestType::Create,
        TYPE,
        "Cluster",
        json!({"ClusterName": "lab"}),
        None,
        None,
    );
    let clients = Clients {
        ecs: lab.clients.ecs.clone(),
        ..cloudformation_failing(2, access_denied)
    };

    let answer = lab
        .send_unplayed(&request, clients, lab.settings(), Duration::from_secs(30))
        .await;

    answer.assert_success();
    assert!(cluster_exists(&lab, "lab").await);
}
