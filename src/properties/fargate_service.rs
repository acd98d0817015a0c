//! `Custom::FargateService` properties.

use serde_json::Value;

use super::{CapacityProvider, PropertyError, Props, Tag, parse_tags};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignPublicIp {
    Enabled,
    Disabled,
}

impl AssignPublicIp {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignPublicIp::Enabled => "ENABLED",
            AssignPublicIp::Disabled => "DISABLED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: CapacityProvider,
    pub weight: u32,
    pub base: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FargateServiceProperties {
    pub service_name: Option<String>,
    pub cluster: String,
    pub task_definition: String,
    pub desired_count: u32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: AssignPublicIp,
    pub platform_version: String,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub circuit_breaker: bool,
    pub wait_for_steady_state: bool,
    pub enable_execute_command: bool,
    pub tags: Vec<Tag>,
}

impl FargateServiceProperties {
    pub(crate) const NAMES: &[&str] = &[
        "ServiceName",
        "Cluster",
        "TaskDefinition",
        "DesiredCount",
        "Subnets",
        "SecurityGroups",
        "AssignPublicIp",
        "PlatformVersion",
        "CapacityProviderStrategy",
        "CircuitBreaker",
        "WaitForSteadyState",
        "EnableExecuteCommand",
        "Tags",
    ];

    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Props::top_level(value, Self::NAMES)?;
        let service_name = props.ecs_name("ServiceName")?;
        let subnets = props.required_string_list("Subnets")?;
        check_ids("Subnets", &subnets, "subnet-")?;
        let security_groups = props.required_string_list("SecurityGroups")?;
        check_ids("SecurityGroups", &security_groups, "sg-")?;
        let capacity_provider_strategy = props
            .object_list(
                "CapacityProviderStrategy",
                &["CapacityProvider", "Weight", "Base"],
            )?
            .iter()
            .map(|item| {
                let item = item.props();
                Ok(CapacityProviderStrategyItem {
                    capacity_provider: item
                        .one_of("CapacityProvider", CapacityProvider::CHOICES)?
                        .ok_or_else(|| PropertyError::Missing {
                            name: item.path("CapacityProvider"),
                        })?,
                    weight: item.integer("Weight", 0..=1000)?.unwrap_or(1) as u32,
                    base: item.integer("Base", 0..=100000)?.unwrap_or(0) as u32,
                })
            })
            .collect::<Result<Vec<_>, PropertyError>>()?;
        if !capacity_provider_strategy.is_empty()
            && capacity_provider_strategy
                .iter()
                .all(|item| item.weight == 0)
        {
            return Err(PropertyError::invalid(
                "CapacityProviderStrategy",
                "a strategy where at least one Weight is above 0",
            ));
        }
        Ok(FargateServiceProperties {
            service_name,
            cluster: props.required_string("Cluster")?,
            task_definition: props.required_string("TaskDefinition")?,
            desired_count: props.integer("DesiredCount", 0..=5000)?.unwrap_or(1) as u32,
            subnets,
            security_groups,
            assign_public_ip: props
                .one_of(
                    "AssignPublicIp",
                    &[
                        ("ENABLED", AssignPublicIp::Enabled),
                        ("DISABLED", AssignPublicIp::Disabled),
                    ],
                )?
                .unwrap_or(AssignPublicIp::Disabled),
            platform_version: props
                .non_empty_string("PlatformVersion")?
                .unwrap_or_else(|| "LATEST".to_owned()),
            capacity_provider_strategy,
            circuit_breaker: props.bool("CircuitBreaker")?.unwrap_or(true),
            wait_for_steady_state: props.bool("WaitForSteadyState")?.unwrap_or(true),
            enable_execute_command: props.bool("EnableExecuteCommand")?.unwrap_or(false),
            tags: parse_tags(&props)?,
        })
    }

    pub(crate) fn uses_fargate_spot(&self) -> bool {
        self.capacity_provider_strategy
            .iter()
            .any(|item| item.capacity_provider == CapacityProvider::FargateSpot && item.weight > 0)
    }
}

fn check_ids(name: &str, ids: &[String], prefix: &str) -> Result<(), PropertyError> {
    for (index, id) in ids.iter().enumerate() {
        let valid = id.len() > prefix.len()
            && id.starts_with(prefix)
            && id[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(PropertyError::invalid(
                format!("{name}[{index}]"),
                format!("an id of the form {prefix}0123456789abcdef0"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({"Cluster": "lab", "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
               "Subnets": ["subnet-0123abcd"], "SecurityGroups": "sg-0123abcd"})
    }

    #[test]
    fn defaults() {
        let props = FargateServiceProperties::parse(&minimal()).unwrap();
        assert_eq!(props.desired_count, 1);
        assert_eq!(props.assign_public_ip, AssignPublicIp::Disabled);
        assert_eq!(props.platform_version, "LATEST");
        assert!(
            props.circuit_breaker && props.wait_for_steady_state && !props.enable_execute_command
        );
        assert_eq!(props.security_groups, vec!["sg-0123abcd".to_owned()]);
    }

    #[test]
    fn desired_count_coerces_from_a_string() {
        let mut value = minimal();
        value["DesiredCount"] = json!("2");
        assert_eq!(
            FargateServiceProperties::parse(&value)
                .unwrap()
                .desired_count,
            2
        );
        value["DesiredCount"] = json!("lots");
        assert_eq!(
            FargateServiceProperties::parse(&value)
                .unwrap_err()
                .to_string(),
            "property DesiredCount must be a whole number from 0 to 5000"
        );
    }

    #[test]
    fn misspelled_desired_count_gets_a_suggestion() {
        let mut value = minimal();
        value["DesiredCont"] = json!("2");
        assert_eq!(
            FargateServiceProperties::parse(&value)
                .unwrap_err()
                .to_string(),
            "unknown property DesiredCont (did you mean DesiredCount?)"
        );
    }

    #[test]
    fn subnets_and_security_groups_are_checked() {
        let mut value = minimal();
        value["Subnets"] = json!(["vpc-123"]);
        assert!(
            FargateServiceProperties::parse(&value)
                .unwrap_err()
                .to_string()
                .contains("Subnets[0]")
        );
    }

    #[test]
    fn spot_is_detected_in_the_strategy() {
        let mut value = minimal();
        value["CapacityProviderStrategy"] =
            json!([{"CapacityProvider": "FARGATE_SPOT", "Weight": "3"}]);
        assert!(
            FargateServiceProperties::parse(&value)
                .unwrap()
                .uses_fargate_spot()
        );
    }
}
