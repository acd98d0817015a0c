//! nightly-cleanup where moto cannot show it, with aws-smithy-mocks: paging (moto ignores page
//! sizes), throttling, failures confined to their item, and the run's time budget (on tokio's
//! paused clock, so minutes of waiting take none).

use std::time::Duration;

use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{Stack, StackStatus};
use aws_sdk_ecs::operation::delete_cluster::DeleteClusterError;
use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::types::Cluster;
use aws_sdk_ecs::types::error::ClusterContainsServicesException;
use aws_sdk_iam::operation::delete_role::DeleteRoleOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_tags::{ListRoleTagsError, ListRoleTagsOutput};
use aws_sdk_iam::operation::list_roles::ListRolesOutput;
use aws_sdk_iam::types::Role;
use aws_sdk_resourcegroupstagging::operation::get_resources::{
    GetResourcesError, GetResourcesOutput,
};
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
use aws_sdk_secretsmanager::operation::delete_secret::{DeleteSecretError, DeleteSecretOutput};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use ecs_private_auth::aws::Clients;
use ecs_private_auth::cleanup::{CleanupSettings, discover, run};
use ecs_private_auth::resource_type::ResourceType;
use ecs_private_auth::tags::{TAG_CREATED_AT, TAG_LOGICAL_ID, TAG_STACK_ID};

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

fn clients(tagging: &[&Rule], cloudformation: &[&Rule], secrets: &[&Rule]) -> Clients {
    let no_roles = mock!(aws_sdk_iam::Client::list_roles).then_output(|| {
        ListRolesOutput::builder()
            .set_roles(Some(vec![]))
            .build()
            .unwrap()
    });
    clients_with(tagging, cloudformation, &[], &[&no_roles], secrets)
}

fn clients_with(
    tagging: &[&Rule],
    cloudformation: &[&Rule],
    ecs: &[&Rule],
    iam: &[&Rule],
    secrets: &[&Rule],
) -> Clients {
    static PARTITION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PARTITION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // Every secret is still there (not scheduled for deletion).
    let alive = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .then_output(|| DescribeSecretOutput::builder().build());
    let mut secrets: Vec<&Rule> = secrets.to_vec();
    secrets.push(&alive);
    Clients {
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
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            cloudformation,
            |c| c.region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        ),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, ecs),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, iam),
        secrets: mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            secrets.iter().copied()
        ),
        // The cleanup neither invokes functions nor reads parameters.
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[]),
        ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[]),
        registry: ecs_private_auth::registry::client(),
    }
}

fn settings() -> CleanupSettings {
    CleanupSettings {
        max_deletions: 1000,
        ..CleanupSettings::default()
    }
}

/// CloudFormation's record of GONE_STACK: deleted, its last template holding `Credentials` (and
/// `Cluster`) without keeping them.
fn deleted_stack() -> (Rule, Rule) {
    let described = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|input| input.stack_name() == Some(GONE_STACK))
        .then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_id(GONE_STACK)
                        .stack_name("gone")
                        .stack_status(StackStatus::DeleteComplete)
                        .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                        .build(),
                )
                .build()
        });
    let template = mock!(aws_sdk_cloudformation::Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(r#"{"Resources": {"Credentials": {"Type": "Custom::RegistryCredentials"}, "Cluster": {"Type": "Custom::FargateCluster"}}}"#)
            .build()
    });
    (described, template)
}

fn no_stacks_listed() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|input| input.stack_name().is_none())
        .then_output(|| DescribeStacksOutput::builder().build())
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

    let found = discover::tagged_resources(&clients).await.items;

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
            .all(|f| f.kind == ResourceType::RegistryCredentials && f.stack_id == GONE_STACK)
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

    let found = discover::tagged_resources(&clients).await.items;

    assert_eq!(found.len(), 1);
    assert_eq!(tagging.num_calls(), 2);
}

