//! The task group's invariant under load (issue 11): spawners on every worker mix quick,
//! yielding, respawning, failing, panicking and stuck tasks against a short deadline, round
//! after round. Every task spawned is counted once in the report (succeeded, failed or
//! aborted), and none is polled or dropped once the first resource has begun to close.
//!
//! A test binary of its own: its resource is declared on a function, and every `Config::run`
//! of a binary opens those.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use graceful::{BoxError, Close, Config, Shutdown};

/// Set when the resource starts closing.
static CLOSING: AtomicBool = AtomicBool::new(false);
/// Polls and drops of a task seen after `CLOSING`.
static LATE: AtomicU64 = AtomicU64::new(0);

const KINDS: [&str; 6] = [
    "quick",
    "yielding",
    "respawning",
    "failing",
    "panicking",
    "stuck",
];
static SPAWNED: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

struct Probe;

impl Close for Probe {
    async fn close(&self) -> Result<(), BoxError> {
        CLOSING.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[graceful::resource(order = 1, timeout = "50ms")]
async fn probe() -> Result<Probe, BoxError> {
    Ok(Probe)
}

/// A task's future that notes every poll, and its drop, after the first close has begun.
struct Watched<F> {
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Watched<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if CLOSING.load(Ordering::SeqCst) {
            LATE.fetch_add(1, Ordering::SeqCst);
        }
        self.future.as_mut().poll(cx)
    }
}

impl<F> Drop for Watched<F> {
    fn drop(&mut self) {
        if CLOSING.load(Ordering::SeqCst) {
            LATE.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn spawn_kind(shutdown: &Shutdown, kind: usize) {
    SPAWNED[kind].fetch_add(1, Ordering::SeqCst);
    let again = shutdown.clone();
    let task = async move {
        match KINDS[kind] {
            "quick" => Ok(()),
            "yielding" => {
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                Ok(())
            }
            "respawning" => {
                tokio::task::yield_now().await;
                spawn_kind(&again, kind);
                Ok(())
            }
            "failing" => Err::<(), BoxError>("failed on purpose".into()),
            "panicking" => panic!("panicked on purpose"),
            _ => std::future::pending().await,
        }
    };
    shutdown.spawn(
        KINDS[kind],
        Watched {
            future: Box::pin(task),
        },
    );
}

#[test]
fn every_task_is_counted_once_and_none_runs_while_a_resource_closes() {
    // Thousands of tasks panic on purpose: keep their messages, and only those, out of the
    // output.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"panicked on purpose") {
            default(info);
        }
    }));
    for round in 0..20 {
        CLOSING.store(false, Ordering::SeqCst);
        LATE.store(0, Ordering::SeqCst);
        for spawned in &SPAWNED {
            spawned.store(0, Ordering::SeqCst);
        }
        let report = Config::new()
            .timeout(Duration::from_millis(600))
            .worker_threads(2)
            .run(|shutdown| async move {
                for spawner in 0..4 {
                    let shutdown_ = shutdown.clone();
                    shutdown.spawn("spawner", async move {
                        // Ignores the cancel: spawns until it is aborted at the drain's end.
                        for kind in spawner.. {
                            spawn_kind(&shutdown_, kind % KINDS.len());
                            tokio::task::yield_now().await;
                        }
                    });
                }
            });
        assert_eq!(
            LATE.load(Ordering::SeqCst),
            0,
            "round {round}: tasks ran while the resource closed"
        );
        for (kind, name) in KINDS.iter().enumerate() {
            let spawned = SPAWNED[kind].load(Ordering::SeqCst);
            let counted = report
                .tasks
                .iter()
                .find(|task| task.name == *name)
                .map_or(0, |task| task.succeeded + task.failed + task.aborted);
            assert_eq!(
                counted, spawned,
                "round {round}: `{name}`: {spawned} spawned, {counted} counted; {:?}",
                report.tasks
            );
        }
        assert_eq!(report.exit_code(), 1, "round {round}: tasks failed");
    }
}
