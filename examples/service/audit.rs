//! The audit publisher: one row per business request, buffered in memory and written in
//! batches. Its `order` is above the pool's, so it is flushed while the pool is still open;
//! with the orders the other way round, the last batch would be lost (the tests check).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graceful::{BoxError, Close, Resource, Shutdown};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use tokio::sync::{Mutex, mpsc};

/// One audited request.
pub struct Entry {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration: Duration,
}

pub struct Audit {
    inner: Arc<Inner>,
}

struct Inner {
    /// Recording is a lock-free send; the mutex is only taken by the flusher and `close`.
    sender: mpsc::UnboundedSender<(u64, Entry)>,
    buffer: Mutex<mpsc::UnboundedReceiver<(u64, Entry)>>,
    db: SqlitePool,
}

impl Audit {
    pub fn record(&self, entry: Entry) {
        self.inner.record(entry);
    }
}

impl Inner {
    fn record(&self, entry: Entry) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        // The receiver lives as long as `self`: sending cannot fail.
        let _ = self.sender.send((at_ms, entry));
    }

    /// Writes what is buffered, in batches of at most 500 rows.
    async fn flush(&self) -> Result<usize, sqlx::Error> {
        let mut buffer = self.buffer.lock().await;
        let mut written = 0;
        loop {
            let mut batch = Vec::new();
            while batch.len() < 500 {
                match buffer.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                return Ok(written);
            }
            let mut insert: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO audit (at_ms, method, path, status, duration_us) ");
            insert.push_values(&batch, |mut row, (at_ms, entry)| {
                row.push_bind(*at_ms as i64)
                    .push_bind(entry.method.clone())
                    .push_bind(entry.path.clone())
                    .push_bind(i64::from(entry.status))
                    .push_bind(entry.duration.as_micros() as i64);
            });
            insert.build().execute(&self.db).await?;
            written += batch.len();
        }
    }
}

impl Close for Audit {
    /// The last flush: every request served during the drain is in the buffer by now.
    async fn close(&self) -> Result<(), BoxError> {
        let written = self.inner.flush().await?;
        tracing::info!(written, "audit log flushed");
        Ok(())
    }
}

/// Flushes every 200 ms in the background, until the cancel; `close` writes the rest.
#[graceful::resource(order = 20, timeout = "3s")]
async fn audit(db: SqlitePool, shutdown: Shutdown) -> Audit {
    let (sender, receiver) = mpsc::unbounded_channel();
    let inner = Arc::new(Inner {
        sender,
        buffer: Mutex::new(receiver),
        db,
    });
    let (flusher, buffered) = (shutdown.clone(), inner.clone());
    shutdown.spawn("audit-flusher", async move {
        let tick = Duration::from_millis(200);
        while flusher
            .until_shutdown(tokio::time::sleep(tick))
            .await
            .is_some()
        {
            buffered.flush().await?;
        }
        Ok::<(), sqlx::Error>(())
    });
    Audit { inner }
}

/// The handle the HTTP layer records with.
pub type AuditLog = Resource<Audit>;
