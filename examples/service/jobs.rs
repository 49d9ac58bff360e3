//! The durable job queue: jobs are rows; workers claim them atomically, run them to the end
//! whatever shutdown does, and mark them done. A job claimed by a process that was killed hard
//! is re-queued at the next start (see `db.rs`).

use std::sync::Arc;
use std::time::Duration;

use graceful::Shutdown;
use sqlx::{Row, SqlitePool};
use tokio::sync::Notify;

/// Wakes an idle worker when a job is posted (they also poll, for jobs left by another run).
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn one(&self) {
        self.0.notify_one();
    }
}

pub async fn enqueue(db: &SqlitePool, duration_ms: u64) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("INSERT INTO jobs (duration_ms) VALUES (?) RETURNING id")
        .bind(duration_ms as i64)
        .fetch_one(db)
        .await?;
    row.try_get("id")
}

/// One worker. It checks for the cancel before each claim, never during one: a claim is a
/// database write that must not be abandoned half-way. A claimed job is the "detached context"
/// of the Go articles: it runs to the end; shutdown only stops the worker from taking another.
pub async fn work(db: SqlitePool, wake: Wake, shutdown: Shutdown) -> Result<(), sqlx::Error> {
    while !shutdown.is_cancelled() {
        match claim(&db).await? {
            Some((id, duration_ms)) => {
                tracing::info!(job = id, duration_ms, "job started");
                tokio::time::sleep(Duration::from_millis(duration_ms)).await;
                sqlx::query(
                    "UPDATE jobs SET status = 'done', \
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                )
                .bind(id)
                .execute(&db)
                .await?;
                tracing::info!(job = id, "job done");
            }
            None => {
                let idle = async {
                    tokio::select! {
                        () = wake.0.notified() => {}
                        () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    }
                };
                shutdown.until_shutdown(idle).await;
            }
        }
    }
    Ok(())
}

/// Takes the oldest queued job. One statement, so SQLite's write lock makes it atomic: two
/// workers never claim the same job.
async fn claim(db: &SqlitePool) -> Result<Option<(i64, u64)>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1 \
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1) \
         RETURNING id, duration_ms",
    )
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok((
            row.try_get("id")?,
            row.try_get::<i64, _>("duration_ms")? as u64,
        ))
    })
    .transpose()
}
