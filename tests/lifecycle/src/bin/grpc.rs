//! A gRPC server on `graceful::tonic` whose health `Watch` stream ignores the shutdown: it
//! sends `SERVING` once and never ends, so the deadline has to end it.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::event;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

struct Forever;

#[tonic::async_trait]
impl Health for Forever {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(serving()))
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let once = futures_util::stream::once(async { Ok(serving()) });
        Ok(Response::new(Box::pin(
            once.chain(futures_util::stream::pending()),
        )))
    }
}

fn serving() -> HealthCheckResponse {
    HealthCheckResponse {
        status: tonic_health::ServingStatus::Serving as i32,
    }
}

#[graceful::main(timeout = "20s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let routes = tonic::service::Routes::new(HealthServer::new(Forever));
    event(format!("listening {}", listener.local_addr()?));
    shutdown.spawn(
        "grpc",
        graceful::tonic::serve(listener, routes, shutdown.clone()),
    );
    Ok(())
}
