//! The benchmark router served through plain `axum::serve` with a hand-written graceful
//! shutdown on SIGTERM: the baseline for `http_graceful`. Prints `ready ADDR`.

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    graceful_benches::ready(listener.local_addr()?);
    axum::serve(listener, graceful_benches::router())
        .with_graceful_shutdown(async move {
            terminate.recv().await;
        })
        .await
}
