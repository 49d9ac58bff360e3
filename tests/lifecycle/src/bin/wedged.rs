//! Every runtime thread blocks (both workers and the thread that drives `main`'s body), a
//! second after the service has started: systemd's watchdog must stop hearing from it, while
//! a SIGTERM is still answered (`STOPPING=1`) from outside the runtime.
//!
//! With `SCENARIO=unstarted`, the body runs on without returning or marking itself started:
//! systemd would wait for `READY=1`, and the log says so. With `SCENARIO=quick`, nothing blocks: the run ends at once at its SIGTERM, and its last
//! state must still reach systemd. With `SCENARIO=one`, a single worker blocks: the runtime still makes progress, and the
//! heartbeat goes on. With `SCENARIO=body`, only the thread that drives `main`'s body and the
//! lifecycle blocks: the workers run, yet the lifecycle cannot, and the heartbeat stops.

use std::time::Duration;

use graceful::Shutdown;
use graceful_lifecycle_tests::{event, scenario};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// Prints each warning as `event log: {message}`.
struct Lines;

impl<S: tracing::Subscriber> Layer<S> for Lines {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() != tracing::Level::WARN {
            return;
        }
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                if field.name() == "message" {
                    graceful_lifecycle_tests::event(format!("log: {value:?}"));
                }
            },
        );
    }
}

#[graceful::main(timeout = "3s", worker_threads = 2)]
async fn main(shutdown: Shutdown) {
    if scenario() == "unstarted" {
        // graceful's warnings as event lines, for the test to wait for.
        let _ = tracing::subscriber::set_global_default(Registry::default().with(Lines));
        // A body that is its own server and never says it has started.
        event("running");
        shutdown.cancelled().await;
        return;
    }
    shutdown.mark_started();
    event("started");
    if scenario() == "quick" {
        // A stop that is over before the notify thread has looked again.
        shutdown.cancelled().await;
        return;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let block = || std::thread::sleep(Duration::from_secs(600));
    if scenario() == "body" {
        event("body blocked");
        block();
    }
    if scenario() == "one" {
        shutdown.spawn("blocker", async move { block() });
        event("one worker blocked");
        shutdown.cancelled().await;
        return;
    }
    // Both workers, each taken by a task that never yields; then the body's own thread.
    let (taken, mut both) = tokio::sync::mpsc::channel::<()>(2);
    for worker in 0..2 {
        let taken = taken.clone();
        shutdown.spawn(format!("blocker-{worker}"), async move {
            let _ = taken.send(()).await;
            block();
        });
    }
    both.recv().await;
    both.recv().await;
    event("wedged");
    block();
}
