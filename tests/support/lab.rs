//! Requests sent through the same handler path the functions use (`Provider::handle`), against
//! moto, answered at a real HTTP receiver, with CloudFormation's record of each request played on
//! a local CloudFormation endpoint, as CloudFormation would hold it while it waits for the answer.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecs_private_auth::aws::Clients;
use ecs_private_auth::local::cloudformation::LocalCloudFormation;
use ecs_private_auth::protocol::RequestType;
use ecs_private_auth::provider::{FunctionRole, Provider};
use ecs_private_auth::settings::Settings;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use super::moto::Moto;
use super::receiver::Receiver;
use super::{ACCOUNT, REGION, STACK_ID, function_arn};

pub struct Lab {
    pub moto: Moto,
    pub receiver: Receiver,
    pub cloudformation: LocalCloudFormation,
    pub config: aws_config::SdkConfig,
    pub clients: Clients,
    /// The permissions boundary every role made in this lab must carry.
    pub boundary_arn: String,
    counter: AtomicU32,
}

/// The body CloudFormation would have received.
#[derive(Debug, Clone)]
pub struct Answer(pub Value);

impl Answer {
    pub fn status(&self) -> &str {
        self.0["Status"].as_str().unwrap_or_default()
    }
    pub fn physical_id(&self) -> String {
        self.0["PhysicalResourceId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    pub fn reason(&self) -> &str {
        self.0["Reason"].as_str().unwrap_or_default()
    }
    pub fn data(&self, key: &str) -> String {
        self.0["Data"][key].as_str().unwrap_or_default().to_owned()
    }
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.status(), "SUCCESS", "{}", self.0);
        self
    }
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert_eq!(self.status(), "FAILED", "{}", self.0);
        self
    }
}

impl Lab {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(moto_env: &[(&str, &str)]) -> Self {
        let moto = Moto::start_with(moto_env).await.unwrap();
        let receiver = Receiver::start().await.unwrap();
        let cloudformation = LocalCloudFormation::start()
            .await
            .expect("local CloudFormation endpoint");
        let config = moto.sdk_config().await;
        let clients = clients_with_cloudformation(&config, &cloudformation);
        let boundary_arn = create_boundary_policy(&clients.iam).await;
        Lab {
            moto,
            receiver,
            cloudformation,
            config,
            clients,
            boundary_arn,
            counter: AtomicU32::new(0),
        }
    }

    /// The same lab with every AWS call it sends counted by a proxy in front of moto.
    pub async fn counting_calls(mut self) -> (Self, super::counting_proxy::CountingProxy) {
        let proxy = super::counting_proxy::CountingProxy::start(&self.moto.endpoint).await;
        let config = self
            .config
            .to_builder()
            .endpoint_url(&proxy.endpoint)
            .build();
        self.clients = clients_with_cloudformation(&config, &self.cloudformation);
        self.config = config;
        (self, proxy)
    }

    pub fn settings(&self) -> Settings {
        Settings {
            allowed_response_url_prefixes: vec![format!("{}/responses/", self.receiver.base_url)],
            role_permissions_boundary_arn: Some(self.boundary_arn.clone()),
            function_name: Some("lab-function".to_owned()),
            ..Settings::default()
        }
    }

