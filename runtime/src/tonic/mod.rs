//! Serving tonic's gRPC routes under the [`Shutdown`] handle, with the standard gRPC health
//! service. Enabled by the `tonic` feature.
//!
//! The same contract as [`graceful::axum::serve`](crate::axum::serve), which serves them
//! (tonic's routes are an axum router, and that server speaks HTTP/2):
//!
//! - From the trigger, the health service ([`health`]) answers `NOT_SERVING`, for the server
//!   (`""`) and for every service set through its reporter: the Kubernetes gRPC probe and
//!   load balancers move away. Calls are still served through the drain delay.
//! - At the cancel each connection gets a GOAWAY: calls in flight, unary or streaming, go on;
//!   new ones go to another server. A server stream that should end there ends with
//!   [`until_cancelled`], with `UNAVAILABLE`, so that its client reconnects elsewhere.
//! - Just before the drain's deadline (a second, or a quarter of a shorter drain)
//!   a call still running is ended with `UNAVAILABLE`, so that its client gets a status, not
//!   a protocol error: a response still streaming between two messages, a handler that has
//!   not answered (a slow unary call, a client stream never ended) with a status in place of
//!   its answer, its future dropped. An answer that is ready goes out. The `grpc` task then
//!   fails with the count: the report names it and the exit is 1, since work was cut.
//! - A client too slow to take what was already written before the status (large messages
//!   behind HTTP/2 flow control) gets a connection error at the drain's deadline instead; the
//!   exit is 1 as well. So does one that stops reading altogether: a gRPC call is never let
//!   go as a stalled client, so that a call that can get its status gets it.
//!
//! ```no_run
//! use graceful::{Config, tonic::{health, serve}};
//!
//! Config::new().run(|shutdown| async move {
//!     let (_reporter, health) = health(&shutdown);
//!     // `.add_service(YourServer::new(..))` for each service of yours.
//!     let routes = tonic::service::Routes::new(health);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
//!     shutdown.spawn("grpc", serve(listener, routes, shutdown.clone()));
//!     Ok::<(), std::io::Error>(())
//! });
//! ```
//!
//! To serve gRPC and HTTP on one port, merge the routes into the axum router instead:
//! `app.merge(routes.into_axum_router())`, served by [`graceful::axum::serve`](crate::axum::serve).
//!
//! tonic's own `Server` is not used, so its builder's settings (concurrency limits, timeouts,
//! HTTP/2 keep-alive) are not there: apply tower layers to the routes' router for the first
//! two.

mod health;
mod stream;

use tokio::net::TcpListener;

pub use self::health::{HealthReporter, health};
pub use self::stream::{UntilCancelled, until_cancelled};
use crate::Shutdown;
pub use tonic_health::ServingStatus;

/// Serves tonic's `routes` on `listener` until shutdown, then drains, as
/// [`graceful::axum::serve`](crate::axum::serve) does (HTTP/2 by prior knowledge, as gRPC
/// clients speak it). Spawn it as a task:
/// `shutdown.spawn("grpc", serve(listener, routes, shutdown.clone()))`.
///
/// # Errors
///
/// An error once every connection is gone if calls were still running at the deadline and
/// were ended with `UNAVAILABLE`: the task fails with their count, so the report names it.
pub fn serve(
    listener: TcpListener,
    routes: ::tonic::service::Routes,
    shutdown: Shutdown,
) -> crate::axum::Serve {
    crate::axum::serve(listener, routes.prepare().into_axum_router(), shutdown)
}
