//! The guard that makes "exactly one response per request" true. The work runs in its own task;
//! whatever happens to it — a result, an error, a panic, or the Lambda deadline coming close —
//! the guard turns it into one [`Response`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::marker::failed_create_marker;
use super::{Request, RequestType, Response};

/// The least and most time kept back before the Lambda deadline to answer in: enough for the
/// PUT and its retries, and at most a small share of a short invocation.
const MIN_MARGIN: Duration = Duration::from_secs(1);
const MAX_MARGIN: Duration = Duration::from_secs(10);

/// The Lambda deadline of the current invocation, and when the guard answers if the work is not
/// done by then.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    answer_by: Instant,
}

impl Deadline {
    /// From the runtime's `Lambda-Runtime-Deadline-Ms` (milliseconds since the Unix epoch).
    pub(crate) fn from_epoch_millis(deadline_ms: u64) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_millis() as u64)
            .unwrap_or_default();
        Self::after(Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
    }

    pub fn after(remaining: Duration) -> Self {
        let now = Instant::now();
        let margin = (remaining / 4).clamp(MIN_MARGIN, MAX_MARGIN).min(remaining);
        Deadline {
            at: now + remaining,
            answer_by: now + remaining - margin,
        }
    }

    /// The hard end of the invocation: responses must be sent by then.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// When work must stop so that the answer still goes out in time.
    pub(crate) fn answer_by(&self) -> Instant {
        self.answer_by
    }
}

/// What the work has made or taken up so far. A Create cut short (by an error whose undo failed,
/// a panic or the deadline) answers with this id instead of the marker, so the Delete that
/// follows cleans up (docs/design.md#failed-create).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Option<Held>>>);

#[derive(Debug, Clone)]
struct Held {
    physical_id: String,
    /// Made by this request (not an existing resource it adopted): its failure undoes it.
    made: bool,
}

impl Progress {
    /// Progress that starts from what an earlier invocation of the request made.
    pub(crate) fn resuming(made: Option<String>) -> Self {
        Progress(Arc::new(Mutex::new(made.map(|physical_id| Held {
            physical_id,
            made: true,
        }))))
    }

    fn set(&self, held: Option<Held>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = held;
    }

    /// Records that this request made the resource with this id.
    pub fn made(&self, physical_id: impl Into<String>) {
        self.set(Some(Held {
            physical_id: physical_id.into(),
            made: true,
        }));
    }

    /// Records that this request took up an existing resource of its own (a redelivery).
    pub fn adopted(&self, physical_id: impl Into<String>) {
        let physical_id = physical_id.into();
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Adopting what this request itself made earlier keeps it made.
        let made = held
            .as_ref()
            .is_some_and(|held| held.made && held.physical_id == physical_id);
        *held = Some(Held { physical_id, made });
    }

    /// Records that what was made has been removed again.
    pub fn undone(&self) {
        self.set(None);
    }

    /// The id a cut-short Create answers with: what it made or adopted.
    pub(crate) fn current(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|held| held.physical_id.clone())
    }

    /// What this request itself made (carried into a continuation).
    pub(crate) fn made_by_this_request(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|held| held.made)
            .map(|held| held.physical_id.clone())
    }
}

/// How the work ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        physical_resource_id: String,
        data: BTreeMap<String, String>,
    },
    /// The work goes on in another invocation, which will answer.
    Continued,
}

/// Runs `work` and turns however it ends into one response, or `None` when it continues
/// elsewhere. Never panics and never outlives `deadline.answer_by()`.
pub(crate) async fn run_guarded<W, E>(
    request: &Request,
    deadline: Deadline,
    progress: &Progress,
    work: W,
) -> Option<Response>
where
    W: Future<Output = Result<Outcome, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    // The task carries the request's span, so that every line the work logs names the request.
    let task = tokio::spawn(tracing::Instrument::instrument(
        work,
        tracing::Span::current(),
    ));
    let abort = task.abort_handle();
    let joined = tokio::select! {
        joined = task => joined,
        () = tokio::time::sleep_until(deadline.answer_by()) => {
            abort.abort();
            tracing::error!("deadline close: answering FAILED before the Lambda is stopped");
            return Some(Response::failed(
                failure_physical_id(request, progress),
                format!(
                    "timed out: the work did not finish within this invocation ({}s kept back before the Lambda deadline to answer); it is safe to retry",
                    deadline.at().saturating_duration_since(deadline.answer_by()).as_secs()
                ),
            ));
        }
    };
    match joined {
        Ok(Ok(Outcome::Done {
            physical_resource_id,
            data,
        })) => Some(Response::success(physical_resource_id, data)),
        Ok(Ok(Outcome::Continued)) => None,
        Ok(Err(err)) => {
            let reason = err.to_string();
            tracing::warn!(reason = %super::redact::redact(&reason), "answering FAILED");
            Some(Response::failed(
                failure_physical_id(request, progress),
                reason,
            ))
        }
        Err(join_error) => {
            let detail = if join_error.is_panic() {
                panic_message(join_error.into_panic())
            } else {
                "the work was cancelled".to_owned()
            };
            tracing::error!(
                detail = %super::redact::redact(&detail),
                "handler panicked: answering FAILED",
            );
            Some(Response::failed(
                failure_physical_id(request, progress),
                format!(
                    "internal error in the provider (panic: {detail}); see the function's logs"
                ),
            ))
        }
    }
}

