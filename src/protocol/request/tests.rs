use super::*;
use serde_json::json;

pub(crate) const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/lab/0f4ba8d0-7d6c-11ef-a5c5-0affd5a7c3a1";

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
    assert!(!payload.to_string().contains("hunter2") && !payload.to_string().contains("typo-pw"));
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
