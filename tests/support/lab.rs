//! Requests sent through the same handler path the functions use (`Provider::handle`), against
//! moto, answered at a real HTTP receiver.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecs_private_auth::aws::Clients;
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
    pub config: aws_config::SdkConfig,
    pub clients: Clients,
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
        let moto = Moto::start_with(moto_env).await;
        let receiver = Receiver::start().await;
        let config = moto.sdk_config().await;
        let clients = Clients::new(&config);
        Lab {
            moto,
            receiver,
            config,
            clients,
            counter: AtomicU32::new(0),
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            allowed_response_url_prefixes: vec![format!("{}/responses/", self.receiver.base_url)],
            allowed_managed_policy_arns: vec![
                ecs_private_auth::settings::DEFAULT_MANAGED_POLICY.to_owned(),
            ],
            function_name: Some("lab-function".to_owned()),
        }
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

    /// Sends a request to the function of its type with a minute to go, and returns the one
    /// answer it must have PUT.
    pub async fn send(&self, request: &Value) -> Answer {
        self.send_with(
            request,
            self.clients.clone(),
            self.settings(),
            Duration::from_secs(60),
        )
        .await
    }

    pub async fn send_with(
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
    let role = FunctionRole::for_request_type(request_type);
    let provider = Provider::new(role, clients, settings);
    let mut context = Context::default();
    context.deadline = (SystemTime::now() + time_left)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.invoked_function_arn = function_arn(role.function_name());
    context.request_id = "invocation".to_owned();
    provider
        .handle(LambdaEvent::new(request.clone(), context))
        .await
        .unwrap_or_else(|err| panic!("the function failed: {err}"))
}
