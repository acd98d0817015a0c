//! The five custom resource types this product provides: the one list every layer names them by.
//! Properties (`properties`), behaviour (`resources`) and the cleanup's order live beside their
//! own layers as `impl ResourceType` blocks.

use std::fmt;

use serde::Serialize;

/// A custom resource type. In the cleanup's report each goes by the short name of what it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ResourceType {
    #[serde(rename = "cluster")]
    FargateCluster,
    #[serde(rename = "secret")]
    RegistryCredentials,
    #[serde(rename = "role")]
    TaskExecutionRole,
    #[serde(rename = "task-definition")]
    TaskDefinition,
    #[serde(rename = "service")]
    FargateService,
}

impl ResourceType {
    pub(crate) const ALL: [ResourceType; 5] = [
        ResourceType::FargateCluster,
        ResourceType::RegistryCredentials,
        ResourceType::TaskExecutionRole,
        ResourceType::TaskDefinition,
        ResourceType::FargateService,
    ];

    /// The order leftovers are deleted in: what uses another goes first (a service before its
    /// cluster and task definition, a role before the secret it reads).
    pub(crate) const DELETION_ORDER: [ResourceType; 5] = [
        ResourceType::FargateService,
        ResourceType::FargateCluster,
        ResourceType::TaskDefinition,
        ResourceType::TaskExecutionRole,
        ResourceType::RegistryCredentials,
    ];

    /// The `Type` a template gives the custom resource.
    pub fn type_name(self) -> &'static str {
        match self {
            ResourceType::FargateCluster => "Custom::FargateCluster",
            ResourceType::RegistryCredentials => "Custom::RegistryCredentials",
            ResourceType::TaskExecutionRole => "Custom::TaskExecutionRole",
            ResourceType::TaskDefinition => "Custom::TaskDefinition",
            ResourceType::FargateService => "Custom::FargateService",
        }
    }

    pub fn from_type_name(type_name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.type_name() == type_name)
    }

    /// The supported `ResourceType`s, for an error message.
    pub(crate) fn supported_list() -> String {
        Self::ALL
            .iter()
            .map(|kind| kind.type_name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Where this type stands in [`ResourceType::DELETION_ORDER`].
    pub(crate) fn deletion_rank(self) -> usize {
        Self::DELETION_ORDER
            .iter()
            .position(|kind| *kind == self)
            .unwrap_or(Self::DELETION_ORDER.len())
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_type_round_trips_through_its_name() {
        for kind in ResourceType::ALL {
            assert_eq!(ResourceType::from_type_name(kind.type_name()), Some(kind));
        }
        assert_eq!(ResourceType::from_type_name("Custom::Nope"), None);
    }

    #[test]
    fn dependents_are_deleted_first() {
        let mut kinds = ResourceType::ALL.to_vec();
        kinds.sort_by_key(|kind| kind.deletion_rank());
        assert_eq!(kinds, ResourceType::DELETION_ORDER);
        assert_eq!(
            serde_json::to_value(ResourceType::TaskDefinition).unwrap(),
            "task-definition"
        );
    }
}
