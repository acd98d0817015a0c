//! What a service's properties ask of ECS: its network, capacity provider strategy and
//! deployment settings, whether a service differs from them, and the token that makes
//! CreateService idempotent.

use aws_sdk_ecs::types::{
    AssignPublicIp as EcsAssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem,
    DeploymentCircuitBreaker, DeploymentConfiguration, NetworkConfiguration, Service,
};

use super::super::common::built;
use crate::Error;
use crate::naming::idempotency_token;
use crate::properties::{AssignPublicIp, FargateServiceProperties};
use crate::protocol::Request;

/// CreateService's `clientToken`: from everything the call sends (but the creation time), so that a
/// redelivery is recognised and a different ask — after an undo, or a move X → Y → X — is not
/// mistaken for it.
pub(super) fn create_token(
    request: &Request,
    name: &str,
    props: &FargateServiceProperties,
) -> String {
    let strategy: Vec<String> = props
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            format!(
                "{}/{}/{}",
                item.capacity_provider.as_str(),
                item.weight,
                item.base
            )
        })
        .collect();
    let tags: Vec<String> = props
        .tags
        .iter()
        .map(|tag| format!("{}={}", tag.key, tag.value))
        .collect();
    idempotency_token(&[
        &request.stack_id,
        &request.logical_resource_id,
        &props.cluster,
        name,
        &props.task_definition,
        &props.desired_count.to_string(),
        &props.platform_version,
        &props.subnets.join(","),
        &props.security_groups.join(","),
        props.assign_public_ip.as_str(),
        &strategy.join(","),
        &props.circuit_breaker.to_string(),
        &props.enable_execute_command.to_string(),
        &tags.join(","),
    ])
}

pub(super) fn needs_update(service: &Service, props: &FargateServiceProperties) -> bool {
    let awsvpc = service
        .network_configuration()
        .and_then(|network| network.awsvpc_configuration());
    let sorted = |items: &[String]| {
        let mut items = items.to_vec();
        items.sort();
        items
    };
    let network_same = awsvpc.is_some_and(|vpc| {
        sorted(vpc.subnets()) == sorted(&props.subnets)
            && sorted(vpc.security_groups()) == sorted(&props.security_groups)
            && vpc
                .assign_public_ip()
                .map(|ip| ip.as_str())
                .unwrap_or("DISABLED")
                == props.assign_public_ip.as_str()
    });
    let breaker = service
        .deployment_configuration()
        .and_then(|config| config.deployment_circuit_breaker());
    let breaker_same =
        breaker.map(|b| b.enable() && b.rollback()).unwrap_or(false) == props.circuit_breaker;
    let mut current_strategy: Vec<(String, i32, i32)> = service
        .capacity_provider_strategy()
        .iter()
        .map(|item| {
            (
                item.capacity_provider().to_owned(),
                item.weight(),
                item.base(),
            )
        })
        .collect();
    current_strategy.sort();
    let mut wanted_strategy: Vec<(String, i32, i32)> = props
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            (
                item.capacity_provider.as_str().to_owned(),
                item.weight as i32,
                item.base as i32,
            )
        })
        .collect();
    wanted_strategy.sort();
    !(same_task_definition(
        &props.task_definition,
        service.task_definition().unwrap_or_default(),
    ) && service.desired_count() == props.desired_count as i32
        && network_same
        && service.platform_version().unwrap_or("LATEST") == props.platform_version
        && breaker_same
        && current_strategy == wanted_strategy
        && service.enable_execute_command() == props.enable_execute_command)
}

/// Whether a task definition as the properties give it (ARN, `family:revision` or `family`)
/// names the revision ECS reports.
pub(crate) fn same_task_definition(requested: &str, actual_arn: &str) -> bool {
    let requested = requested
        .rsplit("task-definition/")
        .next()
        .unwrap_or(requested);
    let actual = actual_arn
        .rsplit("task-definition/")
        .next()
        .unwrap_or(actual_arn);
    if requested.contains(':') {
        requested == actual
    } else {
        actual.split(':').next() == Some(requested)
    }
}

