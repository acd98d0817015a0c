//! The stacks in examples/ are what a user copies into their own templates: each is played
//! through Create and Delete on the embedded emulator with the real function binaries, reaching
//! the provider only through the ServiceToken a provider stack exports.

mod support;

use ecs_private_auth::local::registry::PASSWORD;
use support::played::{MADE_IN_ORDER, World, id, logical_ids};

/// What a provider stack named `ecs-private-auth` (template.yaml, DeployLab=false) exports.
const PROVIDER_EXPORT: &str = "ecs-private-auth-ServiceToken";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ecs-private-auth-RequestTopic";

async fn create_and_delete(example: &str) -> World {
    let world = World::start(&format!("examples/{example}.yaml")).await;
    let mut runner = world.runner();
    runner.exports.insert(PROVIDER_EXPORT.into(), TOPIC.into());
    let parameters = world.parameters(&[&format!("examples/{example}.local.json")]);

    let mut stack = runner.create(parameters).await.unwrap();

    assert_eq!(stack.status, "CREATE_COMPLETE", "{:?}", world.timeline());
    assert_eq!(logical_ids(&stack), MADE_IN_ORDER);
    let credentials = id(&stack, "RegistryCredentials");
    assert_eq!(world.password_in(&credentials).await, PASSWORD);
    assert!(
        stack
            .outputs
            .iter()
            .any(|(key, value)| key == "ServiceArn" && *value == id(&stack, "Service")),
        "{:?}",
        stack.outputs
    );

    runner.delete(&mut stack).await.unwrap();
    drop(runner);
    assert_eq!(stack.status, "DELETE_COMPLETE");
    assert_eq!(world.left_over().await, Vec::<String>::new());
    world
}

#[tokio::test]
async fn the_inline_password_example_runs_through_the_imported_service_token() {
    create_and_delete("app-inline-password").await;
}

#[tokio::test]
async fn the_ssm_password_example_in_an_existing_vpc_checks_the_registry_first() {
    let world = create_and_delete("app-ssm-password").await;
    let on_create = world.provider.logs("on-create");
    assert!(
        on_create.contains("the registry accepted the credentials"),
        "{on_create}"
    );
    assert!(
        !on_create.contains(PASSWORD),
        "the password never appears in a log"
    );
}

#[tokio::test]
async fn an_example_without_the_provider_stack_fails_before_anything_is_made() {
    let world = World::start("examples/app-inline-password.yaml").await;
    let mut runner = world.runner();
    let parameters = world.parameters(&["examples/app-inline-password.local.json"]);

    let error = runner.create(parameters).await.unwrap_err().to_string();

    assert!(error.contains(PROVIDER_EXPORT), "{error}");
    assert_eq!(world.left_over().await, Vec::<String>::new());
}
