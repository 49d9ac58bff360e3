//! The gRPC health service (`Check`) served by tonic's own server, with its graceful shutdown
//! on SIGTERM: the baseline for `grpc_graceful`. Its listener is tonic's own, with tonic's
//! default `TCP_NODELAY` (as `serve_with_shutdown(addr, ..)` binds it). Prints `ready ADDR`.

use tokio::signal::unix::{SignalKind, signal};
use tonic::transport::server::TcpIncoming;

#[tokio::main]
async fn main() -> Result<(), tonic::transport::Error> {
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind")
        .with_nodelay(Some(true));
    graceful_benches::ready(incoming.local_addr().expect("an address"));
    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, async move {
            terminate.recv().await;
        })
        .await
}
