//! The gRPC health service (`Check`) served through `graceful::tonic::serve`, its health from
//! `graceful::tonic::health`. Prints `ready ADDR`.

use graceful::{BoxError, Shutdown};
use tokio::net::TcpListener;

#[graceful::main]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    graceful_benches::ready(listener.local_addr()?);
    let (_reporter, health) = graceful::tonic::health(&shutdown);
    let routes = tonic::service::Routes::new(health);
    shutdown.spawn(
        "grpc",
        graceful::tonic::serve(listener, routes, shutdown.clone()),
    );
    Ok(())
}
