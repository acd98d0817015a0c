//! template.yaml and the code cannot drift: routing, resource types and property names, the
//! dependencies that keep requests deliverable, and least privilege.

use std::collections::BTreeSet;

use ecs_private_auth::properties::{PROTOCOL_PROPERTIES, TaskDefinitionProperties};
use ecs_private_auth::protocol::RequestType;
use ecs_private_auth::provider::FunctionRole;
use ecs_private_auth::resource_type::ResourceType;
use serde_yaml_ng::Value;

mod support;

use support::calls::CallGraph;

/// Write actions allowed on `Resource: "*"`, each with the reason AWS leaves no narrower choice.
const STAR_WRITE_ALLOWED: &[(&str, &str)] = &[
    (
        "ecs:RegisterTaskDefinition",
        "supports no resource-level permissions (tag condition instead)",
    ),
    (
        "ecs:DeregisterTaskDefinition",
        "supports no resource-level permissions",
    ),
    (
        "ecs:TagResource",
        "tag-on-create, scoped by the ecs:CreateAction condition",
    ),
];

/// The functions that answer requests, by template logical id.
const ANSWERING: &[&str] = &["OnCreateFunction", "OnUpdateFunction", "OnDeleteFunction"];

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resources(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(id, resource)| (id.as_str().unwrap().to_owned(), resource.clone()))
        .collect()
}

fn of_type(template: &Value, kind: &str) -> Vec<(String, Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .collect()
}

/// `!GetAtt X.Arn` → `X`.
fn get_att_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => tagged
            .value
            .as_str()
            .map(|s| s.split('.').next().unwrap().to_owned()),
        _ => None,
    }
}

