//! Nothing escapes the drain, nothing is lost (issue 11): the task group as a service meets it.

mod common;

use std::time::Duration;

use common::{SOON, Service};

const NAMES: &str = env!("CARGO_BIN_EXE_names");
const SERVICE: &str = env!("CARGO_BIN_EXE_service");

#[test]
fn a_task_error_whose_display_panics_still_fails_the_shutdown() {
    let mut service = Service::start(SERVICE, "display_panics");
    service.wait_for("ready");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closed publisher", "closed cache", "closed db"]);
    assert!(
        exit.stderr.contains(
            "task `http` failed: an error that panicked while being rendered: Display of Unprintable"
        ),
        "stderr:\n{}",
        exit.stderr
    );
}

fn names_run(scenario: &str) -> Service {
    Service::start(NAMES, scenario)
}

/// `counted N in L lines, peak P KiB` → (N, L, P).
fn parse(event: &str) -> (u64, usize, u64) {
    let words: Vec<&str> = event.split_whitespace().collect();
    (
        words[1].parse().unwrap(),
        words[3].parse().unwrap(),
        words[6].parse().unwrap(),
    )
}

#[test]
fn a_million_uniquely_named_tasks_cost_no_more_memory_than_one_name() {
    // Both at once: the machine has two cores.
    let mut one = names_run("one");
    let mut unique = names_run("unique");
    let timeout = Duration::from_secs(120);
    one.wait_for_within("counted", timeout);
    unique.wait_for_within("counted", timeout);
    let (one_counted, one_lines, one_peak) = parse(one.events.last().unwrap());
    let (unique_counted, unique_lines, unique_peak) = parse(unique.events.last().unwrap());
    let _ = (one.wait(timeout), unique.wait(timeout));

    // Before names were folded, each one kept about 280 bytes for ever: 270 MiB here.
    assert!(
        unique_peak < one_peak + 8 * 1024,
        "peak RSS {unique_peak} KiB with unique names against {one_peak} KiB with one"
    );
    assert_eq!((one_counted, one_lines), (1_000_000, 1));
    // Every task is counted: the first thousand names on lines of their own, the rest together.
    assert_eq!((unique_counted, unique_lines), (1_000_000, 1001));
}
