use super::*;

#[test]
fn kinds_come_from_arns() {
    assert_eq!(
        kind_of("arn:aws:ecs:us-east-1:123456789012:cluster/lab"),
        Some(ResourceType::FargateCluster)
    );
    assert_eq!(
        kind_of("arn:aws:ecs:us-east-1:123456789012:service/lab/web"),
        Some(ResourceType::FargateService)
    );
    assert_eq!(
        kind_of("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"),
        Some(ResourceType::TaskDefinition)
    );
    assert_eq!(
        kind_of("arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"),
        Some(ResourceType::RegistryCredentials)
    );
    assert_eq!(
        kind_of("arn:aws:ecs:us-east-1:123456789012:task/lab/0abc"),
        None
    );
}

#[test]
fn the_keep_tag_counts_whatever_its_case_and_value() {
    let tags = BTreeMap::from([
        (TAG_STACK_ID, "arn:aws:cloudformation:us-east-1:1:stack/s/1"),
        ("Ecs-Private-Auth:Keep", ""),
    ]);
    assert!(
        found_from(
            "arn:x",
            Some(ResourceType::RegistryCredentials),
            &tags,
            None
        )
        .is_some_and(|f| f.keep)
    );
}
