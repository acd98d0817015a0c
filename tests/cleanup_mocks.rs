//! nightly-cleanup where moto cannot show it, with aws-smithy-mocks: paging (moto ignores page
//! sizes), throttling, and one failed deletion among successful ones.

use std::time::Duration;

use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_iam::operation::list_roles::ListRolesOutput;
use aws_sdk_resourcegroupstagging::operation::get_resources::{
    GetResourcesError, GetResourcesOutput,
};
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
use aws_sdk_secretsmanager::operation::delete_secret::{DeleteSecretError, DeleteSecretOutput};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use ecs_private_auth::cleanup::plan::Kind;
use ecs_private_auth::cleanup::{CleanupClients, CleanupSettings, discover, run};
use ecs_private_auth::naming::{TAG_CREATED_AT, TAG_LOGICAL_ID, TAG_STACK_ID};

const GONE_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/1";

fn secret(name: &str) -> ResourceTagMapping {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    ResourceTagMapping::builder()
        .resource_arn(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
        ))
        .tags(tag(TAG_STACK_ID, GONE_STACK))
        .tags(tag(TAG_LOGICAL_ID, "Credentials"))
        .tags(tag(TAG_CREATED_AT, "2026-01-01T00:00:00Z"))
        .build()
}

fn clients(tagging: &[&Rule], cloudformation: &[&Rule], secrets: &[&Rule]) -> CleanupClients {
    static PARTITION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PARTITION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let roles = mock!(aws_sdk_iam::Client::list_roles).then_output(|| {
        ListRolesOutput::builder()
            .set_roles(Some(vec![]))
            .build()
            .unwrap()
    });
    // Every secret is still there (not scheduled for deletion).
    let alive = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .then_output(|| DescribeSecretOutput::builder().build());
    let mut secrets: Vec<&Rule> = secrets.to_vec();
    secrets.push(&alive);
    let config = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let none: &[&Rule] = &[];
    CleanupClients {
        config,
        tagging: mock_client!(
            aws_sdk_resourcegroupstagging,
            RuleMode::MatchAny,
            tagging,
            |c| c
                .retry_config(ecs_private_auth::aws::retry_config())
                .retry_partition(
                    aws_sdk_resourcegroupstagging::config::retry::RetryPartition::new(format!(
                        "tagging-{n}"
                    ))
                )
        ),
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, cloudformation),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, none),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[&roles]),
        secrets: mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            secrets.iter().copied()
        ),
    }
}

fn pages(names: &[&'static [&'static str]]) -> Rule {
    let mut sequence = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).sequence();
    for (index, page) in names.iter().enumerate() {
        let last = index + 1 == names.len();
        let page: Vec<&'static str> = page.to_vec();
        sequence = sequence.output(move || {
            GetResourcesOutput::builder()
                .set_resource_tag_mapping_list(Some(page.iter().map(|name| secret(name)).collect()))
                .set_pagination_token((!last).then(|| format!("page-{}", index + 1)))
                .build()
        });
    }
    sequence.build()
}

#[tokio::test]
async fn discovery_follows_every_page() {
    let tagging = pages(&[&["a", "b"], &["c"], &["d", "e"]]);
    let clients = clients(&[&tagging], &[], &[]);

    let found = discover::tagged_resources(&clients).await.unwrap();

    let names: Vec<&str> = found
        .iter()
        .map(|f| f.arn.rsplit(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["a-AbCdEf", "b-AbCdEf", "c-AbCdEf", "d-AbCdEf", "e-AbCdEf"]
    );
    assert!(
        found
            .iter()
            .all(|f| f.kind == Kind::Secret && f.stack_id == GONE_STACK)
    );
    assert_eq!(tagging.num_calls(), 3);
}

#[tokio::test]
async fn throttling_is_retried() {
    let tagging = mock!(aws_sdk_resourcegroupstagging::Client::get_resources)
        .sequence()
        .error(|| {
            GetResourcesError::generic(
                aws_sdk_resourcegroupstagging::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| {
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(secret("a"))
                .build()
        })
        .build();
    let clients = clients(&[&tagging], &[], &[]);

    let found = discover::tagged_resources(&clients).await.unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(tagging.num_calls(), 2);
}

#[tokio::test]
async fn one_failed_deletion_is_reported_and_the_rest_still_go() {
    let tagging = pages(&[&["first", "broken", "third"]]);
    let gone = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|input| input.stack_name() == Some(GONE_STACK))
        .then_error(|| {
            DescribeStacksError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {GONE_STACK} does not exist"))
                    .build(),
            )
        });
    let listing = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|input| input.stack_name().is_none())
        .then_output(|| DescribeStacksOutput::builder().build());
    let broken = mock!(aws_sdk_secretsmanager::Client::delete_secret)
        .match_requests(|input| input.secret_id().is_some_and(|id| id.contains("broken")))
        .then_error(|| {
            DeleteSecretError::generic(
                aws_sdk_secretsmanager::error::ErrorMetadata::builder()
                    .code("InternalServiceError")
                    .message("try again")
                    .build(),
            )
        });
    let fine = mock!(aws_sdk_secretsmanager::Client::delete_secret)
        .then_output(|| DeleteSecretOutput::builder().build());
    let clients = clients(&[&tagging], &[&gone, &listing], &[&broken, &fine]);

    let report = run(
        &clients,
        &CleanupSettings {
            dry_run: false,
            max_deletions: 10,
        },
        "123456789012",
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await
    .unwrap();

    let deleted: Vec<&str> = report
        .deleted
        .iter()
        .map(|d| d.resource.arn.as_str())
        .collect();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].arn.contains("broken"));
    assert!(
        report.failed[0].error.contains("InternalServiceError"),
        "{}",
        report.failed[0].error
    );
    assert_eq!(fine.num_calls(), 2);
}
