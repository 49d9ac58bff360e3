//! A server on `graceful::axum` whose response is large (16 MiB): a client that reads it
//! slowly is still being written to at the cancel, and must get all of it. `/upload` reads
//! its whole request body: a client that stops sending it must not hold the drain.

use axum::Router;
use axum::routing::{get, post};
use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::event;

/// The size of `/big`'s body.
const BIG: usize = 16 << 20;

#[graceful::main(timeout = "20s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = Router::new()
        .route("/big", get(|| async { vec![b'x'; BIG] }))
        .route(
            "/upload",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .merge(graceful::axum::health(&shutdown));
    event(format!("listening {}", listener.local_addr()?));
    shutdown.spawn(
        "http",
        graceful::axum::serve(listener, app, shutdown.clone()),
    );
    Ok(())
}
