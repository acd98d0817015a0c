//! Custom::RegistryCredentials against moto and the Debian docker-registry.

mod support;

use aws_sdk_ssm::types::ParameterType;
use ecs_private_auth::protocol::RequestType;
use serde_json::{Value, json};
use support::lab::Lab;
use support::registry::{IMAGE, PASSWORD, Registry, TAG, USERNAME};

const TYPE: &str = "Custom::RegistryCredentials";

async fn secret_value(lab: &Lab, id: &str) -> Value {
    let value = lab
        .clients
        .secrets
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap();
    serde_json::from_str(value.secret_string().unwrap()).unwrap()
}

async fn version_count(lab: &Lab, id: &str) -> usize {
    lab.clients
        .secrets
        .list_secret_version_ids()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .versions()
        .len()
}

#[tokio::test]
async fn the_secret_holds_exactly_username_and_password_and_the_answer_holds_neither() {
    let lab = Lab::start().await;

    let answer = lab.create(TYPE, "Credentials", json!({"Username": "alice-robot", "Password": "pw-1-secret-value", "Description": "lab login"})).await;

    answer.assert_success();
    assert_eq!(
        secret_value(&lab, &answer.physical_id()).await,
        json!({"username": "alice-robot", "password": "pw-1-secret-value"})
    );
    assert_eq!(answer.data("Arn"), answer.physical_id());
    assert!(answer.data("Name").starts_with("lab-Credentials-"));
    assert_eq!(answer.0["Data"].as_object().unwrap().len(), 2);
    let body = answer.0.to_string();
    assert!(!body.contains("pw-1-secret-value") && !body.contains("alice-robot"));
    let described = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(answer.physical_id())
        .send()
        .await
        .unwrap();
    assert_eq!(described.description(), Some("lab login"));
    assert!(
        described
            .tags()
            .iter()
            .any(|tag| tag.key() == Some("ecs-private-auth:logical-id")
                && tag.value() == Some("Credentials"))
    );
}

#[tokio::test]
async fn the_password_can_come_from_an_ssm_securestring_parameter() {
    let lab = Lab::start().await;
    lab.clients
        .ssm
        .put_parameter()
        .name("/ecs-private-auth/lab/registry-password")
        .value("from-ssm-pw-value")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    lab.clients
        .ssm
        .put_parameter()
        .name("/ecs-private-auth/lab/plain")
        .value("plain-value")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();

    let answer = lab
        .create(
            TYPE,
            "Credentials",
            json!({"Username": "robot", "PasswordParameterName": "/ecs-private-auth/lab/registry-password"}),
        )
        .await;
    let plain = lab
        .create(
            TYPE,
            "Plain",
            json!({"Username": "robot", "PasswordParameterName": "/ecs-private-auth/lab/plain"}),
        )
        .await;
    let missing = lab
        .create(
            TYPE,
            "Missing",
            json!({"Username": "robot", "PasswordParameterName": "/ecs-private-auth/lab/nope"}),
        )
        .await;

    answer.assert_success();
    assert_eq!(
        secret_value(&lab, &answer.physical_id()).await["password"],
        "from-ssm-pw-value"
    );
    assert!(!answer.0.to_string().contains("from-ssm-pw-value"));
    plain.assert_failed();
    assert_eq!(
        plain.reason(),
        "PasswordParameterName must name a SecureString parameter; /ecs-private-auth/lab/plain is not one"
    );
    assert!(!plain.0.to_string().contains("plain-value"));
    missing.assert_failed();
    assert!(
        missing.reason().starts_with(
            "reading SSM parameter named by PasswordParameterName (/ecs-private-auth/lab/nope)"
        ),
        "{}",
        missing.reason()
    );
}

