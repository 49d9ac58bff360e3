//! Spawn and join: 1,000,000 trivial tasks through `Shutdown::spawn` against a tokio-util
//! `TaskTracker`, each in a fresh process.

use crate::child::Service;
use crate::stats::{SIDES_HEADER, Sides};
use crate::{Rounds, peers};

pub const MICRO: &str = env!("CARGO_BIN_EXE_micro");
const TASKS: usize = 1_000_000;

fn ns_per_task(side: &str, spawners: usize) -> f64 {
    let args = [
        "spawn".into(),
        side.into(),
        TASKS.to_string(),
        spawners.to_string(),
    ];
    measured(Service::start(MICRO, &args))
}

fn ns_per_task_tokio_graceful(spawners: usize) -> f64 {
    let args = [TASKS.to_string(), spawners.to_string()];
    measured(Service::start_peer(peers::SPAWN_TOKIO_GRACEFUL, &args))
}

fn measured(mut service: Service) -> f64 {
    let ns = service.wait_for("ns_per_task").parse().expect("a number");
    service.wait();
    ns
}

pub fn run(rounds: Rounds) {
    println!("## Spawn and join\n");
    println!(
        "`micro spawn graceful|baseline 1000000`: spawn a million trivial tasks and wait for \
         them all, through `Shutdown::spawn` and the lifecycle's drain (`Config::run`), or \
         through `TaskTracker::spawn`, `close` and `wait` on a plain runtime, or through \
         tokio-graceful's `spawn_task` and `shutdown()`. The time is the whole run, runtime \
         built and shut down included, divided by the tasks. Spawned from `main` (the \
         `block_on` thread), then from one task per core at once, as a server spawning per \
         request does. tokio-graceful-shutdown has no column: a subsystem per task is not \
         what it is made for, and a million take minutes.\n"
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut from_main = Sides::default();
    let mut from_workers = Sides::default();
    for _ in 0..rounds.0 {
        for (sides, spawners) in [(&mut from_main, 0), (&mut from_workers, cores)] {
            sides.graceful.push(ns_per_task("graceful", spawners));
            sides.baseline.push(ns_per_task("baseline", spawners));
            sides
                .tokio_graceful
                .push(ns_per_task_tokio_graceful(spawners));
        }
    }
    println!("{SIDES_HEADER}");
    println!(
        "{}",
        from_main.row("spawn + join from main (ns per task)", 0, 1.00)
    );
    println!(
        "{}\n",
        from_workers.row(
            &format!("spawn + join from {cores} tasks at once (ns per task)"),
            0,
            1.00
        )
    );
}
