//! nightly-cleanup: run by the EventBridge schedule; deletes what stacks using ecs-private-auth
//! left behind, and stacks whose time to live is over. `{"dryRun": true}` plans and reports only.

use ecs_private_auth::aws::{Clients, load_config};
use ecs_private_auth::cleanup::{Cleaner, CleanupSettings};
use ecs_private_auth::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

// Lambda runs one invocation at a time: one thread suffices (docs/design.md#cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let cleaner = Cleaner::new(
        Clients::new(&load_config().await),
        CleanupSettings::from_env(),
    );
    let cleaner = &cleaner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        cleaner.handle(event)
    }))
    .await
}
