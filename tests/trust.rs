//! Only genuine requests, and only on what the stack owns: the attacks of a security review, each
//! refused before any change. An attacker here is anyone in the account who may publish to the
//! topic, invoke a function, or deploy a stack of their own that uses the provider.

mod support;

use aws_sdk_ssm::types::ParameterType;
use ecs_private_auth::protocol::RequestType;
use serde_json::{Value, json};
use support::lab::{Answer, Lab};
use support::snoop::Snoop;
use support::{ACCOUNT, REGION};

/// The stack under attack, and the attacker's own stack.
const VICTIM_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/payments/9a4c5e10-1111-4e0e-9b6a-0c1d2e3f4a5b";
const ATTACKER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/sandbox/3b7d9f20-2222-4f1f-8c7b-1d2e3f4a5b6c";

fn in_stack(mut request: Value, stack_id: &str) -> Value {
    request["StackId"] = json!(stack_id);
    request
}

/// Sends a genuine Create of `stack_id` (CloudFormation's record agrees).
async fn create_in(
    lab: &Lab,
    stack_id: &str,
    resource_type: &str,
    logical_id: &str,
    properties: Value,
) -> Answer {
    let request = lab.request(
        RequestType::Create,
        resource_type,
        logical_id,
        properties,
        None,
        None,
    );
    lab.send(&in_stack(request, stack_id)).await
}

/// The victim's registry secret, made by the victim's own stack.
async fn victims_secret(lab: &Lab) -> String {
    let answer = create_in(
        lab,
        VICTIM_STACK,
        "Custom::RegistryCredentials",
        "RegistryCredentials",
        json!({"Username": "payments-robot", "Password": "victims-registry-pw"}),
    )
    .await;
    answer.assert_success();
    answer.physical_id()
}

async fn secret_state(lab: &Lab, arn: &str) -> (bool, usize, String) {
    let described = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    let versions = lab
        .clients
        .secrets
        .list_secret_version_ids()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .versions()
        .len();
    let value = lab
        .clients
        .secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap_or_default()
        .to_owned();
    (described.deleted_date().is_some(), versions, value)
}

async fn roles_under_product_path(lab: &Lab) -> Vec<String> {
    lab.clients
        .iam
        .list_roles()
        .path_prefix("/ecs-private-auth/")
        .send()
        .await
        .unwrap()
        .roles()
        .iter()
        .map(|role| role.role_name().to_owned())
        .collect()
}

async fn task_definition_arns(lab: &Lab) -> Vec<String> {
    lab.clients
        .ecs
        .list_task_definitions()
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .to_vec()
}

#[tokio::test]
async fn a_password_parameter_outside_the_allowed_path_is_never_read_nor_sent_anywhere() {
    let lab = Lab::start().await;
    let snoop = Snoop::start().await;
    lab.clients
        .ssm
        .put_parameter()
        .name("/prod/db/master")
        .value("production-db-master-pw")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();

    let answer = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::RegistryCredentials",
        "Exfiltrate",
        json!({"Username": "me", "PasswordParameterName": "/prod/db/master", "RegistryUrl": snoop.url}),
    )
    .await;

    answer.assert_failed();
    assert!(
        answer.reason().contains("PasswordParameterName")
            && answer.reason().contains("/ecs-private-auth/"),
        "{}",
        answer.reason()
    );
    assert!(
        snoop.seen().is_empty(),
        "nothing reached the attacker's host: {:?}",
        snoop.credentials()
    );
    let secrets = lab.clients.secrets.list_secrets().send().await.unwrap();
    assert!(secrets.secret_list().is_empty(), "no secret was made");
}

#[tokio::test]
async fn a_role_cannot_be_granted_a_secret_its_stack_does_not_own() {
    let lab = Lab::start().await;
    let victims = victims_secret(&lab).await;
    let untagged = lab
        .clients
        .secrets
        .create_secret()
        .name("team-b/database")
        .secret_string("{\"password\":\"b\"}")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let other_account =
        format!("arn:aws:secretsmanager:{REGION}:210987654321:secret:shared-registry-AbCdEf");
    let before = roles_under_product_path(&lab).await;

    for (index, secret) in [&victims, &untagged, &other_account].iter().enumerate() {
        let answer = create_in(
            &lab,
            ATTACKER_STACK,
            "Custom::TaskExecutionRole",
            &format!("Reader{index}"),
            json!({"SecretArns": [secret]}),
        )
        .await;
        answer.assert_failed();
        assert!(
            answer.reason().contains("SecretArns[0]"),
            "{}",
            answer.reason()
        );
    }
    assert_eq!(
        roles_under_product_path(&lab).await,
        before,
        "no role was made"
    );
}