#[tokio::test]
async fn a_password_change_is_a_new_version_of_the_same_secret_and_a_redelivery_writes_none() {
    let lab = Lab::start().await;
    let old = json!({"Username": "robot", "Password": "first-password"});
    let new = json!({"Username": "robot", "Password": "second-password"});
    let arn = lab
        .create(TYPE, "Credentials", old.clone())
        .await
        .physical_id();

    let update = lab.request(
        RequestType::Update,
        TYPE,
        "Credentials",
        new.clone(),
        Some(&arn),
        Some(old.clone()),
    );
    let updated = lab.send(&update).await;
    let redelivered = lab.send(&update).await;

    updated.assert_success();
    assert_eq!(updated.physical_id(), arn);
    assert_eq!(redelivered.physical_id(), arn);
    assert_eq!(
        secret_value(&lab, &arn).await,
        json!({"username": "robot", "password": "second-password"})
    );
    assert_eq!(version_count(&lab, &arn).await, 2);

    let unchanged = lab
        .update(TYPE, "Credentials", &arn, new.clone(), new)
        .await;
    unchanged.assert_success();
    assert_eq!(
        version_count(&lab, &arn).await,
        2,
        "an Update that changes nothing writes nothing"
    );
}

#[tokio::test]
async fn delete_schedules_with_the_recovery_window_or_removes_at_once() {
    let lab = Lab::start().await;
    let kept = json!({"Username": "robot", "Password": "pw-kept-7-days"});
    let gone = json!({"Username": "robot", "Password": "pw-gone-now", "RecoveryWindowInDays": "0"});
    let kept_arn = lab.create(TYPE, "Kept", kept.clone()).await.physical_id();
    let gone_arn = lab.create(TYPE, "Gone", gone.clone()).await.physical_id();

    lab.delete(TYPE, "Kept", &kept_arn, kept.clone())
        .await
        .assert_success();
    lab.delete(TYPE, "Gone", &gone_arn, gone)
        .await
        .assert_success();

    let described = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(&kept_arn)
        .send()
        .await
        .unwrap();
    assert!(described.deleted_date().is_some(), "scheduled for deletion");
    assert!(
        lab.clients
            .secrets
            .describe_secret()
            .secret_id(&gone_arn)
            .send()
            .await
            .is_err(),
        "deleted without recovery"
    );
    lab.delete(TYPE, "Kept", &kept_arn, kept)
        .await
        .assert_success();
}

#[tokio::test]
async fn a_user_named_secret_of_ours_scheduled_for_deletion_is_restored_and_updated() {
    let lab = Lab::start().await;
    let props =
        json!({"SecretName": "lab/registry", "Username": "robot", "Password": "before-delete-pw"});
    let arn = lab
        .create(TYPE, "Credentials", props.clone())
        .await
        .physical_id();
    lab.delete(TYPE, "Credentials", &arn, props)
        .await
        .assert_success();

    let again = lab.create(TYPE, "Credentials", json!({"SecretName": "lab/registry", "Username": "robot", "Password": "after-restore-pw"})).await;

    again.assert_success();
    assert_eq!(again.physical_id(), arn);
    let described = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(described.deleted_date().is_none(), "restored");
    assert_eq!(
        secret_value(&lab, &arn).await["password"],
        "after-restore-pw"
    );
}

#[tokio::test]
async fn a_secret_that_is_not_ours_fails_the_create_and_survives_a_delete() {
    let lab = Lab::start().await;
    let theirs = lab
        .clients
        .secrets
        .create_secret()
        .name("team/registry")
        .secret_string("{\"their\":\"value\"}")
        .send()
        .await
        .unwrap();
    let arn = theirs.arn().unwrap().to_owned();

    let answer = lab
        .create(
            TYPE,
            "Credentials",
            json!({"SecretName": "team/registry", "Username": "robot", "Password": "pw-not-ours"}),
        )
        .await;
    let deleted = lab.delete(TYPE, "Credentials", &arn, json!({})).await;

    answer.assert_failed();
    assert!(answer.reason().starts_with("Secrets Manager secret team/registry already exists and was not made by this stack's Credentials"), "{}", answer.reason());
    deleted.assert_success();
    assert_eq!(secret_value(&lab, &arn).await, json!({"their": "value"}));
}

