//! A close budget as long as the whole timeout: the drain must still get time, the same every
//! run, and the service says at startup that the budget cannot hold.

use std::time::Duration;

use graceful::Shutdown;
use graceful_lifecycle_tests::{Behaviour, Probe, event};

#[graceful::main(timeout = "2s")]
async fn main(shutdown: Shutdown) -> Result<(), graceful::BoxError> {
    #[resource(timeout = "2s")]
    let db = Probe::open("db", Behaviour::Ok).await?;
    let task = shutdown.clone();
    shutdown.spawn("quick", async move {
        task.cancelled().await;
        // Finishes soon after the cancel: it must never be aborted for the close's budget.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = &db;
        event("quick done");
    });
    event("ready");
    Ok(())
}
