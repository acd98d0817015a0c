//! Parsing what a function receives into CloudFormation requests: a bare request (direct
//! invocation), or an SNS event whose records each carry one as their `Message`.

use std::fmt;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// CloudFormation's default wait for a custom resource, and the most it allows.
pub(crate) const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Create => "Create",
            RequestType::Update => "Update",
            RequestType::Delete => "Delete",
        }
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One CloudFormation custom-resource request.
///
/// `Debug` leaves out the properties and the ResponseURL's signature.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub request_type: RequestType,
    pub request_id: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub resource_type: String,
    pub logical_resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_properties: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_resource_properties: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_token: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("request_type", &self.request_type)
            .field("request_id", &self.request_id)
            .field(
                "response_url",
                &super::redact::url_without_query(&self.response_url),
            )
            .field("stack_id", &self.stack_id)
            .field("resource_type", &self.resource_type)
            .field("logical_resource_id", &self.logical_resource_id)
            .field("physical_resource_id", &self.physical_resource_id)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// How long CloudFormation waits for this resource: the `ServiceTimeout` property (seconds),
    /// else one hour. A value that is no number falls back to the default rather than failing a
    /// Delete, which must not validate properties.
    pub(crate) fn service_timeout(&self) -> Duration {
        self.resource_properties
            .get("ServiceTimeout")
            .and_then(|value| match value {
                Value::String(text) => text.trim().parse::<u64>().ok(),
                Value::Number(number) => number.as_u64(),
                _ => None,
            })
            .filter(|seconds| *seconds > 0)
            .map(|seconds| Duration::from_secs(seconds).min(DEFAULT_SERVICE_TIMEOUT))
            .unwrap_or(DEFAULT_SERVICE_TIMEOUT)
    }

    pub fn properties(&self) -> &Value {
        &self.resource_properties
    }

    /// The physical id CloudFormation gave (Update and Delete), or "" for a Create.
    pub fn physical_id(&self) -> &str {
        self.physical_resource_id.as_deref().unwrap_or_default()
    }
}

/// The key of a payload a function sends itself to continue a long wait
/// (docs/design.md#long-waits).
pub const CONTINUATION_KEY: &str = "ecsPrivateAuthContinuation";

/// A request as this invocation received it: fresh from CloudFormation, or continued from an
/// earlier invocation that ran out of time while waiting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incoming {
    pub request: Request,
    /// When the request is first known to exist (SNS's publishing time, else its first
    /// receipt), in seconds since the Unix epoch: a wait is bounded by the resource's
    /// ServiceTimeout counted from then.
    pub first_received_at: u64,
    /// How many invocations have continued it so far.
    pub continuations: u32,
    /// What an earlier invocation of this request made (its physical id), so that a failure
    /// after the hand-over still undoes it, and on-failure answers with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<String>,
}

impl Incoming {
    /// A request as it arrives; `sent_at` is when SNS says it was published, if it came that
    /// way (CloudFormation's clock has run since then).
    pub(crate) fn fresh(request: Request, sent_at: Option<u64>) -> Self {
        let now = now_epoch_secs();
        Incoming {
            request,
            first_received_at: sent_at.map_or(now, |sent| sent.min(now)),
            continuations: 0,
            made: None,
        }
    }

    /// The payload that continues this request in a new invocation, without any secret
    /// property (the continuation travels through Lambda's event queue), carrying what this
    /// request has made so far.
    pub(crate) fn continuation_payload(
        &self,
        made: Option<String>,
        secret_names: super::redact::SecretNames,
    ) -> Value {
        let mut next = self.clone();
        next.continuations += 1;
        next.made = made.or(next.made);
        super::redact::strip_secret_properties(&mut next.request.resource_properties, secret_names);
        if let Some(old) = next.request.old_resource_properties.as_mut() {
            super::redact::strip_secret_properties(old, secret_names);
        }
        serde_json::json!({ CONTINUATION_KEY: next })
    }

    /// When the whole wait must be over: ServiceTimeout from the first receipt, less a margin
    /// for the last answer.
    pub(crate) fn wait_deadline(&self) -> std::time::SystemTime {
        let timeout = self.request.service_timeout();
        let margin = (timeout / 10).min(Duration::from_secs(60));
        std::time::UNIX_EPOCH + Duration::from_secs(self.first_received_at) + timeout - margin
    }
}

pub fn now_epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

/// A request that cannot be answered: the reason says what was wrong, without echoing values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed request: {0}")]
pub struct Malformed(pub String);

