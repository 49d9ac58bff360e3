//! The HTTP interface. `/jobs`, `/jobs/{id}` and `/slow` are business endpoints, audited;
//! `/stats`, `/livez` and `/readyz` are not.

use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use graceful::Shutdown;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Row, SqlitePool};

use crate::audit::{AuditLog, Entry};
use crate::jobs::{self, Wake};

#[derive(Clone)]
struct App {
    db: SqlitePool,
    wake: Wake,
}

pub fn router(db: SqlitePool, audit: AuditLog, wake: Wake, shutdown: &Shutdown) -> Router {
    let app = App { db, wake };
    let business = Router::new()
        .route("/jobs", post(post_job))
        .route("/jobs/{id}", get(get_job))
        .route("/slow", get(slow))
        .layer(middleware::from_fn_with_state(audit, record));
    Router::new()
        .merge(business)
        .route("/stats", get(stats))
        .with_state(app)
        .merge(graceful::axum::health(shutdown))
}

/// One audit row per request served, written after the response is produced.
async fn record(State(audit): State<AuditLog>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    audit.record(Entry {
        method,
        path,
        status: response.status().as_u16(),
        duration: started.elapsed(),
    });
    response
}

#[derive(Deserialize)]
struct NewJob {
    duration_ms: u64,
}

async fn post_job(State(app): State<App>, Json(job): Json<NewJob>) -> Result<Response, Failure> {
    let id = jobs::enqueue(&app.db, job.duration_ms).await?;
    app.wake.one();
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

async fn get_job(State(app): State<App>, Path(id): Path<i64>) -> Result<Response, Failure> {
    let row = sqlx::query("SELECT id, status, attempts FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_optional(&app.db)
        .await?;
    Ok(match row {
        Some(row) => Json(json!({
            "id": row.try_get::<i64, _>("id")?,
            "status": row.try_get::<String, _>("status")?,
            "attempts": row.try_get::<i64, _>("attempts")?,
        }))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no job {id}") })),
        )
            .into_response(),
    })
}

#[derive(Deserialize)]
struct Slow {
    ms: u64,
}

/// An in-flight request to watch the drain with: shutdown lets it finish.
async fn slow(Query(slow): Query<Slow>) -> Json<Value> {
    tokio::time::sleep(Duration::from_millis(slow.ms)).await;
    Json(json!({ "slept_ms": slow.ms }))
}

async fn stats(State(app): State<App>) -> Result<Json<Value>, Failure> {
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM jobs WHERE status = 'queued') AS queued, \
           (SELECT COUNT(*) FROM jobs WHERE status = 'running') AS running, \
           (SELECT COUNT(*) FROM jobs WHERE status = 'done') AS done, \
           (SELECT COUNT(*) FROM audit) AS audit_rows",
    )
    .fetch_one(&app.db)
    .await?;
    Ok(Json(json!({
        "queued": row.try_get::<i64, _>("queued")?,
        "running": row.try_get::<i64, _>("running")?,
        "done": row.try_get::<i64, _>("done")?,
        "audit_rows": row.try_get::<i64, _>("audit_rows")?,
    })))
}

/// A database error, answered with 500 and logged.
struct Failure(sqlx::Error);

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "request failed");
        let body = Json(json!({ "error": self.0.to_string() }));
        (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
    }
}
