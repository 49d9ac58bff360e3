//! A server on `graceful::axum` with the two kinds of connection that axum's own graceful
//! shutdown never bounds: a response body that streams forever (SSE-like) and an upgraded
//! connection served by a task of its own (as a WebSocket is). Both must end at the deadline.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::{Behaviour, Probe, event};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[graceful::main(timeout = "2s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    // Its close reserves 1 s of the 2 s, and takes 500 ms: what the drain's end cut has time
    // to say so before the exit.
    #[resource(timeout = "1s")]
    let _db = Probe::open("db", Behaviour::Slow(Duration::from_millis(500))).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = Router::new()
        .route("/stream", get(stream))
        .route("/upgrade", get(upgrade))
        .merge(graceful::axum::health(&shutdown));
    event(format!("listening {}", listener.local_addr()?));
    shutdown.spawn(
        "http",
        graceful::axum::serve(listener, app, shutdown.clone()),
    );
    Ok(())
}

/// A tick every 100 ms, forever.
async fn stream() -> Body {
    let ticks = futures_util::stream::unfold(0u64, |tick| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(format!("data: {tick}\n\n")),
            tick + 1,
        ))
    });
    Body::from_stream(ticks)
}

/// Switches protocols, then echoes on a task of its own, outside hyper's connection.
async fn upgrade(request: Request) -> Response {
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(request).await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        let mut buffer = [0u8; 64];
        loop {
            match io.read(&mut buffer).await {
                Ok(0) => break event("upgraded connection ended by the client"),
                Ok(n) => {
                    if io.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                Err(error) => break event(format!("upgraded connection ended: {error}")),
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "echo")
        .body(Body::empty())
        .expect("a valid response")
}
