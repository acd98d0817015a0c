//! on-delete: answers CloudFormation's Delete requests for every ecs-private-auth resource type.

use ecs_private_auth::aws::{Clients, load_config};
use ecs_private_auth::provider::{FunctionRole, Provider};
use ecs_private_auth::settings::Settings;
use ecs_private_auth::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

// Lambda runs one invocation at a time: one thread suffices (docs/design.md#cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let clients = Clients::new(&load_config().await);
    let provider = Provider::new(FunctionRole::OnDelete, clients, Settings::from_env());
    let provider = &provider;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        provider.handle(event)
    }))
    .await
}
