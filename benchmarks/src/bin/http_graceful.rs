//! The benchmark router served through `graceful::axum::serve`. Prints `ready ADDR`.

use graceful::{BoxError, Shutdown};
use tokio::net::TcpListener;

#[graceful::main]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    graceful_benches::ready(listener.local_addr()?);
    let server = graceful::axum::serve(listener, graceful_benches::router(), shutdown.clone());
    shutdown.spawn("http", server);
    Ok(())
}
