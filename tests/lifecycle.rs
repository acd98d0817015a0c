//! The whole lab, locally: template.yaml's custom resources through Create, Update and Delete,
//! sent SNS-style to the real function binaries over the Lambda Runtime API, against moto and the
//! Debian docker-registry, then nightly-cleanup in dry-run and for real. `make demo` runs this
//! with its timeline printed; CI runs it as the end-to-end test.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;
use ecs_private_auth::local::cloudformation::{LocalCloudFormation, StackRecord};
use serde_json::{Map, Value, json};
use support::lab::create_boundary_policy;
use support::moto::Moto;
use support::receiver::Receiver;
use support::registry::{IMAGE, PASSWORD, Registry};
use support::runtime_api::{FunctionProcess, RuntimeApi};
use support::template::{Pseudo, Scope, Template};
use support::{ACCOUNT, REGION, function_arn, function_binary, sns_event};

const STACK_NAME: &str = "lab";
const ROTATED_PASSWORD: &str = "Rotated-Registry-Passw0rd";

/// One function binary behind its own Runtime API.
struct Function {
    name: &'static str,
    runtime: RuntimeApi,
    _process: FunctionProcess,
}

struct Lab {
    moto: Moto,
    receiver: Receiver,
    cloudformation: LocalCloudFormation,
    functions: Vec<Function>,
    template: Template,
    pseudo: Pseudo,
    scope: Scope,
    clients: ecs_private_auth::aws::Clients,
    counter: u32,
    failures: Vec<String>,
}

impl Lab {
    async fn function(
        moto: &Moto,
        receiver: &Receiver,
        cloudformation: &LocalCloudFormation,
        boundary: &str,
        name: &'static str,
    ) -> Function {
        let runtime = RuntimeApi::start().await;
        let prefix = format!("{}/responses/", receiver.base_url);
        let env = vec![
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("ALLOWED_RESPONSE_URL_PREFIXES", &prefix),
            ("ROLE_PERMISSIONS_BOUNDARY_ARN", boundary),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", &cloudformation.endpoint),
            ("RUST_LOG", "info"),
        ];
        let process = FunctionProcess::start(&function_binary(name), &runtime, name, &env);
        Function {
            name,
            runtime,
            _process: process,
        }
    }

    async fn invoke(&self, function: &str, payload: Value) -> Value {
        let function = self
            .functions
            .iter()
            .find(|f| f.name == function)
            .expect("function started");
        function
            .runtime
            .call(
                &function_arn(function.name),
                payload,
                Duration::from_secs(120),
            )
            .await
            .response()
    }

