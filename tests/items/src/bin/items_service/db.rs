use std::sync::atomic::{AtomicU32, Ordering};

use graceful_items_dep::Metrics;
use graceful_lifecycle_tests::event;

use crate::settings::Settings;

static OPENED: AtomicU32 = AtomicU32::new(0);

/// How many times the constructor ran: once.
pub fn opened() -> u32 {
    OPENED.load(Ordering::SeqCst)
}

pub struct Db {
    pub serial: u32,
}

impl Db {
    /// Closed with `close = Db::disconnect`, as a foreign type would be.
    pub async fn disconnect(&self) -> Result<(), std::io::Error> {
        event(format!("closing db {}", self.serial));
        Ok(())
    }
}

#[graceful::resource(order = 10, close = Db::disconnect, timeout = "1s")]
async fn database(settings: Settings, metrics: Metrics) -> std::io::Result<Db> {
    let serial = OPENED.fetch_add(1, Ordering::SeqCst) + 1;
    event(format!(
        "opened db {serial} for `{}` (count {})",
        settings.scenario,
        metrics.count()
    ));
    Ok(Db { serial })
}
