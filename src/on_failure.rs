//! The on-failure function: Lambda's on-failure destination hands it the invocation that
//! crashed, ran out of memory or timed out after its retries; it answers each request inside
//! FAILED, so the stack does not wait an hour.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::arn::Arn;
use crate::properties::is_secret_property;
use crate::protocol::guard::{Progress, failure_physical_id};
use crate::protocol::pipeline::{Pipeline, Work};
use crate::protocol::redact::RequestSecrets;
use crate::protocol::{Deadline, Incoming, Malformed, Response};
use crate::settings::Settings;

const FUNCTION: &str = "on-failure";

/// What Lambda says about the failed invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailedInvocation {
    /// The function that failed, from `requestContext.functionArn`.
    pub function: String,
    /// `RetriesExhausted`, `EventAgeExceeded`, …
    pub condition: String,
    pub attempts: u64,
    /// `responsePayload.errorType`, when the function reported one.
    pub error_type: Option<String>,
}

impl FailedInvocation {
    pub(crate) fn from_record(record: &Value) -> Self {
        let context = &record["requestContext"];
        let function_arn = context["functionArn"].as_str().unwrap_or_default();
        let function = Arn::parse(function_arn)
            .ok()
            .and_then(|arn| {
                let name = arn.resource.strip_prefix("function:")?.split(':').next()?;
                (!name.is_empty()).then(|| name.to_owned())
            })
            .unwrap_or_else(|| "the provider function".to_owned());
        FailedInvocation {
            function,
            condition: context["condition"]
                .as_str()
                .unwrap_or("a failure")
                .to_owned(),
            attempts: context["approximateInvokeCount"].as_u64().unwrap_or(1),
            error_type: record["responsePayload"]["errorType"]
                .as_str()
                .map(str::to_owned),
        }
    }

    /// The Reason a user reads; the error message itself stays in the failed function's logs,
    /// as it may quote anything.
    pub fn reason(&self) -> String {
        let error = self
            .error_type
            .as_deref()
            .map(|kind| format!(" with {kind}"))
            .unwrap_or_default();
        format!(
            "{} failed{error} ({} after {} attempt{}) before it could answer; see its CloudWatch logs. It is safe to retry",
            self.function,
            self.condition,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )
    }
}

/// Answers FAILED for every request in an on-failure destination record.
pub struct FailureAnswerer {
    pipeline: Pipeline,
}

impl FailureAnswerer {
    pub fn new(settings: Settings) -> Self {
        FailureAnswerer {
            pipeline: Pipeline::new(
                FUNCTION,
                settings.allowed_response_url_prefixes,
                settings.emulated_identity,
                is_secret_property,
            ),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        let work = FailureWork {
            failed: FailedInvocation::from_record(&event.payload),
        };
        self.pipeline
            .answer(&work, &event.payload, &event.context)
            .await
    }
}

/// The failed invocation's requests, each answered FAILED with why.
struct FailureWork {
    failed: FailedInvocation,
}

impl Work for FailureWork {
    fn requests<'a>(&self, event: &'a Value) -> Result<&'a Value, Malformed> {
        event.get("requestPayload").ok_or_else(|| {
            Malformed("not an on-failure destination record: no requestPayload".into())
        })
    }

    async fn respond(
        &self,
        incoming: &Incoming,
        _secrets: &RequestSecrets,
        _deadline: Deadline,
    ) -> Option<Response> {
        let failed = &self.failed;
        tracing::warn!(
            function = %failed.function,
            condition = %failed.condition,
            "answering FAILED for a failed invocation",
        );
        // A continued Create that crashed answers with what it made, for the Delete to remove.
        let made = Progress::resuming(incoming.made.clone());
        Some(Response::failed(
            failure_physical_id(&incoming.request, &made),
            failed.reason(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reason_names_the_function_and_the_condition_but_not_the_message() {
        let record = json!({
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:lab-on-create:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "responsePayload": {"errorType": "Runtime.ExitError", "errorMessage": "hunter2 leaked"}
        });
        let failed = FailedInvocation::from_record(&record);
        assert_eq!(failed.function, "lab-on-create");
        let reason = failed.reason();
        assert_eq!(
            reason,
            "lab-on-create failed with Runtime.ExitError (RetriesExhausted after 3 attempts) before it could answer; see its CloudWatch logs. It is safe to retry"
        );
        assert!(!reason.contains("hunter2"));
    }
}
