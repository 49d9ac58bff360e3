//! The benchmark router served over HTTP/2 (h2c) by hyper's own HTTP/2 connection, with a
//! hand-written graceful shutdown on SIGTERM: the baseline for `http_graceful`'s HTTP/2 rows.
//! Stricter than `axum::serve` with its `http2` feature, which puts hyper-util's auto builder
//! (which tells the protocol apart first) in front of the same connection. Prints `ready ADDR`.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    graceful_benches::ready(listener.local_addr()?);
    let router = graceful_benches::router();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = terminate.recv() => return Ok(()),
        };
        stream.set_nodelay(true)?;
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
