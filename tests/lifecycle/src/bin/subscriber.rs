//! Services whose `tracing` subscriber misbehaves: it panics on graceful's shutdown events
//! (`SCENARIO=panics`), or writes to stdout, which the test makes a full pipe (`stdout`).
//! graceful's own events must neither unwind through the lifecycle nor block it. Says `ready`
//! on stdout, or on stderr when stdout is the full pipe.

use graceful::{BoxError, Close};
use graceful_lifecycle_tests::{event, scenario};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// Panics on every event whose message mentions the shutdown.
struct Panics;

impl<S: tracing::Subscriber> Layer<S> for Panics {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut message = String::new();
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                if field.name() == "message" {
                    message = format!("{value:?}");
                }
            },
        );
        if message.contains("shutdown") {
            panic!("the subscriber broke on {message}");
        }
    }
}

struct Db;

impl Close for Db {
    async fn close(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[graceful::main(timeout = "4s")]
async fn main(shutdown: graceful::Shutdown) {
    match scenario().as_str() {
        "panics" => tracing::subscriber::set_global_default(Registry::default().with(Panics)),
        _ => tracing::subscriber::set_global_default(
            tracing_subscriber::fmt().with_ansi(false).finish(),
        ),
    }
    .expect("the only subscriber");
    #[resource]
    let db = Db;
    let task = shutdown.clone();
    shutdown.spawn("idle", async move {
        task.cancelled().await;
        let _ = &db;
    });
    match scenario().as_str() {
        "panics" => event("ready"),
        // Stdout is full: a print there would block main's body.
        _ => eprintln!("ready"),
    }
}
