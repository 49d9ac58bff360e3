//! Shutdown latency, start-up time and peak memory of a real process with N parked tasks and
//! 10 resources: from a real SIGTERM to the exit, from exec to `ready`, and `ru_maxrss`.

use crate::Rounds;
use crate::child::{Service, settle};
use crate::stats::{PAIR_HEADER, Pair, Samples};

const GRACEFUL: &str = env!("CARGO_BIN_EXE_parked_graceful");
const BASELINE: &str = env!("CARGO_BIN_EXE_parked_baseline");
const SIZES: [usize; 3] = [1, 1_000, 100_000];

struct Run {
    startup_ms: f64,
    /// The service's own timing of its spawn loop, printed on its `ready` line.
    spawning_ms: f64,
    shutdown_ms: f64,
    peak_rss: f64,
}

fn run_once(binary: &str, tasks: usize) -> Run {
    let mut service = Service::start(binary, &[tasks.to_string()]);
    let ready = service.wait_for("ready");
    let startup = service.started.elapsed();
    let spawning_us: f64 = ready
        .split_whitespace()
        .nth(1)
        .and_then(|micros| micros.parse().ok())
        .expect("`ready TASKS MICROS`");
    settle(tasks);
    let signalled = service.terminate();
    let ended = service.wait();
    Run {
        startup_ms: startup.as_secs_f64() * 1e3,
        spawning_ms: spawning_us / 1e3,
        shutdown_ms: (ended.at - signalled).as_secs_f64() * 1e3,
        peak_rss: ended.peak_rss as f64,
    }
}

pub fn run(rounds: Rounds) {
    println!("## Shutdown, start-up and memory: a real process, N parked tasks, 10 resources\n");
    println!(
        "`parked_graceful N` (`#[graceful::main]`, ten `#[resource(order = 1..=10)]`, N tasks on \
         `shutdown.cancelled()`) against `parked_baseline N` (`#[tokio::main]`, a \
         `CancellationToken`, a `TaskTracker`, the same resources closed in reverse by hand). \
         Each round starts both, waits for `ready`, lets the tasks park, sends SIGTERM and \
         reaps with wait4(2).\n"
    );
    println!("{PAIR_HEADER}");
    let mut startup_100k = Pair::default();
    let mut spawning_100k = Pair::default();
    let mut rss = [Pair::default(), Pair::default()];
    for (size_index, &tasks) in SIZES.iter().enumerate() {
        let mut shutdown = Pair::default();
        for _ in 0..rounds.0 {
            let graceful = run_once(GRACEFUL, tasks);
            let baseline = run_once(BASELINE, tasks);
            shutdown.graceful.push(graceful.shutdown_ms);
            shutdown.baseline.push(baseline.shutdown_ms);
            if tasks == 100_000 {
                startup_100k.graceful.push(graceful.startup_ms);
                startup_100k.baseline.push(baseline.startup_ms);
                spawning_100k.graceful.push(graceful.spawning_ms);
                spawning_100k.baseline.push(baseline.spawning_ms);
            }
            if size_index == 0 || tasks == 100_000 {
                let slot = usize::from(tasks == 100_000);
                rss[slot].graceful.push(graceful.peak_rss);
                rss[slot].baseline.push(baseline.peak_rss);
            }
        }
        println!(
            "{}",
            shutdown.row(&format!("SIGTERM → exit, N = {tasks} (ms)"), 2, 1.05)
        );
    }
    println!(
        "{}",
        startup_100k.row("exec → ready, N = 100000 (ms)", 1, 1.10)
    );
    println!(
        "| of which the spawn loop, N = 100000 (ms) | {} | {} | {} | |",
        spawning_100k.graceful.show(1),
        spawning_100k.baseline.show(1),
        spawning_100k.ratios().show(3)
    );
    // Bytes per task: the peak with 100,000 tasks less the median peak with one, per round.
    let per_task = |with: &Samples, without: &Samples| {
        let base = without.median();
        Samples(with.0.iter().map(|peak| (peak - base) / 99_999.0).collect())
    };
    let memory = Pair {
        graceful: per_task(&rss[1].graceful, &rss[0].graceful),
        baseline: per_task(&rss[1].baseline, &rss[0].baseline),
    };
    println!(
        "{}",
        memory.row("peak RSS per parked task (bytes)", 0, 1.10)
    );
    println!(
        "| peak RSS, N = 1 (MiB) | {} | {} | | |\n",
        Samples(rss[0].graceful.0.iter().map(|b| b / 1048576.0).collect()).show(2),
        Samples(rss[0].baseline.0.iter().map(|b| b / 1048576.0).collect()).show(2),
    );
}
