//! Each function binary, run for real through the Lambda Runtime API on loopback, answering at a
//! real HTTP ResponseURL: the protocol rules as a user's stack meets them.

mod support;

use std::time::Duration;

use ecs_private_auth::local::cloudformation::LocalCloudFormation;
use ecs_private_auth::local::provider::carried_requests;
use serde_json::{Value, json};
use support::receiver::Receiver;
use support::runtime_api::{FunctionProcess, RuntimeApi};
use support::{STACK_ID, cfn_request, function_arn, function_binary, sns_event};

const QUIET: Duration = Duration::from_millis(700);

struct Harness {
    runtime: RuntimeApi,
    receiver: Receiver,
    cloudformation: LocalCloudFormation,
    function: FunctionProcess,
    arn: String,
}

impl Harness {
    async fn start(name: &str, env: &[(&str, &str)]) -> Self {
        let receiver = Receiver::start().await.unwrap();
        let runtime = RuntimeApi::start().await.unwrap();
        let cloudformation = LocalCloudFormation::start().await.unwrap();
        let prefix = format!("{}/responses/", receiver.base_url);
        let mut env: Vec<(&str, &str)> = env.to_vec();
        env.push(("ALLOWED_RESPONSE_URL_PREFIXES", &prefix));
        env.push(("AWS_ENDPOINT_URL_CLOUDFORMATION", &cloudformation.endpoint));
        let function =
            FunctionProcess::start(&function_binary(name), &runtime, name, &env).unwrap();
        Harness {
            runtime,
            receiver,
            cloudformation,
            function,
            arn: function_arn(name),
        }
    }

    /// Invokes the function; CloudFormation's record shows each request it carries in progress,
    /// as it would while CloudFormation waits for the answer.
    async fn invoke(&self, payload: Value) -> Value {
        for request in carried_requests(&payload) {
            self.cloudformation.play(&request);
        }
        self.runtime
            .call(&self.arn, payload, Duration::from_secs(30))
            .await
            .response()
    }
}

fn cluster_request(
    request_type: &str,
    logical_id: &str,
    properties: Value,
    receiver: &Receiver,
) -> Value {
    cfn_request(
        request_type,
        "Custom::FargateCluster",
        logical_id,
        properties,
        &receiver.url(logical_id),
    )
}

