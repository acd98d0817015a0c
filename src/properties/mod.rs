//! Typed `ResourceProperties` for the five resource types.
//!
//! CloudFormation sends every scalar as a string (`"true"`, `"2"`), so numbers and booleans are
//! coerced here. Errors name the property (with its path inside lists and objects) and what is
//! allowed; they never echo a value, because a value may be a password.

mod fargate_cluster;
mod fargate_service;
mod reader;
mod registry_credentials;
mod task_definition;
mod task_execution_role;

pub use fargate_cluster::{CapacityProvider, ClusterProperties, ContainerInsights};
pub use fargate_service::{AssignPublicIp, CapacityProviderStrategyItem, FargateServiceProperties};
pub use reader::{PropertyError, Props};
pub use registry_credentials::{PasswordSource, RegistryCredentialsProperties, SecretString};
pub use task_definition::{
    ContainerDefinition, CpuArchitecture, KeyValue, LogConfiguration, PortMapping, Protocol,
    TaskDefinitionProperties, validate_fargate_size,
};
pub use task_execution_role::{DEFAULT_ROLE_PATH, TaskExecutionRoleProperties};

use crate::resource_type::ResourceType;
use crate::tags::Tag;

/// Properties CloudFormation itself puts into every request's `ResourceProperties`.
pub const PROTOCOL_PROPERTIES: &[&str] = &["ServiceToken", "ServiceTimeout"];

impl ResourceType {
    /// Every top-level property name the type accepts, protocol properties excluded.
    pub fn property_names(self) -> &'static [&'static str] {
        match self {
            ResourceType::FargateCluster => ClusterProperties::NAMES,
            ResourceType::RegistryCredentials => RegistryCredentialsProperties::NAMES,
            ResourceType::TaskExecutionRole => TaskExecutionRoleProperties::NAMES,
            ResourceType::TaskDefinition => TaskDefinitionProperties::NAMES,
            ResourceType::FargateService => FargateServiceProperties::NAMES,
        }
    }

    /// Parses and validates `ResourceProperties` for this type, discarding the result: the
    /// check a template test or an up-front validation needs.
    pub fn validate(self, properties: &serde_json::Value) -> Result<(), PropertyError> {
        match self {
            ResourceType::FargateCluster => ClusterProperties::parse(properties).map(drop),
            ResourceType::RegistryCredentials => {
                RegistryCredentialsProperties::parse(properties).map(drop)
            }
            ResourceType::TaskExecutionRole => {
                TaskExecutionRoleProperties::parse(properties).map(drop)
            }
            ResourceType::TaskDefinition => TaskDefinitionProperties::parse(properties).map(drop),
            ResourceType::FargateService => FargateServiceProperties::parse(properties).map(drop),
        }
    }
}

/// A property name whose values are secret wherever they appear: a secret one, or a name close
/// enough to be a misspelling of one. Known names of other properties (`PasswordParameterName`,
/// `VerifyCredentials`) are not secret. The protocol layer masks what this names
/// (docs/design.md#secrets).
pub(crate) fn is_secret_property(name: &str) -> bool {
    if RegistryCredentialsProperties::SECRET.contains(&name) {
        return true;
    }
    let known_elsewhere = ResourceType::ALL
        .iter()
        .any(|kind| kind.property_names().contains(&name))
        || PROTOCOL_PROPERTIES.contains(&name);
    if known_elsewhere {
        return false;
    }
    let lowered = name.to_ascii_lowercase();
    ["pass", "pwd", "user"]
        .iter()
        .any(|word| lowered.contains(word))
        || RegistryCredentialsProperties::SECRET
            .iter()
            .any(|secret| strsim::damerau_levenshtein(&lowered, &secret.to_ascii_lowercase()) <= 3)
}

/// Reads the optional `Tags` list every resource type accepts. Keys under `aws:` and the product's own
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
        if reserved.starts_with("aws:") || reserved.starts_with(crate::tags::TAG_PREFIX) {
            return Err(PropertyError::invalid(
                format!("Tags[{index}].Key"),
                format!(
                    "a key that does not start with aws: or {} (reserved)",
                    crate::tags::TAG_PREFIX
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
    fn names_of_secrets_are_not_secret() {
        assert!(!is_secret_property("SecretArns"));
        assert!(!is_secret_property("SecretName"));
        assert!(!is_secret_property("PasswordParameterName"));
        assert!(!is_secret_property("VerifyCredentials"));
        assert!(!is_secret_property("ServiceToken"));
        assert!(is_secret_property("Password"));
        assert!(is_secret_property("Username"));
        assert!(is_secret_property("Pasword"));
        assert!(is_secret_property("UserNmae"));
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
