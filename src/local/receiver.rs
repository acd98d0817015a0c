//! A real HTTP server standing in for CloudFormation's pre-signed ResponseURL.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    /// `None` when the header was absent.
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    pub body: Vec<u8>,
    /// The status the receiver answered with.
    pub answered: u16,
}

impl Received {
    /// The body as JSON (`Null` when it is not JSON, which no response of ours is).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// How many more requests to refuse with 500.
    failures_left: Mutex<usize>,
    arrived: Notify,
}

pub struct Receiver {
    pub base_url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0").await
    }

    /// Listens at `address` (`127.0.0.1:9101`), where sample events send their answers.
    pub async fn start_on(address: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .fallback(any(record))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "the ResponseURL receiver stopped");
            }
        });
        Ok(Receiver {
            base_url: format!("http://{address}"),
            shared,
            server,
        })
    }

    /// A ResponseURL on this receiver with a pre-signed-looking query.
    pub fn url(&self, name: &str) -> String {
        format!(
            "{}/responses/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDTEST%2F20261126&X-Amz-Signature=5ec7e75167a7e3b0f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4",
            self.base_url
        )
    }

    /// The signature every [`Receiver::url`] carries.
    pub const SIGNATURE: &'static str =
        "5ec7e75167a7e3b0f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4";

    /// Answer the next `count` requests with HTTP 500.
    pub fn fail_next(&self, count: usize) {
        *lock(&self.shared.failures_left) = count;
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// The accepted (2xx) requests for one response name.
    pub fn accepted_for(&self, name: &str) -> Vec<Received> {
        let path = format!("/responses/{name}");
        self.received()
            .into_iter()
            .filter(|r| r.path == path && r.answered == 200)
            .collect()
    }

    /// Waits until `count` requests have been accepted in all, or `timeout` passes.
    pub async fn wait_for_accepted(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            let accepted: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|r| r.answered == 200)
                .collect();
            if accepted.len() >= count {
                return accepted;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return accepted;
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = {
        let mut failures = lock(&shared.failures_left);
        if *failures > 0 {
            *failures -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    };
    let received = Received {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        content_type: headers
            .get("content-type")
            .map(|value| value.to_str().unwrap_or("<non-ascii>").to_owned()),
        content_length: headers
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok()),
        body: body.to_vec(),
        answered: status.as_u16(),
    };
    lock(&shared.received).push(received);
    shared.arrived.notify_waiters();
    status
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
