//! A service whose resources live in their modules and in a library crate
//! (`graceful-items-dep`). Opening order: settings (1), metrics (5, dep), db (10),
//! cache and tracer (20, tracer from dep), audit (30); `main` then takes some by type.
//!
//! `SCENARIO` makes the audit log's constructor fail (`fail_open`), panic (`panic_open`), take
//! its time (`slow_open`) or never finish (`hang_open`); `sibling_fails` makes the cache fail
//! while the tracer, of the same order, never finishes opening.

mod audit;
mod cache;
mod db;
mod settings;

use graceful::{BoxError, Resource, Shutdown};
use graceful_items_dep::Metrics;
use graceful_lifecycle_tests::{Behaviour, Probe, event};

use crate::audit::Audit;
use crate::cache::Cache;
use crate::db::Db;

#[graceful::main(timeout = "5s")]
async fn main(
    shutdown: Shutdown,
    db: Resource<Db>,
    metrics: Metrics,
    audit: Resource<Audit>,
) -> Result<(), BoxError> {
    let cache = shutdown
        .resource::<Cache>()
        .ok_or("the cache is fetched by type")?;
    // One instance of each resource: the cache holds the db that main got.
    assert!(std::ptr::eq(&*cache.db, &*db));
    assert!(std::ptr::eq(&*audit.db, &*db));
    event(format!(
        "main started: db {} (opened {} times), count {}",
        db.serial,
        db::opened(),
        metrics.count()
    ));

    #[resource]
    let session = Probe::open("session", Behaviour::Ok).await?;

    let worker = shutdown.clone();
    shutdown.spawn("worker", async move {
        worker.cancelled().await;
        let _ = &session;
        event("worker stopped");
    });
    event("ready");
    Ok(())
}
