//! Real parts for the integration tests, all on 127.0.0.1 and stopped when dropped: a
//! ResponseURL receiver, a Lambda Runtime API that drives the real function binaries, and a
//! function process whose logs are captured.
#![allow(dead_code)]

pub mod calls;
pub mod counting_proxy;
pub mod lab;
pub mod played;
pub mod snoop;

// The real parts live in the library (feature `local`), shared with the local runner.
#[allow(unused_imports)]
pub use ecs_private_auth::local::{moto, network, receiver, registry, runtime_api};

use std::path::PathBuf;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/lab/0f4ba8d0-7d6c-11ef-a5c5-0affd5a7c3a1";

/// The ARN a function is invoked under in the tests.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// A function binary built by `cargo test --workspace` (each function crate has an integration
/// test, so cargo builds its binary), found next to this test executable.
pub fn function_binary(name: &str) -> PathBuf {
    let test_exe = std::env::current_exe().expect("test executable path");
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let binary = profile_dir.join(name);
    assert!(
        binary.exists(),
        "{} is not built: run the tests with `cargo test --workspace` (as `make test` does)",
        binary.display()
    );
    binary
}

/// A CloudFormation request for the tests, answered at `response_url`.
pub fn cfn_request(
    request_type: &str,
    resource_type: &str,
    logical_id: &str,
    properties: serde_json::Value,
    response_url: &str,
) -> serde_json::Value {
    let mut properties = properties;
    properties["ServiceToken"] =
        serde_json::json!(format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth"));
    let mut request = serde_json::json!({
        "RequestType": request_type,
        "ServiceToken": format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth"),
        "RequestId": format!("{}-{}", logical_id.to_lowercase(), request_type.to_lowercase()),
        "ResponseURL": response_url,
        "StackId": STACK_ID,
        "ResourceType": resource_type,
        "LogicalResourceId": logical_id,
        "ResourceProperties": properties,
    });
    if request_type != "Create" {
        request["PhysicalResourceId"] = serde_json::json!(format!(
            "arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{logical_id}"
        ));
    }
    if request_type == "Update" {
        request["OldResourceProperties"] = serde_json::json!({});
    }
    request
}

/// Wraps requests in an SNS event, one record each.
pub fn sns_event(requests: &[serde_json::Value]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = requests
        .iter()
        .map(|request| {
            serde_json::json!({
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth:4e8a7e0c"),
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:ecs-private-auth"),
                    "Subject": "AWS CloudFormation custom resource request",
                    "Message": request.to_string(),
                    "Timestamp": "2026-11-26T08:00:00.000Z",
                    "MessageAttributes": {}
                }
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}
