//! Concurrent teardown: ten resources that each take 50 ms to close, of equal order (they
//! close together) and of distinct orders (one after another, the sequence honoured).

use crate::Rounds;
use crate::child::Service;
use crate::stats::Samples;

const EQUAL: &str = env!("CARGO_BIN_EXE_teardown_equal");
const DISTINCT: &str = env!("CARGO_BIN_EXE_teardown_distinct");

fn teardown_ms(binary: &str) -> f64 {
    let mut service = Service::start(binary, &[]);
    let micros: f64 = service.wait_for("teardown_us").parse().expect("a number");
    service.wait();
    micros / 1e3
}

pub fn run(rounds: Rounds) {
    println!("## Teardown: 10 resources, each 50 ms to close\n");
    println!(
        "From the first close starting to the last one ending, as the resources themselves \
         time it (`teardown_equal`, `teardown_distinct`).\n"
    );
    let mut equal = Samples::default();
    let mut distinct = Samples::default();
    for _ in 0..rounds.0 {
        equal.push(teardown_ms(EQUAL));
        distinct.push(teardown_ms(DISTINCT));
    }
    println!("| orders | teardown, median (min–max) ms | target |\n|---|---|---|");
    let verdict = |met: bool| if met { "met" } else { "**missed**" };
    println!(
        "| all equal (concurrent) | {} | ≈ 50 ms: {} |",
        equal.show(1),
        verdict(equal.median() < 60.0)
    );
    println!(
        "| all distinct (in order) | {} | ≈ 500 ms: {} |\n",
        distinct.show(1),
        verdict((500.0..560.0).contains(&distinct.median()))
    );
}
