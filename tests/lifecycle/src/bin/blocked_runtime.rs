//! A task blocks the only runtime thread after shutdown starts: the watchdog, not the runtime,
//! must end the process shortly after the deadline.

use std::time::Duration;

use graceful::Shutdown;
use graceful_lifecycle_tests::event;

#[graceful::main(timeout = "1s", flavor = "current_thread")]
async fn main(shutdown: Shutdown) {
    let task = shutdown.clone();
    shutdown.spawn("blocker", async move {
        task.cancelled().await;
        event("blocking the runtime thread");
        std::thread::sleep(Duration::from_secs(600));
    });
    event("ready");
}
