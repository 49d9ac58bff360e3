//! The gRPC health service (`Check`) served by tonic's own server, with its graceful shutdown
//! on SIGTERM: the baseline for `grpc_graceful`. Prints `ready ADDR`.

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_stream::wrappers::TcpListenerStream;

#[tokio::main]
async fn main() -> Result<(), tonic::transport::Error> {
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    graceful_benches::ready(listener.local_addr().expect("an address"));
    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            terminate.recv().await;
        })
        .await
}
