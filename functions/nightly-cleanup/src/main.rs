//! nightly-cleanup: run by the EventBridge schedule; deletes what the lab left behind.
//!
//! The cleanup itself arrives with its own issue; until then the function answers with a report
//! that says so, and deletes nothing.

use ecs_private_auth::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let dry_run = event
            .payload
            .get("dryRun")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        tracing::warn!(
            dry_run,
            "nightly cleanup is not implemented yet: nothing was deleted"
        );
        Ok::<_, lambda_runtime::Error>(
            json!({"implemented": false, "dryRun": dry_run, "deleted": []}),
        )
    }))
    .await
}
