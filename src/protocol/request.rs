//! Parsing what a function receives into CloudFormation requests: a bare request (direct
//! invocation), or an SNS event whose records each carry one as their `Message`.

use std::fmt;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// CloudFormation's default wait for a custom resource, and the most it allows.
pub const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);

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
    pub fn service_timeout(&self) -> Duration {
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
    pub fn fresh(request: Request, sent_at: Option<u64>) -> Self {
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
    pub fn continuation_payload(
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
    pub fn wait_deadline(&self) -> std::time::SystemTime {
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
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/lab/0f4ba8d0-7d6c-11ef-a5c5-0affd5a7c3a1";

    pub(crate) fn sample_request(request_type: RequestType) -> Request {
        let value = sample_json(request_type);
        parse_request(&value).unwrap()
    }

    pub(crate) fn sample_json(request_type: RequestType) -> Value {
        let mut value = json!({
            "RequestType": request_type.as_str(),
            "ServiceToken": "arn:aws:sns:us-east-1:123456789012:ecs-private-auth",
            "RequestId": "5d478078-13e9-baf0-464a-7ef285ecc786",
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/Cluster/5d47?X-Amz-Signature=deadbeef",
            "StackId": STACK_ID,
            "ResourceType": "Custom::FargateCluster",
            "LogicalResourceId": "Cluster",
            "ResourceProperties": {"ServiceToken": "arn:aws:sns:us-east-1:123456789012:ecs-private-auth"}
        });
        if request_type != RequestType::Create {
            value["PhysicalResourceId"] = json!("arn:aws:ecs:us-east-1:123456789012:cluster/lab");
        }
        if request_type == RequestType::Update {
            value["OldResourceProperties"] = json!({"ContainerInsights": "disabled"});
        }
        value
    }

    #[test]
    fn a_bare_request_is_one_request() {
        let requests = parse_invocation(&sample_json(RequestType::Update)).unwrap();
        let request = requests[0].clone().unwrap().request;
        assert_eq!(request.request_type, RequestType::Update);
        assert_eq!(
            request.physical_id(),
            "arn:aws:ecs:us-east-1:123456789012:cluster/lab"
        );
        assert_eq!(
            request.old_resource_properties,
            Some(json!({"ContainerInsights": "disabled"}))
        );
    }

    #[test]
    fn an_sns_event_with_two_records_is_two_requests() {
        let first = sample_json(RequestType::Create);
        let mut second = sample_json(RequestType::Create);
        second["LogicalResourceId"] = json!("Second");
        let event = json!({"Records": [
            {"EventSource": "aws:sns", "Sns": {"Message": first.to_string()}},
            {"EventSource": "aws:sns", "Sns": {"Message": second.to_string()}},
        ]});
        let requests = parse_invocation(&event).unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            requests[1].as_ref().unwrap().request.logical_resource_id,
            "Second"
        );
    }

    #[test]
    fn one_bad_record_does_not_stop_the_others() {
        let event = json!({"Records": [
            {"Sns": {"Message": "not json"}},
            {"Sns": {"Message": sample_json(RequestType::Delete).to_string()}},
        ]});
        let requests = parse_invocation(&event).unwrap();
        assert!(requests[0].is_err());
        assert!(requests[1].is_ok());
    }

    #[test]
    fn malformed_requests_say_what_is_missing() {
        let mut value = sample_json(RequestType::Create);
        value.as_object_mut().unwrap().remove("StackId");
        assert_eq!(
            parse_request(&value).unwrap_err().to_string(),
            "malformed request: missing field StackId"
        );
    }

    #[test]
    fn malformed_requests_never_quote_values() {
        let mut value = sample_json(RequestType::Create);
        value["RequestId"] = json!({"password": "hunter2-secret"});
        let err = parse_request(&value).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn an_unknown_request_type_is_malformed() {
        let mut value = sample_json(RequestType::Create);
        value["RequestType"] = json!("Destroy");
        assert!(parse_request(&value).is_err());
        assert!(parse_invocation(&json!({"hello": 1})).is_err());
    }

    #[test]
    fn service_timeout_comes_from_the_properties() {
        let mut request = sample_request(RequestType::Create);
        assert_eq!(request.service_timeout(), DEFAULT_SERVICE_TIMEOUT);
        request.resource_properties["ServiceTimeout"] = json!("300");
        assert_eq!(request.service_timeout(), Duration::from_secs(300));
        request.resource_properties["ServiceTimeout"] = json!("soon");
        assert_eq!(request.service_timeout(), DEFAULT_SERVICE_TIMEOUT);
    }

    #[test]
    fn a_continuation_carries_the_first_receipt_and_no_secret() {
        let mut request = sample_request(RequestType::Create);
        request.resource_properties =
            json!({"Cluster": "lab", "Password": "hunter2-pw", "Pasword": "typo-pw"});
        let incoming = Incoming {
            request,
            first_received_at: 1_700_000_000,
            continuations: 2,
            made: None,
        };
        let payload = incoming.continuation_payload(
            Some("arn:made".into()),
            crate::properties::is_secret_property,
        );
        assert!(
            !payload.to_string().contains("hunter2") && !payload.to_string().contains("typo-pw")
        );
        let parsed = parse_invocation(&payload).unwrap().remove(0).unwrap();
        assert_eq!(parsed.first_received_at, 1_700_000_000);
        assert_eq!(parsed.continuations, 3);
        assert_eq!(parsed.made.as_deref(), Some("arn:made"));
        assert_eq!(
            parsed.request.resource_properties,
            json!({"Cluster": "lab"})
        );
    }

    #[test]
    fn the_wait_is_bounded_by_service_timeout_from_the_first_receipt() {
        let mut request = sample_request(RequestType::Create);
        request.resource_properties["ServiceTimeout"] = json!("1800");
        let incoming = Incoming {
            request,
            first_received_at: 1_000,
            continuations: 0,
            made: None,
        };
        let deadline = incoming
            .wait_deadline()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(deadline, 1_000 + 1800 - 60);
    }

    #[test]
    fn the_wait_counts_from_when_sns_says_the_request_was_sent() {
        let event = json!({"Records": [{"Sns": {
            "Message": sample_json(RequestType::Create).to_string(),
            "Timestamp": "2026-11-26T08:00:00.000Z"}}]});
        let incoming = parse_invocation(&event).unwrap().remove(0).unwrap();
        assert_eq!(incoming.first_received_at, 1_795_680_000);
        let bare = parse_invocation(&sample_json(RequestType::Create))
            .unwrap()
            .remove(0)
            .unwrap();
        assert!(bare.first_received_at >= now_epoch_secs() - 5);
    }

    #[test]
    fn debug_output_hides_the_signature() {
        let request = sample_request(RequestType::Create);
        let shown = format!("{request:?}");
        assert!(!shown.contains("deadbeef"), "{shown}");
    }
}