/// Whether `value` holds a `!Ref`/`!GetAtt` to `logical_id` anywhere.
fn refers_to(value: &Value, logical_id: &str) -> bool {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" || tagged.tag == "GetAtt" => tagged
            .value
            .as_str()
            .is_some_and(|target| target.split('.').next() == Some(logical_id)),
        Value::Tagged(tagged) => refers_to(&tagged.value, logical_id),
        Value::Sequence(items) => items.iter().any(|item| refers_to(item, logical_id)),
        Value::Mapping(map) => map.values().any(|item| refers_to(item, logical_id)),
        _ => false,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn each_filter_policy_routes_exactly_one_request_type_to_the_function_that_handles_it() {
    let template = template();
    let mut routed = BTreeSet::new();
    for (id, subscription) in of_type(&template, "AWS::SNS::Subscription") {
        let properties = &subscription["Properties"];
        assert_eq!(
            properties["FilterPolicyScope"].as_str(),
            Some("MessageBody"),
            "{id}"
        );
        let types = strings(&properties["FilterPolicy"]["RequestType"]);
        assert_eq!(types.len(), 1, "{id} routes exactly one RequestType");
        assert_eq!(
            properties["FilterPolicy"].as_mapping().unwrap().len(),
            1,
            "{id} filters on RequestType only"
        );
        let request_type: RequestType =
            serde_json::from_value(serde_json::json!(types[0])).unwrap();
        let function = get_att_target(&properties["Endpoint"]).unwrap();
        let binary =
            template["Resources"][function.as_str()]["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap();
        assert_eq!(
            binary,
            FunctionRole::for_request_type(request_type).function_name(),
            "{id}"
        );
        assert!(
            routed.insert(request_type),
            "{request_type} is routed twice"
        );
    }
    assert_eq!(routed.len(), 3, "Create, Update and Delete are each routed");
}

#[test]
fn every_custom_resource_uses_a_supported_type_and_known_property_names() {
    let template = template();
    let customs: Vec<_> = resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str().unwrap().starts_with("Custom::"))
        .collect();
    assert_eq!(customs.len(), 5, "the lab has the five resource types");
    let mut kinds = BTreeSet::new();
    for (id, resource) in customs {
        let kind = ResourceType::from_type_name(resource["Type"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{id}: unsupported type"));
        kinds.insert(kind.type_name());
        for (name, value) in resource["Properties"].as_mapping().unwrap() {
            let name = name.as_str().unwrap();
            assert!(
                kind.property_names().contains(&name) || PROTOCOL_PROPERTIES.contains(&name),
                "{id}: {name} is not a property of {kind}"
            );
            if name == "ContainerDefinitions" {
                for container in value.as_sequence().unwrap() {
                    for key in container.as_mapping().unwrap().keys() {
                        assert!(
                            TaskDefinitionProperties::CONTAINER_NAMES
                                .contains(&key.as_str().unwrap()),
                            "{id}: container property {key:?}"
                        );
                    }
                }
            }
        }
        match &resource["Properties"]["ServiceToken"] {
            Value::Tagged(tagged) => assert_eq!(
                (tagged.tag.to_string().as_str(), tagged.value.as_str()),
                ("!Ref", Some("RequestTopic")),
                "{id}"
            ),
            other => panic!("{id}: ServiceToken is {other:?}"),
        }
    }
    assert_eq!(kinds.len(), 5, "each type once");
}

#[test]
fn every_custom_resource_depends_on_what_delivers_and_answers_its_requests() {
    let template = template();
    // Only what carries requests: the alarm topic's policy has no part in delivery.
    let mut needed: Vec<String> = [
        "AWS::SNS::Subscription",
        "AWS::Lambda::Permission",
        "AWS::SNS::TopicPolicy",
    ]
    .into_iter()
    .flat_map(|kind| of_type(&template, kind))
    .filter(|(_, resource)| refers_to(resource, "RequestTopic"))
    .map(|(id, _)| id)
    .collect();
    assert!(
        needed.len() >= 5,
        "subscriptions, permissions and the policy: {needed:?}"
    );
    needed.extend(ANSWERING.iter().map(|f| f.to_string()));
    needed.extend(ANSWERING.iter().map(|f| format!("{f}EventInvokeConfig")));
    needed.push("OnFailureFunction".into());
    for (id, resource) in resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str().unwrap().starts_with("Custom::"))
    {
        let depends = strings(&resource["DependsOn"]);
        for need in &needed {
            assert!(depends.contains(need), "{id} must depend on {need}");
        }
    }
}

#[test]
fn answering_functions_hand_crashes_to_on_failure_well_within_the_service_timeout() {
    let template = template();
    let shortest_timeout = resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str().unwrap().starts_with("Custom::"))
        .map(|(_, r)| r["Properties"]["ServiceTimeout"].as_u64().unwrap())
        .min()
        .unwrap();
    for function in ANSWERING {
        let config = &template["Resources"][*function]["Properties"]["EventInvokeConfig"];
        assert_eq!(
            get_att_target(&config["DestinationConfig"]["OnFailure"]["Destination"]).as_deref(),
            Some("OnFailureFunction"),
            "{function}"
        );
        let retries = config["MaximumRetryAttempts"].as_u64().unwrap();
        assert!(retries <= 2, "{function}: few retries");
        let timeout = template["Resources"][*function]["Properties"]["Timeout"]
            .as_u64()
            .unwrap();
        assert!(
            timeout >= 60 && timeout < shortest_timeout,
            "{function}: the guard answers before CloudFormation gives up"
        );
        assert!(
            config["MaximumEventAgeInSeconds"].as_u64().unwrap() <= 3600 / 2,
            "{function}: event age well under ServiceTimeout's maximum"
        );
    }
}

#[test]
fn every_function_binary_exists_in_the_workspace() {
    let template = template();
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("functions")
            .join(binary)
            .join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|_| panic!("{id}: no crate for {binary}"));
        assert!(text.contains(&format!("name = \"{binary}\"")), "{id}");
        assert_eq!(
            function["Properties"]["CodeUri"].as_str(),
            Some(format!("functions/{binary}").as_str()),
            "{id}"
        );
    }
}

