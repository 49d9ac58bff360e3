//! `/livez` and `/readyz`, for Kubernetes probes and load balancers.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::Shutdown;

/// A router with `GET /livez` (200 for as long as the process runs) and `GET /readyz` (200,
/// then 503 from the moment shutdown begins, through the drain delay, so that load balancers
/// stop sending traffic before the server stops accepting). Merge it into your router.
///
/// Each `/readyz` is one atomic load.
///
/// ```
/// # graceful::Config::new().run(|shutdown| async move {
/// let app: axum::Router = axum::Router::new().merge(graceful::axum::health(&shutdown));
/// # });
/// ```
pub fn health<S: Clone + Send + Sync + 'static>(shutdown: &Shutdown) -> Router<S> {
    let readiness = shutdown.readiness();
    Router::new()
        .route("/livez", get(|| async { "live\n" }))
        .route(
            "/readyz",
            get(move || {
                let ready = readiness.is_ready();
                async move {
                    if ready {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
                    }
                }
            }),
        )
}
