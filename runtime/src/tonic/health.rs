//! The standard gRPC health service (`grpc.health.v1.Health`, from `tonic-health`), turned to
//! `NOT_SERVING` at the trigger.

use std::sync::{Arc, Mutex};

use ::tonic::server::NamedService;
use ::tonic::{Request, Response, Status};
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthService, WatchStream};

use super::stream::{UntilCancelled, until_cancelled};
use crate::Shutdown;
use crate::sync::lock;

/// The gRPC health service, and its reporter: `SERVING` for the server (`""`) until the
/// trigger, then `NOT_SERVING` for the server and for every service the reporter has set,
/// through the drain delay and on (a `Watch` stream gets the change, and ends at the cancel
/// with `UNAVAILABLE`: a client watching its backends, as gRPC's client-side health checks
/// do, cannot hold the drain). It is the Kubernetes
/// gRPC readiness probe (`grpc:` in a probe, which asks for `""` unless told a `service`).
/// Add the server to your routes.
///
/// Call it inside the runtime (in `main`'s body): it spawns the small task that waits for the
/// trigger.
///
/// ```
/// # graceful::Config::new().run(|shutdown| async move {
/// let (reporter, health) = graceful::tonic::health(&shutdown);
/// let routes = tonic::service::Routes::new(health);
/// reporter.set_service_status("jobs.v1.Jobs", graceful::tonic::ServingStatus::Serving).await;
/// # let _ = routes;
/// # });
/// ```
pub fn health(shutdown: &Shutdown) -> (HealthReporter, HealthServer<impl Health>) {
    let inner = tonic_health::server::HealthReporter::new();
    let server = HealthServer::new(Watched {
        inner: HealthService::from_health_reporter(inner.clone()),
        shutdown: shutdown.clone(),
    });
    let reporter = HealthReporter {
        inner,
        services: Arc::new(Mutex::new(vec![String::new()])),
        shutdown: shutdown.clone(),
    };
    let at_trigger = reporter.clone();
    let triggered = shutdown.triggered();
    tokio::spawn(async move {
        triggered.await;
        let services = lock(&at_trigger.services).clone();
        for service in services {
            at_trigger
                .inner
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
    });
    (reporter, server)
}

/// Sets the health of the services, as `tonic_health`'s reporter does; from the trigger on,
/// every service is `NOT_SERVING`, whatever it is set to.
#[derive(Clone)]
pub struct HealthReporter {
    inner: tonic_health::server::HealthReporter,
    /// Every service named so far: the trigger turns them all.
    services: Arc<Mutex<Vec<String>>>,
    shutdown: Shutdown,
}

impl HealthReporter {
    /// Sets the service `S` (a tonic server type) to `SERVING`.
    pub async fn set_serving<S: NamedService>(&self) {
        self.set_service_status(S::NAME, ServingStatus::Serving)
            .await;
    }

    /// Sets the service `S` (a tonic server type) to `NOT_SERVING`.
    pub async fn set_not_serving<S: NamedService>(&self) {
        self.set_service_status(S::NAME, ServingStatus::NotServing)
            .await;
    }

    /// Sets the service named `service` (`""` for the server) to `status`, `NOT_SERVING` from
    /// the trigger on.
    pub async fn set_service_status(&self, service: impl AsRef<str>, status: ServingStatus) {
        let service = service.as_ref();
        {
            let mut services = lock(&self.services);
            if !services.iter().any(|known| known == service) {
                services.push(service.to_owned());
            }
        }
        let status = match self.shutdown.is_shutting_down() {
            true => ServingStatus::NotServing,
            false => status,
        };
        self.inner.set_service_status(service, status).await;
        // The trigger may have come between the check and the set, after its task had turned
        // this service: turn it again.
        if status == ServingStatus::Serving && self.shutdown.is_shutting_down() {
            self.inner
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
    }
}

impl std::fmt::Debug for HealthReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthReporter")
            .field("services", &*lock(&self.services))
            .finish_non_exhaustive()
    }
}

/// tonic-health's service, its `Watch` streams ended at the cancel.
struct Watched {
    inner: HealthService,
    shutdown: Shutdown,
}

#[::tonic::async_trait]
impl Health for Watched {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = UntilCancelled<WatchStream>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let watching = self.inner.watch(request).await?;
        Ok(watching.map(|stream| until_cancelled(&self.shutdown, stream)))
    }
}
