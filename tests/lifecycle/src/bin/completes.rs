//! Every task finishes by itself: the service shuts down cleanly with no signal.

use std::time::Duration;

use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::{Behaviour, Probe, event};

#[graceful::main(drain_delay = "10s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource]
    let db = Probe::open("db", Behaviour::Ok).await?;
    for id in 0..3u64 {
        let db = db.clone();
        shutdown.spawn("batch", async move {
            tokio::time::sleep(Duration::from_millis(100 * id)).await;
            event(format!("batch {id} done with {}", db.name));
        });
    }
    Ok(())
}