pub(super) fn network_configuration(
    props: &FargateServiceProperties,
) -> Result<NetworkConfiguration, Error> {
    let awsvpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(props.subnets.clone()))
        .set_security_groups(Some(props.security_groups.clone()))
        .assign_public_ip(match props.assign_public_ip {
            AssignPublicIp::Enabled => EcsAssignPublicIp::Enabled,
            AssignPublicIp::Disabled => EcsAssignPublicIp::Disabled,
        })
        .build();
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(built("the awsvpc network configuration", awsvpc)?)
        .build())
}

pub(super) fn capacity_provider_strategy(
    props: &FargateServiceProperties,
) -> Result<Vec<CapacityProviderStrategyItem>, Error> {
    props
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            built(
                "the capacity provider strategy",
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(item.capacity_provider.as_str())
                    .weight(item.weight as i32)
                    .base(item.base as i32)
                    .build(),
            )
        })
        .collect()
}

pub(super) fn deployment_configuration(
    props: &FargateServiceProperties,
) -> DeploymentConfiguration {
    let breaker = DeploymentCircuitBreaker::builder()
        .enable(props.circuit_breaker)
        .rollback(props.circuit_breaker)
        .build();
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(breaker)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestType;
    use aws_sdk_ecs::types::LaunchType;

    #[test]
    fn task_definitions_match_by_arn_family_revision_or_family() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        assert!(same_task_definition(arn, arn));
        assert!(same_task_definition("web:3", arn));
        assert!(same_task_definition("web", arn));
        assert!(!same_task_definition("web:2", arn));
        assert!(!same_task_definition("web-api", arn));
    }

    fn props(extra: serde_json::Value) -> FargateServiceProperties {
        let mut value = serde_json::json!({"Cluster": "lab", "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
            "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]});
        for (key, item) in extra.as_object().unwrap() {
            value[key] = item.clone();
        }
        FargateServiceProperties::parse(&value).unwrap()
    }

    fn running(launch_type: Option<LaunchType>, strategy: &[(&str, i32)]) -> Service {
        let awsvpc = AwsVpcConfiguration::builder()
            .subnets("subnet-1")
            .security_groups("sg-1")
            .assign_public_ip(EcsAssignPublicIp::Disabled)
            .build()
            .unwrap();
        Service::builder()
            .task_definition("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3")
            .desired_count(1)
            .platform_version("LATEST")
            .set_launch_type(launch_type)
            .set_capacity_provider_strategy(Some(
                strategy
                    .iter()
                    .map(|(provider, weight)| {
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider(*provider)
                            .weight(*weight)
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(awsvpc)
                    .build(),
            )
            .deployment_configuration(deployment_configuration(&props(serde_json::json!({}))))
            .build()
    }

    #[test]
    fn a_capacity_provider_strategy_change_alone_is_an_update() {
        let on_fargate = running(Some(LaunchType::Fargate), &[]);
        assert!(!needs_update(&on_fargate, &props(serde_json::json!({}))));
        let spot = props(
            serde_json::json!({"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "1"}]}),
        );
        assert!(needs_update(&on_fargate, &spot));
        let on_spot = running(None, &[("FARGATE_SPOT", 1)]);
        assert!(!needs_update(&on_spot, &spot));
        let mixed = props(
            serde_json::json!({"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "3"}, {"CapacityProvider": "FARGATE", "Weight": "1"}]}),
        );
        assert!(needs_update(&on_spot, &mixed));
    }

    #[test]
    fn the_client_token_changes_with_anything_the_create_sends() {
        let request = crate::protocol::request::tests::sample_request(RequestType::Create);
        let base = create_token(&request, "web", &props(serde_json::json!({})));
        assert_eq!(
            base,
            create_token(&request, "web", &props(serde_json::json!({})))
        );
        for changed in [
            serde_json::json!({"TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:4"}),
            serde_json::json!({"DesiredCount": "2"}),
            serde_json::json!({"Subnets": ["subnet-2"]}),
            serde_json::json!({"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT"}]}),
            serde_json::json!({"Tags": [{"Key": "team", "Value": "a"}]}),
        ] {
            assert_ne!(
                base,
                create_token(&request, "web", &props(changed.clone())),
                "{changed}"
            );
        }
    }
}
