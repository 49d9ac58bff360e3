//! Spawn and join: 1,000,000 trivial tasks through `Shutdown::spawn` against a tokio-util
//! `TaskTracker`, each in a fresh process.

use crate::Rounds;
use crate::child::Service;
use crate::stats::{PAIR_HEADER, Pair};

pub const MICRO: &str = env!("CARGO_BIN_EXE_micro");
const TASKS: usize = 1_000_000;

fn ns_per_task(side: &str) -> f64 {
    let mut service = Service::start(MICRO, &["spawn".into(), side.into(), TASKS.to_string()]);
    let ns = service.wait_for("ns_per_task").parse().expect("a number");
    assert_eq!(service.wait().exit_code, 0, "micro spawn {side} failed");
    ns
}

pub fn run(rounds: Rounds) {
    println!("## Spawn and join\n");
    println!(
        "`micro spawn graceful|baseline 1000000`: spawn a million trivial tasks and wait for \
         them all, through `Shutdown::spawn` and the lifecycle's drain (`Config::run`), or \
         through `TaskTracker::spawn`, `close` and `wait` on a plain runtime. The time is the \
         whole run, runtime built and shut down included, divided by the tasks.\n"
    );
    let mut pair = Pair::default();
    for _ in 0..rounds.0 {
        pair.graceful.push(ns_per_task("graceful"));
        pair.baseline.push(ns_per_task("baseline"));
    }
    println!("{PAIR_HEADER}");
    println!("{}\n", pair.row("spawn + join (ns per task)", 0, 1.10));
}