    /// A registry secret of this lab's stack, tagged as its own Custom::RegistryCredentials
    /// would tag it.
    pub async fn own_secret(&self, name: &str) -> String {
        self.clients
            .secrets
            .create_secret()
            .name(name)
            .secret_string(r#"{"username":"robot","password":"fixture-pw"}"#)
            .set_tags(Some(vec![
                secret_tag(ecs_private_auth::tags::TAG_STACK_ID, STACK_ID),
                secret_tag(
                    ecs_private_auth::tags::TAG_LOGICAL_ID,
                    "RegistryCredentials",
                ),
            ]))
            .send()
            .await
            .expect("fixture secret")
            .arn()
            .expect("fixture secret ARN")
            .to_owned()
    }

    /// A task execution role of this lab's stack at /ecs-private-auth/<name>, tagged as its own
    /// Custom::TaskExecutionRole would tag it.
    pub async fn own_role(&self, name: &str) -> String {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let tag = |key: &str, value: &str| {
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .expect("IAM tag")
        };
        self.clients
            .iam
            .create_role()
            .role_name(name)
            .path("/ecs-private-auth/")
            .assume_role_policy_document(trust)
            .permissions_boundary(&self.boundary_arn)
            .tags(tag(ecs_private_auth::tags::TAG_STACK_ID, STACK_ID))
            .tags(tag(ecs_private_auth::tags::TAG_LOGICAL_ID, "ExecutionRole"))
            .send()
            .await
            .expect("fixture role")
            .role
            .expect("fixture role")
            .arn()
            .to_owned()
    }

    /// A request of this stack; `physical_id` for Update and Delete, `old` for Update.
    pub fn request(
        &self,
        request_type: RequestType,
        resource_type: &str,
        logical_id: &str,
        properties: Value,
        physical_id: Option<&str>,
        old: Option<Value>,
    ) -> Value {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let mut properties = properties;
        properties["ServiceToken"] =
            json!(format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth"));
        let mut request = json!({
            "RequestType": request_type.as_str(),
            "RequestId": format!("request-{n}"),
            "ResponseURL": self.receiver.url(&format!("{logical_id}-{n}")),
            "StackId": STACK_ID,
            "ResourceType": resource_type,
            "LogicalResourceId": logical_id,
            "ResourceProperties": properties,
        });
        if let Some(id) = physical_id {
            request["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = old {
            request["OldResourceProperties"] = old;
        }
        request
    }

    pub async fn create(&self, resource_type: &str, logical_id: &str, properties: Value) -> Answer {
        self.send(&self.request(
            RequestType::Create,
            resource_type,
            logical_id,
            properties,
            None,
            None,
        ))
        .await
    }

    pub async fn update(
        &self,
        resource_type: &str,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
        old: Value,
    ) -> Answer {
        self.send(&self.request(
            RequestType::Update,
            resource_type,
            logical_id,
            properties,
            Some(physical_id),
            Some(old),
        ))
        .await
    }

    pub async fn delete(
        &self,
        resource_type: &str,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
    ) -> Answer {
        self.send(&self.request(
            RequestType::Delete,
            resource_type,
            logical_id,
            properties,
            Some(physical_id),
            None,
        ))
        .await
    }

    /// Sends a request as CloudFormation would — its record showing the request in progress —
    /// to the function of its type with a minute to go, and returns the one answer it must have
    /// PUT; the record then holds the answer.
    pub async fn send(&self, request: &Value) -> Answer {
        self.send_with(request, self.settings()).await
    }

    pub async fn send_with(&self, request: &Value, settings: Settings) -> Answer {
        self.cloudformation.play(request);
        let answer = self
            .send_unplayed(
                request,
                self.clients.clone(),
                settings,
                Duration::from_secs(60),
            )
            .await;
        self.cloudformation.record_answer(request, &answer.0);
        answer
    }

    /// Sends a request without touching CloudFormation's record: what anyone who may publish to
    /// the topic or invoke a function can do.
    pub async fn send_unplayed(
        &self,
        request: &Value,
        clients: Clients,
        settings: Settings,
        time_left: Duration,
    ) -> Answer {
        let url = request["ResponseURL"].as_str().unwrap().to_owned();
        let before = self.answers_at(&url).len();
        invoke(request, clients, settings, time_left).await;
        let answers = self.answers_at(&url);
        assert_eq!(answers.len(), before + 1, "exactly one answer per request");
        Answer(answers.last().unwrap().json())
    }

    fn answers_at(&self, url: &str) -> Vec<super::receiver::Received> {
        answers_at(&self.receiver, url)
    }
}

fn secret_tag(key: &str, value: &str) -> aws_sdk_secretsmanager::types::Tag {
    aws_sdk_secretsmanager::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
}

/// Clients of moto, but for CloudFormation, which the lab's local endpoint plays.
pub fn clients_with_cloudformation(
    config: &aws_config::SdkConfig,
    cloudformation: &LocalCloudFormation,
) -> Clients {
    let local = aws_sdk_cloudformation::config::Builder::from(config)
        .endpoint_url(&cloudformation.endpoint)
        .build();
    Clients {
        cloudformation: aws_sdk_cloudformation::Client::from_conf(local),
        ..Clients::new(config)
    }
}

/// The permissions boundary the template defines, made in moto's IAM.
pub async fn create_boundary_policy(iam: &aws_sdk_iam::Client) -> String {
    ecs_private_auth::local::emulator::create_boundary_policy(iam)
        .await
        .unwrap()
}

/// The accepted answers a receiver got at `url`.
pub fn answers_at(receiver: &Receiver, url: &str) -> Vec<super::receiver::Received> {
    let path = url
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches(&receiver.base_url)
        .to_owned();
    receiver
        .received()
        .into_iter()
        .filter(|received| received.path == path && received.answered == 200)
        .collect()
}

/// Runs the function of the request's type on it, in process, with `time_left` before the
/// deadline; returns the function's result.
pub async fn invoke(
    request: &Value,
    clients: Clients,
    settings: Settings,
    time_left: Duration,
) -> Value {
    let request_type: RequestType =
        serde_json::from_value(request["RequestType"].clone()).expect("RequestType");
    invoke_function(
        FunctionRole::for_request_type(request_type),
        request,
        clients,
        settings,
        time_left,
    )
    .await
}

/// Runs one function on any payload, in process; returns the function's result.
pub async fn invoke_function(
    role: FunctionRole,
    payload: &Value,
    clients: Clients,
    settings: Settings,
    time_left: Duration,
) -> Value {
    let provider = Provider::new(role, clients, settings);
    let mut context = Context::default();
    context.deadline = (SystemTime::now() + time_left)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.invoked_function_arn = function_arn(role.function_name());
    context.request_id = "invocation".to_owned();
    provider
        .handle(LambdaEvent::new(payload.clone(), context))
        .await
        .unwrap_or_else(|err| panic!("the function failed: {err}"))
}
