//! One way to wait: a backoff, a retry on named errors, and a poll bounded by a deadline that may
//! hand the wait over to a new invocation. Every resource type, the cleanup and the response PUT
//! use these (docs/design.md#long-waits).

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use tokio::time::Instant;

/// Exponential pauses: the first, then twice as long each time, up to the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Self {
        Backoff { first, max }
    }

    /// The pause that follows `pause`.
    pub fn after(&self, pause: Duration) -> Duration {
        (pause * 2).min(self.max)
    }
}

/// Retries `attempt` while `retryable` says so, with `backoff`, until it succeeds, fails
/// otherwise, or `give_up_at` comes. The last error is returned when time runs out.
pub async fn retry_until<T, E, F, Fut>(
    give_up_at: Instant,
    backoff: Backoff,
    retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pause = backoff.first;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if retryable(&err) && Instant::now() + pause < give_up_at => {
                tracing::info!(
                    pause_ms = pause.as_millis() as u64,
                    "retryable error: waiting before the next attempt"
                );
                tokio::time::sleep(pause).await;
                pause = backoff.after(pause);
            }
            Err(err) => return Err(err),
        }
    }
}

/// One look at what is being waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    Ready(T),
    Pending,
}

/// How a wait ended without failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited<T> {
    Ready(T),
    /// This invocation's time ran out; a new invocation goes on with the wait.
    Continued,
}

/// Continues a wait in a new invocation.
pub(crate) type HandOver<'a, E> = &'a (dyn Fn() -> BoxFuture<'a, Result<(), E>> + Sync);

/// Why a wait ended without what it waited for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The whole wait's time (or, with nowhere to hand it over, this invocation's) ran out.
    #[error("timed out after {seconds}s {waiting_for}")]
    TimedOut { waiting_for: String, seconds: u64 },
    /// The invocation cannot wait even one poll interval before it would hand over.
    #[error(
        "the function's timeout leaves {left}s to wait {waiting_for} in, less than one poll interval ({interval}s); raise the function's Timeout"
    )]
    TooShort {
        waiting_for: String,
        left: u64,
        interval: u64,
    },
}

/// The time a wait has.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The last moment this invocation looks: then it hands over (when it can) or gives up.
    pub look_until: Instant,
    /// When the whole wait, across invocations, must be over.
    pub overall: SystemTime,
    /// When the wait began (for the message of a wait that ran out).
    pub began: SystemTime,
}

/// Polls `check` with `backoff` until it is ready or fails. When the whole wait's time is up the
/// wait fails; when only this invocation's is, `hand_over` (if given) continues it elsewhere —
/// but only after this invocation has waited at least one pause, so that invocations never
/// follow each other faster than that — and without one the wait fails.
pub async fn poll<T, E, F, Fut>(
    what: &str,
    backoff: Backoff,
    bounds: Bounds,
    hand_over: Option<HandOver<'_, E>>,
    mut check: F,
) -> Result<Waited<T>, E>
where
    E: From<WaitError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    let started = Instant::now();
    let timed_out = || WaitError::TimedOut {
        waiting_for: what.to_owned(),
        seconds: SystemTime::now()
            .duration_since(bounds.began)
            .unwrap_or_default()
            .as_secs(),
    };
    let mut pause = backoff.first;
    let mut last_look = false;
    loop {
        if let Poll::Ready(value) = check().await? {
            return Ok(Waited::Ready(value));
        }
        if SystemTime::now() + pause >= bounds.overall {
            return Err(timed_out().into());
        }
        if last_look {
            let hand_over = hand_over.ok_or_else(timed_out)?;
            hand_over().await?;
            return Ok(Waited::Continued);
        }
        if Instant::now() + pause < bounds.look_until {
            tokio::time::sleep(pause).await;
            pause = backoff.after(pause);
            continue;
        }
        if hand_over.is_none() {
            return Err(timed_out().into());
        }
        // No whole pause is left: wait out what is, then look once more and hand over.
        if bounds.look_until < started + backoff.first {
            return Err(WaitError::TooShort {
                waiting_for: what.to_owned(),
                left: bounds
                    .look_until
                    .saturating_duration_since(started)
                    .as_secs(),
                interval: backoff.first.as_secs(),
            }
            .into());
        }
        tokio::time::sleep_until(bounds.look_until).await;
        last_look = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_deadline() {
        let started = Instant::now();
        let mut attempts = 0;
        let result: Result<(), &str> = retry_until(
            started + Duration::from_secs(10),
            BACKOFF,
            |_| true,
            || {
                attempts += 1;
                async { Err("busy") }
            },
        )
        .await;
        assert_eq!(result, Err("busy"));
        assert!(started.elapsed() <= Duration::from_secs(10));
        assert_eq!(
            attempts, 4,
            "after 1 + 2 + 4 s of pauses the next 4 s would pass the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_errors_return_at_once() {
        let mut attempts = 0;
        let result: Result<(), &str> = retry_until(
            Instant::now() + Duration::from_secs(10),
            BACKOFF,
            |err| *err == "busy",
            || {
                attempts += 1;
                async { Err("denied") }
            },
        )
        .await;
        assert_eq!(result, Err("denied"));
        assert_eq!(attempts, 1);
    }

    fn bounds(look_for: Duration) -> Bounds {
        Bounds {
            look_until: Instant::now() + look_for,
            overall: SystemTime::now() + Duration::from_secs(3600),
            began: SystemTime::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_without_a_hand_over_fails_when_its_time_is_up() {
        let started = Instant::now();
        let result: Result<Waited<()>, WaitError> = poll(
            "for nothing",
            BACKOFF,
            bounds(Duration::from_secs(10)),
            None,
            || async { Ok(Poll::Pending) },
        )
        .await;
        assert!(matches!(result, Err(WaitError::TimedOut { .. })));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hand_over_comes_only_after_one_whole_pause_at_least() {
        let handed = std::sync::atomic::AtomicU32::new(0);
        let hand_over = || -> BoxFuture<'_, Result<(), WaitError>> {
            handed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        };
        let started = Instant::now();
        let waited: Waited<()> = poll(
            "for the rollout",
            BACKOFF,
            bounds(Duration::from_millis(2500)),
            Some(&hand_over),
            || async { Ok(Poll::Pending) },
        )
        .await
        .unwrap();
        assert_eq!(waited, Waited::Continued);
        assert_eq!(handed.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(started.elapsed() >= Duration::from_secs(1));

        let too_short = poll(
            "for the rollout",
            BACKOFF,
            bounds(Duration::from_millis(500)),
            Some(&hand_over),
            || async { Ok::<Poll<()>, WaitError>(Poll::Pending) },
        )
        .await;
        assert!(matches!(too_short, Err(WaitError::TooShort { .. })));
        assert_eq!(handed.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
