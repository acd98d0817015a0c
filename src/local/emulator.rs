//! The embedded emulator a local run plays against: moto on loopback (with ECS services that
//! reach RUNNING), the Debian docker-registry holding `lab/hello` 1.0 and 1.1 behind a password,
//! the VPC pieces a Fargate service needs, the permissions boundary the provider's roles carry,
//! and the registry password in SSM where a stack named `<stack>` may read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_ssm::types::ParameterType;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::moto::Moto;
use super::network::{self, Network};
use super::registry::{self, Registry};
use super::{LocalError, free_port};

/// The managed policy every role the provider makes carries as its permissions boundary.
pub const BOUNDARY_POLICY: &str = "ecs-private-auth-role-boundary";

/// Where a running emulator can be found again by a later command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub aws_endpoint: String,
    pub registry_host: String,
    pub subnet: String,
    pub security_group: String,
    pub boundary_arn: String,
    /// Process ids, to stop what outlived the command that started it.
    pub pids: Vec<u32>,
}

pub struct Emulator {
    pub moto: Moto,
    pub registry: Registry,
    pub network: Network,
    pub boundary_arn: String,
    pub config: aws_config::SdkConfig,
}

impl Emulator {
    /// Starts everything; the registry keeps its images in `registry_dir` (a temporary folder
    /// when `None`).
    pub async fn start(registry_dir: Option<&Path>) -> Result<Self, LocalError> {
        let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "1")]).await?;
        let registry = match registry_dir {
            Some(dir) => Registry::start_in(dir, free_port()?).await?,
            None => Registry::start().await?,
        };
        registry.push_image(registry::IMAGE, "1.1").await?;
        let network = network::create(&moto.endpoint).await?;
        let config = moto.sdk_config().await;
        let boundary_arn = create_boundary_policy(&aws_sdk_iam::Client::new(&config)).await?;
        Ok(Emulator {
            moto,
            registry,
            network,
            boundary_arn,
            config,
        })
    }

    /// An emulator a previous command left running, if it still answers.
    pub async fn attach(address: &Address, registry_dir: &Path) -> Option<Self> {
        let moto = Moto::attach(&address.aws_endpoint).await?;
        let registry = Registry::attach(&address.registry_host, registry_dir).await?;
        let config = moto.sdk_config().await;
        Some(Emulator {
            moto,
            registry,
            network: Network {
                subnet: address.subnet.clone(),
                security_group: address.security_group.clone(),
            },
            boundary_arn: address.boundary_arn.clone(),
            config,
        })
    }

    /// Leaves moto and the registry running after this value is dropped.
    pub fn detach(&mut self) -> Address {
        let pids = [self.moto.detach(), self.registry.detach()]
            .into_iter()
            .flatten()
            .collect();
        Address {
            pids,
            ..self.address()
        }
    }

    pub fn address(&self) -> Address {
        Address {
            aws_endpoint: self.moto.endpoint.clone(),
            registry_host: self.registry.host.clone(),
            subnet: self.network.subnet.clone(),
            security_group: self.network.security_group.clone(),
            boundary_arn: self.boundary_arn.clone(),
            pids: Vec::new(),
        }
    }

    /// What a parameters file may write as `{{name}}`.
    pub fn placeholders(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("registry", self.registry.host.clone()),
            ("subnet", self.network.subnet.clone()),
            ("security_group", self.network.security_group.clone()),
            // The local registry's own password, for a template that takes it inline.
            ("registry_password", registry::PASSWORD.to_owned()),
        ])
    }

    /// Puts `password` at `name` in SSM as a SecureString (replacing what is there).
    pub async fn put_password(&self, name: &str, password: &str) -> Result<(), LocalError> {
        aws_sdk_ssm::Client::new(&self.config)
            .put_parameter()
            .name(name)
            .value(password)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|err| LocalError::unexpected(format!("putting {name} in SSM"), err))?;
        Ok(())
    }

    /// The registry's password where a stack named `stack` reads it:
    /// `/ecs-private-auth/<stack>/registry-password`.
    pub async fn put_registry_password(&self, stack: &str) -> Result<String, LocalError> {
        let name = format!("/ecs-private-auth/{stack}/registry-password");
        self.put_password(&name, registry::PASSWORD).await?;
        Ok(name)
    }
}

impl Emulator {
    /// Everything of the provider's kind still alive in moto: active clusters and task
    /// definitions, roles under /ecs-private-auth/, secrets not scheduled for deletion.
    pub async fn leftovers(&self) -> Result<Vec<String>, LocalError> {
        let ecs = aws_sdk_ecs::Client::new(&self.config);
        let mut left = Vec::new();
        let clusters = ecs
            .list_clusters()
            .send()
            .await
            .map_err(failed("listing clusters"))?;
        if !clusters.cluster_arns().is_empty() {
            let described = ecs
                .describe_clusters()
                .set_clusters(Some(clusters.cluster_arns().to_vec()))
                .send()
                .await
                .map_err(failed("describing clusters"))?;
            left.extend(
                described
                    .clusters()
                    .iter()
                    .filter(|cluster| cluster.status() == Some("ACTIVE"))
                    .filter_map(|cluster| cluster.cluster_arn().map(str::to_owned)),
            );
        }
        let definitions = ecs
            .list_task_definitions()
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await
            .map_err(failed("listing task definitions"))?;
        left.extend(definitions.task_definition_arns().iter().cloned());
        let roles = aws_sdk_iam::Client::new(&self.config)
            .list_roles()
            .path_prefix("/ecs-private-auth/")
            .send()
            .await
            .map_err(failed("listing roles"))?;
        left.extend(roles.roles().iter().map(|role| role.arn().to_owned()));
        let secrets = aws_sdk_secretsmanager::Client::new(&self.config)
            .list_secrets()
            .send()
            .await
            .map_err(failed("listing secrets"))?;
        left.extend(
            secrets
                .secret_list()
                .iter()
                .filter(|secret| secret.deleted_date().is_none())
                .filter_map(|secret| secret.arn().map(str::to_owned)),
        );
        Ok(left)
    }
}

/// Turns an emulator call's error into a LocalError naming `what` was being done.
fn failed<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> LocalError {
    move |err| LocalError::unexpected(what, err)
}

/// The permissions boundary the template defines, made in moto's IAM; returns its ARN.
pub async fn create_boundary_policy(iam: &aws_sdk_iam::Client) -> Result<String, LocalError> {
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"Null": {"aws:ResourceTag/ecs-private-auth:stack-id": "false"}}},
        {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage",
         "ecr:GetDownloadUrlForLayer", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}
    ]});
    iam.create_policy()
        .policy_name(BOUNDARY_POLICY)
        .policy_document(document.to_string())
        .send()
        .await
        .map_err(|err| LocalError::unexpected("making the boundary policy in moto", err))?
        .policy
        .and_then(|policy| policy.arn)
        .ok_or_else(|| LocalError::unexpected("making the boundary policy in moto", "no ARN"))
}

/// The folder the local run keeps its state in: `.local/run` under the workspace.
pub fn state_dir(workspace: &Path) -> PathBuf {
    workspace.join(".local").join("run")
}
