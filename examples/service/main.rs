//! A service on graceful: axum + SQLite + a durable job queue. Run it with
//! `cargo run --example service`, then try:
//!
//! ```text
//! curl -X POST localhost:8080/jobs -H 'content-type: application/json' -d '{"duration_ms": 3000}'
//! curl localhost:8080/jobs/1
//! curl 'localhost:8080/slow?ms=5000'   # press Ctrl+C while it runs: it still completes
//! curl localhost:8080/stats
//! ```
//!
//! Its resources live in their modules and open in ascending `order`: telemetry (0, declared
//! `telemetry`, so it closes last of all, after the report), settings
//! (1), the database pool (10), the audit publisher (20). They close in reverse after the
//! HTTP server and the workers have drained, so the audit buffer is flushed into a pool that
//! is still open.
//!
//! Under systemd it is `Type=notify` with a watchdog, and can be socket-activated (the README's
//! units); elsewhere nothing changes.
//!
//! Environment: `ADDR` (default `127.0.0.1:8080`, unless systemd passed a socket), `DATABASE_URL` (default
//! `sqlite://data/service.db`, created on first run), `WORKERS` (default 4), `LOG_FORMAT=json`,
//! `LOG_FILE` (log to a file instead of stdout), `RUST_LOG`, and graceful's `GRACEFUL_TIMEOUT`
//! / `GRACEFUL_DRAIN_DELAY` / `GRACEFUL_GRACE_PERIOD`.

mod app;
mod audit;
mod db;
mod grpc;
mod http;
mod jobs;
mod settings;
mod telemetry;

use graceful::{BoxError, Resource, Shutdown};
use sqlx::SqlitePool;

use crate::audit::Audit;
use crate::settings::Settings;

#[graceful::main(timeout = "25s")]
async fn main(
    shutdown: Shutdown,
    settings: Settings,
    db: SqlitePool,
    audit: Resource<Audit>,
) -> Result<(), BoxError> {
    let listener = listen(&settings.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", settings.addr))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    app::serve(&shutdown, listener, settings.workers, db, audit).await;
    Ok(())
}

/// The socket systemd passed (a `.socket` unit), or else `addr` bound.
#[cfg(unix)]
async fn listen(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    graceful::systemd::listener(addr).await
}

#[cfg(not(unix))]
async fn listen(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}
