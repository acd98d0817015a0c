//! Every log line of the credentials' whole lifecycle — success, registry refusal, SSM, typo,
//! delete — at TRACE level, through the functions' own subscriber: no password, no username, no
//! ResponseURL signature.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_ssm::types::ParameterType;
use serde_json::json;
use support::lab::Lab;
use support::receiver::Receiver;
use support::registry::{IMAGE, PASSWORD, Registry, TAG, USERNAME};
use support::snoop::Snoop;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

const TYPE: &str = "Custom::RegistryCredentials";
const SSM_PASSWORD: &str = "ssm-held-Registry-passw0rd";
const NEW_PASSWORD: &str = "rotated-Registry-passw0rd";

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(ecs_private_auth::telemetry::subscriber(
        ecs_private_auth::telemetry::filter(Some("TRACE"), None),
        capture.clone(),
    ))
    .unwrap();
    let lab = Lab::start().await;
    let registry = Registry::start().await.unwrap();
    lab.clients
        .ssm
        .put_parameter()
        .name("/ecs-private-auth/lab/password")
        .value(SSM_PASSWORD)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let props = json!({"Username": USERNAME, "Password": PASSWORD, "RegistryUrl": registry.url, "VerifyImage": format!("{IMAGE}:{TAG}")});

    let created = lab.create(TYPE, "Credentials", props.clone()).await;
    created.assert_success();
    let refused =
        json!({"Username": USERNAME, "Password": NEW_PASSWORD, "RegistryUrl": registry.url});
    lab.update(
        TYPE,
        "Credentials",
        &created.physical_id(),
        refused,
        props.clone(),
    )
    .await
    .assert_failed();
    let rotated = json!({"Username": USERNAME, "Password": NEW_PASSWORD});
    lab.update(
        TYPE,
        "Credentials",
        &created.physical_id(),
        rotated.clone(),
        props,
    )
    .await
    .assert_success();
    lab.create(
        TYPE,
        "FromSsm",
        json!({"Username": USERNAME, "PasswordParameterName": "/ecs-private-auth/lab/password"}),
    )
    .await
    .assert_success();
    // A registry that quotes the credentials it was sent in its refusal: the password read from
    // SSM is masked in the Reason and in the FAILED log line alike.
    let echoing = Snoop::start().await;
    let echoed = lab
        .create(
            TYPE,
            "FromSsmRefused",
            json!({"Username": USERNAME, "PasswordParameterName": "/ecs-private-auth/lab/password", "RegistryUrl": echoing.url}),
        )
        .await;
    echoed.assert_failed();
    assert!(
        echoing.credentials()[0].contains(SSM_PASSWORD),
        "the registry was sent the SSM password"
    );
    assert!(
        !echoed.reason().contains(SSM_PASSWORD) && echoed.reason().contains("***"),
        "{}",
        echoed.reason()
    );
    lab.create(
        TYPE,
        "Typo",
        json!({"Username": USERNAME, "Passwrd": PASSWORD}),
    )
    .await
    .assert_failed();
    lab.delete(TYPE, "Credentials", &created.physical_id(), rotated)
        .await
        .assert_success();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().count() > 50,
        "the capture saw the run: {} lines",
        logs.lines().count()
    );
    assert!(logs.contains("\"message\":\"answered\""));
    for secret in [
        PASSWORD,
        NEW_PASSWORD,
        SSM_PASSWORD,
        USERNAME,
        Receiver::SIGNATURE,
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|_| panic!("not a JSON line: {line}"));
    }
}
