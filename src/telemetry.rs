//! JSON logs, one line per event step, each line passed through the redactor on its way out.

use std::io::{self, Write};

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::protocol::redact::redact;

/// Installs the JSON subscriber on stdout, filtered as [`filter`] reads the environment.
pub fn init() {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = subscriber(
        filter(lambda_level.as_deref(), rust_log.as_deref()),
        io::stdout,
    )
    .try_init();
}

/// What is logged: the level `AWS_LAMBDA_LOG_LEVEL` names (Lambda's advanced logging controls),
/// else `RUST_LOG`'s `target=level` directives (`warn`, `info,aws_smithy_runtime=debug`), else
/// INFO. Targets rather than an EnvFilter: no regex engine in every function for a level.
pub fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let everything_at = |level| Targets::new().with_default(level);
    match (lambda_level, rust_log) {
        (Some(level), _) => everything_at(lambda_log_level(level)),
        (None, Some(directives)) => directives
            .to_ascii_lowercase()
            .parse()
            .unwrap_or_else(|_| everything_at(Level::INFO)),
        (None, None) => everything_at(Level::INFO),
    }
}

/// Lambda's log levels as tracing's: FATAL, which tracing lacks, is its nearest, ERROR; anything
/// unknown is INFO.
fn lambda_log_level(level: &str) -> Level {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Level::TRACE,
        "DEBUG" => Level::DEBUG,
        "WARN" => Level::WARN,
        "ERROR" | "FATAL" => Level::ERROR,
        _ => Level::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_to_the_nearest_tracing_level() {
        for (lambda, level) in [
            ("TRACE", Level::TRACE),
            ("DEBUG", Level::DEBUG),
            ("INFO", Level::INFO),
            ("WARN", Level::WARN),
            ("ERROR", Level::ERROR),
            ("FATAL", Level::ERROR),
            ("fatal", Level::ERROR),
            ("loud", Level::INFO),
        ] {
            assert_eq!(lambda_log_level(lambda), level, "{lambda}");
        }
    }

    fn logs(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn lambdas_level_wins_over_rust_log() {
        let filter = filter(Some("WARN"), Some("trace"));
        assert!(logs(&filter, "ecs_private_auth", Level::WARN));
        assert!(!logs(&filter, "ecs_private_auth", Level::INFO));
    }

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let filter = filter(None, Some("WARN,aws_smithy_runtime=debug"));
        assert!(!logs(&filter, "ecs_private_auth::provider", Level::INFO));
        assert!(logs(&filter, "ecs_private_auth::provider", Level::WARN));
        assert!(logs(&filter, "aws_smithy_runtime::client", Level::DEBUG));
    }

    #[test]
    fn without_either_or_with_garbage_info_is_logged() {
        for rust_log in [None, Some("[span{field}]=nonsense=")] {
            let filter = filter(None, rust_log);
            assert!(
                logs(&filter, "ecs_private_auth", Level::INFO),
                "{rust_log:?}"
            );
            assert!(
                !logs(&filter, "ecs_private_auth", Level::DEBUG),
                "{rust_log:?}"
            );
        }
    }
}

/// The functions' subscriber — JSON lines with the request's span fields, every line redacted —
/// writing to `writer`.
pub fn subscriber<W>(filter: Targets, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_writer(RedactingWriter::new(writer))
        .finish()
        .with(filter)
}

/// Wraps a writer so that every line is redacted before it is written.
#[derive(Debug, Clone)]
pub(crate) struct RedactingWriter<M> {
    inner: M,
}

impl<M> RedactingWriter<M> {
    pub fn new(inner: M) -> Self {
        RedactingWriter { inner }
    }
}

/// One log record, buffered until the formatter is done with it.
pub(crate) struct RedactingLine<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> Write for RedactingLine<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingLine<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let _ = self.inner.write_all(redact(&text).as_bytes());
        let _ = self.inner.flush();
    }
}

impl<'a, M> MakeWriter<'a> for RedactingWriter<M>
where
    M: MakeWriter<'a>,
{
    type Writer = RedactingLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine {
            inner: self.inner.make_writer(),
            buffer: Vec::new(),
        }
    }
}
