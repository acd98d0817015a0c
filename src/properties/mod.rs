//! Typed `ResourceProperties` for the five resource types.
//!
//! CloudFormation sends every scalar as a string (`"true"`, `"2"`), so numbers and booleans are
//! coerced here. Errors name the property (with its path inside lists and objects) and what is
//! allowed; they never echo a value, because a value may be a password.

mod cluster;
mod credentials;
mod reader;
mod role;
mod service;
mod task_definition;

pub use cluster::{CapacityProvider, ClusterProperties, ContainerInsights};
pub use credentials::{PasswordSource, RegistryCredentialsProperties, SecretString};
pub use reader::{PropertyError, Props};
pub use role::{DEFAULT_ROLE_PATH, TaskExecutionRoleProperties};
pub use service::{AssignPublicIp, CapacityProviderStrategyItem, FargateServiceProperties};
pub use task_definition::{
    ContainerDefinition, CpuArchitecture, KeyValue, LogConfiguration, PortMapping, Protocol,
    TaskDefinitionProperties, validate_fargate_size,
};

use std::fmt;

/// Properties CloudFormation itself puts into every request's `ResourceProperties`.
pub const PROTOCOL_PROPERTIES: &[&str] = &["ServiceToken", "ServiceTimeout"];

/// The custom resource types this product provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    FargateCluster,
    RegistryCredentials,
    TaskExecutionRole,
    TaskDefinition,
    FargateService,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::FargateCluster,
        ResourceKind::RegistryCredentials,
        ResourceKind::TaskExecutionRole,
        ResourceKind::TaskDefinition,
        ResourceKind::FargateService,
    ];

    /// The `Type` a template gives the custom resource.
    pub fn resource_type(self) -> &'static str {
        match self {
            ResourceKind::FargateCluster => "Custom::FargateCluster",
            ResourceKind::RegistryCredentials => "Custom::RegistryCredentials",
            ResourceKind::TaskExecutionRole => "Custom::TaskExecutionRole",
            ResourceKind::TaskDefinition => "Custom::TaskDefinition",
            ResourceKind::FargateService => "Custom::FargateService",
        }
    }

    pub fn from_resource_type(resource_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.resource_type() == resource_type)
    }

    /// Every top-level property name the type accepts, protocol properties excluded.
    pub fn property_names(self) -> &'static [&'static str] {
        match self {
            ResourceKind::FargateCluster => ClusterProperties::NAMES,
            ResourceKind::RegistryCredentials => RegistryCredentialsProperties::NAMES,
            ResourceKind::TaskExecutionRole => TaskExecutionRoleProperties::NAMES,
            ResourceKind::TaskDefinition => TaskDefinitionProperties::NAMES,
            ResourceKind::FargateService => FargateServiceProperties::NAMES,
        }
    }

    /// Parses and validates `ResourceProperties` for this type, discarding the result: the
    /// check a template test or an up-front validation needs.
    pub fn validate(self, properties: &serde_json::Value) -> Result<(), PropertyError> {
        match self {
            ResourceKind::FargateCluster => ClusterProperties::parse(properties).map(drop),
            ResourceKind::RegistryCredentials => {
                RegistryCredentialsProperties::parse(properties).map(drop)
            }
            ResourceKind::TaskExecutionRole => {
                TaskExecutionRoleProperties::parse(properties).map(drop)
            }
            ResourceKind::TaskDefinition => TaskDefinitionProperties::parse(properties).map(drop),
            ResourceKind::FargateService => FargateServiceProperties::parse(properties).map(drop),
        }
    }

    /// The supported `ResourceType`s, for an error message.
    pub fn supported_list() -> String {
        Self::ALL
            .iter()
            .map(|kind| kind.resource_type())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.resource_type())
    }
}

/// A user tag, `{Key, Value}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Reads the optional `Tags` list every slice accepts. Keys under `aws:` and the product's own
/// `ecs-private-auth:` prefix are reserved.
pub(crate) fn parse_tags(props: &Props<'_>) -> Result<Vec<Tag>, PropertyError> {
    let mut tags = Vec::new();
    for (index, item) in props
        .object_list("Tags", &["Key", "Value"])?
        .iter()
        .enumerate()
    {
        let key = item.required_string("Key")?;
        let value = item.string("Value")?.unwrap_or_default();
        let reserved = key.to_ascii_lowercase();
        if reserved.starts_with("aws:") || reserved.starts_with(crate::naming::TAG_PREFIX) {
            return Err(PropertyError::invalid(
                format!("Tags[{index}].Key"),
                format!(
                    "a key that does not start with aws: or {} (reserved)",
                    crate::naming::TAG_PREFIX
                ),
            ));
        }
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(PropertyError::invalid(
                format!("Tags[{index}]"),
                "a Key of 1-128 characters and a Value of at most 256",
            ));
        }
        if tags.iter().any(|tag: &Tag| tag.key == key) {
            return Err(PropertyError::invalid(
                format!("Tags[{index}].Key"),
                "unique: the same key appears twice",
            ));
        }
        tags.push(Tag::new(key, value));
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_resource_type_round_trips_through_its_name() {
        for kind in ResourceKind::ALL {
            assert_eq!(
                ResourceKind::from_resource_type(kind.resource_type()),
                Some(kind)
            );
        }
        assert_eq!(ResourceKind::from_resource_type("Custom::Nope"), None);
    }

    #[test]
    fn tags_with_reserved_prefixes_are_rejected() {
        let value = json!({"ClusterName": "x", "Tags": [{"Key": "ecs-private-auth:stack-id", "Value": "v"}]});
        let err = ClusterProperties::parse(&value).unwrap_err();
        assert!(err.to_string().contains("Tags[0].Key"), "{err}");
        let value = json!({"Tags": [{"Key": "AWS:x", "Value": "v"}]});
        assert!(ClusterProperties::parse(&value).is_err());
    }

    #[test]
    fn duplicate_tag_keys_are_rejected() {
        let value = json!({"Tags": [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]});
        let err = ClusterProperties::parse(&value).unwrap_err();
        assert!(err.to_string().contains("Tags[1].Key"), "{err}");
    }

    #[test]
    fn tags_parse_in_order() {
        let value =
            json!({"Tags": [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}]});
        let props = ClusterProperties::parse(&value).unwrap();
        assert_eq!(
            props.tags,
            vec![Tag::new("team", "a"), Tag::new("env", "dev")]
        );
    }
}
