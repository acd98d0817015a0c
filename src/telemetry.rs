//! JSON logs, one line per event step, each line passed through the redactor on its way out.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

use crate::protocol::redact::redact;

/// Installs the JSON subscriber on stdout. The level comes from `AWS_LAMBDA_LOG_LEVEL` (set by
/// Lambda's advanced logging controls) or `RUST_LOG`, else INFO.
pub fn init() {
    let filter = match std::env::var("AWS_LAMBDA_LOG_LEVEL") {
        Ok(level) => EnvFilter::new(lambda_level(&level)),
        Err(_) => std::env::var("RUST_LOG")
            .map(|level| EnvFilter::new(level.to_ascii_lowercase()))
            .unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let _ = subscriber(filter, io::stdout).try_init();
}

/// Lambda's log levels as tracing's: FATAL, which tracing lacks, is its nearest, ERROR; anything
/// unknown is INFO.
pub(crate) fn lambda_level(level: &str) -> &'static str {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_to_the_nearest_tracing_level() {
        for (lambda, tracing) in [
            ("TRACE", "trace"),
            ("DEBUG", "debug"),
            ("INFO", "info"),
            ("WARN", "warn"),
            ("ERROR", "error"),
            ("FATAL", "error"),
            ("fatal", "error"),
            ("loud", "info"),
        ] {
            assert_eq!(lambda_level(lambda), tracing, "{lambda}");
        }
    }
}

/// The functions' subscriber — JSON lines with the request's span fields, every line redacted —
/// writing to `writer`.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_writer(RedactingWriter::new(writer))
        .finish()
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