    /// Sends one request as CloudFormation would (through SNS, to the function of its type) and
    /// prints a timeline line.
    async fn send(
        &mut self,
        request_type: &str,
        logical_id: &str,
        properties: &Value,
        physical_id: Option<&str>,
        old: Option<&Value>,
    ) -> Value {
        self.counter += 1;
        let resource_type = self.template_type(logical_id);
        let name = format!("{logical_id}-{}", self.counter);
        let mut request = json!({
            "RequestType": request_type,
            "ServiceToken": self.scope.others["RequestTopic"],
            "RequestId": format!("0000{:04}-0000-4000-8000-000000000000", self.counter),
            "ResponseURL": self.receiver.url(&name),
            "StackId": stack_id(),
            "ResourceType": resource_type,
            "LogicalResourceId": logical_id,
            "ResourceProperties": cloudformation_strings(properties),
        });
        if let Some(id) = physical_id {
            request["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = old {
            request["OldResourceProperties"] = cloudformation_strings(old);
        }
        let function = format!("on-{}", request_type.to_lowercase());
        let started = Instant::now();
        self.cloudformation.play(&request);
        self.invoke(&function, sns_event(&[request.clone()])).await;
        let answer = self
            .receiver
            .accepted_for(&name)
            .pop()
            .map(|received| received.json())
            .unwrap_or(json!({"Status": "NO ANSWER"}));
        self.cloudformation.record_answer(&request, &answer);
        let status = answer["Status"].as_str().unwrap_or_default().to_owned();
        eprintln!(
            "  {:<20} {:<7} {:<8} {:>6} ms  {}",
            logical_id,
            request_type,
            status,
            started.elapsed().as_millis(),
            answer["PhysicalResourceId"].as_str().unwrap_or_default()
        );
        if status != "SUCCESS" {
            eprintln!(
                "      reason: {}",
                answer["Reason"].as_str().unwrap_or_default()
            );
            self.failures
                .push(format!("{request_type} {logical_id}: {}", answer["Reason"]));
        }
        answer
    }

    async fn service(&self, cluster: &str, service: &str) -> aws_sdk_ecs::types::Service {
        let output = self
            .clients
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .unwrap();
        output.services.unwrap().remove(0)
    }

    fn template_type(&self, logical_id: &str) -> String {
        self.template
            .custom_resources_in_order()
            .into_iter()
            .find(|r| r.logical_id == logical_id)
            .map(|r| r.resource_type)
            .unwrap()
    }

    fn record(&mut self, logical_id: &str, answer: &Value) {
        self.scope.physical_ids.insert(
            logical_id.to_owned(),
            answer["PhysicalResourceId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let data = answer["Data"]
            .as_object()
            .map(|data| {
                data.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        self.scope.data.insert(logical_id.to_owned(), data);
    }
}

fn stack_id() -> String {
    format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/5c0a9e70-aaaa-4bbb-8ccc-0123456789ab"
    )
}

/// CloudFormation sends every scalar property as a string.
fn cloudformation_strings(value: &Value) -> Value {
    match value {
        Value::Number(number) => json!(number.to_string()),
        Value::Bool(flag) => json!(flag.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(cloudformation_strings).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), cloudformation_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The scope the local run starts from: parameter values, and what it stands in for the
/// template's non-custom resources (the topic, the app's log group).
fn local_scope(template: &Template, values: &Map<String, Value>) -> Scope {
    let mut scope = Scope {
        parameters: template.parameters(values),
        ..Scope::default()
    };
    scope.others.insert(
        "RequestTopic".into(),
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK_NAME}-RequestTopic"),
    );
    scope
        .others
        .insert("AppLogGroup".into(), format!("/ecs/{STACK_NAME}/web"));
    scope
}

fn parameter_values(section: &Value, fill: &BTreeMap<&str, String>) -> Map<String, Value> {
    section
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            let mut text = value.as_str().unwrap().to_owned();
            for (name, with) in fill {
                text = text.replace(&format!("{{{{{name}}}}}"), with);
            }
            (key.clone(), json!(text))
        })
        .collect()
}

#[tokio::test]
async fn the_whole_lab_runs_through_create_update_delete_and_cleanup() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let total = Instant::now();
    eprintln!("\n== starting moto, the registry, a ResponseURL receiver and the functions");
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "1")]).await;
    let mut registry = Registry::start().await;
    registry.push_image(IMAGE, "1.1").await;
    let network = support::network::create(&moto.endpoint).await;
    let config = moto.sdk_config().await;
    let clients = ecs_private_auth::aws::Clients::new(&config);
    clients
        .ssm
        .put_parameter()
        .name("/ecs-private-auth/lab/registry-password")
        .value(PASSWORD)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    let cloudformation = LocalCloudFormation::start().await.unwrap();
    let boundary = create_boundary_policy(&clients.iam).await;
    let mut functions = Vec::new();
    for name in ["on-create", "on-update", "on-delete", "nightly-cleanup"] {
        functions.push(Lab::function(&moto, &receiver, &cloudformation, &boundary, name).await);
    }
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/lab-parameters.json")).unwrap(),
    )
    .unwrap();
    let fill = BTreeMap::from([
        ("registry", registry.host.clone()),
        ("subnet", network.subnet.clone()),
        ("security_group", network.security_group.clone()),
    ]);
    let template = Template::load(&root.join("template.yaml"));
    let pseudo = Pseudo {
        stack_name: STACK_NAME.into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
    };
    let scope = local_scope(&template, &parameter_values(&file["create"], &fill));
    let mut lab = Lab {
        moto,
        receiver,
        cloudformation,
        functions,
        template,
        pseudo,
        scope,
        clients,
        counter: 0,
        failures: Vec::new(),
    };
    let order = lab.template.custom_resources_in_order();
    eprintln!(
        "   ready in {} ms; resources in dependency order: {}",
        total.elapsed().as_millis(),
        order
            .iter()
            .map(|r| r.logical_id.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    );

    eprintln!("\n== Create");
    let mut applied: BTreeMap<String, Value> = BTreeMap::new();
    for resource in &order {
        let properties = lab
            .template
            .properties(&resource.logical_id, &lab.scope, &lab.pseudo);
        let answer = lab
            .send("Create", &resource.logical_id, &properties, None, None)
            .await;
        lab.record(&resource.logical_id, &answer);
        applied.insert(resource.logical_id.clone(), properties);
    }
    let created = lab.scope.physical_ids.clone();
    let secret = lab
        .clients
        .secrets
        .get_secret_value()
        .secret_id(&created["RegistryCredentials"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(secret.secret_string().unwrap()).unwrap(),
        json!({"username": "robot", "password": PASSWORD})
    );
    let definition = lab
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(&created["TaskDefinition"])
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    let container = &definition.container_definitions()[0];
    assert_eq!(
        container
            .repository_credentials()
            .unwrap()
            .credentials_parameter(),
        created["RegistryCredentials"]
    );
    assert_eq!(
        definition.execution_role_arn(),
        Some(created["ExecutionRole"].as_str())
    );
    let service = lab.service(&created["Cluster"], &created["Service"]).await;
    assert_eq!(service.status(), Some("ACTIVE"));

    eprintln!("\n== Update: rotate the registry password, move to image tag 1.1");
    registry.change_password(ROTATED_PASSWORD).await;
    lab.clients
        .ssm
        .put_parameter()
        .name("/ecs-private-auth/lab/registry-password-rotated")
        .value(ROTATED_PASSWORD)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut values = parameter_values(&file["create"], &fill);
    values.extend(parameter_values(&file["update"], &fill));
    lab.scope.parameters = lab.template.parameters(&values);
    let mut replaced = Vec::new();
    for resource in &order {
        let properties = lab
            .template
            .properties(&resource.logical_id, &lab.scope, &lab.pseudo);
        let old = applied[&resource.logical_id].clone();
        if properties == old {
            eprintln!("  {:<20} (unchanged)", resource.logical_id);
            continue;
        }
        let before = lab.scope.physical_ids[&resource.logical_id].clone();
        let answer = lab
            .send(
                "Update",
                &resource.logical_id,
                &properties,
                Some(&before),
                Some(&old),
            )
            .await;
        lab.record(&resource.logical_id, &answer);
        if lab.scope.physical_ids[&resource.logical_id] != before {
            replaced.push((resource.logical_id.clone(), before, old.clone()));
        }
        applied.insert(resource.logical_id.clone(), properties);
    }
    eprintln!("   CloudFormation's clean-up of replaced resources:");
    for (logical_id, old_id, old_properties) in &replaced {
        lab.send("Delete", logical_id, old_properties, Some(old_id), None)
            .await;
    }
    let updated = lab.scope.physical_ids.clone();
    assert_eq!(
        updated["RegistryCredentials"], created["RegistryCredentials"],
        "a password change keeps the secret"
    );
    let secret = lab
        .clients
        .secrets
        .get_secret_value()
        .secret_id(&updated["RegistryCredentials"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(secret.secret_string().unwrap()).unwrap()["password"],
        ROTATED_PASSWORD
    );
    assert_ne!(
        updated["TaskDefinition"], created["TaskDefinition"],
        "a new image is a new revision"
    );
    let service = lab.service(&updated["Cluster"], &updated["Service"]).await;
    assert_eq!(
        service.task_definition(),
        Some(updated["TaskDefinition"].as_str())
    );
    let old_revision = lab
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(&created["TaskDefinition"])
        .send()
        .await;
    assert!(
        old_revision
            .map(|o| o
                .task_definition()
                .and_then(|d| d.status())
                .map(|s| s.as_str() != "ACTIVE")
                .unwrap_or(true))
            .unwrap_or(true),
        "the old revision is gone"
    );

    eprintln!("\n== Delete (reverse dependency order)");
    for resource in order.iter().rev() {
        let id = lab.scope.physical_ids[&resource.logical_id].clone();
        lab.send(
            "Delete",
            &resource.logical_id,
            &applied[&resource.logical_id],
            Some(&id),
            None,
        )
        .await;
    }

    eprintln!("\n== nightly-cleanup, with one orphan planted");
    // A stack deleted long ago whose last template held RegistryCredentials, without keeping it.
    let old_stack = format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/old-lab/0a0a0a0a-0000-4000-8000-000000000000"
    );
    let mut old = StackRecord::new(&old_stack, "DELETE_COMPLETE");
    old.template_body =
        r#"{"Resources": {"RegistryCredentials": {"Type": "Custom::RegistryCredentials"}}}"#.into();
    lab.cloudformation.put_stack(old);
    let tag = |k: &str, v: &str| {
        aws_sdk_secretsmanager::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    lab.clients
        .secrets
        .create_secret()
        .name("old-lab-RegistryCredentials-orphan")
        .secret_string("{}")
        .tags(tag("ecs-private-auth:stack-id", &old_stack))
        .tags(tag("ecs-private-auth:logical-id", "RegistryCredentials"))
        .tags(tag("ecs-private-auth:created-at", "2026-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    let dry = lab.invoke("nightly-cleanup", json!({"dryRun": true})).await;
    eprintln!(
        "  dry run: {} candidate(s), {} deleted",
        dry["counts"]["candidates"], dry["counts"]["deleted"]
    );
    let real = lab
        .invoke("nightly-cleanup", json!({"source": "schedule"}))
        .await;
    eprintln!(
        "  real run: {} deleted, {} failed, {} skipped",
        real["counts"]["deleted"], real["counts"]["failed"], real["counts"]["skipped"]
    );
    assert_eq!(dry["counts"]["candidates"], 1, "{dry:#}");
    assert_eq!(dry["counts"]["deleted"], 0);
    assert_eq!(real["counts"]["deleted"], 1, "{real:#}");

    eprintln!("\n== what is left in moto");
    let mut left = Vec::new();
    let clusters = lab.clients.ecs.list_clusters().send().await.unwrap();
    if !clusters.cluster_arns().is_empty() {
        let described = lab
            .clients
            .ecs
            .describe_clusters()
            .set_clusters(Some(clusters.cluster_arns().to_vec()))
            .send()
            .await
            .unwrap();
        left.extend(
            described
                .clusters()
                .iter()
                .filter(|c| c.status() == Some("ACTIVE"))
                .map(|c| c.cluster_arn().unwrap_or_default().to_owned()),
        );
    }
    let definitions = lab
        .clients
        .ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    left.extend(definitions.task_definition_arns().iter().cloned());
    let roles = lab
        .clients
        .iam
        .list_roles()
        .path_prefix("/ecs-private-auth/")
        .send()
        .await
        .unwrap();
    left.extend(roles.roles().iter().map(|r| r.arn().to_owned()));
    let secrets = lab.clients.secrets.list_secrets().send().await.unwrap();
    left.extend(
        secrets
            .secret_list()
            .iter()
            .filter(|s| s.deleted_date().is_none())
            .map(|s| s.arn().unwrap_or_default().to_owned()),
    );
    eprintln!(
        "  {}",
        if left.is_empty() {
            "nothing".to_owned()
        } else {
            left.join(", ")
        }
    );

    eprintln!(
        "\n== summary: {} requests, {} unexpected answers, {} left over, {} ms in all",
        lab.counter,
        lab.failures.len(),
        left.len(),
        total.elapsed().as_millis()
    );
    assert!(
        lab.failures.is_empty(),
        "unexpected answers: {:#?}",
        lab.failures
    );
    assert!(left.is_empty(), "left in moto: {left:?}");
    drop(lab.moto);
}

#[test]
#[should_panic(expected = "template.yaml uses !FindInMap, which the local run does not support")]
fn an_intrinsic_the_local_run_does_not_know_fails_clearly() {
    let template = Template::parse(
        "Resources:\n  Thing:\n    Type: Custom::FargateCluster\n    Properties:\n      ClusterName: !FindInMap [Names, Lab, Cluster]\n",
    );
    let pseudo = Pseudo {
        stack_name: STACK_NAME.into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
    };
    template.properties("Thing", &Scope::default(), &pseudo);
}

#[test]
fn the_template_resolves_with_the_local_parameters() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let template = Template::load(&root.join("template.yaml"));
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/lab-parameters.json")).unwrap(),
    )
    .unwrap();
    let fill = BTreeMap::from([
        ("registry", "127.0.0.1:5000".to_owned()),
        ("subnet", "subnet-0a1b".to_owned()),
        ("security_group", "sg-0a1b".to_owned()),
    ]);
    let scope = local_scope(&template, &parameter_values(&file["create"], &fill));
    let pseudo = Pseudo {
        stack_name: STACK_NAME.into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
    };
    let order: Vec<String> = template
        .custom_resources_in_order()
        .into_iter()
        .map(|r| r.logical_id)
        .collect();
    assert_eq!(
        order,
        vec![
            "Cluster",
            "RegistryCredentials",
            "ExecutionRole",
            "TaskDefinition",
            "Service"
        ]
    );
    let credentials = template.properties("RegistryCredentials", &scope, &pseudo);
    assert_eq!(
        credentials["PasswordParameterName"],
        "/ecs-private-auth/lab/registry-password"
    );
    assert!(
        credentials.get("Password").is_none(),
        "AWS::NoValue drops the inline password"
    );
    assert_eq!(credentials["VerifyImage"], "127.0.0.1:5000/lab/hello:1.0");
    ecs_private_auth::resource_type::ResourceType::RegistryCredentials
        .validate(&cloudformation_strings(&credentials))
        .unwrap();
}
