//! The provider as AWS runs it, on this machine: the five function binaries, each polling its own
//! Lambda Runtime API, reached the way SNS and Lambda reach them — a request goes to the function
//! its `RequestType` routes to (the topic's filter policies), wrapped as an SNS event; an
//! invocation that fails is retried once, then handed to on-failure as a destination record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::runtime_api::{FunctionProcess, InvocationResult, RuntimeApi};
use super::{ACCOUNT, LocalError, REGION, function_arn};

/// The functions, by the names the template and the workspace give them.
pub const FUNCTIONS: [&str; 5] = [
    "on-create",
    "on-update",
    "on-delete",
    "on-failure",
    "nightly-cleanup",
];

/// Lambda's retries of a failed asynchronous invocation, as the template configures them.
const RETRIES: u32 = 1;

/// How the functions reach the emulator and where they may answer.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Every AWS call (`AWS_ENDPOINT_URL`).
    pub aws_endpoint: String,
    /// CloudFormation's read API for the stacks being played.
    pub cloudformation_endpoint: String,
    /// `ALLOWED_RESPONSE_URL_PREFIXES`: the local ResponseURL receiver.
    pub response_url_prefix: String,
    pub boundary_arn: String,
    /// More variables (`DRY_RUN`, `RUST_LOG`, …).
    pub extra: Vec<(String, String)>,
}

impl Environment {
    /// The functions against `aws_endpoint` (moto, or a proxy in front of it), the local
    /// CloudFormation record and receiver, with the emulator's permissions boundary.
    pub fn local(
        aws_endpoint: &str,
        cloudformation: &super::cloudformation::LocalCloudFormation,
        receiver: &super::receiver::Receiver,
        boundary_arn: &str,
    ) -> Self {
        Environment {
            aws_endpoint: aws_endpoint.to_owned(),
            cloudformation_endpoint: cloudformation.endpoint.clone(),
            response_url_prefix: format!("{}/responses/", receiver.base_url),
            boundary_arn: boundary_arn.to_owned(),
            extra: Vec::new(),
        }
    }
}

struct Function {
    name: &'static str,
    runtime: RuntimeApi,
    process: FunctionProcess,
}

/// The five functions, started and stopped together.
pub struct LocalProvider {
    functions: Vec<Function>,
    /// How long one invocation may take before it counts as timed out.
    pub timeout: Duration,
}

/// What became of a delivered request.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The function returned (its answer, if any, is at the ResponseURL).
    Returned(Value),
    /// It failed after its retries; on-failure was handed the record.
    FailedToOnFailure { error: Value },
}

impl LocalProvider {
    /// Starts every function binary found in `binaries` (a cargo target folder).
    pub async fn start(binaries: &Path, environment: &Environment) -> Result<Self, LocalError> {
        let mut functions = Vec::new();
        for name in FUNCTIONS {
            let binary = binary(binaries, name)?;
            let runtime = RuntimeApi::start().await?;
            let mut env: Vec<(&str, &str)> = vec![
                ("AWS_ENDPOINT_URL", &environment.aws_endpoint),
                (
                    "AWS_ENDPOINT_URL_CLOUDFORMATION",
                    &environment.cloudformation_endpoint,
                ),
                (
                    "ALLOWED_RESPONSE_URL_PREFIXES",
                    &environment.response_url_prefix,
                ),
                ("ROLE_PERMISSIONS_BOUNDARY_ARN", &environment.boundary_arn),
                ("RUST_LOG", "info"),
            ];
            env.extend(
                environment
                    .extra
                    .iter()
                    .map(|(key, value)| (key.as_str(), value.as_str())),
            );
            let process = FunctionProcess::start(&binary, &runtime, name, &env)
                .map_err(|err| LocalError::CannotStart {
                    program: binary.display().to_string(),
                    cause: err.to_string(),
                    hint: "build the functions first: cargo build -p on-create -p on-update -p on-delete -p on-failure -p nightly-cleanup",
                })?;
            functions.push(Function {
                name,
                runtime,
                process,
            });
        }
        Ok(LocalProvider {
            functions,
            timeout: Duration::from_secs(240),
        })
    }

