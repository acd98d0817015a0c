//! on-failure: Lambda's on-failure destination for on-create, on-update and on-delete. It answers
//! FAILED for each request of an invocation that crashed, so the stack does not wait an hour.

use ecs_private_auth::on_failure::FailureAnswerer;
use ecs_private_auth::settings::Settings;
use ecs_private_auth::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

// Lambda runs one invocation at a time: one thread suffices (docs/design.md#cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let answerer = FailureAnswerer::new(Settings::from_env());
    let answerer = &answerer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        answerer.handle(event)
    }))
    .await
}
