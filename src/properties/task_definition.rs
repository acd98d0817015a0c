//! `Custom::TaskDefinition` properties.

use std::collections::BTreeMap;

use serde_json::Value;

use super::task_execution_role::check_arn;
use super::{PropertyError, Props, Tag, parse_tags};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuArchitecture {
    X86_64,
    Arm64,
}

impl CpuArchitecture {
    pub fn as_str(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "X86_64",
            CpuArchitecture::Arm64 => "ARM64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortMapping {
    pub container_port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogConfiguration {
    pub log_driver: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    pub credentials_parameter: Option<String>,
    pub essential: Option<bool>,
    pub port_mappings: Vec<PortMapping>,
    pub environment: Vec<KeyValue>,
    pub command: Vec<String>,
    pub entry_point: Vec<String>,
    pub log_configuration: Option<LogConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionProperties {
    pub family: String,
    pub cpu: u32,
    pub memory: u32,
    pub execution_role_arn: String,
    pub task_role_arn: Option<String>,
    pub cpu_architecture: CpuArchitecture,
    pub container_definitions: Vec<ContainerDefinition>,
    pub tags: Vec<Tag>,
}

impl TaskDefinitionProperties {
    pub(crate) const NAMES: &[&str] = &[
        "Family",
        "Cpu",
        "Memory",
        "ExecutionRoleArn",
        "TaskRoleArn",
        "CpuArchitecture",
        "ContainerDefinitions",
        "Tags",
    ];
    pub const CONTAINER_NAMES: &[&str] = &[
        "Name",
        "Image",
        "RepositoryCredentials",
        "Essential",
        "PortMappings",
        "Environment",
        "Command",
        "EntryPoint",
        "LogConfiguration",
    ];

    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Props::top_level(value, Self::NAMES)?;
        let family = props.required_string("Family")?;
        let family_ok = family.len() <= 255
            && family
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !family_ok {
            return Err(PropertyError::invalid(
                "Family",
                "up to 255 letters, digits, hyphens and underscores",
            ));
        }
        let cpu = props.integer("Cpu", 1..=16384)?.unwrap_or(256) as u32;
        let memory = props.integer("Memory", 1..=122880)?.unwrap_or(512) as u32;
        validate_fargate_size(cpu, memory)?;
        let execution_role_arn = props.required_string("ExecutionRoleArn")?;
        check_arn("ExecutionRoleArn", &execution_role_arn, "iam", "role/")?;
        let task_role_arn = props.non_empty_string("TaskRoleArn")?;
        if let Some(arn) = &task_role_arn {
            check_arn("TaskRoleArn", arn, "iam", "role/")?;
        }
        let cpu_architecture = props
            .one_of(
                "CpuArchitecture",
                &[
                    ("X86_64", CpuArchitecture::X86_64),
                    ("ARM64", CpuArchitecture::Arm64),
                ],
            )?
            .unwrap_or(CpuArchitecture::X86_64);
        let containers = props.object_list("ContainerDefinitions", Self::CONTAINER_NAMES)?;
        if containers.is_empty() {
            return Err(if props.has("ContainerDefinitions") {
                PropertyError::invalid("ContainerDefinitions", "a list of at least one container")
            } else {
                PropertyError::Missing {
                    name: "ContainerDefinitions".into(),
                }
            });
        }
        let container_definitions = containers
            .iter()
            .map(|container| parse_container(container.props()))
            .collect::<Result<Vec<_>, _>>()?;
        for (index, container) in container_definitions.iter().enumerate() {
            if container_definitions[..index]
                .iter()
                .any(|c| c.name == container.name)
            {
                return Err(PropertyError::invalid(
                    format!("ContainerDefinitions[{index}].Name"),
                    "unique within the task definition",
                ));
            }
        }
        Ok(TaskDefinitionProperties {
            family,
            cpu,
            memory,
            execution_role_arn,
            task_role_arn,
            cpu_architecture,
            container_definitions,
            tags: parse_tags(&props)?,
        })
    }
}

fn parse_container(props: Props<'_>) -> Result<ContainerDefinition, PropertyError> {
    let name = props.required_string("Name")?;
    let image = props.required_string("Image")?;
    if image.chars().any(char::is_whitespace) {
        return Err(PropertyError::invalid(
            props.path("Image"),
            "an image reference without spaces",
        ));
    }
    let credentials_parameter =
        match props.object("RepositoryCredentials", &["CredentialsParameter"])? {
            None => None,
            Some(credentials) => {
                let parameter = credentials.required_string("CredentialsParameter")?;
                check_secret_reference(
                    &credentials.props().path("CredentialsParameter"),
                    &parameter,
                )?;
                Some(parameter)
            }
        };
    let port_mappings = props
        .object_list("PortMappings", &["ContainerPort", "Protocol"])?
        .iter()
        .map(|mapping| {
            let mapping = mapping.props();
            let container_port = mapping
                .integer("ContainerPort", 1..=65535)?
                .ok_or_else(|| PropertyError::Missing {
                    name: mapping.path("ContainerPort"),
                })? as u16;
            let protocol = mapping
                .one_of(
                    "Protocol",
                    &[("tcp", Protocol::Tcp), ("udp", Protocol::Udp)],
                )?
                .unwrap_or(Protocol::Tcp);
            Ok(PortMapping {
                container_port,
                protocol,
            })
        })
        .collect::<Result<Vec<_>, PropertyError>>()?;
    let environment = props
        .object_list("Environment", &["Name", "Value"])?
        .iter()
        .map(|pair| {
            Ok(KeyValue {
                name: pair.required_string("Name")?,
                value: pair.string("Value")?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, PropertyError>>()?;
    let log_configuration = match props.object("LogConfiguration", &["LogDriver", "Options"])? {
        None => None,
        Some(log) => Some(LogConfiguration {
            log_driver: log.required_string("LogDriver")?,
            options: log.props().string_map("Options")?,
        }),
    };
    Ok(ContainerDefinition {
        name,
        image,
        credentials_parameter,
        essential: props.bool("Essential")?,
        port_mappings,
        environment,
        command: props.string_list("Command")?.unwrap_or_default(),
        entry_point: props.string_list("EntryPoint")?.unwrap_or_default(),
        log_configuration,
    })
}

/// A Secrets Manager secret ARN, or a secret name.
fn check_secret_reference(name: &str, value: &str) -> Result<(), PropertyError> {
    if value.starts_with("arn:") {
        return check_arn(name, value, "secretsmanager", "secret:");
    }
    let valid = value.len() <= 512
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(PropertyError::invalid(
            name,
            "a Secrets Manager secret ARN or secret name",
        ))
    }
}

/// AWS Fargate's table of valid task CPU units and memory (MiB); moto accepts any pair, AWS does
/// not, so the check happens here before any call.
pub fn validate_fargate_size(cpu: u32, memory: u32) -> Result<(), PropertyError> {
    let (low, high, step) = match cpu {
        256 => {
            return if [512, 1024, 2048].contains(&memory) {
                Ok(())
            } else {
                Err(size_error(cpu, "512, 1024 or 2048"))
            };
        }
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => {
            return Err(PropertyError::invalid(
                "Cpu",
                "one of 256, 512, 1024, 2048, 4096, 8192, 16384 (Fargate CPU units)",
            ));
        }
    };
    if memory >= low && memory <= high && (memory - low).is_multiple_of(step) {
        Ok(())
    } else {
        Err(size_error(
            cpu,
            &format!("from {low} to {high} in steps of {step}"),
        ))
    }
}

fn size_error(cpu: u32, allowed: &str) -> PropertyError {
    PropertyError::invalid("Memory", format!("{allowed} MiB for Cpu {cpu} on Fargate"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "Family": "web",
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/ecs-private-auth/exec",
            "ContainerDefinitions": [{"Name": "app", "Image": "ghcr.io/org/app:1.2",
                "RepositoryCredentials": {"CredentialsParameter": "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf"},
                "PortMappings": [{"ContainerPort": "8080"}]}]
        })
    }

    #[test]
    fn defaults_are_the_smallest_fargate_task() {
        let props = TaskDefinitionProperties::parse(&minimal()).unwrap();
        assert_eq!((props.cpu, props.memory), (256, 512));
        assert_eq!(props.cpu_architecture, CpuArchitecture::X86_64);
        assert_eq!(
            props.container_definitions[0].port_mappings[0],
            PortMapping {
                container_port: 8080,
                protocol: Protocol::Tcp
            }
        );
    }

    #[test]
    fn fargate_pairs_follow_the_aws_table() {
        for (cpu, memory, ok) in [
            (256, 512, true),
            (256, 4096, false),
            (512, 1024, true),
            (512, 5120, false),
            (1024, 8192, true),
            (4096, 30720, true),
            (4096, 9000, false),
            (8192, 20480, true),
            (8192, 17408, false),
            (16384, 122880, true),
            (300, 512, false),
        ] {
            assert_eq!(
                validate_fargate_size(cpu, memory).is_ok(),
                ok,
                "{cpu}/{memory}"
            );
        }
    }

    #[test]
    fn a_bad_pair_names_memory_and_what_is_allowed() {
        let mut value = minimal();
        value["Cpu"] = json!("256");
        value["Memory"] = json!("4096");
        let err = TaskDefinitionProperties::parse(&value).unwrap_err();
        assert_eq!(
            err.to_string(),
            "property Memory must be 512, 1024 or 2048 MiB for Cpu 256 on Fargate"
        );
    }

    #[test]
    fn credentials_parameter_must_name_a_secret() {
        let mut value = minimal();
        value["ContainerDefinitions"][0]["RepositoryCredentials"]["CredentialsParameter"] =
            json!("arn:aws:ssm:us-east-1:123456789012:parameter/x");
        let err = TaskDefinitionProperties::parse(&value).unwrap_err();
        assert!(
            err.to_string()
                .contains("ContainerDefinitions[0].RepositoryCredentials.CredentialsParameter"),
            "{err}"
        );
        value["ContainerDefinitions"][0]["RepositoryCredentials"]["CredentialsParameter"] =
            json!("registry/creds");
        assert!(TaskDefinitionProperties::parse(&value).is_ok());
    }

    #[test]
    fn container_typos_get_suggestions() {
        let mut value = minimal();
        value["ContainerDefinitions"][0]["Imag"] = json!("x");
        let err = TaskDefinitionProperties::parse(&value).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown property ContainerDefinitions[0].Imag (did you mean Image?)"
        );
    }

    #[test]
    fn containers_are_required() {
        let mut value = minimal();
        value
            .as_object_mut()
            .unwrap()
            .remove("ContainerDefinitions");
        assert_eq!(
            TaskDefinitionProperties::parse(&value)
                .unwrap_err()
                .to_string(),
            "missing required property ContainerDefinitions"
        );
        value["ContainerDefinitions"] = json!([]);
        assert!(TaskDefinitionProperties::parse(&value).is_err());
    }

    #[test]
    fn cpu_architecture_lists_allowed_values() {
        let mut value = minimal();
        value["CpuArchitecture"] = json!("arm");
        assert_eq!(
            TaskDefinitionProperties::parse(&value)
                .unwrap_err()
                .to_string(),
            "property CpuArchitecture must be one of X86_64, ARM64"
        );
    }
}