    fn function(&self, name: &str) -> Result<&Function, LocalError> {
        self.functions
            .iter()
            .find(|function| function.name == name)
            .ok_or_else(|| LocalError::unexpected("the local provider", format!("no {name}")))
    }

    /// Invokes one function directly (as `aws lambda invoke` would); `None` when it gave no
    /// result in time.
    pub async fn invoke(
        &self,
        name: &str,
        payload: Value,
    ) -> Result<Option<InvocationResult>, LocalError> {
        let function = self.function(name)?;
        let id = function
            .runtime
            .invoke(&function_arn(name), payload, self.timeout);
        Ok(function
            .runtime
            .try_result(&id, self.timeout + Duration::from_secs(10))
            .await)
    }

    /// Delivers a CloudFormation request as the topic would: an SNS event to the function of its
    /// request type, retried once if it fails, then handed to on-failure.
    pub async fn deliver(&self, request: &Value) -> Result<Delivery, LocalError> {
        let target = route(request)?;
        let event = sns_event(request);
        let mut last_error = Value::Null;
        for _attempt in 0..=RETRIES {
            match self.invoke(target, event.clone()).await? {
                Some(InvocationResult::Response(result)) => return Ok(Delivery::Returned(result)),
                Some(InvocationResult::Error(error)) => last_error = error,
                None => {
                    last_error = json!({"errorType": "Sandbox.Timedout", "errorMessage": "no result in time"})
                }
            }
        }
        let record = failure_record(target, &event, &last_error);
        self.invoke("on-failure", record).await?;
        Ok(Delivery::FailedToOnFailure { error: last_error })
    }

    /// Everything a function printed so far.
    pub fn logs(&self, name: &str) -> String {
        self.function(name)
            .map(|function| function.process.logs())
            .unwrap_or_default()
    }

    /// Peak resident memory of each function so far, in KiB.
    pub fn peak_rss_kib(&self) -> Vec<(&'static str, Option<u64>)> {
        self.functions
            .iter()
            .map(|function| (function.name, function.process.peak_rss_kib()))
            .collect()
    }
}

/// The function a request's type routes to (the topic's filter policies on `RequestType`).
pub fn route(request: &Value) -> Result<&'static str, LocalError> {
    match request["RequestType"].as_str() {
        Some("Create") => Ok("on-create"),
        Some("Update") => Ok("on-update"),
        Some("Delete") => Ok("on-delete"),
        other => Err(LocalError::unexpected(
            "routing a request",
            format!("RequestType {other:?} matches no subscription"),
        )),
    }
}

/// The CloudFormation requests an invocation carries: the bare request, or each SNS record's
/// message.
pub fn carried_requests(payload: &Value) -> Vec<Value> {
    match payload["Records"].as_array() {
        Some(records) => records
            .iter()
            .filter_map(|record| record["Sns"]["Message"].as_str())
            .filter_map(|message| serde_json::from_str(message).ok())
            .collect(),
        None if payload.get("StackId").is_some() => vec![payload.clone()],
        None => vec![],
    }
}

/// The request as SNS delivers it to a subscribed function.
pub fn sns_event(request: &Value) -> Value {
    let topic = request["ServiceToken"]
        .as_str()
        .filter(|token| token.starts_with("arn:aws:sns:"))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth"));
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{topic}:4e8a7e0c-local"),
        "Sns": {
            "Type": "Notification",
            "MessageId": format!("local-{}", request["RequestId"].as_str().unwrap_or_default()),
            "TopicArn": topic,
            "Subject": "AWS CloudFormation custom resource request",
            "Message": request.to_string(),
            "Timestamp": timestamp,
            "MessageAttributes": {}
        }
    }]})
}

/// Lambda's on-failure destination record for an invocation that failed after its retries.
fn failure_record(function: &str, event: &Value, error: &Value) -> Value {
    json!({
        "version": "1.0",
        "requestContext": {
            "functionArn": format!("{}:$LATEST", function_arn(function)),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": RETRIES + 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    })
}

fn binary(folder: &Path, name: &str) -> Result<PathBuf, LocalError> {
    let path = folder.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(LocalError::CannotStart {
            program: path.display().to_string(),
            cause: "not built".into(),
            hint: "build the functions first: cargo build -p on-create -p on-update -p on-delete -p on-failure -p nightly-cleanup",
        })
    }
}
