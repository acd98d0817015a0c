use super::*;
use serde_json::json;

fn props(image: &str, tags: serde_json::Value) -> TaskDefinitionProperties {
    TaskDefinitionProperties::parse(&json!({
        "Family": "web",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/ecs-private-auth/exec",
        "ContainerDefinitions": [{"Name": "app", "Image": image}],
        "Tags": tags,
    }))
    .unwrap()
}

#[test]
fn tags_do_not_change_the_fingerprint_but_content_does() {
    let base = content_fingerprint(&props("app:1", json!([])));
    assert_eq!(
        base,
        content_fingerprint(&props("app:1", json!([{"Key": "team", "Value": "a"}])))
    );
    assert_ne!(base, content_fingerprint(&props("app:2", json!([]))));
}

#[test]
fn families_come_from_revision_arns() {
    assert_eq!(
        family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/web-api:12").as_deref(),
        Some("web-api")
    );
    assert_eq!(family_of("web-api:12"), None);
}