#[tokio::test]
async fn a_role_may_read_its_own_stacks_secret_and_allow_listed_ones() {
    let lab = Lab::start().await;
    let own = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::RegistryCredentials",
        "RegistryCredentials",
        json!({"Username": "me", "Password": "my-own-registry-pw"}),
    )
    .await
    .physical_id();
    let shared = lab
        .clients
        .secrets
        .create_secret()
        .name("shared/registry")
        .secret_string("{}")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let mut settings = lab.settings();
    settings.allowed_secret_arns = vec![format!(
        "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shared/*"
    )];

    let request = in_stack(
        lab.request(
            RequestType::Create,
            "Custom::TaskExecutionRole",
            "ExecutionRole",
            json!({"SecretArns": [own, shared]}),
            None,
            None,
        ),
        ATTACKER_STACK,
    );
    lab.send_with(&request, settings).await.assert_success();
}

#[tokio::test]
async fn a_container_cannot_use_another_stacks_registry_secret_or_execution_role() {
    let lab = Lab::start().await;
    let victims_secret = victims_secret(&lab).await;
    let victims_role = create_in(
        &lab,
        VICTIM_STACK,
        "Custom::TaskExecutionRole",
        "ExecutionRole",
        json!({"SecretArns": [victims_secret]}),
    )
    .await
    .physical_id();
    let own_secret = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::RegistryCredentials",
        "RegistryCredentials",
        json!({"Username": "me", "Password": "my-own-registry-pw"}),
    )
    .await
    .physical_id();
    let own_role = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::TaskExecutionRole",
        "ExecutionRole",
        json!({"SecretArns": [own_secret]}),
    )
    .await
    .physical_id();
    let definition = |role: &str, secret: &str| {
        json!({"Family": "sandbox-web", "ExecutionRoleArn": role,
               "ContainerDefinitions": [{"Name": "web", "Image": "attacker.example.com/app:1",
                   "RepositoryCredentials": {"CredentialsParameter": secret}}]})
    };

    let stolen_credentials = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::TaskDefinition",
        "TaskDefinition",
        definition(&own_role, &victims_secret),
    )
    .await;
    let stolen_role = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::TaskDefinition",
        "TaskDefinition",
        definition(&victims_role, &own_secret),
    )
    .await;

    stolen_credentials.assert_failed();
    assert!(
        stolen_credentials
            .reason()
            .contains("ContainerDefinitions[0].RepositoryCredentials.CredentialsParameter"),
        "{}",
        stolen_credentials.reason()
    );
    stolen_role.assert_failed();
    assert!(
        stolen_role.reason().contains("ExecutionRoleArn"),
        "{}",
        stolen_role.reason()
    );
    assert!(
        task_definition_arns(&lab).await.is_empty(),
        "no revision was registered"
    );
    create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::TaskDefinition",
        "TaskDefinition",
        definition(&own_role, &own_secret),
    )
    .await
    .assert_success();
}

#[tokio::test]
async fn a_task_role_may_not_be_a_role_that_reads_registry_secrets() {
    let lab = Lab::start().await;
    let secret = victims_secret(&lab).await;
    let role = create_in(
        &lab,
        VICTIM_STACK,
        "Custom::TaskExecutionRole",
        "ExecutionRole",
        json!({"SecretArns": [secret]}),
    )
    .await
    .physical_id();

    let answer = create_in(
        &lab,
        VICTIM_STACK,
        "Custom::TaskDefinition",
        "TaskDefinition",
        json!({"Family": "payments-web", "ExecutionRoleArn": role, "TaskRoleArn": role,
               "ContainerDefinitions": [{"Name": "web", "Image": "attacker.example.com/app:1"}]}),
    )
    .await;

    answer.assert_failed();
    assert!(
        answer.reason().contains("TaskRoleArn"),
        "{}",
        answer.reason()
    );
    assert!(task_definition_arns(&lab).await.is_empty());
}

