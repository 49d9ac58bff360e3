//! The SQLite pool: created on first run, migrated at start, and closed last but one.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use graceful::BoxError;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{SqlSafeStr, SqlitePool};

use crate::settings::Settings;

/// `close = SqlitePool::close`: a foreign type, so it names its close function.
#[graceful::resource(order = 10, close = SqlitePool::close, timeout = "2s")]
async fn database(settings: Settings) -> Result<SqlitePool, BoxError> {
    let options = SqliteConnectOptions::from_str(&settings.database_url)
        .map_err(|error| format!("DATABASE_URL `{}`: {error}", settings.database_url))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    if let Some(parent) = Path::new(options.get_filename()).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    migrator().run(&pool).await?;

    // A job claimed but unfinished when the process was killed hard runs again.
    let requeued = sqlx::query("UPDATE jobs SET status = 'queued' WHERE status = 'running'")
        .execute(&pool)
        .await?
        .rows_affected();
    if requeued > 0 {
        tracing::warn!(
            requeued,
            "re-queued jobs left running by an earlier process"
        );
    }
    tracing::info!(url = %settings.database_url, "database ready");
    Ok(pool)
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "jobs and audit".into(),
        MigrationType::Simple,
        include_str!("migrations/0001_init.sql").into_sql_str(),
        false,
    )])
}
