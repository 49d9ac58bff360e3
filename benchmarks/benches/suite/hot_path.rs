//! The hot path: the shutdown flag and readiness read from every core at once, with and
//! without 100,000 tasks alive.

use crate::Rounds;
use crate::child::Service;
use crate::spawn_join::MICRO;
use crate::stats::Samples;

fn reads(side: &str, tasks: usize) -> Vec<(String, f64)> {
    let mut service = Service::start(MICRO, &["hot".into(), side.into(), tasks.to_string()]);
    let names: &[&str] = if side == "graceful" {
        &["is_shutting_down", "is_ready"]
    } else {
        &["atomic_load", "token_is_cancelled"]
    };
    let values = names
        .iter()
        .map(|name| {
            let value = service.wait_for(name).parse().expect("a number");
            ((*name).to_owned(), value)
        })
        .collect();
    service.wait();
    values
}

pub fn run(rounds: Rounds) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("## Hot path: reading the shutdown state from all {cores} cores at once\n");
    println!(
        "`micro hot graceful|baseline TASKS`: one thread per core reads the flag 20,000,000 \
         times; the slowest thread's time per read. The baseline is a bare `AtomicBool` (the \
         floor) and tokio-util's `CancellationToken::is_cancelled` (which takes a mutex).\n"
    );
    println!("| read | tasks alive | ns per read, median (min–max) |\n|---|---|---|");
    for tasks in [0, 100_000] {
        let mut samples: Vec<(String, Samples)> = Vec::new();
        for _ in 0..rounds.0 {
            for side in ["graceful", "baseline"] {
                for (name, value) in reads(side, tasks) {
                    match samples.iter_mut().find(|(known, _)| *known == name) {
                        Some((_, values)) => values.push(value),
                        None => samples.push((name, Samples(vec![value]))),
                    }
                }
            }
        }
        for (name, values) in samples {
            let label = match name.as_str() {
                "is_shutting_down" => "graceful `Shutdown::is_shutting_down`",
                "is_ready" => "graceful `Readiness::is_ready`",
                "atomic_load" => "baseline `AtomicBool::load(Acquire)`",
                _ => "baseline `CancellationToken::is_cancelled`",
            };
            println!("| {label} | {tasks} | {} |", values.show(2));
        }
    }
    println!();
}
