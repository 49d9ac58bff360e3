//! The README's headline shape: resources without a `timeout`, and one task that never ends.
//! The hung task must not leave the resources without time to close.

use graceful::Shutdown;
use graceful_lifecycle_tests::{Behaviour, Probe, event};

#[graceful::main(timeout = "2s")]
async fn main(shutdown: Shutdown) -> Result<(), graceful::BoxError> {
    #[resource]
    let db = Probe::open("db", Behaviour::Ok).await?;
    #[resource]
    let publisher = Probe::open("publisher", Behaviour::Ok).await?;
    shutdown.spawn("hung", async move {
        let _ = (&db, &publisher);
        std::future::pending::<()>().await
    });
    event("ready");
    Ok(())
}
