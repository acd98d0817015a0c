//! The one response a request gets: a JSON body of at most 4096 bytes, PUT to the ResponseURL
//! with an empty Content-Type and an exact Content-Length, retried a few times with backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use tokio::time::Instant;

use super::Request;
use super::redact::{redact, url_origin};
use crate::text::{ELLIPSIS_BYTES, shorten_middle};
use crate::wait::{Backoff, retry_until};

/// CloudFormation rejects larger response bodies.
pub(crate) const MAX_BODY_BYTES: usize = 4096;
/// A Reason is shortened to this before Data is dropped.
const MIN_REASON_BYTES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failed,
}

/// What a request is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub reason: Option<String>,
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
}

impl Response {
    pub fn success(
        physical_resource_id: impl Into<String>,
        data: BTreeMap<String, String>,
    ) -> Self {
        Response {
            status: Status::Success,
            reason: None,
            physical_resource_id: physical_resource_id.into(),
            data,
        }
    }

    pub fn failed(physical_resource_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Response {
            status: Status::Failed,
            reason: Some(reason.into()),
            physical_resource_id: physical_resource_id.into(),
            data: BTreeMap::new(),
        }
    }

    /// The JSON body for `request`: redacted, and at most `MAX_BODY_BYTES` (4096 bytes) long. Reason is
    /// shortened first (keeping its head and tail), then Data is dropped.
    pub fn encode(&self, request: &Request) -> Vec<u8> {
        let mut reason = self.reason.as_deref().map(redact);
        let mut data: BTreeMap<String, String> = self
            .data
            .iter()
            .map(|(key, value)| (key.clone(), redact(value)))
            .collect();
        loop {
            let body = self.body(request, reason.as_deref(), &data);
            let excess = body.len().saturating_sub(MAX_BODY_BYTES);
            if excess == 0 {
                return body;
            }
            let reason_len = reason.as_ref().map_or(0, String::len);
            if reason_len > MIN_REASON_BYTES || (data.is_empty() && reason_len > 0) {
                let floor = if data.is_empty() { 0 } else { MIN_REASON_BYTES };
                let target = reason_len
                    .saturating_sub(excess + ELLIPSIS_BYTES)
                    .max(floor);
                reason = reason.map(|text| shorten_middle(&text, target));
            } else if !data.is_empty() {
                data.clear();
            } else {
                // Only CloudFormation's own ids are left; they fit in practice. Send them bare.
                return body;
            }
        }
    }

    fn body(
        &self,
        request: &Request,
        reason: Option<&str>,
        data: &BTreeMap<String, String>,
    ) -> Vec<u8> {
        let mut response = CloudFormationCustomResourceResponse::default();
        response.status = match self.status {
            Status::Success => CloudFormationCustomResourceResponseStatus::Success,
            Status::Failed => CloudFormationCustomResourceResponseStatus::Failed,
        };
        response.reason = reason.map(str::to_owned);
        response.physical_resource_id = self.physical_resource_id.clone();
        response.stack_id = request.stack_id.clone();
        response.request_id = request.request_id.clone();
        response.logical_resource_id = request.logical_resource_id.clone();
        response.no_echo = false;
        response.data = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        serde_json::to_vec(&response).unwrap_or_default()
    }
}

/// Why a response could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("ResponseURL {origin} answered HTTP {status} to all {attempts} attempts")]
    Rejected {
        origin: String,
        status: u16,
        attempts: u32,
    },
    #[error("ResponseURL {origin} could not be reached in {attempts} attempts: {cause}")]
    Unreachable {
        origin: String,
        attempts: u32,
        cause: String,
    },
}

impl SendError {
    fn attempts(&self) -> u32 {
        match self {
            SendError::Rejected { attempts, .. } | SendError::Unreachable { attempts, .. } => {
                *attempts
            }
        }
    }
}

/// The options every response client has: a short connect timeout, and no redirect (a
/// pre-signed URL is answered where it points, nowhere else).
fn response_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
}

/// A response client trusting the system's store.
fn system_store_client() -> reqwest::Client {
    response_client_builder().build().unwrap_or_default()
}

/// A response client trusting the compiled-in roots (see [`crate::tls`]). In the aws and
/// aws-us-gov partitions the PUT goes only to CloudFormation's own S3 bucket, whose chain those
/// roots hold.
fn compiled_in_roots_client() -> reqwest::Client {
    crate::tls::with_compiled_in_roots(response_client_builder())
        .build()
        .unwrap_or_else(|_| system_store_client())
}

/// Whether `url` is in the China partition, whose S3 chains the compiled-in roots are not
/// known to hold: there the system's store decides.
fn needs_system_store(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(crate::tls::is_china_host))
        .unwrap_or(false)
}

/// Sends responses; built once per function and shared.
#[derive(Debug, Clone)]
pub struct ResponseSender {
    client: reqwest::Client,
    /// Built the first time a URL needs the system's trust store.
    system_store_client: std::sync::OnceLock<reqwest::Client>,
    attempts: u32,
    backoff: Backoff,
    attempt_timeout: Duration,
}

impl Default for ResponseSender {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseSender {
    pub const ATTEMPTS: u32 = 4;

    pub fn new() -> Self {
        ResponseSender {
            client: compiled_in_roots_client(),
            system_store_client: std::sync::OnceLock::new(),
            attempts: Self::ATTEMPTS,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(2)),
            attempt_timeout: Duration::from_secs(8),
        }
    }

    fn client_for(&self, url: &str) -> &reqwest::Client {
        if needs_system_store(url) {
            self.system_store_client.get_or_init(system_store_client)
        } else {
            &self.client
        }
    }

