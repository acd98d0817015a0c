//! template.yaml and the code cannot drift: routing, resource types and property names, the
//! dependencies that keep requests deliverable, and least privilege.

use std::collections::BTreeSet;

use ecs_private_auth::properties::{PROTOCOL_PROPERTIES, ResourceKind, TaskDefinitionProperties};
use ecs_private_auth::protocol::RequestType;
use ecs_private_auth::provider::FunctionRole;
use serde_yaml_ng::Value;

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
    assert_eq!(customs.len(), 5, "the lab has the five slices");
    let mut kinds = BTreeSet::new();
    for (id, resource) in customs {
        let kind = ResourceKind::from_resource_type(resource["Type"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{id}: unsupported type"));
        kinds.insert(kind.resource_type());
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
    let mut needed: Vec<String> = of_type(&template, "AWS::SNS::Subscription")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    needed.extend(
        of_type(&template, "AWS::Lambda::Permission")
            .into_iter()
            .map(|(id, _)| id),
    );
    needed.extend(
        of_type(&template, "AWS::SNS::TopicPolicy")
            .into_iter()
            .map(|(id, _)| id),
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
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let policies = function["Properties"]["Policies"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        for policy in policies {
            for statement in policy["Statement"].as_sequence().unwrap() {
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
    }
    assert!(checked > 10, "the policies were read");
}

#[test]
fn attaching_managed_policies_is_limited_to_the_allow_list_and_pass_role_to_ecs_tasks() {
    let template = template();
    for function in ["OnCreateFunction", "OnUpdateFunction"] {
        let statements = template["Resources"][function]["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .clone();
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
    let delete =
        template["Resources"]["OnDeleteFunction"]["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .clone();
    for statement in &delete {
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

/// The AWS operations a set of source files calls, as IAM actions (`ecs:DescribeClusters`):
/// every `<client>.<operation>()` where the client is one of the library's SDK clients.
fn aws_actions_called_in(files: &[&str]) -> BTreeSet<String> {
    const CLIENTS: &[(&str, &str)] = &[
        ("ecs", "ecs"),
        ("iam", "iam"),
        ("secrets", "secretsmanager"),
        ("ssm", "ssm"),
        ("lambda", "lambda"),
        ("tagging", "tag"),
        ("cloudformation", "cloudformation"),
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut actions = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        for (client, service) in CLIENTS {
            let mut rest = text;
            while let Some(at) = rest.find(client) {
                let before = rest[..at].chars().last();
                let after = &rest[at + client.len()..];
                rest = after;
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                // An optional `_in(region)` (per-region CloudFormation), then `.operation()`.
                let after = match after.strip_prefix("_in(") {
                    Some(call) => &call[call.find(')').map_or(0, |end| end + 1)..],
                    None => after,
                };
                let Some(after) = after.trim_start().strip_prefix('.') else {
                    continue;
                };
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                // `clone()` copies a client; it calls nothing.
                if name.is_empty() || name == "clone" || !after[name.len()..].starts_with("()") {
                    continue;
                }
                let action: String = match name.as_str() {
                    "invoke" => "InvokeFunction".into(),
                    _ => name
                        .split('_')
                        .map(|word| word[..1].to_uppercase() + &word[1..])
                        .collect(),
                };
                actions.insert(format!("{service}:{action}"));
            }
        }
    }
    actions
}

fn granted(template: &Value, function: &str) -> BTreeSet<String> {
    template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|policy| {
            policy["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|statement| strings(&statement["Action"]))
        .collect()
}

#[test]
fn every_aws_call_the_code_makes_is_granted_to_the_function_that_makes_it() {
    let template = template();
    let slices = [
        "src/slices/mod.rs",
        "src/slices/common.rs",
        "src/slices/cluster.rs",
        "src/slices/credentials.rs",
        "src/slices/role.rs",
        "src/slices/task_definition.rs",
        "src/slices/service.rs",
    ];
    // Calls made only on the Delete path of a slice, which on-create never takes.
    let delete_only = ["secretsmanager:DeleteSecret"];
    let called = aws_actions_called_in(&slices);
    assert!(
        called.contains("ecs:CreateService") && called.contains("lambda:InvokeFunction"),
        "the scan works: {called:?}"
    );
    for function in ["OnCreateFunction", "OnUpdateFunction"] {
        let granted = granted(&template, function);
        let missing: Vec<&String> = called
            .iter()
            .filter(|action| !granted.contains(*action))
            .filter(|action| {
                !(function == "OnCreateFunction" && delete_only.contains(&action.as_str()))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{function} calls {missing:?} without being allowed to"
        );
    }
    let cleanup = aws_actions_called_in(&["src/cleanup/mod.rs", "src/cleanup/discover.rs"]);
    let granted = granted(&template, "NightlyCleanupFunction");
    let missing: Vec<&String> = cleanup
        .iter()
        .filter(|action| !granted.contains(*action))
        .collect();
    assert!(
        missing.is_empty(),
        "nightly-cleanup calls {missing:?} without being allowed to"
    );
}
