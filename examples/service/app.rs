//! The service's body: the workers and the server (HTTP and gRPC on one port), under the
//! handle. `main` runs it in
//! the process; `tests/service_in_process.rs` runs it in a test, with `graceful::test`.

use graceful::{Resource, Shutdown};
use sqlx::SqlitePool;

use crate::audit::Audit;
use crate::{grpc, http, jobs};

/// Spawns the workers, and the server on `listener`: the HTTP API and the gRPC one (h2c),
/// which `graceful::axum::serve` tells apart by their first bytes.
pub async fn serve(
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
    let (grpc, _health) = grpc::routes(db.clone(), wake.clone(), shutdown).await;
    let app = http::router(db, audit, wake, shutdown).merge(grpc.into_axum_router());
    shutdown.spawn(
        "http",
        graceful::axum::serve(listener, app, shutdown.clone()),
    );
}