/// The id a failed request answers with: for a Create, what exists (to be deleted next) or the
/// marker; otherwise the id CloudFormation gave.
pub(crate) fn failure_physical_id(request: &Request, progress: &Progress) -> String {
    match request.request_type {
        RequestType::Create => progress
            .current()
            .unwrap_or_else(|| failed_create_marker(request)),
        RequestType::Update | RequestType::Delete => request.physical_id().to_owned(),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "no message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Status;
    use crate::protocol::marker::is_failed_create_marker;
    use crate::protocol::request::tests::sample_request;

    fn done(id: &str) -> Result<Outcome, String> {
        Ok(Outcome::Done {
            physical_resource_id: id.to_owned(),
            data: BTreeMap::new(),
        })
    }

    #[tokio::test]
    async fn success_answers_success() {
        let request = sample_request(RequestType::Create);
        let response = run_guarded(
            &request,
            Deadline::after(Duration::from_secs(30)),
            &Progress::default(),
            async { done("arn:x") },
        )
        .await
        .unwrap();
        assert_eq!(response.status, Status::Success);
        assert_eq!(response.physical_resource_id, "arn:x");
    }

    #[tokio::test]
    async fn an_error_answers_failed_with_its_text_and_the_marker() {
        let request = sample_request(RequestType::Create);
        let response = run_guarded(
            &request,
            Deadline::after(Duration::from_secs(30)),
            &Progress::default(),
            async { Err::<Outcome, _>("creating ECS cluster (lab): AccessDenied".to_owned()) },
        )
        .await
        .unwrap();
        assert_eq!(response.status, Status::Failed);
        assert_eq!(
            response.reason.as_deref(),
            Some("creating ECS cluster (lab): AccessDenied")
        );
        assert!(is_failed_create_marker(&response.physical_resource_id));
    }

    #[tokio::test]
    async fn a_create_that_left_something_behind_answers_its_arn() {
        let request = sample_request(RequestType::Create);
        let progress = Progress::default();
        let recorder = progress.clone();
        let response = run_guarded(
            &request,
            Deadline::after(Duration::from_secs(30)),
            &progress,
            async move {
                recorder.made("arn:aws:ecs:us-east-1:123456789012:cluster/half");
                Err::<Outcome, _>("tagging failed and so did the undo".to_owned())
            },
        )
        .await
        .unwrap();
        assert_eq!(
            response.physical_resource_id,
            "arn:aws:ecs:us-east-1:123456789012:cluster/half"
        );
    }

    #[tokio::test]
    async fn an_update_failure_answers_the_id_it_was_given() {
        let request = sample_request(RequestType::Update);
        let response = run_guarded(
            &request,
            Deadline::after(Duration::from_secs(30)),
            &Progress::default(),
            async { Err::<Outcome, _>("nope".to_owned()) },
        )
        .await
        .unwrap();
        assert_eq!(response.physical_resource_id, request.physical_id());
    }

    #[tokio::test]
    async fn a_panic_answers_failed() {
        let request = sample_request(RequestType::Delete);
        let response = run_guarded(
            &request,
            Deadline::after(Duration::from_secs(30)),
            &Progress::default(),
            async {
                if request_is_cursed() {
                    panic!("boom");
                }
                done("x")
            },
        )
        .await
        .unwrap();
        assert_eq!(response.status, Status::Failed);
        assert!(response.reason.unwrap().contains("panic: boom"));
        assert_eq!(response.physical_resource_id, request.physical_id());
    }

    fn request_is_cursed() -> bool {
        true
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_answers_failed_before_it_passes() {
        let request = sample_request(RequestType::Create);
        let deadline = Deadline::after(Duration::from_secs(60));
        let started = Instant::now();
        let response = run_guarded(&request, deadline, &Progress::default(), async {
            std::future::pending::<()>().await;
            done("never")
        })
        .await
        .unwrap();
        assert_eq!(response.status, Status::Failed);
        assert!(response.reason.unwrap().starts_with("timed out"));
        let answered_after = started.elapsed();
        assert_eq!(
            answered_after,
            Duration::from_secs(50),
            "10 s kept back out of 60"
        );
    }

    #[test]
    fn margins_scale_with_the_time_left() {
        let short = Deadline::after(Duration::from_secs(3));
        assert_eq!(short.at() - short.answer_by(), Duration::from_secs(1));
        let long = Deadline::after(Duration::from_secs(900));
        assert_eq!(long.at() - long.answer_by(), Duration::from_secs(10));
        let almost_none = Deadline::after(Duration::from_millis(200));
        assert!(
            almost_none.answer_by() <= Instant::now(),
            "answer at once, PUT with what is left"
        );
        assert!(almost_none.at() > almost_none.answer_by());
    }

    #[tokio::test]
    async fn continued_work_is_not_answered_here() {
        let request = sample_request(RequestType::Create);
        let response = run_guarded(
            &request,
            Deadline::after(Duration::from_secs(30)),
            &Progress::default(),
            async { Ok::<_, String>(Outcome::Continued) },
        )
        .await;
        assert_eq!(response, None);
    }
}
