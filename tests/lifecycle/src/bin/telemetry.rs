//! A telemetry pipeline that batches, as an OpenTelemetry batch exporter does: graceful's
//! events (and the service's) are kept in memory and written to `LOG_FILE` only when the
//! resource closes or is flushed. Declared `telemetry`, it closes after the report is logged,
//! so the file gets the report; on a forced exit its `flush_now` runs, so the file gets the
//! last lines.
//!
//! `SCENARIO`: empty (a clean shutdown), `stuck` (a task that ignores the cancel, for a second
//! signal to force the exit), `blocked` (a task that blocks the only runtime thread: the
//! deadline's watchdog ends the process).

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful::{BoxError, Close, Shutdown};
use graceful_lifecycle_tests::{event, scenario};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

type Lines = Arc<Mutex<Vec<String>>>;

/// Keeps every event's message.
struct Batching(Lines);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Batching {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    let _ = write!(self.0, "{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().unwrap().push(message.0);
    }
}

struct Exporter {
    lines: Lines,
    path: String,
}

impl Exporter {
    /// Writes out what is batched.
    fn export(&self) {
        let lines = std::mem::take(&mut *self.lines.lock().unwrap());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .expect("the log file");
        for line in lines {
            writeln!(file, "{line}").expect("write");
        }
    }
}

impl Close for Exporter {
    async fn close(&self) -> Result<(), BoxError> {
        self.export();
        Ok(())
    }

    fn flush_now(&self) {
        self.export();
    }
}

#[graceful::resource(order = 0, telemetry)]
async fn exporter() -> Result<Exporter, BoxError> {
    let lines = Lines::default();
    tracing_subscriber::registry()
        .with(Batching(lines.clone()))
        .try_init()?;
    Ok(Exporter {
        lines,
        path: std::env::var("LOG_FILE")?,
    })
}

struct Db;

impl Close for Db {}

#[graceful::resource(order = 1)]
async fn db() -> Db {
    Db
}

#[graceful::main(timeout = "2s", flavor = "current_thread")]
async fn main(shutdown: Shutdown, _db: graceful::Resource<Db>) {
    match scenario().as_str() {
        "stuck" => {
            shutdown.spawn("stuck", async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
        }
        "blocked" => {
            let shutdown = shutdown.clone();
            shutdown.clone().spawn("blocking", async move {
                shutdown.cancelled().await;
                std::thread::sleep(Duration::from_secs(3600));
            });
        }
        _ => {
            let idle = shutdown.clone();
            shutdown.spawn("idle", async move { idle.cancelled().await });
        }
    }
    event("ready");
}
