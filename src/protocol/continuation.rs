//! Going on with a request in a new invocation of the same function when a wait outlasts this
//! one (docs/design.md#long-waits): the request, minus its secret properties, with when it was
//! first known to exist and what it has made.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::Incoming;
use super::redact::SecretNames;

/// Why a wait could not be handed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandOverFailed {
    #[error("cannot go on {what} in a new invocation: AWS_LAMBDA_FUNCTION_NAME is not set")]
    NoFunctionName { what: String },
    #[error("continuing the wait in a new invocation of ({function}): {cause}")]
    Invoke { function: String, cause: String },
}

/// Hands requests over to new asynchronous invocations of this function.
#[derive(Debug, Clone)]
pub struct Continuation {
    lambda: aws_sdk_lambda::Client,
    function_name: Option<String>,
    secret_names: SecretNames,
}

impl Continuation {
    pub fn new(
        lambda: aws_sdk_lambda::Client,
        function_name: Option<String>,
        secret_names: SecretNames,
    ) -> Self {
        Continuation {
            lambda,
            function_name,
            secret_names,
        }
    }

    /// Invokes this function asynchronously with the request; that invocation answers.
    pub(crate) async fn hand_over(
        &self,
        incoming: &Incoming,
        made: Option<String>,
        what: &str,
    ) -> Result<(), HandOverFailed> {
        let function =
            self.function_name
                .as_deref()
                .ok_or_else(|| HandOverFailed::NoFunctionName {
                    what: what.to_owned(),
                })?;
        let payload = incoming
            .continuation_payload(made, self.secret_names)
            .to_string();
        self.lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|err| HandOverFailed::Invoke {
                function: function.to_owned(),
                cause: crate::aws::describe_sdk_error(&err),
            })?;
        tracing::info!(
            function,
            continuations = incoming.continuations + 1,
            "wait handed over to a new invocation: {what}"
        );
        Ok(())
    }
}
