//! A Lambda Runtime API on loopback (the HTTP protocol a function's runtime polls), driving a
//! real function binary: the test queues invocations, the binary fetches them with
//! `GET /2018-06-01/runtime/invocation/next` and posts its result or error back.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc};

/// What the function reported for an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationResult {
    Response(serde_json::Value),
    Error(serde_json::Value),
}

impl InvocationResult {
    /// The function's result; an error report here is a bug in the function or the test.
    pub fn response(self) -> serde_json::Value {
        match self {
            InvocationResult::Response(value) => value,
            InvocationResult::Error(error) => panic!("the function reported an error: {error}"),
        }
    }
}

struct Invocation {
    id: String,
    payload: serde_json::Value,
    deadline_ms: u64,
    function_arn: String,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    results: Mutex<HashMap<String, InvocationResult>>,
    finished: Notify,
    /// When the function first asked for an invocation: its init was over.
    first_poll: Mutex<Option<Instant>>,
    polled: Notify,
}

pub struct RuntimeApi {
    pub address: String,
    sender: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    next_id: Mutex<u64>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            results: Mutex::new(HashMap::new()),
            finished: Notify::new(),
            first_poll: Mutex::new(None),
            polled: Notify::new(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "the Lambda Runtime API stopped");
            }
        });
        Ok(RuntimeApi {
            address,
            sender,
            shared,
            server,
            next_id: Mutex::new(0),
        })
    }

    /// Queues an invocation of `function_arn` whose deadline is `time_left` from now; returns
    /// its request id.
    pub fn invoke(
        &self,
        function_arn: &str,
        payload: serde_json::Value,
        time_left: Duration,
    ) -> String {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            format!("invocation-{next}")
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        // The queue lives as long as the server this value owns.
        let _ = self.sender.send(Invocation {
            id: id.clone(),
            payload,
            deadline_ms: now_ms + time_left.as_millis() as u64,
            function_arn: function_arn.to_owned(),
        });
        id
    }

    /// Waits for the function's result for `id`; `None` when none came within `timeout` (the
    /// function hung or its process died).
    pub async fn try_result(&self, id: &str, timeout: Duration) -> Option<InvocationResult> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.finished.notified();
            if let Some(result) = lock(&self.shared.results).get(id).cloned() {
                return Some(result);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Waits for the function's result for `id`, which must come within `timeout`.
    pub async fn result(&self, id: &str, timeout: Duration) -> InvocationResult {
        match self.try_result(id, timeout).await {
            Some(result) => result,
            None => panic!("no result for {id} within {timeout:?}"),
        }
    }

    /// Invokes and waits for the result.
    /// When the function first polled for an invocation (the end of its init), waiting up to
    /// `timeout` for it.
    pub async fn first_poll(&self, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let polled = self.shared.polled.notified();
            if let Some(at) = *lock(&self.shared.first_poll) {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, polled).await.is_err() {
                return *lock(&self.shared.first_poll);
            }
        }
    }

    pub async fn call(
        &self,
        function_arn: &str,
        payload: serde_json::Value,
        time_left: Duration,
    ) -> InvocationResult {
        let id = self.invoke(function_arn, payload, time_left);
        self.result(&id, time_left + Duration::from_secs(10)).await
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    lock(&shared.first_poll).get_or_insert_with(Instant::now);
    shared.polled.notify_waiters();
    let invocation = shared.queue.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let header = |value: &str| {
        HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    };
    headers.insert("lambda-runtime-aws-request-id", header(&invocation.id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(&invocation.deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header(&invocation.function_arn),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        header("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    headers.insert("content-type", header("application/json"));
    (StatusCode::OK, headers, invocation.payload.to_string())
}

fn store(shared: &Shared, id: String, result: InvocationResult) -> StatusCode {
    lock(&shared.results).insert(id, result);
    shared.finished.notify_waiters();
    StatusCode::ACCEPTED
}

fn json_or_text(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    store(&shared, id, InvocationResult::Response(json_or_text(&body)))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    store(&shared, id, InvocationResult::Error(json_or_text(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    store(
        &shared,
        "init".to_owned(),
        InvocationResult::Error(json_or_text(&body)),
    )
}

/// A function binary running against a [`RuntimeApi`], its stdout and stderr captured.
pub struct FunctionProcess {
    child: Child,
    output: Arc<Mutex<String>>,
    /// Just before the process was spawned.
    pub started_at: Instant,
}

impl FunctionProcess {
    /// Starts `binary` as Lambda would, with `env` on top of a minimal Lambda environment.
    pub fn start(
        binary: &Path,
        runtime_api: &RuntimeApi,
        function_name: &str,
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]test")
            .env("AWS_REGION", super::REGION)
            .env("AWS_DEFAULT_REGION", super::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let started_at = Instant::now();
        let mut child = command.spawn()?;
        let output = Arc::new(Mutex::new(String::new()));
        let streams = [
            child
                .stdout
                .take()
                .map(|out| Box::new(out) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|err| Box::new(err) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut all = lock(&output);
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        Ok(FunctionProcess {
            child,
            output,
            started_at,
        })
    }

    /// The process's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Everything the function printed so far.
    pub fn logs(&self) -> String {
        lock(&self.output).clone()
    }

    /// The log lines, each parsed as the JSON it must be.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|_| panic!("log line is not JSON: {line}"))
            })
            .collect()
    }

    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.logs()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
