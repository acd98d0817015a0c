//! The one way an invocation becomes answers, for every function that answers CloudFormation:
//! parse → secrets → span → checks → work → deliver → result. What differs between functions is
//! only the [`Work`] it is handed.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use super::checks::check_request;
use super::redact::{RequestSecrets, SecretNames, redact};
use super::{
    Deadline, FunctionIdentity, Incoming, Malformed, Request, RequestType, Response,
    ResponseSender, Status, parse_invocation,
};

/// What a function does with the requests an invocation carries.
pub trait Work: Sync {
    /// Where the requests are in the invocation's event: the event itself, unless a function
    /// receives them wrapped (on-failure's destination record).
    fn requests<'a>(&self, event: &'a Value) -> Result<&'a Value, Malformed> {
        Ok(event)
    }

    /// `Some(function)` when another function answers this request, which is then left alone
    /// (docs/design.md#routing).
    fn handled_by(&self, _request: &Request) -> Option<&'static str> {
        None
    }

    /// The answer to a request that passed the checks, or `None` when another invocation of
    /// this function goes on with it and answers.
    fn respond(
        &self,
        incoming: &Incoming,
        secrets: &RequestSecrets,
        deadline: Deadline,
    ) -> impl Future<Output = Option<Response>> + Send;
}

/// What became of one request; the function's result lists one per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Handled {
    Answered {
        logical_resource_id: String,
        request_type: RequestType,
        status: &'static str,
        physical_resource_id: String,
    },
    /// The work continues in another invocation, which answers.
    Continued { logical_resource_id: String },
    /// Another function answers this request type.
    NotMine {
        logical_resource_id: String,
        request_type: RequestType,
        handled_by: &'static str,
    },
    /// Not answered: malformed, or failing the checks before any work.
    Dropped { reason: String },
    /// The answer could not be delivered.
    Undelivered {
        logical_resource_id: String,
        error: String,
    },
}

/// Lambda's ids of one invocation. Every log line carries them, so that it can be joined with
/// Lambda's own START, REPORT and timeout lines and with the X-Ray trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InvocationIds {
    pub request_id: String,
    pub xray_trace_id: Option<String>,
}

impl InvocationIds {
    pub fn of(context: &lambda_runtime::Context) -> Self {
        InvocationIds {
            request_id: context.request_id.clone(),
            xray_trace_id: context.xray_trace_id.clone(),
        }
    }

    /// The span of everything the invocation logs outside a request's own span.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "invocation",
            requestId = %self.request_id,
            xrayTraceId = self.xray_trace_id.as_deref().unwrap_or_default(),
        )
    }
}

/// The span every log line of a request carries.
pub(crate) fn request_span(request: &Request, ids: &InvocationIds) -> tracing::Span {
    tracing::info_span!(
        "request",
        requestId = %ids.request_id,
        xrayTraceId = ids.xray_trace_id.as_deref().unwrap_or_default(),
        RequestType = %request.request_type,
        StackId = %request.stack_id,
        LogicalResourceId = %request.logical_resource_id,
        RequestId = %request.request_id,
        ResourceType = %request.resource_type,
    )
}

/// The pipeline of one function: built once in `main`, shared by every invocation.
pub(crate) struct Pipeline {
    function: &'static str,
    allowed_response_url_prefixes: Vec<String>,
    /// Set only under a local Lambda emulator (see [`FunctionIdentity::of_invocation`]).
    emulated_identity: Option<super::EmulatedIdentity>,
    secret_names: SecretNames,
    sender: ResponseSender,
}

impl Pipeline {
    pub fn new(
        function: &'static str,
        allowed_response_url_prefixes: Vec<String>,
        emulated_identity: Option<super::EmulatedIdentity>,
        secret_names: SecretNames,
    ) -> Self {
        Pipeline {
            function,
            allowed_response_url_prefixes,
            emulated_identity,
            secret_names,
            sender: ResponseSender::new(),
        }
    }

    /// Answers every request an invocation carries. It returns normally once every request is
    /// answered (so Lambda never retries an answered request), and an error only when an answer
    /// could not be delivered, so that Lambda's retries and then on-failure get another chance.
    pub async fn answer<W: Work>(
        &self,
        work: &W,
        event: &Value,
        context: &lambda_runtime::Context,
    ) -> Result<Value, lambda_runtime::Error> {
        let ids = InvocationIds::of(context);
        let span = ids.span();
        self.answer_all(work, event, context, &ids)
            .instrument(span)
            .await
    }

