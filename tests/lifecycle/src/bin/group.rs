//! The task group around the closes: what a close spawns, tasks that outlive the drain, and
//! closes that block their thread. Resources (declared on functions, so that `SCENARIO` can
//! choose the scheduler): `cache` (order 3, `timeout = "500ms"`), `buffer` (order 2, spawns a
//! flush from its close), `db` (order 1). The first close sets `CLOSING`, which tasks check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use graceful::{BoxError, Close, Config, Flavor, Shutdown};
use graceful_lifecycle_tests::{Unprintable, event, scenario};

/// Set when the first resource starts closing: no task of the group may run after.
static CLOSING: AtomicBool = AtomicBool::new(false);

fn closing(name: &str) {
    CLOSING.store(true, Ordering::SeqCst);
    event(format!("closing {name}"));
}

struct Cache;

impl Close for Cache {
    async fn close(&self) -> Result<(), BoxError> {
        closing("cache");
        if scenario().starts_with("blocking_close") {
            // A close that blocks its thread, as a synchronous flush or a deadlock would.
            std::thread::sleep(Duration::from_secs(30));
        }
        event("closed cache");
        Ok(())
    }
}

#[graceful::resource(order = 3, timeout = "500ms")]
async fn cache() -> Result<Cache, BoxError> {
    Ok(Cache)
}

struct Buffer {
    shutdown: Shutdown,
}

impl Close for Buffer {
    async fn close(&self) -> Result<(), BoxError> {
        closing("buffer");
        let flush = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            event("flushed");
        };
        match scenario().as_str() {
            "flush_awaited" => self.shutdown.spawn("flush", flush).await?,
            // Left running: it must still run, within the deadline.
            "flush_unawaited" => drop(self.shutdown.spawn("flush", flush)),
            "close_error_unprintable" => return Err(Box::new(Unprintable)),
            _ => {}
        }
        event("closed buffer");
        Ok(())
    }
}

#[graceful::resource(order = 2)]
async fn buffer(shutdown: Shutdown) -> Result<Buffer, BoxError> {
    Ok(Buffer { shutdown })
}

struct Db;

impl Close for Db {
    async fn close(&self) -> Result<(), BoxError> {
        closing("db");
        event("closed db");
        Ok(())
    }
}

#[graceful::resource(order = 1)]
async fn db() -> Result<Db, BoxError> {
    Ok(Db)
}

/// A task that spawns the next hop, then ends: the group is never empty.
fn relay(shutdown: Shutdown) {
    let next = shutdown.clone();
    shutdown.spawn("relay", async move {
        if CLOSING.load(Ordering::SeqCst) {
            event("hop after the first close");
        }
        tokio::task::yield_now().await;
        relay(next);
    });
}

/// Sleeps in its `Drop`: the task holding it is slow to stop when aborted. Slow next to a
/// teardown that would not wait (its first close starts within a millisecond of the abort),
/// and well inside the 250 ms it waits, also on a loaded machine.
struct SlowDrop;

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(40));
        event(format!(
            "straggler dropped{}",
            if CLOSING.load(Ordering::SeqCst) {
                " after the first close"
            } else {
                ""
            }
        ));
    }
}

fn main() {
    let scenario = scenario();
    let config = Config::new().timeout(Duration::from_secs(3));
    let config = match scenario.as_str() {
        "blocking_close_one_worker" => config.worker_threads(1),
        "blocking_close_current_thread" => config.flavor(Flavor::CurrentThread),
        _ => config,
    };
    config
        .run(|shutdown| async move {
            match scenario.as_str() {
                "relay" => relay(shutdown.clone()),
                "slow_abort" => {
                    shutdown.spawn("straggler", async {
                        let _guard = SlowDrop;
                        std::future::pending::<()>().await
                    });
                }
                _ => {
                    let task = shutdown.clone();
                    shutdown.spawn("idle", async move { task.cancelled().await });
                }
            }
            event("ready");
        })
        .exit()
}