#[test]
fn no_write_action_has_a_star_resource_unless_aws_allows_nothing_narrower() {
    let template = template();
    let mut checked = 0;
    for (id, _) in of_type(&template, "AWS::Serverless::Function") {
        for statement in statements(&template, &id) {
            if statement["Resource"].as_str() != Some("*") {
                continue;
            }
            for action in strings(&statement["Action"]) {
                let verb = action.split(':').nth(1).unwrap();
                let read = ["Describe", "Get", "List"]
                    .iter()
                    .any(|prefix| verb.starts_with(prefix));
                let allowed = STAR_WRITE_ALLOWED.iter().any(|(name, _)| *name == action);
                assert!(read || allowed, "{id}: {action} on Resource \"*\"");
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "the policies were read");
}

#[test]
fn roles_are_made_and_granted_only_within_the_boundary_and_passwords_read_only_under_the_prefix() {
    let template = template();
    let statements = statements(&template, "OnCreateFunction");
    let with_action = |wanted: &str| -> Vec<&Value> {
        statements
            .iter()
            .filter(|s| strings(&s["Action"]).iter().any(|a| a == wanted))
            .collect()
    };
    for action in [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ] {
        let found = with_action(action);
        assert!(!found.is_empty(), "{action} is granted");
        for statement in found {
            let boundary = &statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"];
            assert!(
                matches!(boundary, Value::Tagged(t) if t.tag == "Ref" && t.value.as_str() == Some("RoleBoundary")),
                "{action} only with the product's boundary: {statement:?}"
            );
        }
    }
    let boundary = &template["Resources"]["RoleBoundary"]["Properties"]["PolicyDocument"];
    let secret_reads: Vec<&Value> = boundary["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|s| strings(&s["Action"]).contains(&"secretsmanager:GetSecretValue".to_owned()))
        .collect();
    assert_eq!(secret_reads.len(), 1);
    assert_eq!(
        secret_reads[0]["Condition"]["Null"]["aws:ResourceTag/ecs-private-auth:stack-id"].as_str(),
        Some("false"),
        "roles read only secrets a stack of the product made"
    );
    for statement in with_action("ssm:GetParameter") {
        assert!(
            format!("{:?}", statement["Resource"]).contains("parameter${PasswordParameterPrefix}*"),
            "{statement:?}"
        );
    }
    let ssm_decrypt: Vec<&Value> = with_action("kms:Decrypt")
        .into_iter()
        .filter(|s| format!("{:?}", s["Condition"]).contains("ssm."))
        .collect();
    assert_eq!(ssm_decrypt.len(), 1);
    assert!(
        !ssm_decrypt[0]["Condition"]["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"].is_null(),
        "decrypting through SSM is bound to the prefix's parameters"
    );
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let trust = &function["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(
            trust["Principal"]["Service"].as_str(),
            Some("lambda.amazonaws.com"),
            "{id}"
        );
        assert!(
            !trust["Condition"]["StringEquals"]["aws:SourceAccount"].is_null(),
            "{id}'s role is assumed only for this account"
        );
    }
}

#[test]
fn attaching_managed_policies_is_limited_to_the_allow_list_and_pass_role_to_ecs_tasks() {
    let template = template();
    for function in ["OnCreateFunction", "OnUpdateFunction"] {
        let statements = statements(&template, function);
        let with_action = |wanted: &str| -> Vec<Value> {
            statements
                .iter()
                .filter(|s| strings(&s["Action"]).iter().any(|a| a == wanted))
                .cloned()
                .collect()
        };
        for statement in with_action("iam:AttachRolePolicy") {
            assert!(
                !statement["Condition"]["ArnEquals"]["iam:PolicyARN"].is_null(),
                "{function}"
            );
        }
        for statement in with_action("iam:PassRole") {
            assert_eq!(
                statement["Condition"]["StringEquals"]["iam:PassedToService"].as_str(),
                Some("ecs-tasks.amazonaws.com"),
                "{function}"
            );
        }
        assert!(
            !with_action("lambda:InvokeFunction").is_empty(),
            "{function} continues its own waits"
        );
    }
    for statement in &statements(&template, "OnDeleteFunction") {
        for action in strings(&statement["Action"]) {
            let verb = action.split(':').nth(1).unwrap();
            assert!(
                !verb.starts_with("Create")
                    && !verb.starts_with("Put")
                    && !verb.starts_with("Register"),
                "on-delete never creates: {action}"
            );
        }
    }
}

/// Every statement of a function's policies: its inline ones, and those of the template's
/// managed policies it names with `!Ref`.
fn statements(template: &Value, function: &str) -> Vec<Value> {
    template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|policy| match policy {
            Value::Tagged(tagged) if tagged.tag == "Ref" => {
                let managed = tagged.value.as_str().unwrap();
                template["Resources"][managed]["Properties"]["PolicyDocument"].clone()
            }
            inline => inline.clone(),
        })
        .flat_map(|document| {
            document["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn granted(template: &Value, function: &str) -> BTreeSet<String> {
    statements(template, function)
        .iter()
        .flat_map(|statement| strings(&statement["Action"]))
        .collect()
}

/// The resource types' modules; each has `create`, `update` and `delete`.
const RESOURCE_MODULES: &[&str] = &[
    "fargate_cluster",
    "registry_credentials",
    "task_execution_role",
    "task_definition",
    "fargate_service",
];

/// Actions AWS checks on the caller for an operation besides the operation's own.
const IMPLIED: &[(&str, &[&str])] = &[
    (
        "ecs:RegisterTaskDefinition",
        &["iam:PassRole", "ecs:TagResource"],
    ),
    (
        "ecs:CreateCluster",
        &["ecs:TagResource", "iam:CreateServiceLinkedRole"],
    ),
    (
        "ecs:CreateService",
        &["ecs:TagResource", "iam:CreateServiceLinkedRole"],
    ),
    (
        "secretsmanager:CreateSecret",
        &["kms:GenerateDataKey", "kms:Decrypt"],
    ),
    (
        "secretsmanager:PutSecretValue",
        &["kms:GenerateDataKey", "kms:Decrypt"],
    ),
    ("secretsmanager:GetSecretValue", &["kms:Decrypt"]),
    ("ssm:GetParameter", &["kms:Decrypt"]),
];

/// Every AWS action a function's code can reach: the request pipeline, and the resource types'
/// entry points for the function's request type (the dispatch in between, `resources::run`,
/// reaches all three). The pipeline's `work.respond(…)` reaches every `Work` by name, so
/// on-failure's walk stops at the providers' work, which it never runs.
fn reached(graph: &CallGraph, function: &str) -> BTreeSet<String> {
    let request_type = match function {
        "OnCreateFunction" => "create",
        "OnUpdateFunction" => "update",
        "OnDeleteFunction" => "delete",
        "OnFailureFunction" => {
            return graph.actions_reached(
                &["on_failure::FailureAnswerer::handle"],
                &["provider::ResourceWork::respond"],
            );
        }
        "NightlyCleanupFunction" => {
            return graph.actions_reached(&["cleanup::Cleaner::handle"], &[]);
        }
        other => panic!("no entry points known for {other}"),
    };
    let entries: Vec<String> = RESOURCE_MODULES
        .iter()
        .map(|module| format!("resources::{module}::{request_type}"))
        .chain(["provider::Provider::handle".to_owned()])
        .collect();
    let entries: Vec<&str> = entries.iter().map(String::as_str).collect();
    graph.actions_reached(&entries, &["resources::run"])
}

const FUNCTIONS: &[&str] = &[
    "OnCreateFunction",
    "OnUpdateFunction",
    "OnDeleteFunction",
    "OnFailureFunction",
    "NightlyCleanupFunction",
];

#[test]
fn the_call_graph_sees_each_functions_own_calls() {
    let graph = CallGraph::of_library(&["local/"]);
    let create = reached(&graph, "OnCreateFunction");
    let delete = reached(&graph, "OnDeleteFunction");
    for action in [
        "ecs:CreateService",
        "lambda:InvokeFunction",
        "cloudformation:DescribeStackResource",
        "ssm:GetParameter",
        "iam:CreateRole",
    ] {
        assert!(
            create.contains(action),
            "on-create reaches {action}: {create:?}"
        );
    }
    assert!(delete.contains("secretsmanager:DeleteSecret"), "{delete:?}");
    assert!(
        !delete.contains("secretsmanager:CreateSecret"),
        "{delete:?}"
    );
    assert!(
        !create.contains("secretsmanager:DeleteSecret"),
        "{create:?}"
    );
    assert!(reached(&graph, "OnFailureFunction").is_empty());
}

#[test]
fn every_aws_call_a_function_can_make_is_granted_to_it() {
    let template = template();
    let graph = CallGraph::of_library(&["local/"]);
    for function in FUNCTIONS {
        let granted = granted(&template, function);
        let missing: Vec<String> = reached(&graph, function)
            .into_iter()
            .filter(|action| !granted.contains(action))
            .collect();
        assert!(
            missing.is_empty(),
            "{function} calls {missing:?} without being allowed to"
        );
    }
}

#[test]
fn every_action_granted_to_a_function_is_one_its_code_calls() {
    let template = template();
    let graph = CallGraph::of_library(&["local/"]);
    for function in FUNCTIONS {
        let called = reached(&graph, function);
        let implied: BTreeSet<&str> = IMPLIED
            .iter()
            .filter(|(action, _)| called.contains(*action))
            .flat_map(|(_, implied)| implied.iter().copied())
            .collect();
        let unused: Vec<String> = granted(&template, function)
            .into_iter()
            .filter(|action| !called.contains(action) && !implied.contains(action.as_str()))
            .collect();
        assert!(
            unused.is_empty(),
            "{function} is granted {unused:?}, which its code never calls"
        );
    }
}

/// `LOCAL_ACCOUNT_ID` (and `AWS_SAM_LOCAL`) give a function its identity under a local emulator;
/// in AWS the invoked ARN must stay the only source, so no deployed function may be given them.
#[test]
fn no_deployed_function_takes_its_identity_from_the_environment() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml"),
    )
    .unwrap();
    assert!(!text.contains("LOCAL_ACCOUNT_ID"));
    assert!(!text.contains("AWS_SAM_LOCAL"));
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_mapping()
        .unwrap()
        .keys()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect()
}

/// The names in the first column of the README table whose header row starts with `header`
/// (a cell may list several, comma-separated).
fn readme_table(header: &str) -> BTreeSet<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find(header)
        .unwrap_or_else(|| panic!("README has no table {header}"));
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .flat_map(|line| {
            line.split('|')
                .nth(1)
                .unwrap()
                .split(',')
                .map(|name| name.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_output_says_what_it_is_and_the_service_token_is_exported_under_the_stack_name() {
    let template = template();
    for (key, output) in template["Outputs"].as_mapping().unwrap() {
        let description = output["Description"].as_str().unwrap_or_default();
        assert!(description.len() > 10, "{key:?} has no Description");
    }
    let export = &template["Outputs"]["ServiceToken"]["Export"]["Name"];
    match export {
        Value::Tagged(tagged) => assert_eq!(
            (tagged.tag.to_string().as_str(), tagged.value.as_str()),
            ("!Sub", Some("${AWS::StackName}-ServiceToken"))
        ),
        other => panic!("ServiceToken's export is {other:?}"),
    }
    assert!(
        refers_to(
            &template["Outputs"]["ServiceToken"]["Value"],
            "RequestTopic"
        ),
        "the exported ServiceToken is the request topic"
    );
}

#[test]
fn the_readme_tables_list_exactly_the_templates_parameters_and_outputs() {
    let template = template();
    assert_eq!(
        readme_table("| Parameter | Default | Meaning |"),
        keys(&template["Parameters"])
    );
    assert_eq!(
        readme_table("| Output | Present | Meaning |"),
        keys(&template["Outputs"])
    );
}

/// The three alarms the README describes watch what it says they watch.
#[test]
fn the_alarms_watch_crashes_cleanup_errors_and_cleanup_failures() {
    let template = template();
    let alarm = |id: &str| template["Resources"][id]["Properties"].clone();
    let watched_function = |properties: &Value| match &properties["Dimensions"][0]["Value"] {
        Value::Tagged(tagged) => tagged.value.as_str().map(str::to_owned),
        _ => None,
    };
    let crash = alarm("CrashAnsweredFailedAlarm");
    assert_eq!(crash["MetricName"], "Invocations");
    assert_eq!(
        watched_function(&crash).as_deref(),
        Some("OnFailureFunction")
    );
    let errors = alarm("CleanupErrorsAlarm");
    assert_eq!(errors["MetricName"], "Errors");
    assert_eq!(
        watched_function(&errors).as_deref(),
        Some("NightlyCleanupFunction")
    );
    let failures = alarm("CleanupFailuresAlarm");
    let filter = alarm("CleanupFailuresMetricFilter");
    let transformation = &filter["MetricTransformations"][0];
    assert_eq!(failures["MetricName"], transformation["MetricName"]);
    assert_eq!(failures["Namespace"], transformation["MetricNamespace"]);
    assert_eq!(failures["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(failures["Threshold"].as_u64(), Some(0));
}

/// `sam build` and `cargo lambda build --release` use the release profile: it must keep panics
/// unwinding (the guard answers FAILED for a panicking handler only then) and stripped.
#[test]
fn the_deployment_profile_unwinds_panics() {
    let manifest = std::fs::read_to_string(support::played::root().join("Cargo.toml")).unwrap();
    let release: Vec<&str> = manifest
        .lines()
        .skip_while(|line| line.trim() != "[profile.release]")
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .map(str::trim)
        .collect();
    assert!(release.contains(&r#"panic = "unwind""#), "{release:?}");
    assert!(release.contains(&"strip = true"), "{release:?}");
}

/// The functions link one HTTP stack (README#performance): the SDK sends through reqwest, so
/// neither the SDK's own HTTP client nor HTTP/2, which no service here speaks, is built into them.
#[test]
fn the_functions_link_one_http_stack() {
    let mut tree = std::process::Command::new(env!("CARGO"));
    tree.current_dir(support::played::root()).args([
        "tree",
        "--offline",
        "--locked",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]);
    for function in [
        "on-create",
        "on-update",
        "on-delete",
        "on-failure",
        "nightly-cleanup",
    ] {
        tree.args(["-p", function]);
    }
    let output = tree.output().expect("cargo tree runs");
    assert!(output.status.success(), "{output:?}");
    let crates: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split(' ').next())
        .collect();
    assert!(crates.contains(&"reqwest"), "{crates:?}");
    for absent in ["aws-smithy-http-client", "h2"] {
        assert!(!crates.contains(&absent), "{absent} is linked: {crates:?}");
    }
}