/// Every request an invocation carries: a bare request, each record of an SNS event, or a
/// continuation. An SNS record that cannot be read does not stop the others.
pub fn parse_invocation(payload: &Value) -> Result<Vec<Result<Incoming, Malformed>>, Malformed> {
    if let Some(continuation) = payload.get(CONTINUATION_KEY) {
        let incoming: Incoming = serde_json::from_value(continuation.clone()).map_err(|err| {
            Malformed(format!(
                "a continuation that cannot be read ({})",
                describe(&err)
            ))
        })?;
        return Ok(vec![Ok(incoming)]);
    }
    Ok(parse_requests(payload)?
        .into_iter()
        .map(|request| request.map(|(request, sent_at)| Incoming::fresh(request, sent_at)))
        .collect())
}

/// Each request, with when SNS says it was published (None for a bare request).
type Parsed = Result<(Request, Option<u64>), Malformed>;

fn parse_requests(payload: &Value) -> Result<Vec<Parsed>, Malformed> {
    if let Some(records) = payload.get("Records") {
        let records = records
            .as_array()
            .ok_or_else(|| Malformed("Records is not a list".into()))?;
        if records.is_empty() {
            return Err(Malformed("an SNS event without records".into()));
        }
        return Ok(records.iter().map(parse_sns_record).collect());
    }
    if payload.get("RequestType").is_some() {
        return Ok(vec![parse_request(payload).map(|request| (request, None))]);
    }
    Err(Malformed(
        "neither a CloudFormation request nor an SNS event".into(),
    ))
}

fn parse_sns_record(record: &Value) -> Parsed {
    let sns = record.get("Sns");
    let message = sns
        .and_then(|sns| sns.get("Message"))
        .and_then(Value::as_str)
        .ok_or_else(|| Malformed("an SNS record without Sns.Message".into()))?;
    let request: Value = serde_json::from_str(message)
        .map_err(|err| Malformed(format!("the SNS message is not JSON ({})", describe(&err))))?;
    let sent_at = sns
        .and_then(|sns| sns.get("Timestamp"))
        .and_then(Value::as_str)
        .and_then(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        })
        .and_then(|at| u64::try_from(at.unix_timestamp()).ok());
    Ok((parse_request(&request)?, sent_at))
}

/// Reads one request with aws_lambda_events' CloudFormation types.
pub fn parse_request(value: &Value) -> Result<Request, Malformed> {
    let parsed: CloudFormationCustomResourceRequest =
        serde_json::from_value(value.clone()).map_err(|err| Malformed(describe(&err)))?;
    let request = match parsed {
        CloudFormationCustomResourceRequest::Create(create) => Request {
            request_type: RequestType::Create,
            request_id: create.request_id,
            response_url: create.response_url,
            stack_id: create.stack_id,
            resource_type: create.resource_type,
            logical_resource_id: create.logical_resource_id,
            physical_resource_id: None,
            resource_properties: create.resource_properties,
            old_resource_properties: None,
            service_token: create.service_token,
        },
        CloudFormationCustomResourceRequest::Update(update) => Request {
            request_type: RequestType::Update,
            request_id: update.request_id,
            response_url: update.response_url,
            stack_id: update.stack_id,
            resource_type: update.resource_type,
            logical_resource_id: update.logical_resource_id,
            physical_resource_id: Some(update.physical_resource_id),
            resource_properties: update.resource_properties,
            old_resource_properties: Some(update.old_resource_properties),
            service_token: update.service_token,
        },
        CloudFormationCustomResourceRequest::Delete(delete) => Request {
            request_type: RequestType::Delete,
            request_id: delete.request_id,
            response_url: delete.response_url,
            stack_id: delete.stack_id,
            resource_type: delete.resource_type,
            logical_resource_id: delete.logical_resource_id,
            physical_resource_id: Some(delete.physical_resource_id),
            resource_properties: delete.resource_properties,
            old_resource_properties: None,
            service_token: delete.service_token,
        },
        _ => return Err(Malformed("an unknown RequestType".into())),
    };
    if !request.resource_properties.is_object() {
        return Err(Malformed("ResourceProperties is not an object".into()));
    }
    for (name, value) in [
        ("RequestId", &request.request_id),
        ("ResponseURL", &request.response_url),
        ("StackId", &request.stack_id),
        ("LogicalResourceId", &request.logical_resource_id),
    ] {
        if value.is_empty() {
            return Err(Malformed(format!("{name} is empty")));
        }
    }
    Ok(request)
}

/// A serde error without the values it may quote: "missing field `StackId`" is kept,
/// "invalid type: string \"...\"" becomes its category only.
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if let Some(field) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return format!("missing field {field}");
    }
    if text.starts_with("unknown variant") {
        return "an unknown RequestType".into();
    }
    match err.classify() {
        serde_json::error::Category::Data => "a field has the wrong type".into(),
        _ => "not valid JSON".into(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
