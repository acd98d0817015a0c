//! Custom::TaskExecutionRole against moto (AWS managed policies loaded).

mod support;

use serde_json::{Value, json};
use support::lab::Lab;

const TYPE: &str = "Custom::TaskExecutionRole";

/// A lab whose stack holds two registry secrets (their ARNs), as a role's SecretArns must name.
async fn lab_with_secrets() -> (Lab, String, String) {
    let lab = Lab::start().await;
    let secret = lab.own_secret("lab-registry").await;
    let other = lab.own_secret("lab-other").await;
    (lab, secret, other)
}
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

async fn inline_policy(lab: &Lab, role: &str) -> Value {
    let policy = lab
        .clients
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name("ecs-private-auth-registry-credentials")
        .send()
        .await
        .unwrap();
    let document = policy.policy_document();
    serde_json::from_str(document).unwrap_or_else(|_| {
        serde_json::from_str(&percent_encoding::percent_decode_str(document).decode_utf8_lossy())
            .unwrap()
    })
}

async fn attached(lab: &Lab, role: &str) -> Vec<String> {
    let output = lab
        .clients
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    output
        .attached_policies()
        .iter()
        .map(|p| p.policy_arn().unwrap().to_owned())
        .collect()
}

async fn role_exists(lab: &Lab, role: &str) -> bool {
    lab.clients
        .iam
        .get_role()
        .role_name(role)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn the_role_may_read_exactly_its_secrets_and_nothing_else() {
    let (lab, secret, _) = lab_with_secrets().await;

    let answer = lab
        .create(
            TYPE,
            "ExecutionRole",
            json!({"SecretArns": [secret], "Tags": [{"Key": "team", "Value": "platform"}]}),
        )
        .await;

    answer.assert_success();
    let name = answer.data("Name");
    assert!(
        name.starts_with("lab-ExecutionRole-") && name.len() <= 64,
        "{name}"
    );
    assert_eq!(
        answer.physical_id(),
        format!("arn:aws:iam::123456789012:role/ecs-private-auth/{name}")
    );
    assert_eq!(
        inline_policy(&lab, &name).await,
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "ReadRegistryCredentials", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [secret]}]})
    );
    assert_eq!(
        attached(&lab, &name).await,
        vec![EXECUTION_POLICY.to_owned()]
    );
    let role = lab
        .clients
        .iam
        .get_role()
        .role_name(&name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.path(), "/ecs-private-auth/");
    assert!(
        role.assume_role_policy_document()
            .unwrap_or_default()
            .contains("ecs-tasks.amazonaws.com")
    );
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == "team" && t.value() == "platform")
    );
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == "ecs-private-auth:logical-id" && t.value() == "ExecutionRole")
    );
}

