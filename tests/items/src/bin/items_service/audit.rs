use std::time::Duration;

use graceful::{BoxError, Close, Resource, Shutdown};
use graceful_lifecycle_tests::event;

use crate::db::Db;
use crate::settings::Settings;

pub struct Audit {
    pub db: Resource<Db>,
}

impl Close for Audit {
    async fn close(&self) -> Result<(), BoxError> {
        event("closing audit");
        Ok(())
    }
}

/// Spawns its own background flusher with the `Shutdown` handle it takes.
#[graceful::resource(order = 30, name = "audit")]
async fn audit_log(
    settings: Settings,
    db: Resource<Db>,
    shutdown: Shutdown,
) -> Result<Audit, BoxError> {
    match settings.scenario.as_str() {
        "fail_open" => return Err("the audit broker is unreachable".into()),
        "panic_open" => panic!("audit misconfigured"),
        "slow_open" => {
            event("audit opening");
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        "hang_open" => {
            event("audit opening");
            std::future::pending::<()>().await;
        }
        _ => {}
    }
    let flusher = shutdown.clone();
    shutdown.spawn("audit-flusher", async move {
        flusher.cancelled().await;
        event("audit flusher stopped");
    });
    event("opened audit");
    Ok(Audit { db })
}
