//! Custom::FargateCluster against moto: the AWS state after every request path.

mod support;

use aws_sdk_ecs::types::ClusterField;
use serde_json::{Value, json};
use support::STACK_ID;
use support::lab::Lab;

const TYPE: &str = "Custom::FargateCluster";

async fn describe(lab: &Lab, name: &str) -> Option<aws_sdk_ecs::types::Cluster> {
    lab.clients
        .ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap_or_default()
        .into_iter()
        .find(|cluster| cluster.status() == Some("ACTIVE"))
}

fn tags(cluster: &aws_sdk_ecs::types::Cluster) -> Vec<(String, String)> {
    cluster
        .tags()
        .iter()
        .map(|tag| {
            (
                tag.key().unwrap().to_owned(),
                tag.value().unwrap().to_owned(),
            )
        })
        .collect()
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn create_update_and_delete_a_cluster() {
    let lab = Lab::start().await;
    let props = json!({"ClusterName": "lab", "ContainerInsights": "enabled", "Tags": [{"Key": "team", "Value": "platform"}]});

    let created = lab.create(TYPE, "Cluster", props.clone()).await;
    created.assert_success();
    assert_eq!(
        created.physical_id(),
        "arn:aws:ecs:us-east-1:123456789012:cluster/lab"
    );
    assert_eq!(created.data("Arn"), created.physical_id());
    assert_eq!(created.data("Name"), "lab");
    let cluster = describe(&lab, "lab").await.unwrap();
    assert_eq!(cluster.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(cluster.settings()[0].value(), Some("enabled"));
    let cluster_tags = tags(&cluster);
    assert_eq!(tag(&cluster_tags, "team"), Some("platform"));
    assert_eq!(
        tag(&cluster_tags, "ecs-private-auth:stack-id"),
        Some(STACK_ID)
    );
    assert_eq!(
        tag(&cluster_tags, "ecs-private-auth:logical-id"),
        Some("Cluster")
    );
    assert!(
        tag(&cluster_tags, "ecs-private-auth:created-at")
            .unwrap()
            .ends_with('Z')
    );

    let new_props = json!({"ClusterName": "lab", "ContainerInsights": "disabled", "CapacityProviders": ["FARGATE"], "Tags": [{"Key": "env", "Value": "dev"}]});
    let updated = lab
        .update(
            TYPE,
            "Cluster",
            &created.physical_id(),
            new_props.clone(),
            props,
        )
        .await;
    updated.assert_success();
    assert_eq!(
        updated.physical_id(),
        created.physical_id(),
        "changed in place"
    );
    let cluster = describe(&lab, "lab").await.unwrap();
    assert_eq!(cluster.settings()[0].value(), Some("disabled"));
    assert_eq!(cluster.capacity_providers(), ["FARGATE"]);
    let cluster_tags = tags(&cluster);
    assert_eq!(tag(&cluster_tags, "env"), Some("dev"));
    assert_eq!(
        tag(&cluster_tags, "team"),
        None,
        "a removed user tag is removed"
    );
    assert_eq!(
        tag(&cluster_tags, "ecs-private-auth:stack-id"),
        Some(STACK_ID),
        "managed tags stay"
    );

    let deleted = lab
        .delete(TYPE, "Cluster", &created.physical_id(), new_props.clone())
        .await;
    deleted.assert_success();
    assert_eq!(deleted.physical_id(), created.physical_id());
    assert!(describe(&lab, "lab").await.is_none());

    let again = lab
        .delete(TYPE, "Cluster", &created.physical_id(), new_props)
        .await;
    again.assert_success();
}

#[tokio::test]
async fn a_generated_name_is_stable_and_a_redelivered_create_makes_one_cluster() {
    let lab = Lab::start().await;
    let request = lab.request(
        ecs_private_auth::protocol::RequestType::Create,
        TYPE,
        "Cluster",
        json!({}),
        None,
        None,
    );

    let first = lab.send(&request).await;
    let second = lab.send(&request).await;

    first.assert_success();
    second.assert_success();
    assert_eq!(first.physical_id(), second.physical_id());
    assert!(
        first.data("Name").starts_with("lab-Cluster-"),
        "{}",
        first.data("Name")
    );
    let clusters = lab.clients.ecs.list_clusters().send().await.unwrap();
    assert_eq!(clusters.cluster_arns().len(), 1);
}

#[tokio::test]
async fn a_cluster_that_is_not_ours_fails_the_create_and_is_left_unchanged() {
    let lab = Lab::start().await;
    lab.clients
        .ecs
        .create_cluster()
        .cluster_name("taken")
        .send()
        .await
        .unwrap();

    let answer = lab
        .create(
            TYPE,
            "Cluster",
            json!({"ClusterName": "taken", "ContainerInsights": "enabled"}),
        )
        .await;

    answer.assert_failed();
    assert!(
        answer.reason().starts_with(
            "ECS cluster taken already exists and was not made by this stack's Cluster"
        ),
        "{}",
        answer.reason()
    );
    assert!(
        answer
            .physical_id()
            .starts_with("ecs-private-auth:failed-create:")
    );
    let cluster = describe(&lab, "taken").await.unwrap();
    assert!(cluster.tags().is_empty(), "untouched");
    assert!(
        cluster
            .settings()
            .iter()
            .all(|setting| setting.value() != Some("enabled")),
        "untouched"
    );
}

#[tokio::test]
async fn a_delete_of_a_cluster_that_is_not_ours_succeeds_and_touches_nothing() {
    let lab = Lab::start().await;
    let arn = lab
        .clients
        .ecs
        .create_cluster()
        .cluster_name("theirs")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap()
        .cluster_arn
        .unwrap();

    lab.delete(TYPE, "Cluster", &arn, json!({}))
        .await
        .assert_success();

    assert!(describe(&lab, "theirs").await.is_some());
}

#[tokio::test]
async fn a_replacing_update_makes_a_new_cluster_and_the_old_ids_delete_removes_only_the_old_one() {
    let lab = Lab::start().await;
    let old_props = json!({"ClusterName": "blue"});
    let new_props = json!({"ClusterName": "green"});
    let blue = lab
        .create(TYPE, "Cluster", old_props.clone())
        .await
        .physical_id();

    let green = lab
        .update(TYPE, "Cluster", &blue, new_props.clone(), old_props.clone())
        .await;
    green.assert_success();
    assert_eq!(
        green.physical_id(),
        "arn:aws:ecs:us-east-1:123456789012:cluster/green"
    );

    // The rollback Update (old properties, new id) adopts the old cluster.
    let rollback = lab
        .update(
            TYPE,
            "Cluster",
            &green.physical_id(),
            old_props.clone(),
            new_props.clone(),
        )
        .await;
    rollback.assert_success();
    assert_eq!(rollback.physical_id(), blue);

    lab.delete(TYPE, "Cluster", &green.physical_id(), new_props)
        .await
        .assert_success();
    assert!(describe(&lab, "green").await.is_none());
    assert!(describe(&lab, "blue").await.is_some());
}

#[tokio::test]
async fn an_update_that_changes_nothing_keeps_its_id() {
    let lab = Lab::start().await;
    let props: Value = json!({"ClusterName": "same", "ContainerInsights": "enabled"});
    let created = lab
        .create(TYPE, "Cluster", props.clone())
        .await
        .physical_id();

    let updated = lab
        .update(TYPE, "Cluster", &created, props.clone(), props)
        .await;

    updated.assert_success();
    assert_eq!(updated.physical_id(), created);
}