    async fn answer_all<W: Work>(
        &self,
        work: &W,
        event: &Value,
        context: &lambda_runtime::Context,
        ids: &InvocationIds,
    ) -> Result<Value, lambda_runtime::Error> {
        let identity = FunctionIdentity::of_invocation(
            &context.invoked_function_arn,
            self.emulated_identity.as_ref(),
        );
        let deadline = Deadline::from_epoch_millis(context.deadline);
        let parsed = work.requests(event).and_then(parse_invocation);
        // The secrets stay registered until the result below is written.
        let (handled, _secrets): (Vec<Handled>, Vec<Option<RequestSecrets>>) = match parsed {
            Ok(requests) => {
                let each = requests.into_iter().map(|incoming| async {
                    match incoming {
                        Ok(incoming) => {
                            let secrets =
                                RequestSecrets::register(&incoming.request, self.secret_names);
                            let span = request_span(&incoming.request, ids);
                            let handled = self
                                .answer_one(work, incoming, &secrets, identity.as_ref(), deadline)
                                .instrument(span)
                                .await;
                            (handled, Some(secrets))
                        }
                        Err(malformed) => (dropped(&malformed), None),
                    }
                });
                futures::future::join_all(each).await.into_iter().unzip()
            }
            Err(malformed) => (vec![dropped(&malformed)], vec![]),
        };
        result(self.function, handled)
    }

    async fn answer_one<W: Work>(
        &self,
        work: &W,
        incoming: Incoming,
        secrets: &RequestSecrets,
        identity: Option<&FunctionIdentity>,
        deadline: Deadline,
    ) -> Handled {
        let request = &incoming.request;
        if let Err(rejection) =
            check_request(request, identity, &self.allowed_response_url_prefixes)
        {
            tracing::error!(reason = %rejection, "request dropped unanswered");
            return Handled::Dropped {
                reason: rejection.to_string(),
            };
        }
        if let Some(handled_by) = work.handled_by(request) {
            tracing::warn!(
                handled_by,
                "request of another type reached this function: left for {handled_by} to answer"
            );
            return Handled::NotMine {
                logical_resource_id: request.logical_resource_id.clone(),
                request_type: request.request_type,
                handled_by,
            };
        }
        tracing::info!(continuations = incoming.continuations, "request received");
        match work.respond(&incoming, secrets, deadline).await {
            Some(response) => self.deliver(request, &response, deadline).await,
            None => {
                tracing::info!("work continues in another invocation");
                Handled::Continued {
                    logical_resource_id: request.logical_resource_id.clone(),
                }
            }
        }
    }

    /// PUTs the response, by the Lambda deadline at the latest.
    async fn deliver(&self, request: &Request, response: &Response, deadline: Deadline) -> Handled {
        let body = response.encode(request);
        let status = match response.status {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        };
        match self
            .sender
            .put(&request.response_url, body, deadline.at())
            .await
        {
            Ok(_) => {
                // The Reason too, so that every FAILED answer can be found with its cause.
                tracing::info!(
                    status,
                    PhysicalResourceId = %response.physical_resource_id,
                    reason = response.reason.as_deref().unwrap_or_default(),
                    "answered",
                );
                Handled::Answered {
                    logical_resource_id: request.logical_resource_id.clone(),
                    request_type: request.request_type,
                    status,
                    physical_resource_id: response.physical_resource_id.clone(),
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "the response could not be delivered");
                Handled::Undelivered {
                    logical_resource_id: request.logical_resource_id.clone(),
                    error: err.to_string(),
                }
            }
        }
    }
}

fn dropped(malformed: &Malformed) -> Handled {
    tracing::error!(reason = %malformed, "request dropped unanswered");
    Handled::Dropped {
        reason: malformed.to_string(),
    }
}

/// The function's result: what became of each request, every string masked. An undelivered
/// answer is an error, so that Lambda retries the invocation.
pub fn result(function: &str, handled: Vec<Handled>) -> Result<Value, lambda_runtime::Error> {
    let undelivered: Vec<&str> = handled
        .iter()
        .filter_map(|item| match item {
            Handled::Undelivered {
                logical_resource_id,
                ..
            } => Some(logical_resource_id.as_str()),
            _ => None,
        })
        .collect();
    if !undelivered.is_empty() {
        return Err(format!(
            "{function}: the response for {} could not be delivered to its ResponseURL",
            undelivered.join(", ")
        )
        .into());
    }
    let mut result = serde_json::json!({ "function": function, "requests": handled });
    redact_strings(&mut result);
    Ok(result)
}

/// Masks secrets in every string of a JSON value, keeping its shape: redacting the serialised text
/// instead could break the JSON and leave only the unredacted original to return.
fn redact_strings(value: &mut Value) {
    match value {
        Value::String(text) => *text = redact(text),
        Value::Array(items) => items.iter_mut().for_each(redact_strings),
        Value::Object(map) => map.values_mut().for_each(redact_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::redact::SecretScope;

    #[test]
    fn the_result_is_redacted_even_when_a_secret_looks_like_json() {
        let mut scope = SecretScope::empty();
        // A secret that is a piece of the result's own JSON text, and one in a value.
        scope.add("\"function\":\"on-create\"");
        scope.add("hunter2-in-an-id");
        let handled = vec![Handled::Dropped {
            reason: "malformed request: hunter2-in-an-id".into(),
        }];
        let result = result("on-create", handled).unwrap();
        assert_eq!(result["requests"][0]["reason"], "malformed request: ***");
        assert_eq!(result["function"], "on-create");
        drop(scope);
    }
}
