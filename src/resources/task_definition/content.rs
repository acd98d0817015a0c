//! What a revision is made of: its containers as ECS takes them, and the fingerprint of that
//! content which lets a redelivered request or a rollback adopt a revision instead of registering
//! another.

use aws_sdk_ecs::types::{
    ContainerDefinition as EcsContainer, KeyValuePair, LogConfiguration as EcsLogConfiguration,
    LogDriver, PortMapping as EcsPortMapping, RepositoryCredentials, TransportProtocol,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::super::common::built;
use crate::Error;
use crate::properties::{ContainerDefinition, Protocol, TaskDefinitionProperties};

/// A stable fingerprint of everything that makes a revision (all but Tags).
pub fn content_fingerprint(props: &TaskDefinitionProperties) -> String {
    let containers: Vec<_> = props
        .container_definitions
        .iter()
        .map(|container| {
            json!({
                "name": container.name,
                "image": container.image,
                "credentials": container.credentials_parameter,
                "essential": container.essential,
                "ports": container.port_mappings.iter().map(|p| json!([p.container_port, p.protocol.as_str()])).collect::<Vec<_>>(),
                "environment": container.environment.iter().map(|kv| json!([kv.name, kv.value])).collect::<Vec<_>>(),
                "command": container.command,
                "entryPoint": container.entry_point,
                "log": container.log_configuration.as_ref().map(|log| json!([log.log_driver, log.options])),
            })
        })
        .collect();
    let content = json!({
        "family": props.family,
        "cpu": props.cpu,
        "memory": props.memory,
        "executionRoleArn": props.execution_role_arn,
        "taskRoleArn": props.task_role_arn,
        "cpuArchitecture": props.cpu_architecture.as_str(),
        "containers": containers,
    });
    Sha256::digest(content.to_string().as_bytes())
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

pub(super) fn ecs_container(container: &ContainerDefinition) -> Result<EcsContainer, Error> {
    let repository_credentials = container
        .credentials_parameter
        .as_ref()
        .map(|parameter| {
            built(
                "repository credentials",
                RepositoryCredentials::builder()
                    .credentials_parameter(parameter)
                    .build(),
            )
        })
        .transpose()?;
    let log_configuration = container
        .log_configuration
        .as_ref()
        .map(|log| {
            built(
                "a log configuration",
                EcsLogConfiguration::builder()
                    .log_driver(LogDriver::from(log.log_driver.as_str()))
                    .set_options(Some(log.options.clone().into_iter().collect()))
                    .build(),
            )
        })
        .transpose()?;
    Ok(EcsContainer::builder()
        .name(&container.name)
        .image(&container.image)
        .set_essential(container.essential)
        .set_repository_credentials(repository_credentials)
        .set_port_mappings(Some(
            container
                .port_mappings
                .iter()
                .map(|mapping| {
                    EcsPortMapping::builder()
                        .container_port(i32::from(mapping.container_port))
                        .protocol(match mapping.protocol {
                            Protocol::Tcp => TransportProtocol::Tcp,
                            Protocol::Udp => TransportProtocol::Udp,
                        })
                        .build()
                })
                .collect(),
        ))
        .set_environment(Some(
            container
                .environment
                .iter()
                .map(|pair| {
                    KeyValuePair::builder()
                        .name(&pair.name)
                        .value(&pair.value)
                        .build()
                })
                .collect(),
        ))
        .set_command((!container.command.is_empty()).then(|| container.command.clone()))
        .set_entry_point((!container.entry_point.is_empty()).then(|| container.entry_point.clone()))
        .set_log_configuration(log_configuration)
        .build())
}
