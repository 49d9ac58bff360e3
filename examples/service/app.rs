//! The service's body: the workers and the HTTP server, under the handle. `main` runs it in
//! the process; `tests/service_in_process.rs` runs it in a test, with `graceful::test`.

use graceful::{Resource, Shutdown};
use sqlx::SqlitePool;

use crate::audit::Audit;
use crate::{http, jobs};

/// Spawns the workers, and the HTTP server on `listener`.
pub fn serve(
    shutdown: &Shutdown,
    listener: tokio::net::TcpListener,
    workers: usize,
    db: SqlitePool,
    audit: Resource<Audit>,
) {
    let wake = jobs::Wake::default();
    for worker in 1..=workers {
        shutdown.spawn(
            format!("worker-{worker}"),
            jobs::work(db.clone(), wake.clone(), shutdown.clone()),
        );
    }
    let app = http::router(db, audit, wake, shutdown);
    shutdown.spawn(
        "http",
        graceful::axum::serve(listener, app, shutdown.clone()),
    );
}
