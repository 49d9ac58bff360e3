//! Every runtime thread blocks (both workers and the thread that drives `main`'s body), a
//! second after the service has started: systemd's watchdog must stop hearing from it, while
//! a SIGTERM is still answered (`STOPPING=1`) from outside the runtime.
//!
//! With `SCENARIO=quick`, nothing blocks: the run ends at once at its SIGTERM, and its last
//! state must still reach systemd. With `SCENARIO=one`, a single worker blocks: the runtime still makes progress, and the
//! heartbeat goes on. With `SCENARIO=body`, only the thread that drives `main`'s body and the
//! lifecycle blocks: the workers run, yet the lifecycle cannot, and the heartbeat stops.

use std::time::Duration;

use graceful::Shutdown;
use graceful_lifecycle_tests::{event, scenario};

#[graceful::main(timeout = "3s", worker_threads = 2)]
async fn main(shutdown: Shutdown) {
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
