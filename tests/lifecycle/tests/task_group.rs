//! Nothing escapes the drain, nothing is lost (issue 11): the task group as a service meets it.

mod common;

use std::time::Duration;

use common::{SOON, Service};

const NAMES: &str = env!("CARGO_BIN_EXE_names");
const SERVICE: &str = env!("CARGO_BIN_EXE_service");
const GROUP: &str = env!("CARGO_BIN_EXE_group");

/// Timeout of the `group` fixture, and a wide margin past it.
const GROUP_BOUND: Duration = Duration::from_secs(3 + 3);

fn signalled(scenario: &str) -> common::Exit {
    let (exit, elapsed) = common::signalled(GROUP, scenario);
    assert!(elapsed < GROUP_BOUND, "took {elapsed:?}");
    exit
}

// 1. Late spawns escape.

#[test]
fn a_close_can_spawn_a_flush_and_wait_for_it() {
    let exit = signalled("flush_awaited");
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closing buffer", "flushed", "closed buffer", "closing db"]);
}

#[test]
fn a_flush_a_close_leaves_running_still_runs_within_the_deadline() {
    let exit = signalled("flush_unawaited");
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closing buffer", "closed buffer", "flushed"]);
}

#[test]
fn a_task_that_keeps_respawning_itself_stops_at_the_drains_end() {
    let exit = signalled("relay");
    // The relay never ends by itself: the drain is cut, which is a failure.
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        !exit.has("hop after the first close"),
        "a hop ran while resources closed: {:?}",
        exit.events
    );
    // One hop, or two: one that has spawned the next and not yet ended.
    assert!(
        exit.stderr
            .contains("task `relay` (1 running) aborted at the deadline")
            || exit
                .stderr
                .contains("task `relay` (2 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    exit.assert_order(&["closing cache", "closing buffer", "closing db", "closed db"]);
}

#[test]
fn a_close_whose_error_cannot_be_displayed_is_reported_and_the_next_one_still_closes() {
    let exit = signalled("close_error_unprintable");
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closing buffer", "closing db", "closed db"]);
    assert!(
        exit.stderr
            .contains("resource `buffer` panicked while closing: Display of Unprintable"),
        "stderr:\n{}",
        exit.stderr
    );
}

// 2. Aborted is not stopped.

#[test]
fn an_aborted_task_has_stopped_before_the_first_resource_closes() {
    let exit = signalled("slow_abort");
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["straggler dropped", "closing cache"]);
    assert!(
        !exit.has("straggler dropped after the first close"),
        "{:?}",
        exit.events
    );
}

// 6. A close that blocks its thread.

#[test]
fn a_close_that_blocks_its_thread_does_not_stop_the_next_close_on_one_worker_or_one_thread() {
    for scenario in ["blocking_close_one_worker", "blocking_close_current_thread"] {
        let exit = signalled(scenario);
        assert_eq!(exit.code, Some(1), "{scenario}: stderr:\n{}", exit.stderr);
        exit.assert_order(&[
            "closing cache",
            "closing buffer",
            "closed buffer",
            "closed db",
        ]);
        assert!(
            exit.stderr
                .contains("resource `cache` did not close within 500ms"),
            "{scenario}: stderr:\n{}",
            exit.stderr
        );
    }
}

// 5. A resource without `timeout` gets no close time.

#[test]
fn resources_without_a_timeout_still_close_after_a_hung_task() {
    let (exit, elapsed) = common::signalled(env!("CARGO_BIN_EXE_undeclared"), "");
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closed publisher", "closed db"]);
    assert!(
        !exit.stderr.contains("was not closed"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(
        exit.stderr
            .contains("task `hung` (1 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(elapsed < Duration::from_secs(2 + 3), "took {elapsed:?}");
}

// 8. The reserve swallows the drain.

#[test]
fn a_close_budget_as_long_as_the_timeout_still_leaves_the_drain_time_every_run() {
    for _ in 0..5 {
        let (exit, _) = common::signalled(env!("CARGO_BIN_EXE_budget"), "");
        assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
        exit.assert_order(&["quick done", "closed db"]);
        assert!(
            exit.stderr
                .contains("exceed half of the 2s the shutdown timeout leaves after the drain delay: the drain keeps 1s"),
            "warned at startup; stderr:\n{}",
            exit.stderr
        );
    }
}

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