#[tokio::test]
async fn a_secret_name_change_replaces_and_the_rollback_adopts_the_old_one() {
    let lab = Lab::start().await;
    let old = json!({"SecretName": "lab/old", "Username": "robot", "Password": "pw-replace"});
    let new = json!({"SecretName": "lab/new", "Username": "robot", "Password": "pw-replace"});
    let old_arn = lab
        .create(TYPE, "Credentials", old.clone())
        .await
        .physical_id();

    let replaced = lab
        .update(TYPE, "Credentials", &old_arn, new.clone(), old.clone())
        .await;
    let rollback = lab
        .update(
            TYPE,
            "Credentials",
            &replaced.physical_id(),
            old.clone(),
            new.clone(),
        )
        .await;
    lab.delete(TYPE, "Credentials", &replaced.physical_id(), new)
        .await
        .assert_success();

    assert_ne!(replaced.physical_id(), old_arn);
    assert_eq!(rollback.physical_id(), old_arn);
    let new_secret = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(replaced.physical_id())
        .send()
        .await
        .unwrap();
    assert!(
        new_secret.deleted_date().is_some(),
        "the new secret is deleted"
    );
    let old_secret = lab
        .clients
        .secrets
        .describe_secret()
        .secret_id(&old_arn)
        .send()
        .await
        .unwrap();
    assert!(old_secret.deleted_date().is_none(), "the old one stays");
}

#[tokio::test]
async fn credentials_are_checked_against_the_registry_before_anything_is_stored() {
    let lab = Lab::start().await;
    let registry = Registry::start().await.unwrap();
    let props = |password: &str, image: &str| json!({"Username": USERNAME, "Password": password, "RegistryUrl": registry.url, "VerifyImage": image});

    let good = lab
        .create(TYPE, "Good", props(PASSWORD, &format!("{IMAGE}:{TAG}")))
        .await;
    let with_host = lab
        .create(
            TYPE,
            "WithHost",
            props(PASSWORD, &format!("{}/{IMAGE}:{TAG}", registry.host)),
        )
        .await;
    let wrong_password = lab
        .create(
            TYPE,
            "Wrong",
            props("not-the-password", &format!("{IMAGE}:{TAG}")),
        )
        .await;
    let missing_image = lab
        .create(TYPE, "Missing", props(PASSWORD, "lab/nope:9"))
        .await;
    let unchecked = lab
        .create(TYPE, "Unchecked", json!({"Username": USERNAME, "Password": "not-the-password", "RegistryUrl": registry.url, "VerifyCredentials": "false"}))
        .await;

    good.assert_success();
    with_host.assert_success();
    wrong_password.assert_failed();
    assert!(
        wrong_password.reason().starts_with(&format!("verifying registry credentials: the registry at {} refused the username and password (HTTP 401", registry.url)),
        "{}",
        wrong_password.reason()
    );
    missing_image.assert_failed();
    assert!(
        missing_image
            .reason()
            .contains("has no manifest lab/nope:9 (HTTP 404"),
        "{}",
        missing_image.reason()
    );
    unchecked.assert_success();
    let secrets = lab.clients.secrets.list_secrets().send().await.unwrap();
    assert_eq!(
        secrets.secret_list().len(),
        3,
        "nothing stored for the failed checks"
    );
    for answer in [&good, &wrong_password, &missing_image] {
        let body = answer.0.to_string();
        assert!(
            !body.contains(PASSWORD) && !body.contains("not-the-password"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_rollback_restores_the_earlier_credentials_without_judging_them_again() {
    let lab = Lab::start().await;
    let registry = Registry::start().await.unwrap();
    let old = json!({"Username": USERNAME, "Password": PASSWORD, "RegistryUrl": registry.url});
    let new = json!({"Username": USERNAME, "Password": "rotated-Registry-pw", "RegistryUrl": registry.url});
    let created = lab.create(TYPE, "Credentials", old.clone()).await;
    created.assert_success();
    registry
        .change_password("rotated-Registry-pw")
        .await
        .unwrap();
    lab.update(
        TYPE,
        "Credentials",
        &created.physical_id(),
        new.clone(),
        old.clone(),
    )
    .await
    .assert_success();

    // Another resource of the stack failed: CloudFormation rolls the update back and asks for
    // the old password again, which the registry no longer takes.
    lab.cloudformation
        .set_stack_status(support::STACK_ID, "UPDATE_ROLLBACK_IN_PROGRESS");
    let rolled_back = lab
        .update(TYPE, "Credentials", &created.physical_id(), old, new)
        .await;

    rolled_back.assert_success();
    assert_eq!(
        secret_value(&lab, &created.physical_id()).await["password"],
        PASSWORD
    );
}
