//! The on-create, on-update and on-delete functions: from an invocation to one answered
//! response per request it carries.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::aws::Clients;
use crate::protocol::checks::check_request;
use crate::protocol::genuine;
use crate::protocol::guard::run_guarded;
use crate::protocol::marker::is_failed_create_marker;
use crate::protocol::redact::{RequestSecrets, redact};
use crate::protocol::{
    Deadline, FunctionIdentity, Incoming, Malformed, Progress, Request, RequestType, Response,
    ResponseSender, Status, parse_invocation,
};
use crate::settings::Settings;
use crate::slices::{self, SliceContext};
use crate::telemetry::InvocationIds;

/// Which request type a function answers. Requests of another type are left to their own
/// function (docs/design.md#routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionRole {
    OnCreate,
    OnUpdate,
    OnDelete,
}

impl FunctionRole {
    pub fn for_request_type(request_type: RequestType) -> Self {
        match request_type {
            RequestType::Create => FunctionRole::OnCreate,
            RequestType::Update => FunctionRole::OnUpdate,
            RequestType::Delete => FunctionRole::OnDelete,
        }
    }

    pub fn handles(self) -> RequestType {
        match self {
            FunctionRole::OnCreate => RequestType::Create,
            FunctionRole::OnUpdate => RequestType::Update,
            FunctionRole::OnDelete => RequestType::Delete,
        }
    }

    /// The function's name in the workspace and the template.
    pub fn function_name(self) -> &'static str {
        match self {
            FunctionRole::OnCreate => "on-create",
            FunctionRole::OnUpdate => "on-update",
            FunctionRole::OnDelete => "on-delete",
        }
    }
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

/// Time kept, before the guard's own answer, to answer that CloudFormation's record could not be
/// read.
const RECORD_READ_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Answers requests: built once in `main`, shared by every invocation.
pub struct Provider {
    role: FunctionRole,
    clients: Clients,
    settings: Arc<Settings>,
    sender: ResponseSender,
}

impl Provider {
    pub fn new(role: FunctionRole, clients: Clients, settings: Settings) -> Self {
        Provider {
            role,
            clients,
            settings: Arc::new(settings),
            sender: ResponseSender::new(),
        }
    }

    /// The function handler. It returns normally once every request is answered (so Lambda
    /// never retries an answered request), and an error only when an answer could not be
    /// delivered, so that Lambda's retries and then on-failure get another chance.
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
        let (handled, _secrets): (Vec<Handled>, Vec<Option<RequestSecrets>>) =
            match parse_invocation(&event.payload) {
                Ok(requests) => {
                    let work = requests.into_iter().map(|incoming| async {
                        match incoming {
                            Ok(incoming) => {
                                // Registered before anything else and kept until the result
                                // below is written.
                                let secrets = RequestSecrets::register(&incoming.request);
                                let handled = self
                                    .handle_one(
                                        incoming,
                                        &secrets,
                                        identity.as_ref(),
                                        deadline,
                                        ids,
                                    )
                                    .await;
                                (handled, Some(secrets))
                            }
                            Err(malformed) => (dropped_malformed(&malformed), None),
                        }
                    });
                    futures::future::join_all(work).await.into_iter().unzip()
                }
                Err(malformed) => (vec![dropped_malformed(&malformed)], vec![]),
            };
        finish(self.role.function_name(), handled)
    }

    async fn handle_one(
        &self,
        incoming: Incoming,
        secrets: &RequestSecrets,
        identity: Option<&FunctionIdentity>,
        deadline: Deadline,
        ids: &InvocationIds,
    ) -> Handled {
        let request = &incoming.request;
        let span = request_span(request, ids);
        async {
            if let Err(rejection) = check_request(
                request,
                identity,
                &self.settings.allowed_response_url_prefixes,
            ) {
                tracing::error!(reason = %rejection, "request dropped unanswered");
                return Handled::Dropped {
                    reason: rejection.to_string(),
                };
            }
            if request.request_type != self.role.handles() {
                let handled_by =
                    FunctionRole::for_request_type(request.request_type).function_name();
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
            let response = match self.respond(&incoming, secrets, deadline).await {
                Some(response) => response,
                None => {
                    tracing::info!("work continues in another invocation");
                    return Handled::Continued {
                        logical_resource_id: request.logical_resource_id.clone(),
                    };
                }
            };
            deliver(&self.sender, request, &response, deadline).await
        }
        .instrument(span)
        .await
    }

    /// The answer to a request that passed the checks: the work, guarded, once CloudFormation's
    /// record confirms the request.
    async fn respond(
        &self,
        incoming: &Incoming,
        secrets: &RequestSecrets,
        deadline: Deadline,
    ) -> Option<Response> {
        let request = &incoming.request;
        if request.request_type == RequestType::Delete
            && is_failed_create_marker(request.physical_id())
        {
            tracing::info!(
                "Delete of a failed Create's marker: nothing was made, nothing to delete"
            );
            return Some(Response::success(request.physical_id(), Default::default()));
        }
        let progress = Progress::resuming(incoming.made.clone());
        let context = SliceContext::new(
            self.clients.clone(),
            self.settings.clone(),
            deadline,
            progress.clone(),
            incoming.clone(),
            secrets.clone(),
        );
        let cloudformation = self.clients.cloudformation.clone();
        let genuine_request = request.clone();
        // The record is read until shortly before the guard would answer, so that a record that
        // cannot be read is answered as such rather than as a timeout.
        let read_until = deadline
            .answer_by()
            .checked_sub(RECORD_READ_MARGIN)
            .unwrap_or_else(tokio::time::Instant::now);
        let work = async move {
            genuine::confirm(&cloudformation, &genuine_request, read_until).await?;
            slices::run(genuine_request, context).await
        };
        run_guarded(request, deadline, &progress, work).await
    }
}

/// The span every log line of a request carries.
pub fn request_span(request: &Request, ids: &InvocationIds) -> tracing::Span {
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

/// PUTs the response, by the Lambda deadline at the latest.
pub async fn deliver(
    sender: &ResponseSender,
    request: &Request,
    response: &Response,
    deadline: Deadline,
) -> Handled {
    let body = response.encode(request);
    let status = match response.status {
        Status::Success => "SUCCESS",
        Status::Failed => "FAILED",
    };
    match sender.put(&request.response_url, body, deadline.at()).await {
        Ok(_) => {
            tracing::info!(status, PhysicalResourceId = %response.physical_resource_id, "answered");
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

pub fn dropped_malformed(malformed: &Malformed) -> Handled {
    tracing::error!(reason = %malformed, "request dropped unanswered");
    Handled::Dropped {
        reason: malformed.to_string(),
    }
}

/// The function's result: what became of each request. An undelivered answer is an error, so
/// that Lambda retries the invocation.
pub fn finish(function: &str, handled: Vec<Handled>) -> Result<Value, lambda_runtime::Error> {
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
        let result = finish("on-create", handled).unwrap();
        assert_eq!(result["requests"][0]["reason"], "malformed request: ***");
        assert_eq!(result["function"], "on-create");
        drop(scope);
    }
}