    /// PUTs `body` to `url`, retrying failures and non-2xx answers with backoff, never past
    /// `deadline`. The last error is returned; it never contains the URL's query.
    pub async fn put(&self, url: &str, body: Vec<u8>, deadline: Instant) -> Result<u32, SendError> {
        let origin = url_origin(url);
        if deadline <= Instant::now() {
            return Err(SendError::Unreachable {
                origin,
                attempts: 0,
                cause: "no time left before the deadline".into(),
            });
        }
        let mut attempt = 0;
        retry_until(
            deadline,
            self.backoff,
            |err: &SendError| err.attempts() < self.attempts,
            || {
                attempt += 1;
                self.put_once(url, &body, &origin, attempt, deadline)
            },
        )
        .await
    }

    async fn put_once(
        &self,
        url: &str,
        body: &[u8],
        origin: &str,
        attempt: u32,
        deadline: Instant,
    ) -> Result<u32, SendError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let sent = self
            .client_for(url)
            .put(url)
            // CloudFormation's pre-signed URL is signed for an empty Content-Type.
            .header(reqwest::header::CONTENT_TYPE, "")
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(body.to_vec())
            .timeout(self.attempt_timeout.min(remaining))
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => {
                tracing::info!(
                    attempt,
                    status = answer.status().as_u16(),
                    "response delivered"
                );
                Ok(attempt)
            }
            Ok(answer) => {
                let status = answer.status().as_u16();
                tracing::warn!(
                    attempt,
                    status,
                    origin = %origin,
                    "ResponseURL refused the response",
                );
                Err(SendError::Rejected {
                    origin: origin.to_owned(),
                    status,
                    attempts: attempt,
                })
            }
            Err(err) => {
                let cause = redact(&err.without_url().to_string());
                tracing::warn!(
                    attempt,
                    cause = %cause,
                    origin = %origin,
                    "response PUT failed",
                );
                Err(SendError::Unreachable {
                    origin: origin.to_owned(),
                    attempts: attempt,
                    cause,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestType;
    use crate::protocol::request::tests::sample_request;

    fn parse(body: &[u8]) -> serde_json::Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn only_the_china_partition_uses_the_system_store() {
        let sender = ResponseSender::new();
        let global =
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1";
        let china = "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x?sig=1";
        assert!(std::ptr::eq(sender.client_for(global), &sender.client));
        assert!(
            sender.system_store_client.get().is_none(),
            "built only when needed"
        );
        assert!(!std::ptr::eq(sender.client_for(china), &sender.client));
        assert!(sender.system_store_client.get().is_some());
        assert!(!needs_system_store("http://127.0.0.1:9101/responses/x"));
        assert!(needs_system_store(
            "https://bucket.s3.cn-northwest-1.AMAZONAWS.com.cn/x"
        ));
    }

    #[test]
    fn success_bodies_carry_ids_and_data() {
        let request = sample_request(RequestType::Create);
        let data = BTreeMap::from([("Arn".to_owned(), "arn:x".to_owned())]);
        let body = parse(&Response::success("arn:x", data).encode(&request));
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(body["PhysicalResourceId"], "arn:x");
        assert_eq!(body["StackId"], request.stack_id.as_str());
        assert_eq!(body["RequestId"], request.request_id.as_str());
        assert_eq!(body["LogicalResourceId"], "Cluster");
        assert_eq!(body["Data"]["Arn"], "arn:x");
    }

    #[test]
    fn a_long_reason_is_shortened_keeping_head_and_tail() {
        let request = sample_request(RequestType::Create);
        let reason = format!("HEAD{}TAIL", "x".repeat(10_000));
        let body = Response::failed("id", reason).encode(&request);
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        let reason = parse(&body)["Reason"].as_str().unwrap().to_owned();
        assert!(
            reason.starts_with("HEAD") && reason.ends_with("TAIL"),
            "{reason}"
        );
        assert!(
            body.len() > MAX_BODY_BYTES - 64,
            "uses the room it has: {}",
            body.len()
        );
    }

    #[test]
    fn reasons_full_of_escapes_and_multibyte_characters_still_fit() {
        let request = sample_request(RequestType::Create);
        for filler in ["\"", "\u{1}", "é", "💥"] {
            let body = Response::failed("id", filler.repeat(5000)).encode(&request);
            assert!(body.len() <= MAX_BODY_BYTES, "{filler}: {}", body.len());
            parse(&body);
        }
    }

    #[test]
    fn data_is_dropped_when_the_reason_alone_cannot_make_room() {
        let request = sample_request(RequestType::Create);
        let mut response =
            Response::success("id", BTreeMap::from([("Big".to_owned(), "d".repeat(5000))]));
        response.reason = Some("r".repeat(2000));
        let body = response.encode(&request);
        assert!(body.len() <= MAX_BODY_BYTES);
        let parsed = parse(&body);
        assert!(parsed["Data"].as_object().unwrap().is_empty());
        assert!(parsed["Reason"].as_str().unwrap().len() >= MIN_REASON_BYTES);
    }

    #[test]
    fn small_data_survives_a_long_reason() {
        let request = sample_request(RequestType::Create);
        let mut response = Response::success(
            "id",
            BTreeMap::from([("Arn".to_owned(), "arn:x".to_owned())]),
        );
        response.reason = Some("r".repeat(9000));
        let parsed = parse(&response.encode(&request));
        assert_eq!(parsed["Data"]["Arn"], "arn:x");
    }

    #[test]
    fn shorten_middle_respects_char_boundaries() {
        let text = "ééééééééééé";
        let short = shorten_middle(text, 12);
        assert!(short.len() <= 12, "{short}");
    }
}
