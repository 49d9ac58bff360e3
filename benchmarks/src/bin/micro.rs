//! In-process measurements, one per process so that runs do not share a heap or a runtime:
//!
//! - `micro spawn graceful|baseline N [SPAWNERS]`: spawn N trivial tasks and wait for all of
//!   them, through `Shutdown::spawn` and the lifecycle's drain, or through a tokio-util
//!   `TaskTracker` (`spawn`, `close`, `wait`). With SPAWNERS (default 0), that many tasks do
//!   the spawning from the runtime's workers, as a server spawning per request does; with 0,
//!   `main` spawns them all. Prints `ns_per_task X`: the whole run, runtime included, divided
//!   by N.
//! - `micro hot graceful|baseline TASKS`: with TASKS parked tasks alive, every core reads the
//!   shutdown flag in a loop. Prints `ns_per_read X` per check (the slowest core).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const READS: u64 = 20_000_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize| -> usize {
        args.get(index)
            .and_then(|arg| arg.parse().ok())
            .expect("usage: micro spawn|hot graceful|baseline N")
    };
    match (
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    ) {
        (Some("spawn"), Some("graceful")) => spawn_graceful(number(2), spawners(&args)),
        (Some("spawn"), Some("baseline")) => spawn_baseline(number(2), spawners(&args)),
        (Some("hot"), Some("graceful")) => hot_graceful(number(2)),
        (Some("hot"), Some("baseline")) => hot_baseline(number(2)),
        _ => panic!("usage: micro spawn|hot graceful|baseline N"),
    }
}

fn spawners(args: &[String]) -> usize {
    args.get(3)
        .map_or(0, |arg| arg.parse().expect("SPAWNERS is a number"))
}

fn spawn_graceful(tasks: usize, spawners: usize) {
    let started = Instant::now();
    let report = graceful::Config::new().run(|shutdown| async move {
        if spawners == 0 {
            for _ in 0..tasks {
                shutdown.spawn("trivial", async {});
            }
            return;
        }
        for _ in 0..spawners {
            let group = shutdown.clone();
            shutdown.spawn("spawner", async move {
                for _ in 0..tasks / spawners {
                    group.spawn("trivial", async {});
                }
            });
        }
    });
    let elapsed = started.elapsed();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    println!("ns_per_task {}", elapsed.as_nanos() as f64 / tasks as f64);
}

/// What `#[tokio::main]` builds: a multi-thread runtime with a worker per core.
fn baseline_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn spawn_baseline(tasks: usize, spawners: usize) {
    let started = Instant::now();
    let runtime = baseline_runtime();
    runtime.block_on(async {
        let tracker = TaskTracker::new();
        if spawners == 0 {
            for _ in 0..tasks {
                tracker.spawn(async {});
            }
        }
        for _ in 0..spawners {
            let group = tracker.clone();
            tracker.spawn(async move {
                for _ in 0..tasks / spawners {
                    group.spawn(async {});
                }
            });
        }
        tracker.close();
        tracker.wait().await;
    });
    runtime.shutdown_background();
    let elapsed = started.elapsed();
    println!("ns_per_task {}", elapsed.as_nanos() as f64 / tasks as f64);
}

/// Runs `read` `READS` times on every core at once; the slowest core's time per read.
fn read_from_every_core(read: impl Fn() -> bool + Sync) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let slowest = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                let started = Instant::now();
                let mut seen = 0u64;
                for _ in 0..READS {
                    seen += u64::from(black_box(&read)());
                }
                black_box(seen);
                let nanos = started.elapsed().as_nanos() as u64;
                slowest.fetch_max(nanos, Ordering::Relaxed);
            });
        }
    });
    slowest.into_inner() as f64 / READS as f64
}

fn hot_graceful(tasks: usize) {
    let report = graceful::Config::new().run(|shutdown| async move {
        for _ in 0..tasks {
            shutdown.spawn("parked", shutdown.cancelled());
        }
        // Let the tasks park before reading.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let flag = shutdown.clone();
        let shutting_down = read_from_every_core(move || flag.is_shutting_down());
        let readiness = shutdown.readiness();
        let ready = read_from_every_core(move || readiness.is_ready());
        println!("is_shutting_down {shutting_down}");
        println!("is_ready {ready}");
        shutdown.trigger("benchmark over");
    });
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
}

fn hot_baseline(tasks: usize) {
    let runtime = baseline_runtime();
    runtime.block_on(async {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        for _ in 0..tasks {
            tracker.spawn(token.clone().cancelled_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The floor: a flag of its own, one atomic load.
        let flag = Arc::new(AtomicBool::new(false));
        let atomic = read_from_every_core(|| flag.load(Ordering::Acquire));
        // What code written against tokio-util reaches for.
        let probe = token.clone();
        let is_cancelled = read_from_every_core(move || probe.is_cancelled());
        println!("atomic_load {atomic}");
        println!("token_is_cancelled {is_cancelled}");
        token.cancel();
        tracker.close();
        tracker.wait().await;
    });
    runtime.shutdown_background();
}
