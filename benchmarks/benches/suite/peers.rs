//! The two best-known peers, tokio-graceful 0.2 and tokio-graceful-shutdown 0.20, written for
//! the very workloads of `parked_graceful` and `micro spawn`: further columns of the report.
//!
//! They are dev-dependencies of the benchmark package only, which a `[[bin]]` cannot use, so
//! the suite's own binary is their service: started again with [`PEER`] set, it runs the
//! workload named there instead of the suite.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use graceful_benches::{Conn, ready, tasks_from_args};
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

/// Set to the workload to run: the suite then is that peer's service.
pub const PEER: &str = "GRACEFUL_BENCH_PEER";

/// `parked N` on tokio-graceful: N tasks waiting on their guard's `cancelled()`, the default
/// signal (SIGTERM or Ctrl+C), the 60 s limit, then the resources closed in reverse.
pub const PARKED_TOKIO_GRACEFUL: &str = "parked-tokio-graceful";
/// `parked N` on tokio-graceful-shutdown: N subsystems waiting on `on_shutdown_requested()`
/// under a `Toplevel` that catches the signals, with the 60 s limit.
pub const PARKED_TOKIO_GRACEFUL_SHUTDOWN: &str = "parked-tokio-graceful-shutdown";
/// `spawn N SPAWNERS` on tokio-graceful: N trivial tasks through `spawn_task`, then
/// `shutdown()` once every guard is gone (the signal is a ready future).
pub const SPAWN_TOKIO_GRACEFUL: &str = "spawn-tokio-graceful";

/// Runs the peer workload `name` (arguments as the graceful service of that workload takes).
pub fn serve(name: &str) {
    // What `#[tokio::main]` builds, as for the baseline.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match name {
        PARKED_TOKIO_GRACEFUL => runtime.block_on(parked_tokio_graceful()),
        PARKED_TOKIO_GRACEFUL_SHUTDOWN => runtime.block_on(parked_tokio_graceful_shutdown()),
        SPAWN_TOKIO_GRACEFUL => {
            let args: Vec<String> = std::env::args().collect();
            let number = |index: usize| -> usize {
                args.get(index)
                    .and_then(|arg| arg.parse().ok())
                    .unwrap_or_else(|| panic!("`{SPAWN_TOKIO_GRACEFUL} N SPAWNERS`"))
            };
            let (tasks, spawners) = (number(1), number(2));
            let started = Instant::now();
            runtime.block_on(spawn_tokio_graceful(tasks, spawners));
            runtime.shutdown_background();
            let elapsed = started.elapsed();
            println!("ns_per_task {}", elapsed.as_nanos() as f64 / tasks as f64);
        }
        other => panic!("{PEER}={other}: no such workload"),
    }
}

async fn parked_tokio_graceful() {
    let shutdown = tokio_graceful::Shutdown::default();
    let resources: Vec<Conn> = (1..=10).map(Conn).collect();
    let tasks = tasks_from_args();
    let spawning = Instant::now();
    for _ in 0..tasks {
        shutdown.spawn_task_fn(|guard| async move { guard.cancelled().await });
    }
    ready(format_args!("{tasks} {}", spawning.elapsed().as_micros()));
    if shutdown
        .shutdown_with_limit(Duration::from_secs(60))
        .await
        .is_err()
    {
        std::process::exit(1);
    }
    for resource in resources.iter().rev() {
        resource.close().await;
    }
}

async fn parked_tokio_graceful_shutdown() {
    let resources: Vec<Conn> = (1..=10).map(Conn).collect();
    let stopped = Toplevel::new(start_parked)
        .catch_signals()
        .handle_shutdown_requests(Duration::from_secs(60))
        .await;
    if stopped.is_err() {
        std::process::exit(1);
    }
    for resource in resources.iter().rev() {
        resource.close().await;
    }
}

async fn start_parked(top: &mut SubsystemHandle) {
    let tasks = tasks_from_args();
    let spawning = Instant::now();
    for _ in 0..tasks {
        top.start(SubsystemBuilder::new("parked", parked));
    }
    ready(format_args!("{tasks} {}", spawning.elapsed().as_micros()));
}

async fn parked(subsystem: &mut SubsystemHandle) -> Result<(), Infallible> {
    subsystem.on_shutdown_requested().await;
    Ok(())
}

async fn spawn_tokio_graceful(tasks: usize, spawners: usize) {
    let shutdown = tokio_graceful::Shutdown::new(std::future::ready(()));
    if spawners == 0 {
        for _ in 0..tasks {
            shutdown.spawn_task(async {});
        }
    }
    for _ in 0..spawners {
        shutdown.spawn_task_fn(move |guard| async move {
            for _ in 0..tasks / spawners {
                guard.spawn_task(async {});
            }
        });
    }
    shutdown.shutdown().await;
}