#[tokio::test]
async fn one_failed_deletion_is_reported_and_the_rest_still_go() {
    let tagging = pages(&[&["first", "broken", "third"]]);
    let (gone, template) = deleted_stack();
    let listing = no_stacks_listed();
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
    let clients = clients(
        &[&tagging],
        &[&gone, &template, &listing],
        &[&broken, &fine],
    );

    let report = run(
        &clients,
        &settings(),
        "123456789012",
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await;

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

fn cluster(name: &str) -> ResourceTagMapping {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    ResourceTagMapping::builder()
        .resource_arn(format!("arn:aws:ecs:us-east-1:123456789012:cluster/{name}"))
        .tags(tag(TAG_STACK_ID, GONE_STACK))
        .tags(tag(TAG_LOGICAL_ID, "Cluster"))
        .tags(tag(TAG_CREATED_AT, "2026-01-01T00:00:00Z"))
        .build()
}

fn role(name: &str) -> Role {
    Role::builder()
        .role_name(name)
        .path("/ecs-private-auth/")
        .role_id(name)
        .arn(format!(
            "arn:aws:iam::123456789012:role/ecs-private-auth/{name}"
        ))
        .create_date(aws_sdk_iam::primitives::DateTime::from_secs(0))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_role_whose_tags_cannot_be_read_is_not_reached_and_the_others_go_on() {
    let tagging = pages(&[&["a"]]);
    let (gone, template) = deleted_stack();
    let listing = no_stacks_listed();
    let roles = mock!(aws_sdk_iam::Client::list_roles).then_output(|| {
        ListRolesOutput::builder()
            .roles(role("vanished"))
            .roles(role("orphan"))
            .build()
            .unwrap()
    });
    // Deleted by someone else between ListRoles and ListRoleTags.
    let vanished = mock!(aws_sdk_iam::Client::list_role_tags)
        .match_requests(|input| input.role_name() == Some("vanished"))
        .then_error(|| {
            ListRoleTagsError::generic(
                aws_sdk_iam::error::ErrorMetadata::builder()
                    .code("NoSuchEntity")
                    .message("The role with name vanished cannot be found.")
                    .build(),
            )
        });
    let orphan_tags = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        let tag = |k: &str, v: &str| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap()
        };
        ListRoleTagsOutput::builder()
            .tags(tag(TAG_STACK_ID, GONE_STACK))
            .tags(tag(TAG_LOGICAL_ID, "Credentials"))
            .tags(tag(TAG_CREATED_AT, "2026-01-01T00:00:00Z"))
            .build()
            .unwrap()
    });
    let attached = mock!(aws_sdk_iam::Client::list_attached_role_policies)
        .then_output(|| ListAttachedRolePoliciesOutput::builder().build());
    let inline = mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
        ListRolePoliciesOutput::builder()
            .set_policy_names(Some(vec![]))
            .build()
            .unwrap()
    });
    let delete_role =
        mock!(aws_sdk_iam::Client::delete_role).then_output(|| DeleteRoleOutput::builder().build());
    let delete_secret = mock!(aws_sdk_secretsmanager::Client::delete_secret)
        .then_output(|| DeleteSecretOutput::builder().build());
    let clients = clients_with(
        &[&tagging],
        &[&gone, &template, &listing],
        &[],
        &[
            &roles,
            &vanished,
            &orphan_tags,
            &attached,
            &inline,
            &delete_role,
        ],
        &[&delete_secret],
    );

    let report = run(
        &clients,
        &settings(),
        "123456789012",
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await;

    assert_eq!(report.not_reached.len(), 1, "{:?}", report.not_reached);
    assert!(report.not_reached[0].what.contains("vanished"));
    assert!(report.not_reached[0].reason.contains("NoSuchEntity"));
    assert_eq!(report.deleted.len(), 2, "the orphan role and the secret");
    assert_eq!(delete_role.num_calls(), 1);
}

#[tokio::test]
async fn a_failing_stack_listing_costs_only_the_stacks_it_would_have_listed() {
    let tagging = pages(&[&["a"]]);
    let (gone, template) = deleted_stack();
    let throttled = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|input| input.stack_name().is_none())
        .then_error(|| {
            DescribeStacksError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to list stacks")
                    .build(),
            )
        });
    let delete_secret = mock!(aws_sdk_secretsmanager::Client::delete_secret)
        .then_output(|| DeleteSecretOutput::builder().build());
    let clients = clients(
        &[&tagging],
        &[&gone, &template, &throttled],
        &[&delete_secret],
    );

    let report = run(
        &clients,
        &settings(),
        "123456789012",
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await;

    assert_eq!(report.deleted.len(), 1, "the orphan still goes");
    assert_eq!(report.not_reached.len(), 1);
    assert_eq!(
        report.not_reached[0].what,
        "stacks with a time to live not yet listed"
    );
}

#[tokio::test(start_paused = true)]
async fn clusters_that_never_drain_cost_their_budget_and_the_report_comes_in_time() {
    let tagging = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
        let mut page = GetResourcesOutput::builder();
        for name in ["c1", "c2", "c3", "c4", "c5"] {
            page = page.resource_tag_mapping_list(cluster(name));
        }
        page.resource_tag_mapping_list(secret("s1"))
            .resource_tag_mapping_list(secret("s2"))
            .build()
    });
    let (gone, template) = deleted_stack();
    let listing = no_stacks_listed();
    let active = mock!(aws_sdk_ecs::Client::describe_clusters).then_output(|| {
        DescribeClustersOutput::builder()
            .clusters(Cluster::builder().status("ACTIVE").build())
            .build()
    });
    // Each still holds a service someone else runs there.
    let busy = mock!(aws_sdk_ecs::Client::delete_cluster).then_error(|| {
        DeleteClusterError::ClusterContainsServicesException(
            ClusterContainsServicesException::builder()
                .message("The Cluster cannot be deleted while Services are active.")
                .build(),
        )
    });
    let no_roles = mock!(aws_sdk_iam::Client::list_roles).then_output(|| {
        ListRolesOutput::builder()
            .set_roles(Some(vec![]))
            .build()
            .unwrap()
    });
    let delete_secret = mock!(aws_sdk_secretsmanager::Client::delete_secret)
        .then_output(|| DeleteSecretOutput::builder().build());
    let clients = clients_with(
        &[&tagging],
        &[&gone, &template, &listing],
        &[&active, &busy],
        &[&no_roles],
        &[&delete_secret],
    );
    let started = tokio::time::Instant::now();
    let give_up_at = started + Duration::from_secs(100);

    let report = run(&clients, &settings(), "123456789012", give_up_at).await;

    assert!(
        tokio::time::Instant::now() <= give_up_at,
        "the report came {:?} after the start",
        started.elapsed()
    );
    assert_eq!(
        report.failed.len(),
        4,
        "four clusters tried for their budget"
    );
    assert!(
        report
            .failed
            .iter()
            .all(|f| f.error.contains("still holds services")),
        "{:?}",
        report.failed
    );
    assert_eq!(
        report.not_reached.len(),
        1,
        "the fifth would not have finished in time: {:?}",
        report.not_reached
    );
    assert!(report.not_reached[0].what.ends_with("cluster/c5"));
    assert_eq!(report.deleted.len(), 2, "the secrets after them still go");
}
