//! The on-failure function: Lambda's on-failure destination hands it the invocation that
//! crashed, ran out of memory or timed out after its retries; it answers each request inside
//! FAILED, so the stack does not wait an hour.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::Instrument;

use crate::protocol::checks::check_request;
use crate::protocol::guard::{Progress, failure_physical_id};
use crate::protocol::redact::register_request;
use crate::protocol::{
    Deadline, FunctionIdentity, Incoming, Malformed, Response, ResponseSender, parse_invocation,
};
use crate::provider::{Handled, deliver, dropped_malformed, finish, request_span};
use crate::settings::Settings;
use crate::telemetry::InvocationIds;

const FUNCTION: &str = "on-failure";

/// What Lambda says about the failed invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedInvocation {
    /// The function that failed, from `requestContext.functionArn`.
    pub function: String,
    /// `RetriesExhausted`, `EventAgeExceeded`, …
    pub condition: String,
    pub attempts: u64,
    /// `responsePayload.errorType`, when the function reported one.
    pub error_type: Option<String>,
}

impl FailedInvocation {
    pub fn from_record(record: &Value) -> Self {
        let context = &record["requestContext"];
        let function_arn = context["functionArn"].as_str().unwrap_or_default();
        let function = function_arn
            .split(":function:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .filter(|name| !name.is_empty())
            .unwrap_or("the provider function")
            .to_owned();
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
    settings: Settings,
    sender: ResponseSender,
}

impl FailureAnswerer {
    pub fn new(settings: Settings) -> Self {
        FailureAnswerer {
            settings,
            sender: ResponseSender::new(),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        let ids = InvocationIds::of(&event.context);
        let span = ids.span();
        self.handle_invocation(event, &ids).instrument(span).await
    }

    async fn handle_invocation(
        &self,
        event: LambdaEvent<Value>,
        ids: &InvocationIds,
    ) -> Result<Value, lambda_runtime::Error> {
        let identity = FunctionIdentity::from_function_arn(&event.context.invoked_function_arn);
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        let failed = FailedInvocation::from_record(&event.payload);
        let handled = match event.payload.get("requestPayload").map(parse_invocation) {
            Some(Ok(requests)) => {
                let work = requests.into_iter().map(|request| {
                    self.answer_failed(request, &failed, identity.as_ref(), deadline, ids)
                });
                futures::future::join_all(work).await
            }
            Some(Err(malformed)) => vec![dropped_malformed(&malformed)],
            None => vec![dropped_malformed(&Malformed(
                "not an on-failure destination record: no requestPayload".into(),
            ))],
        };
        finish(FUNCTION, handled)
    }

    async fn answer_failed(
        &self,
        incoming: Result<Incoming, Malformed>,
        failed: &FailedInvocation,
        identity: Option<&FunctionIdentity>,
        deadline: Deadline,
        ids: &InvocationIds,
    ) -> Handled {
        let (request, made) = match incoming {
            Ok(incoming) => (incoming.request, incoming.made),
            Err(malformed) => return dropped_malformed(&malformed),
        };
        let _secrets = register_request(&request);
        async {
            if let Err(rejection) = check_request(&request, identity, &self.settings.allowed_response_url_prefixes) {
                tracing::error!(reason = %rejection, "request dropped unanswered");
                return Handled::Dropped { reason: rejection.to_string() };
            }
            tracing::warn!(function = %failed.function, condition = %failed.condition, "answering FAILED for a failed invocation");
            // A continued Create that crashed answers with what it made, for the Delete to remove.
            let response = Response::failed(
                failure_physical_id(&request, &Progress::resuming(made)),
                failed.reason(),
            );
            deliver(&self.sender, &request, &response, deadline).await
        }
        .instrument(request_span(&request, ids))
        .await
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