#[tokio::test]
async fn kms_keys_add_a_decrypt_statement_and_changes_are_made_in_place() {
    let (lab, secret, other_secret) = lab_with_secrets().await;
    let old = json!({"SecretArns": [secret]});
    let new = json!({"SecretArns": [secret, other_secret], "KmsKeyArns": [KEY]});
    let created = lab.create(TYPE, "ExecutionRole", old.clone()).await;
    let name = created.data("Name");

    let updated = lab
        .update(
            TYPE,
            "ExecutionRole",
            &created.physical_id(),
            new.clone(),
            old,
        )
        .await;

    updated.assert_success();
    assert_eq!(updated.physical_id(), created.physical_id());
    let policy = inline_policy(&lab, &name).await;
    assert_eq!(
        policy["Statement"][0]["Resource"],
        json!([secret, other_secret])
    );
    assert_eq!(
        policy["Statement"][1],
        json!({"Sid": "DecryptRegistryCredentials", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": [KEY]})
    );
}

#[tokio::test]
async fn managed_policies_outside_the_allow_list_are_refused_before_any_change() {
    let (lab, secret, _) = lab_with_secrets().await;

    let answer = lab.create(TYPE, "ExecutionRole", json!({"SecretArns": [secret], "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]})).await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("ManagedPolicyArns[0] is not on this provider's allow-list"),
        "{}",
        answer.reason()
    );
    assert!(
        lab.clients
            .iam
            .list_roles()
            .path_prefix("/ecs-private-auth/")
            .send()
            .await
            .unwrap()
            .roles()
            .is_empty()
    );
}

#[tokio::test]
async fn a_fixed_role_name_cannot_move_to_another_path() {
    let (lab, secret, _) = lab_with_secrets().await;
    let old = json!({"RoleName": "lab-exec", "SecretArns": [secret]});
    let new =
        json!({"RoleName": "lab-exec", "Path": "/ecs-private-auth/team/", "SecretArns": [secret]});
    let created = lab.create(TYPE, "ExecutionRole", old.clone()).await;

    let answer = lab
        .update(TYPE, "ExecutionRole", &created.physical_id(), new, old)
        .await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("Path cannot change while RoleName is fixed"),
        "{}",
        answer.reason()
    );
    assert_eq!(answer.physical_id(), created.physical_id());
}

#[tokio::test]
async fn a_name_change_replaces_the_role_and_the_old_ids_delete_removes_it_policies_first() {
    let (lab, secret, _) = lab_with_secrets().await;
    let old = json!({"RoleName": "lab-exec-a", "SecretArns": [secret]});
    let new = json!({"RoleName": "lab-exec-b", "SecretArns": [secret]});
    let a = lab
        .create(TYPE, "ExecutionRole", old.clone())
        .await
        .physical_id();

    let b = lab
        .update(TYPE, "ExecutionRole", &a, new.clone(), old.clone())
        .await;
    b.assert_success();
    assert!(b.physical_id().ends_with("/lab-exec-b"));

    lab.delete(TYPE, "ExecutionRole", &a, old)
        .await
        .assert_success();
    assert!(!role_exists(&lab, "lab-exec-a").await);
    assert!(role_exists(&lab, "lab-exec-b").await);
    lab.delete(TYPE, "ExecutionRole", &a, json!({}))
        .await
        .assert_success();
}

#[tokio::test]
async fn a_role_that_is_not_ours_fails_the_create_and_survives_a_delete() {
    let (lab, secret, _) = lab_with_secrets().await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let theirs = lab
        .clients
        .iam
        .create_role()
        .role_name("theirs")
        .path("/ecs-private-auth/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let arn = theirs.role.unwrap().arn().to_owned();

    let answer = lab
        .create(
            TYPE,
            "ExecutionRole",
            json!({"RoleName": "theirs", "SecretArns": [secret]}),
        )
        .await;
    let deleted = lab.delete(TYPE, "ExecutionRole", &arn, json!({})).await;

    answer.assert_failed();
    assert!(
        answer
            .reason()
            .starts_with("IAM role theirs already exists"),
        "{}",
        answer.reason()
    );
    deleted.assert_success();
    assert!(role_exists(&lab, "theirs").await);
    assert!(
        lab.clients
            .iam
            .list_role_policies()
            .role_name("theirs")
            .send()
            .await
            .unwrap()
            .policy_names()
            .is_empty(),
        "no policy was put on it"
    );
}

#[tokio::test]
async fn a_redelivered_create_adopts_the_role() {
    let (lab, secret, _) = lab_with_secrets().await;
    let request = lab.request(
        ecs_private_auth::protocol::RequestType::Create,
        TYPE,
        "ExecutionRole",
        json!({"SecretArns": [secret]}),
        None,
        None,
    );

    let first = lab.send(&request).await;
    let second = lab.send(&request).await;

    second.assert_success();
    assert_eq!(first.physical_id(), second.physical_id());
    assert_eq!(
        lab.clients
            .iam
            .list_roles()
            .path_prefix("/ecs-private-auth/")
            .send()
            .await
            .unwrap()
            .roles()
            .len(),
        1
    );
}

async fn boundary(lab: &Lab, role: &str) -> Option<String> {
    lab.clients
        .iam
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .permissions_boundary()
        .and_then(|boundary| boundary.permissions_boundary_arn())
        .map(str::to_owned)
}

#[tokio::test]
async fn every_role_carries_the_providers_boundary_whatever_the_template_says() {
    let (lab, secret, _) = lab_with_secrets().await;
    let wider = json!({"RoleName": "lab-exec", "SecretArns": [secret],
                       "PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"});
    let plain = json!({"RoleName": "lab-exec", "SecretArns": [secret]});

    let created = lab.create(TYPE, "ExecutionRole", wider.clone()).await;
    created.assert_success();
    assert_eq!(
        boundary(&lab, "lab-exec").await.as_deref(),
        Some(lab.boundary_arn.as_str())
    );

    // Removed out of band, the boundary comes back with the next Update.
    lab.clients
        .iam
        .delete_role_permissions_boundary()
        .role_name("lab-exec")
        .send()
        .await
        .unwrap();
    lab.update(TYPE, "ExecutionRole", &created.physical_id(), plain, wider)
        .await
        .assert_success();
    assert_eq!(
        boundary(&lab, "lab-exec").await.as_deref(),
        Some(lab.boundary_arn.as_str())
    );
}
