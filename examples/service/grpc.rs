//! The gRPC interface, on the HTTP port (h2c): the job API of `http.rs` as `jobs.v1.Jobs`, and
//! the standard health service, `NOT_SERVING` from the moment shutdown begins.

use std::time::Duration;

use futures_util::Stream;
use graceful::Shutdown;
use graceful::tonic::HealthReporter;
use sqlx::{Row, SqlitePool};
use tonic::{Request, Response, Status};

use crate::jobs::{self, Wake};

/// The code generated from `grpc/jobs.proto` (see `grpc/README.md`).
#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
pub mod pb {
    include!("grpc/jobs.v1.rs");
}

use pb::jobs_server::{Jobs, JobsServer};
use pb::{GetRequest, Job, SlowReply, SlowRequest, SubmitRequest};

/// The routes of both services, and the health reporter (the job service set `SERVING`).
pub async fn routes(
    db: SqlitePool,
    wake: Wake,
    shutdown: &Shutdown,
) -> (tonic::service::Routes, HealthReporter) {
    let (reporter, health) = graceful::tonic::health(shutdown);
    reporter.set_serving::<JobsServer<JobApi>>().await;
    let jobs = JobApi {
        db,
        wake,
        shutdown: shutdown.clone(),
    };
    let routes = tonic::service::Routes::new(health).add_service(JobsServer::new(jobs));
    (routes, reporter)
}

pub struct JobApi {
    db: SqlitePool,
    wake: Wake,
    shutdown: Shutdown,
}

#[tonic::async_trait]
impl Jobs for JobApi {
    async fn submit(&self, request: Request<SubmitRequest>) -> Result<Response<Job>, Status> {
        let id = jobs::enqueue(&self.db, request.get_ref().duration_ms)
            .await
            .map_err(internal)?;
        self.wake.one();
        Ok(Response::new(find(&self.db, id).await?))
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(find(&self.db, request.get_ref().id).await?))
    }

    /// An in-flight call to watch the drain with: shutdown lets it finish.
    async fn slow(&self, request: Request<SlowRequest>) -> Result<Response<SlowReply>, Status> {
        let ms = request.get_ref().ms;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(Response::new(SlowReply { slept_ms: ms }))
    }

    type WatchStream = graceful::tonic::UntilCancelled<
        std::pin::Pin<Box<dyn Stream<Item = Result<Job, Status>> + Send>>,
    >;

    /// The job each time it changes, until it is done; at the cancel, `UNAVAILABLE`, so that
    /// the client watches it from another replica.
    async fn watch(
        &self,
        request: Request<GetRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let id = request.get_ref().id;
        let first = find(&self.db, id).await?;
        let db = self.db.clone();
        let changes =
            futures_util::stream::unfold(Some((db, None::<Job>, first)), |state| async move {
                let (db, last, mut job) = state?;
                while last.as_ref() == Some(&job) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    job = match find(&db, job.id).await {
                        Ok(job) => job,
                        Err(status) => return Some((Err(status), None)),
                    };
                }
                let next = (job.status != "done").then(|| (db, Some(job.clone()), job.clone()));
                Some((Ok(job), next))
            });
        Ok(Response::new(graceful::tonic::until_cancelled(
            &self.shutdown,
            Box::pin(changes),
        )))
    }
}

async fn find(db: &SqlitePool, id: i64) -> Result<Job, Status> {
    let row = sqlx::query("SELECT id, status, attempts FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("no job {id}")))?;
    Ok(Job {
        id: row.try_get("id").map_err(internal)?,
        status: row.try_get("status").map_err(internal)?,
        attempts: row.try_get("attempts").map_err(internal)?,
    })
}

/// A database error, answered with `INTERNAL` and logged.
fn internal(error: sqlx::Error) -> Status {
    tracing::error!(%error, "call failed");
    Status::internal(error.to_string())
}
