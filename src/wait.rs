//! Bounded retries: one backoff loop for everything that tries again until a deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Retries `attempt` while `retryable` says so, with exponential backoff from `first_pause`
/// up to `max_pause`, until it succeeds, fails otherwise, or `give_up_at` comes. The last error
/// is returned when time runs out.
pub async fn retry_until<T, E, F, Fut>(
    give_up_at: Instant,
    first_pause: Duration,
    max_pause: Duration,
    retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pause = first_pause;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if retryable(&err) && Instant::now() + pause < give_up_at => {
                tracing::info!(
                    pause_ms = pause.as_millis() as u64,
                    "retryable error: waiting before the next attempt"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(max_pause);
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_deadline() {
        let started = Instant::now();
        let mut attempts = 0;
        let result: Result<(), &str> = retry_until(
            started + Duration::from_secs(10),
            Duration::from_secs(1),
            Duration::from_secs(4),
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
            Duration::from_secs(1),
            Duration::from_secs(4),
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
}
