//! The sample events in events/ stay valid for the functions they are meant for, so that
//! `cargo lambda invoke --data-file events/…` works as the README says.

use std::path::Path;

use ecs_private_auth::protocol::checks::check_request;
use ecs_private_auth::protocol::{FunctionIdentity, RequestType, parse_invocation};
use ecs_private_auth::provider::FunctionRole;
use ecs_private_auth::resource_type::ResourceType;
use serde_json::Value;

/// Each type's folder of sample events.
const SAMPLES: &[(&str, ResourceType)] = &[
    ("fargate-cluster", ResourceType::FargateCluster),
    ("registry-credentials", ResourceType::RegistryCredentials),
    ("task-execution-role", ResourceType::TaskExecutionRole),
    ("task-definition", ResourceType::TaskDefinition),
    ("fargate-service", ResourceType::FargateService),
];

fn read(path: &str) -> Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(path);
    let text =
        std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{}: {err}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", full.display()))
}

#[test]
fn every_resource_type_has_a_valid_event_for_every_request_type_bare_and_through_sns() {
    let allowed = vec!["http://127.0.0.1:".to_owned()];
    for (folder, kind) in SAMPLES {
        for request_type in [
            RequestType::Create,
            RequestType::Update,
            RequestType::Delete,
        ] {
            let function = FunctionRole::for_request_type(request_type).function_name();
            let identity = FunctionIdentity::from_function_arn(&format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{function}"
            ))
            .unwrap();
            for suffix in ["json", "sns.json"] {
                let name = format!("{folder}/{}.{suffix}", request_type.as_str().to_lowercase());
                let requests =
                    parse_invocation(&read(&name)).unwrap_or_else(|err| panic!("{name}: {err}"));
                assert_eq!(requests.len(), 1, "{name}");
                let request = requests[0]
                    .as_ref()
                    .unwrap_or_else(|err| panic!("{name}: {err}"));
                let request = &request.request;
                assert_eq!(request.request_type, request_type, "{name}");
                assert_eq!(
                    ResourceType::from_type_name(&request.resource_type),
                    Some(*kind),
                    "{name}"
                );
                check_request(request, Some(&identity), &allowed)
                    .unwrap_or_else(|err| panic!("{name}: {err}"));
                if request_type != RequestType::Delete {
                    kind.validate(&request.resource_properties)
                        .unwrap_or_else(|err| panic!("{name}: {err}"));
                }
                if let Some(old) = &request.old_resource_properties {
                    kind.validate(old)
                        .unwrap_or_else(|err| panic!("{name} (old): {err}"));
                }
            }
        }
    }
}

#[test]
fn the_on_failure_sample_wraps_a_request() {
    let record = read("on-failure/retries-exhausted.json");
    let requests = parse_invocation(&record["requestPayload"]).unwrap();
    assert!(requests[0].is_ok());
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
}

#[test]
fn the_schedule_samples_are_eventbridge_and_manual_events() {
    let schedule = read("nightly-cleanup/schedule.json");
    assert_eq!(schedule["detail-type"], "Scheduled Event");
    assert_eq!(schedule["source"], "aws.events");
    assert_eq!(read("nightly-cleanup/dry-run.json")["dryRun"], true);
}

/// `cargo lambda watch` serves on 127.0.0.1:9000, so a sample answering there would PUT its
/// answer into the emulator itself; they answer at the local receiver's port instead.
#[test]
fn sample_events_answer_at_the_local_receiver_not_at_cargo_lambdas_port() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut checked = 0;
    for folder in std::fs::read_dir(&root).unwrap() {
        for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("127.0.0.1:9000"), "{}", path.display());
            if text.contains("ResponseURL") {
                assert!(
                    text.contains("http://127.0.0.1:9101/responses/"),
                    "{}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} events carry a ResponseURL");
}
