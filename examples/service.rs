//! A small service on graceful: three resources, two tasks.
//!
//! ```text
//! cargo run --example service
//! # then Ctrl+C (or `kill -TERM <pid>`): the tasks drain, the resources close in reverse,
//! # the report is logged and the process exits 0. Ctrl+C twice exits at once with 130.
//! ```
//!
//! The TCP server on `ADDR` (default 127.0.0.1:8080) answers each line with the line
//! upper-cased after `DELAY_MS` (default 200) ms; a worker takes jobs from a queue.
//! Every answer and job is recorded by the publisher, which flushes into the "database" when
//! it closes, before the database itself closes.

use std::sync::Mutex;
use std::time::Duration;

use graceful::{BoxError, Close, Shutdown};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Stands in for a connection pool: counts what was written to it.
struct Db {
    rows: Mutex<Vec<String>>,
}

impl Db {
    async fn connect() -> Result<Db, BoxError> {
        tracing::info!("db: connected");
        Ok(Db {
            rows: Mutex::new(Vec::new()),
        })
    }

    fn insert(&self, rows: Vec<String>) -> Result<(), BoxError> {
        self.rows.lock().map_err(|_| "db poisoned")?.extend(rows);
        Ok(())
    }
}

impl Close for Db {
    async fn close(&self) -> Result<(), BoxError> {
        let rows = self.rows.lock().map_err(|_| "db poisoned")?.len();
        tracing::info!(rows, "db: closed");
        Ok(())
    }
}

/// A cache with nothing to flush; closed with a function named in the attribute.
struct Cache;

async fn drop_cache(_cache: &Cache) {
    tracing::info!("cache: dropped");
}

/// Buffers events in memory and writes them to the database in batches.
struct Publisher {
    db: graceful::Resource<Db>,
    buffer: Mutex<Vec<String>>,
}

impl Publisher {
    fn publish(&self, event: String) {
        self.buffer.lock().expect("publisher poisoned").push(event);
    }
}

impl Close for Publisher {
    async fn close(&self) -> Result<(), BoxError> {
        let batch = std::mem::take(&mut *self.buffer.lock().map_err(|_| "publisher poisoned")?);
        tracing::info!(events = batch.len(), "publisher: flushed");
        self.db.insert(batch)
    }
}

#[graceful::main(timeout = "10s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let delay = Duration::from_millis(
        std::env::var("DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(200),
    );

    #[resource(order = 1)]
    let db = Db::connect().await?;
    #[resource(order = 2, close = drop_cache)]
    let cache = Cache;
    #[resource(order = 3, timeout = "2s")]
    let publisher = Publisher {
        db: db.clone(),
        buffer: Mutex::new(Vec::new()),
    };
    let _ = &cache;

    let listener = TcpListener::bind(&addr).await?;
    tracing::info!("listening on {}", listener.local_addr()?);
    let (jobs, mut queue) = mpsc::channel::<String>(64);

    let server = shutdown.clone();
    let events = publisher.clone();
    shutdown.spawn("server", async move {
        while let Some(accepted) = server.until_shutdown(listener.accept()).await {
            let (stream, peer) = accepted?;
            let (events, jobs, conn) = (events.clone(), jobs.clone(), server.clone());
            server.spawn("connection", async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                // Stop reading new requests at shutdown; a request already read is answered.
                while let Some(line) = conn.until_shutdown(lines.next_line()).await {
                    let Some(line) = line? else { break };
                    tokio::time::sleep(delay).await;
                    write
                        .write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                        .await?;
                    events.publish(format!("{peer} {line}"));
                    let _ = jobs.try_send(line);
                }
                Ok::<(), BoxError>(())
            });
        }
        Ok::<(), BoxError>(())
    });

    let worker = shutdown.clone();
    shutdown.spawn("worker", async move {
        while let Some(Some(job)) = worker.until_shutdown(queue.recv()).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
            publisher.publish(format!("job done: {job}"));
        }
    });
    Ok(())
}
