//! Logs: readable by default, JSON with `LOG_FORMAT=json`; `RUST_LOG` filters (default
//! `info`); to a file with `LOG_FILE=path`, through `tracing-appender`'s non-blocking writer.
//!
//! A resource of the lowest order, so it is installed before anything else opens, and declared
//! `telemetry`, so it closes last of all, after graceful has logged its report: closing drops
//! the file writer's guard, which writes out every line still queued, the report's included.
//! If the process must end at once (a second signal), `flush_now` does the same.

use std::io::IsTerminal;
use std::sync::Mutex;

use graceful::{BoxError, Close};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

pub struct Telemetry {
    /// The file writer's guard, with `LOG_FILE`: dropping it flushes the file.
    file: Mutex<Option<WorkerGuard>>,
}

impl Telemetry {
    fn flush(&self) {
        drop(
            self.file
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
    }
}

impl Close for Telemetry {
    async fn close(&self) -> Result<(), BoxError> {
        self.flush();
        Ok(())
    }

    fn flush_now(&self) {
        self.flush();
    }
}

#[graceful::resource(order = 0, telemetry)]
async fn telemetry() -> Result<Telemetry, BoxError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = match std::env::var_os("LOG_FILE") {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .map_err(|error| format!("cannot create LOG_FILE {}: {error}", path.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(file);
            (
                tracing_subscriber::fmt::writer::BoxMakeWriter::new(writer),
                Some(guard),
            )
        }
        None => (
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stdout),
            None,
        ),
    };
    let ansi = guard.is_none() && std::io::stdout().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().try_init(),
        Ok("text") | Err(_) => builder.with_ansi(ansi).try_init(),
        Ok(other) => {
            return Err(format!("LOG_FORMAT must be `text` or `json`, not `{other}`").into());
        }
    };
    installed.map_err(|error| format!("cannot install the log subscriber: {error}"))?;
    Ok(Telemetry {
        file: Mutex::new(guard),
    })
}
