//! `Custom::FargateCluster` properties.

use serde_json::Value;

use super::{PropertyError, Props, Tag, parse_tags};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapacityProvider {
    Fargate,
    FargateSpot,
}

impl CapacityProvider {
    pub(crate) const CHOICES: &[(&str, CapacityProvider)] = &[
        ("FARGATE", CapacityProvider::Fargate),
        ("FARGATE_SPOT", CapacityProvider::FargateSpot),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CapacityProvider::Fargate => "FARGATE",
            CapacityProvider::FargateSpot => "FARGATE_SPOT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerInsights {
    Enabled,
    Disabled,
    Enhanced,
}

impl ContainerInsights {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerInsights::Enabled => "enabled",
            ContainerInsights::Disabled => "disabled",
            ContainerInsights::Enhanced => "enhanced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterProperties {
    pub cluster_name: Option<String>,
    pub capacity_providers: Vec<CapacityProvider>,
    pub container_insights: Option<ContainerInsights>,
    pub tags: Vec<Tag>,
}

impl ClusterProperties {
    pub(crate) const NAMES: &[&str] = &[
        "ClusterName",
        "CapacityProviders",
        "ContainerInsights",
        "Tags",
    ];

    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Props::top_level(value, Self::NAMES)?;
        let cluster_name = props.ecs_name("ClusterName")?;
        let capacity_providers = match props.string_list("CapacityProviders")? {
            None => vec![CapacityProvider::Fargate, CapacityProvider::FargateSpot],
            Some(names) => parse_capacity_providers(&names)?,
        };
        let container_insights = props.one_of(
            "ContainerInsights",
            &[
                ("enabled", ContainerInsights::Enabled),
                ("disabled", ContainerInsights::Disabled),
                ("enhanced", ContainerInsights::Enhanced),
            ],
        )?;
        Ok(ClusterProperties {
            cluster_name,
            capacity_providers,
            container_insights,
            tags: parse_tags(&props)?,
        })
    }
}

fn parse_capacity_providers(names: &[String]) -> Result<Vec<CapacityProvider>, PropertyError> {
    let mut providers = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let provider = CapacityProvider::CHOICES
            .iter()
            .find(|(spelling, _)| spelling == name)
            .map(|(_, provider)| *provider)
            .ok_or_else(|| {
                PropertyError::invalid(
                    format!("CapacityProviders[{index}]"),
                    "one of FARGATE, FARGATE_SPOT",
                )
            })?;
        if !providers.contains(&provider) {
            providers.push(provider);
        }
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_both_fargate_providers() {
        let props = ClusterProperties::parse(&json!({})).unwrap();
        assert_eq!(props.cluster_name, None);
        assert_eq!(
            props.capacity_providers,
            vec![CapacityProvider::Fargate, CapacityProvider::FargateSpot]
        );
        assert_eq!(props.container_insights, None);
    }

    #[test]
    fn container_insights_lists_allowed_values() {
        let err = ClusterProperties::parse(&json!({"ContainerInsights": "on"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "property ContainerInsights must be one of enabled, disabled, enhanced"
        );
    }

    #[test]
    fn an_unknown_capacity_provider_is_named_by_position() {
        let err = ClusterProperties::parse(&json!({"CapacityProviders": ["FARGATE", "EC2"]}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "property CapacityProviders[1] must be one of FARGATE, FARGATE_SPOT"
        );
    }

    #[test]
    fn cluster_names_are_checked() {
        assert!(ClusterProperties::parse(&json!({"ClusterName": "bad name"})).is_err());
        assert!(ClusterProperties::parse(&json!({"ClusterName": "good-name_1"})).is_ok());
    }
}