#[tokio::test]
async fn a_create_is_answered_success_with_the_cluster_arn() {
    let moto = support::moto::Moto::start().await.unwrap();
    let harness = Harness::start("on-create", &[("AWS_ENDPOINT_URL", &moto.endpoint)]).await;
    let request = cluster_request(
        "Create",
        "Cluster",
        json!({"ClusterName": "lab-cluster"}),
        &harness.receiver,
    );

    let result = harness.invoke(request).await;

    let answers = harness.receiver.accepted_for("Cluster");
    assert_eq!(answers.len(), 1);
    let body = answers[0].json();
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(
        body["PhysicalResourceId"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/lab-cluster"
    );
    assert_eq!(body["Data"]["Name"], "lab-cluster");
    assert_eq!(body["StackId"], STACK_ID);
    assert_eq!(result["requests"][0]["outcome"], "answered");
    assert_eq!(result["requests"][0]["status"], "SUCCESS");
}

#[tokio::test]
async fn an_sns_event_with_two_records_answers_both() {
    let harness = Harness::start("on-delete", &[]).await;
    let mut first = cluster_request("Delete", "First", json!({}), &harness.receiver);
    first["PhysicalResourceId"] = json!("ecs-private-auth:failed-create:First:req-1");
    let mut second = cluster_request("Delete", "Second", json!({}), &harness.receiver);
    second["PhysicalResourceId"] = json!("ecs-private-auth:failed-create:Second:req-2");

    let result = harness.invoke(sns_event(&[first, second])).await;

    for name in ["First", "Second"] {
        let answers = harness.receiver.accepted_for(name);
        assert_eq!(answers.len(), 1, "{name}");
        let body = answers[0].json();
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(
            body["PhysicalResourceId"],
            format!(
                "ecs-private-auth:failed-create:{name}:req-{}",
                if name == "First" { 1 } else { 2 }
            )
        );
    }
    assert_eq!(result["requests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_delete_of_the_failed_create_marker_touches_no_aws() {
    // No AWS endpoint is reachable here: a call would fail the Delete.
    let harness = Harness::start("on-delete", &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")]).await;
    let mut request = cfn_request(
        "Delete",
        "Custom::Whatever",
        "Gone",
        json!({"Anything": "at all"}),
        &harness.receiver.url("Gone"),
    );
    request["PhysicalResourceId"] = json!("ecs-private-auth:failed-create:Gone:req");

    harness.invoke(request).await;

    let body = harness.receiver.accepted_for("Gone")[0].json();
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(
        body["PhysicalResourceId"],
        "ecs-private-auth:failed-create:Gone:req"
    );
}

#[tokio::test]
async fn a_malformed_event_is_dropped_without_a_put() {
    let harness = Harness::start("on-create", &[]).await;
    let mut request = cluster_request("Create", "Cluster", json!({}), &harness.receiver);
    request.as_object_mut().unwrap().remove("StackId");

    let result = harness.invoke(request).await;
    let garbage = harness.invoke(json!({"hello": "world"})).await;

    tokio::time::sleep(QUIET).await;
    assert!(harness.receiver.received().is_empty());
    assert_eq!(result["requests"][0]["outcome"], "dropped");
    assert_eq!(
        result["requests"][0]["reason"],
        "malformed request: missing field StackId"
    );
    assert_eq!(garbage["requests"][0]["outcome"], "dropped");
}

#[tokio::test]
async fn a_request_for_another_function_is_left_to_it() {
    let harness = Harness::start("on-create", &[]).await;
    let request = cluster_request("Delete", "Cluster", json!({}), &harness.receiver);

    let result = harness.invoke(request).await;

    tokio::time::sleep(QUIET).await;
    assert!(
        harness.receiver.received().is_empty(),
        "the right function answers, not this one"
    );
    assert_eq!(result["requests"][0]["outcome"], "notMine");
    assert_eq!(result["requests"][0]["handledBy"], "on-delete");
    let logs = harness.function.logs();
    assert!(logs.contains("left for on-delete to answer"), "{logs}");
}

#[tokio::test]
async fn a_response_url_outside_the_allowed_prefixes_gets_no_put() {
    let harness = Harness::start("on-create", &[]).await;
    // Same server, outside the allowed /responses/ prefix: a PUT would be recorded.
    let url = format!(
        "{}/elsewhere/x?X-Amz-Signature=abc",
        harness.receiver.base_url
    );
    let request = cfn_request(
        "Create",
        "Custom::FargateCluster",
        "Cluster",
        json!({}),
        &url,
    );

    let result = harness.invoke(request).await;

    tokio::time::sleep(QUIET).await;
    assert!(harness.receiver.received().is_empty());
    assert_eq!(result["requests"][0]["outcome"], "dropped");
    assert!(
        result["requests"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ResponseURL")
    );
}

#[tokio::test]
async fn a_stack_of_another_account_gets_no_put() {
    let harness = Harness::start("on-create", &[]).await;
    let mut request = cluster_request("Create", "Cluster", json!({}), &harness.receiver);
    request["StackId"] = json!(STACK_ID.replace("123456789012", "210987654321"));

    let result = harness.invoke(request).await;

    tokio::time::sleep(QUIET).await;
    assert!(harness.receiver.received().is_empty());
    assert_eq!(result["requests"][0]["outcome"], "dropped");
}

#[tokio::test]
async fn an_unknown_resource_type_fails_listing_the_supported_ones() {
    let harness = Harness::start("on-create", &[]).await;
    let request = cfn_request(
        "Create",
        "Custom::Nope",
        "Thing",
        json!({}),
        &harness.receiver.url("Thing"),
    );

    harness.invoke(request).await;

    let body = harness.receiver.accepted_for("Thing")[0].json();
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("ecs-private-auth:failed-create:")
    );
    assert_eq!(
        body["Reason"],
        "ResourceType Custom::Nope is not supported; this provider supports Custom::FargateCluster, Custom::RegistryCredentials, Custom::TaskExecutionRole, Custom::TaskDefinition, Custom::FargateService"
    );
}

#[tokio::test]
async fn a_misspelled_property_fails_with_a_suggestion() {
    let harness = Harness::start("on-create", &[]).await;
    let request = cfn_request(
        "Create",
        "Custom::FargateService",
        "Service",
        json!({"Cluster": "lab", "TaskDefinition": "web:1", "Subnets": ["subnet-0a1b"], "SecurityGroups": ["sg-0a1b"], "DesiredCont": "2"}),
        &harness.receiver.url("Service"),
    );

    harness.invoke(request).await;

    let body = harness.receiver.accepted_for("Service")[0].json();
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(
        body["Reason"],
        "unknown property DesiredCont (did you mean DesiredCount?)"
    );
}

#[tokio::test]
async fn a_6000_character_property_name_still_fits_in_4096_bytes() {
    let harness = Harness::start("on-create", &[]).await;
    let mut properties = serde_json::Map::new();
    properties.insert("P".repeat(6000), json!("x"));
    let request = cluster_request(
        "Create",
        "Cluster",
        Value::Object(properties),
        &harness.receiver,
    );

    harness.invoke(request).await;

    let answer = &harness.receiver.accepted_for("Cluster")[0];
    assert!(answer.body.len() <= 4096, "{}", answer.body.len());
    let body = answer.json();
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .starts_with("unknown property PPPP")
    );
}

#[tokio::test]
async fn on_failure_answers_failed_for_each_request_of_the_crashed_invocation() {
    let harness = Harness::start("on-failure", &[]).await;
    let create = cluster_request("Create", "Cluster", json!({}), &harness.receiver);
    let update = cluster_request("Update", "Other", json!({}), &harness.receiver);
    let record = json!({
        "version": "1.0",
        "timestamp": "2026-11-26T08:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": function_arn("on-create") + ":$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": sns_event(&[create, update.clone()]),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "out of memory", "errorType": "Runtime.OutOfMemory"}
    });

    harness.invoke(record).await;

    let create_body = harness.receiver.accepted_for("Cluster")[0].json();
    assert_eq!(create_body["Status"], "FAILED");
    assert!(
        create_body["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("ecs-private-auth:failed-create:Cluster:")
    );
    assert_eq!(
        create_body["Reason"],
        "on-create failed with Runtime.OutOfMemory (RetriesExhausted after 3 attempts) before it could answer; see its CloudWatch logs. It is safe to retry"
    );
    let update_body = harness.receiver.accepted_for("Other")[0].json();
    assert_eq!(update_body["Status"], "FAILED");
    assert_eq!(
        update_body["PhysicalResourceId"],
        update["PhysicalResourceId"]
    );
}

#[tokio::test]
async fn the_deadline_answers_failed_before_the_lambda_is_stopped() {
    // An AWS endpoint that accepts connections and never answers.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", blackhole.local_addr().unwrap());
    let harness = Harness::start("on-create", &[("AWS_ENDPOINT_URL", &endpoint)]).await;
    let request = cluster_request("Create", "Cluster", json!({}), &harness.receiver);
    harness.cloudformation.play(&request);

    let started = std::time::Instant::now();
    let id = harness
        .runtime
        .invoke(&harness.arn, request, Duration::from_secs(3));
    let answers = harness
        .receiver
        .wait_for_accepted(1, Duration::from_secs(3))
        .await;
    let answered_after = started.elapsed();
    let result = harness
        .runtime
        .result(&id, Duration::from_secs(5))
        .await
        .response();

    assert_eq!(answers.len(), 1, "FAILED must arrive before the deadline");
    assert!(
        answered_after < Duration::from_secs(3),
        "{answered_after:?}"
    );
    let body = answers[0].json();
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().unwrap().starts_with("timed out"),
        "{body}"
    );
    assert_eq!(result["requests"][0]["status"], "FAILED");
    drop(blackhole);
}

#[tokio::test]
async fn neither_the_password_nor_the_signature_is_ever_logged_or_answered() {
    const PASSWORD: &str = "s3cr3t-Registry-Passw0rd";
    const USERNAME: &str = "registry-robot-user";
    let harness = Harness::start("on-create", &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")]).await;
    let good = cfn_request(
        "Create",
        "Custom::RegistryCredentials",
        "Credentials",
        json!({"Username": USERNAME, "Password": PASSWORD, "RegistryUrl": "http://127.0.0.1:9"}),
        &harness.receiver.url("Credentials"),
    );
    let misspelled = cfn_request(
        "Create",
        "Custom::RegistryCredentials",
        "Misspelled",
        json!({"Username": USERNAME, "Pasword": PASSWORD}),
        &harness.receiver.url("Misspelled"),
    );
    let bad_type = cfn_request(
        "Create",
        "Custom::RegistryCredentials",
        "BadType",
        json!({"Username": [PASSWORD], "Password": PASSWORD}),
        &harness.receiver.url("BadType"),
    );

    let result = harness
        .invoke(sns_event(&[good, misspelled, bad_type]))
        .await;
    let logs = harness.function.logs();

    assert!(
        logs.contains("request received") && logs.contains("answering FAILED"),
        "logs were captured: {logs}"
    );
    let answers = harness.receiver.received();
    assert_eq!(answers.len(), 3);
    for answer in &answers {
        let body = String::from_utf8_lossy(&answer.body);
        assert!(
            !body.contains(PASSWORD) && !body.contains(USERNAME),
            "{body}"
        );
        assert!(!body.contains(Receiver::SIGNATURE), "{body}");
    }
    for text in [logs.as_str(), &result.to_string()] {
        assert!(!text.contains(PASSWORD), "password leaked: {text}");
        assert!(!text.contains(USERNAME), "username leaked: {text}");
        assert!(
            !text.contains(Receiver::SIGNATURE),
            "signature leaked: {text}"
        );
    }
    let misspelled = harness.receiver.accepted_for("Misspelled")[0].json();
    assert_eq!(
        misspelled["Reason"],
        "unknown property Pasword (did you mean Password?)"
    );
}

#[tokio::test]
async fn logs_are_json_lines_carrying_the_request_identity() {
    let harness = Harness::start("on-create", &[("AWS_LAMBDA_LOG_LEVEL", "INFO")]).await;
    let request = cfn_request(
        "Create",
        "Custom::Nope",
        "Thing",
        json!({}),
        &harness.receiver.url("Thing"),
    );

    harness.invoke(request).await;

    let lines = harness.function.log_lines();
    let answered = lines
        .iter()
        .find(|line| line["message"] == "answered")
        .unwrap_or_else(|| panic!("no 'answered' line in {lines:?}"));
    let span = &answered["span"];
    assert_eq!(span["RequestType"], "Create");
    assert_eq!(span["StackId"], STACK_ID);
    assert_eq!(span["LogicalResourceId"], "Thing");
    assert_eq!(span["RequestId"], "thing-create");
    assert_eq!(answered["status"], "FAILED");
    assert!(
        answered["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("Custom::")),
        "the Reason is logged with a FAILED answer: {answered}"
    );
    // Lambda's own ids too, on every line, so it joins Lambda's REPORT and timeout lines.
    assert!(
        span["requestId"]
            .as_str()
            .unwrap()
            .starts_with("invocation-")
    );
    assert_eq!(
        span["xrayTraceId"],
        "Root=1-00000000-000000000000000000000000;Sampled=0"
    );
    for line in &lines {
        assert!(
            line["span"]["requestId"].is_string(),
            "a line without Lambda's request id: {line}"
        );
    }
}

#[tokio::test]
async fn on_failure_answers_a_crashed_continuation_with_what_it_made() {
    let harness = Harness::start("on-failure", &[]).await;
    let create = cfn_request(
        "Create",
        "Custom::FargateService",
        "Service",
        json!({}),
        &harness.receiver.url("Service"),
    );
    let made = "arn:aws:ecs:us-east-1:123456789012:service/lab/lab-Service-abc";
    let record = json!({
        "requestContext": {"functionArn": function_arn("on-create"), "condition": "RetriesExhausted",
                           "approximateInvokeCount": 2},
        "requestPayload": {"ecsPrivateAuthContinuation": {
            "request": create, "firstReceivedAt": 1_795_680_000u64, "continuations": 3, "made": made}},
        "responsePayload": {"errorType": "Runtime.ExitError"}
    });

    harness.invoke(record).await;

    let body = harness.receiver.accepted_for("Service")[0].json();
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(
        body["PhysicalResourceId"], made,
        "the Delete that follows removes the service it made"
    );
}

/// `cargo lambda watch` invokes every function with the placeholder ARN `function-arn`: there
/// `LOCAL_ACCOUNT_ID` (with AWS_REGION) gives a function the account the sample events name, and
/// without it every request is dropped unanswered, naming the variable.
#[tokio::test]
async fn under_a_cargo_lambda_placeholder_arn_the_identity_comes_from_local_account_id() {
    const PLACEHOLDER: &str = "function-arn";
    let moto = support::moto::Moto::start().await.unwrap();
    let watched = json!({"ClusterName": "watched"});
    for (function, request_type) in [
        ("on-create", "Create"),
        ("on-update", "Update"),
        ("on-delete", "Delete"),
    ] {
        let env = [
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("LOCAL_ACCOUNT_ID", "123456789012"),
        ];
        let mut harness = Harness::start(function, &env).await;
        harness.arn = PLACEHOLDER.into();
        let mut request =
            cluster_request(request_type, "Cluster", watched.clone(), &harness.receiver);
        if request_type != "Create" {
            request["PhysicalResourceId"] =
                json!("arn:aws:ecs:us-east-1:123456789012:cluster/watched");
            request["OldResourceProperties"] = request["ResourceProperties"].clone();
        }

        harness.invoke(request).await;

        let answers = harness.receiver.accepted_for("Cluster");
        assert_eq!(answers.len(), 1, "{function}");
        let body = answers[0].json();
        assert_eq!(body["Status"], "SUCCESS", "{function}: {body}");
    }
    let mut cleanup = Harness::start(
        "nightly-cleanup",
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("LOCAL_ACCOUNT_ID", "123456789012"),
        ],
    )
    .await;
    cleanup.arn = PLACEHOLDER.into();
    let report = cleanup.invoke(json!({"dryRun": true})).await;
    assert_eq!(report["counts"]["failed"], 0, "{report}");
    let mut on_failure =
        Harness::start("on-failure", &[("LOCAL_ACCOUNT_ID", "123456789012")]).await;
    on_failure.arn = PLACEHOLDER.into();
    let crashed = cluster_request("Create", "Crashed", json!({}), &on_failure.receiver);
    let record = json!({
        "version": "1.0",
        "requestContext": {
            "functionArn": function_arn("on-create") + ":$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2
        },
        "requestPayload": sns_event(&[crashed]),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "boom", "errorType": "Runtime.ExitError"}
    });
    on_failure.invoke(record).await;
    let answers = on_failure.receiver.accepted_for("Crashed");
    assert_eq!(
        answers.len(),
        1,
        "on-failure answers under the placeholder too"
    );
    assert_eq!(answers[0].json()["Status"], "FAILED");

    let mut unconfigured =
        Harness::start("on-create", &[("AWS_ENDPOINT_URL", moto.endpoint.as_str())]).await;
    unconfigured.arn = PLACEHOLDER.into();
    let request = cluster_request("Create", "Cluster", watched, &unconfigured.receiver);
    let result = unconfigured.invoke(request).await;
    tokio::time::sleep(QUIET).await;
    assert!(unconfigured.receiver.received().is_empty());
    assert_eq!(result["requests"][0]["outcome"], "dropped");
    let reason = result["requests"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("LOCAL_ACCOUNT_ID"), "{reason}");
}

/// The CleanupFailures metric (template.yaml's metric filter) reads the report line's top-level
/// `message` and numeric `failed`: the line the real binary writes must carry exactly those.
#[tokio::test]
async fn the_cleanup_report_line_is_what_the_failures_metric_filter_reads() {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml"),
    )
    .unwrap();
    assert!(template.contains(r#"FilterPattern: '{ $.message = "cleanup report" }'"#));
    assert!(template.contains("MetricValue: $.failed"));
    let moto = support::moto::Moto::start().await.unwrap();
    let harness = Harness::start(
        "nightly-cleanup",
        &[("AWS_ENDPOINT_URL", moto.endpoint.as_str())],
    )
    .await;

    harness.invoke(json!({"source": "schedule"})).await;

    let lines = harness.function.log_lines();
    let report = lines
        .iter()
        .find(|line| line["message"] == "cleanup report")
        .unwrap_or_else(|| panic!("no report line: {lines:?}"));
    assert!(report["failed"].is_u64(), "{report}");
    assert_eq!(report["failed"], 0);
    // And every field the README's "last night's cleanup" query reads.
    for field in [
        "dry_run",
        "found",
        "candidates",
        "deleted",
        "stacks_deleted",
        "skipped",
        "not_reached",
    ] {
        assert!(!report[field].is_null(), "{field} missing: {report}");
    }
}

/// Every function trusts Mozilla's roots compiled in (src/tls.rs): none reads the system's trust
/// store, neither at start nor when it calls AWS. With that store emptied, the SDK's default
/// client says so in a warning the moment a client is built. Nor does any read a profile file:
/// the environment says everything (src/aws.rs); the SDK's loader logs each file it tries.
#[tokio::test]
async fn no_function_reads_the_systems_trust_store_or_a_profile_file() {
    let moto = support::moto::Moto::start().await.unwrap();
    let empty_store = std::env::temp_dir().join(format!("no-roots-{}", std::process::id()));
    std::fs::create_dir_all(&empty_store).unwrap();
    let empty_bundle = empty_store.join("roots.pem");
    std::fs::write(&empty_bundle, "").unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ("SSL_CERT_FILE", empty_bundle.to_str().unwrap()),
        ("SSL_CERT_DIR", empty_store.to_str().unwrap()),
    ];
    for name in ecs_private_auth::local::provider::FUNCTIONS {
        let harness = Harness::start(name, &env).await;
        let polled = harness.runtime.first_poll(Duration::from_secs(20)).await;
        let started_logs = harness.function.logs();
        assert!(polled.is_some(), "{name} never started:\n{started_logs}");
        if name == "on-create" {
            let request = cluster_request(
                "Create",
                "Cluster",
                json!({"ClusterName": "trusting"}),
                &harness.receiver,
            );
            harness.invoke(request).await;
            let answers = harness.receiver.accepted_for("Cluster");
            assert_eq!(answers[0].json()["Status"], "SUCCESS");
        }
        let logs = harness.function.logs();
        assert!(
            !logs.contains("root CA"),
            "{name} read the system's trust store:\n{logs}"
        );
        assert!(
            !logs.contains("config file"),
            "{name} looked for a profile file:\n{logs}"
        );
    }
    std::fs::remove_dir_all(&empty_store).unwrap();
}