#[tokio::test]
async fn a_forged_delete_copying_another_stacks_tags_destroys_nothing() {
    let lab = Lab::start().await;
    let secret = victims_secret(&lab).await;
    let forged = in_stack(
        lab.request(
            RequestType::Delete,
            "Custom::RegistryCredentials",
            "RegistryCredentials",
            json!({"RecoveryWindowInDays": "0"}),
            Some(&secret),
            None,
        ),
        VICTIM_STACK,
    );

    let answer = lab
        .send_unplayed(
            &forged,
            lab.clients.clone(),
            lab.settings(),
            std::time::Duration::from_secs(30),
        )
        .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("does not match CloudFormation's record of RegistryCredentials"),
        "{}",
        answer.reason()
    );
    let (scheduled_for_deletion, versions, _) = secret_state(&lab, &secret).await;
    assert!(!scheduled_for_deletion, "the secret is untouched");
    assert_eq!(versions, 1);
}

#[tokio::test]
async fn a_forged_update_changes_nothing() {
    let lab = Lab::start().await;
    let secret = victims_secret(&lab).await;
    let (_, _, before) = secret_state(&lab, &secret).await;
    let forged = in_stack(
        lab.request(
            RequestType::Update,
            "Custom::RegistryCredentials",
            "RegistryCredentials",
            json!({"Username": "payments-robot", "Password": "attackers-choice"}),
            Some(&secret),
            Some(json!({})),
        ),
        VICTIM_STACK,
    );

    let answer = lab
        .send_unplayed(
            &forged,
            lab.clients.clone(),
            lab.settings(),
            std::time::Duration::from_secs(30),
        )
        .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .contains("does not match CloudFormation's record of RegistryCredentials"),
        "{}",
        answer.reason()
    );
    let (_, versions, after) = secret_state(&lab, &secret).await;
    assert_eq!((versions, after), (1, before), "the secret is unchanged");
}

#[tokio::test]
async fn a_forged_create_for_a_stack_cloudformation_does_not_know_makes_nothing() {
    let lab = Lab::start().await;
    let forged = lab.request(
        RequestType::Create,
        "Custom::FargateCluster",
        "Cluster",
        json!({"ClusterName": "forged"}),
        None,
        None,
    );

    let answer = lab
        .send_unplayed(
            &forged,
            lab.clients.clone(),
            lab.settings(),
            std::time::Duration::from_secs(30),
        )
        .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .contains("does not match CloudFormation's record of Cluster"),
        "{}",
        answer.reason()
    );
    let clusters = lab.clients.ecs.list_clusters().send().await.unwrap();
    assert!(clusters.cluster_arns().is_empty(), "no cluster was made");
}

#[tokio::test]
async fn a_forged_continuation_is_held_against_the_record_too() {
    let lab = Lab::start().await;
    let secret = victims_secret(&lab).await;
    let delete = in_stack(
        lab.request(
            RequestType::Delete,
            "Custom::RegistryCredentials",
            "RegistryCredentials",
            json!({"RecoveryWindowInDays": "0"}),
            Some(&secret),
            None,
        ),
        VICTIM_STACK,
    );
    let continuation = json!({"ecsPrivateAuthContinuation": {
        "request": delete, "firstReceivedAt": 1_700_000_000u64, "continuations": 1}});

    support::lab::invoke_function(
        ecs_private_auth::provider::FunctionRole::OnDelete,
        &continuation,
        lab.clients.clone(),
        lab.settings(),
        std::time::Duration::from_secs(30),
    )
    .await;

    let (scheduled_for_deletion, _, _) = secret_state(&lab, &secret).await;
    assert!(!scheduled_for_deletion, "the secret is untouched");
    let answers = lab.receiver.received();
    let answer = answers.last().unwrap().json();
    assert_eq!(answer["Status"], "FAILED", "{answer}");
}

