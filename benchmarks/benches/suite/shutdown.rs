//! Shutdown latency, start-up time and peak memory of a real process with N parked tasks and
//! 10 resources: from a real SIGTERM to the exit, from exec to `ready`, and `ru_maxrss`.

use crate::child::{Service, settle};
use crate::stats::{SIDES_HEADER, Samples, Sides};
use crate::{Rounds, peers};

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

fn run_once(mut service: Service, tasks: usize) -> Run {
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

/// The four services of a round, in the order they run.
#[derive(Clone, Copy)]
enum Side {
    Graceful,
    Baseline,
    TokioGraceful,
    TokioGracefulShutdown,
}

const SIDES: [Side; 4] = [
    Side::Graceful,
    Side::Baseline,
    Side::TokioGraceful,
    Side::TokioGracefulShutdown,
];

fn run_side(side: Side, tasks: usize) -> Run {
    match side {
        Side::Graceful => run_once(Service::start(GRACEFUL, &[tasks.to_string()]), tasks),
        Side::Baseline => run_once(Service::start(BASELINE, &[tasks.to_string()]), tasks),
        Side::TokioGraceful => run_once(
            Service::start_peer(peers::PARKED_TOKIO_GRACEFUL, &[tasks.to_string()]),
            tasks,
        ),
        Side::TokioGracefulShutdown => run_once(
            Service::start_peer(peers::PARKED_TOKIO_GRACEFUL_SHUTDOWN, &[tasks.to_string()]),
            tasks,
        ),
    }
}

fn samples(sides: &mut Sides, side: Side) -> &mut Samples {
    match side {
        Side::Graceful => &mut sides.graceful,
        Side::Baseline => &mut sides.baseline,
        Side::TokioGraceful => &mut sides.tokio_graceful,
        Side::TokioGracefulShutdown => &mut sides.tokio_graceful_shutdown,
    }
}

/// The issue 17 targets for graceful's ratio to the baseline: SIGTERM → exit by size.
const EXIT_TARGETS: [f64; 3] = [0.95, 0.90, 0.85];

pub fn run(rounds: Rounds) {
    println!("## Shutdown, start-up and memory: a real process, N parked tasks, 10 resources\n");
    println!(
        "`parked_graceful N` (`#[graceful::main]`, ten `#[resource(order = 1..=10)]`, N tasks on \
         `shutdown.cancelled()`) against `parked_baseline N` (`#[tokio::main]`, a \
         `CancellationToken`, a `TaskTracker`, the same resources closed in reverse by hand), \
         and the same service on tokio-graceful (N tasks on their guard's `cancelled()`, \
         `shutdown_with_limit`) and on tokio-graceful-shutdown (N subsystems on \
         `on_shutdown_requested()` under a `Toplevel` catching the signals). Each round starts \
         the four in turn, waits for `ready`, lets the tasks park, sends SIGTERM and reaps \
         with wait4(2). Ratios are to the baseline, per round.\n"
    );
    println!("{SIDES_HEADER}");
    let mut startup_100k = Sides::default();
    let mut spawning_100k = Sides::default();
    let mut rss = [Sides::default(), Sides::default()];
    for (size_index, &tasks) in SIZES.iter().enumerate() {
        let mut shutdown = Sides::default();
        for _ in 0..rounds.0 {
            for side in SIDES {
                let run = run_side(side, tasks);
                samples(&mut shutdown, side).push(run.shutdown_ms);
                if tasks == 100_000 {
                    samples(&mut startup_100k, side).push(run.startup_ms);
                    samples(&mut spawning_100k, side).push(run.spawning_ms);
                }
                if size_index == 0 || tasks == 100_000 {
                    let slot = usize::from(tasks == 100_000);
                    samples(&mut rss[slot], side).push(run.peak_rss);
                }
            }
        }
        println!(
            "{}",
            shutdown.row(
                &format!("SIGTERM → exit, N = {tasks} (ms)"),
                2,
                EXIT_TARGETS[size_index]
            )
        );
    }
    println!(
        "{}",
        startup_100k.row("exec → ready, N = 100000 (ms)", 1, 1.05)
    );
    println!(
        "{}",
        spawning_100k.detail_row("of which the spawn loop, N = 100000 (ms)", 1)
    );
    // Bytes per task: the peak with 100,000 tasks less the median peak with one, per round.
    let per_task = |with: &Samples, without: &Samples| {
        let base = without.median();
        Samples(with.0.iter().map(|peak| (peak - base) / 99_999.0).collect())
    };
    let mut memory = Sides::default();
    for side in SIDES {
        let with = samples(&mut rss[1], side).clone();
        let without = samples(&mut rss[0], side).clone();
        *samples(&mut memory, side) = per_task(&with, &without);
    }
    println!(
        "{}",
        memory.row("peak RSS per parked task (bytes)", 0, 1.05)
    );
    let mib = |samples: &Samples| Samples(samples.0.iter().map(|b| b / 1048576.0).collect());
    println!(
        "| peak RSS, N = 1 (MiB) | {} | {} | | {} | {} | |\n",
        mib(&rss[0].graceful).show(2),
        mib(&rss[0].baseline).show(2),
        mib(&rss[0].tokio_graceful).show(2),
        mib(&rss[0].tokio_graceful_shutdown).show(2),
    );
}
