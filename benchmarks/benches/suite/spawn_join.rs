//! Spawn and join: 1,000,000 trivial tasks through `Shutdown::spawn` against a tokio-util
//! `TaskTracker`, each in a fresh process.

use crate::Rounds;
use crate::child::Service;
use crate::stats::{PAIR_HEADER, Pair};

pub const MICRO: &str = env!("CARGO_BIN_EXE_micro");
const TASKS: usize = 1_000_000;

fn ns_per_task(side: &str, spawners: usize) -> f64 {
    let args = [
        "spawn".into(),
        side.into(),
        TASKS.to_string(),
        spawners.to_string(),
    ];
    let mut service = Service::start(MICRO, &args);
    let ns = service.wait_for("ns_per_task").parse().expect("a number");
    service.wait();
    ns
}

pub fn run(rounds: Rounds) {
    println!("## Spawn and join\n");
    println!(
        "`micro spawn graceful|baseline 1000000`: spawn a million trivial tasks and wait for \
         them all, through `Shutdown::spawn` and the lifecycle's drain (`Config::run`), or \
         through `TaskTracker::spawn`, `close` and `wait` on a plain runtime. The time is the \
         whole run, runtime built and shut down included, divided by the tasks. Spawned from \
         `main` (the `block_on` thread), then from one task per core at once, as a server \
         spawning per request does.\n"
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut from_main = Pair::default();
    let mut from_workers = Pair::default();
    for _ in 0..rounds.0 {
        from_main.graceful.push(ns_per_task("graceful", 0));
        from_main.baseline.push(ns_per_task("baseline", 0));
        from_workers.graceful.push(ns_per_task("graceful", cores));
        from_workers.baseline.push(ns_per_task("baseline", cores));
    }
    println!("{PAIR_HEADER}");
    println!(
        "{}",
        from_main.row("spawn + join from main (ns per task)", 0, 1.10)
    );
    println!(
        "{}\n",
        from_workers.row(
            &format!("spawn + join from {cores} tasks at once (ns per task)"),
            0,
            1.10
        )
    );
}