#[tokio::test]
async fn a_stack_cannot_read_another_stacks_password_under_the_shared_path() {
    let lab = Lab::start().await;
    let snoop = Snoop::start().await;
    lab.clients
        .ssm
        .put_parameter()
        .name("/ecs-private-auth/payments/registry-password")
        .value("payments-registry-token")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();

    let answer = create_in(
        &lab,
        ATTACKER_STACK,
        "Custom::RegistryCredentials",
        "Borrowed",
        json!({"Username": "me", "PasswordParameterName": "/ecs-private-auth/payments/registry-password",
               "RegistryUrl": snoop.url}),
    )
    .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .contains("is not a parameter name under /ecs-private-auth/sandbox/"),
        "{}",
        answer.reason()
    );
    assert!(snoop.seen().is_empty(), "{:?}", snoop.credentials());
}

#[tokio::test]
async fn a_delete_during_clean_up_cannot_name_the_live_resource_loosely() {
    let lab = Lab::start().await;
    let secret = victims_secret(&lab).await;
    let name = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .unwrap()
        .name()
        .unwrap()
        .to_owned();
    // The victim's stack cleans up after an update: CloudFormation accepts Deletes of ids it no
    // longer holds. The forger names the live secret by its name instead of its ARN.
    lab.cloudformation
        .set_stack_status(VICTIM_STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
    let forged = in_stack(
        lab.request(
            RequestType::Delete,
            "Custom::RegistryCredentials",
            "RegistryCredentials",
            json!({"RecoveryWindowInDays": "0"}),
            Some(&name),
            None,
        ),
        VICTIM_STACK,
    );

    lab.send_unplayed(
        &forged,
        lab.clients.clone(),
        lab.settings(),
        std::time::Duration::from_secs(30),
    )
    .await;

    let (scheduled_for_deletion, _, _) = secret_state(&lab, &secret).await;
    assert!(!scheduled_for_deletion, "the live secret is untouched");
}

#[tokio::test]
async fn a_task_role_is_judged_by_the_role_iam_holds_not_the_path_its_arn_spells() {
    let lab = Lab::start().await;
    let secret = victims_secret(&lab).await;
    let execution_role = create_in(
        &lab,
        VICTIM_STACK,
        "Custom::TaskExecutionRole",
        "ExecutionRole",
        json!({"SecretArns": [secret]}),
    )
    .await
    .physical_id();
    let name = execution_role.rsplit('/').next().unwrap();
    let respelled = format!("arn:aws:iam::{ACCOUNT}:role/app/{name}");
    let mut settings = lab.settings();
    settings.allowed_pass_role_arns = vec![format!("arn:aws:iam::{ACCOUNT}:role/app/*")];
    let request = in_stack(
        lab.request(
            RequestType::Create,
            "Custom::TaskDefinition",
            "TaskDefinition",
            json!({"Family": "payments-web", "ExecutionRoleArn": execution_role, "TaskRoleArn": respelled,
                   "ContainerDefinitions": [{"Name": "web", "Image": "attacker.example.com/app:1"}]}),
            None,
            None,
        ),
        VICTIM_STACK,
    );

    let answer = lab.send_with(&request, settings).await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("TaskRoleArn is out of this stack's reach"),
        "{}",
        answer.reason()
    );
    assert!(task_definition_arns(&lab).await.is_empty());
}

#[tokio::test]
async fn an_allow_listed_task_role_of_the_operators_is_accepted() {
    let lab = Lab::start().await;
    let secret = lab.own_secret("lab-registry").await;
    let execution_role = lab.own_role("lab-exec").await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let task_role = lab
        .clients
        .iam
        .create_role()
        .role_name("web-task")
        .path("/app/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn()
        .to_owned();
    let mut settings = lab.settings();
    settings.allowed_pass_role_arns = vec![format!("arn:aws:iam::{ACCOUNT}:role/app/*")];
    let request = lab.request(
        RequestType::Create,
        "Custom::TaskDefinition",
        "TaskDefinition",
        json!({"Family": "lab-web", "ExecutionRoleArn": execution_role, "TaskRoleArn": task_role,
               "ContainerDefinitions": [{"Name": "web", "Image": "registry.example.com/app:1",
                   "RepositoryCredentials": {"CredentialsParameter": secret}}]}),
        None,
        None,
    );

    lab.send_with(&request, settings).await.assert_success();
}
