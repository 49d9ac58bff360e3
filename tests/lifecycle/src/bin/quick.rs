//! The smallest service: one task that waits for the cancel. Started and signalled at once, a
//! few hundred times, to find a signal that the installation of the handlers loses.

use graceful::Shutdown;

#[graceful::main(timeout = "5s")]
async fn main(shutdown: Shutdown) {
    let task = shutdown.clone();
    shutdown.spawn("idle", async move { task.cancelled().await });
}
