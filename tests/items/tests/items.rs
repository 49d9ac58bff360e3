//! Resources declared on functions, in several modules and in a library crate, as an operator
//! meets them: a real process and real signals. They open in ascending order with their
//! parameters injected by type, close in reverse, unwind when one fails, and a resource graph
//! that does not fit is refused at startup with every problem named.

#[path = "../../lifecycle/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{Exit, SOON, Service};

const SERVICE: &str = env!("CARGO_BIN_EXE_items_service");
const BROKEN: &str = env!("CARGO_BIN_EXE_items_broken");

/// The lower resources close in reverse, the equal-order pair together.
fn assert_lower_resources_closed_in_reverse(exit: &Exit) {
    exit.assert_order(&["closing cache", "closed cache", "closing db 1"]);
    exit.assert_order(&["closing tracer", "closed tracer", "closing db 1"]);
    // Order 20 closes concurrently: both start before either finishes (each takes 400 ms).
    assert!(
        exit.position("closing tracer") < exit.position("closed cache"),
        "{:?}",
        exit.events
    );
    assert!(
        exit.position("closing cache") < exit.position("closed tracer"),
        "{:?}",
        exit.events
    );
    exit.assert_order(&["closing db 1", "closing metrics", "closing settings"]);
}

#[test]
fn resources_from_modules_and_a_library_open_in_order_are_injected_and_close_in_reverse() {
    let mut service = Service::start(SERVICE, "ok");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);

    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    // Ascending order; `tracer` is declared in the library and named nowhere in the binary.
    exit.assert_order(&[
        "opened settings",
        "opened metrics",
        "opened db 1 for `ok` (count 1)",
        "opened audit",
        "main started: db 1 (opened 1 times), count",
        "ready",
    ]);
    exit.assert_order(&["opened db", "opened cache on db 1", "opened audit"]);
    exit.assert_order(&["opened db", "opened tracer", "opened audit"]);
    // Tasks, including the flusher a constructor spawned, drain before anything closes; the
    // `let` resource of main's body closes first, then the items in descending order.
    exit.assert_order(&["worker stopped", "closing session"]);
    exit.assert_order(&["audit flusher stopped", "closing session"]);
    exit.assert_order(&[
        "closing session",
        "closed session",
        "closing audit",
        "closing cache",
    ]);
    exit.assert_order(&["closing audit", "closing tracer"]);
    assert_lower_resources_closed_in_reverse(&exit);
    // One Metrics counter shared by its clones (db, tracer, main): counted 3 times, then
    // once more as the tracer closed.
    assert!(
        exit.has("closing metrics after 4 counts"),
        "{:?}",
        exit.events
    );
}

#[test]
fn a_failing_constructor_stops_the_startup_and_closes_what_opened_in_reverse() {
    // A service that never started has nothing to drain: the delay is skipped.
    let service = Service::start_with(SERVICE, "fail_open", &[("GRACEFUL_DRAIN_DELAY", "2s")]);
    let (exit, elapsed) = service.wait(SOON);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");

    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr.contains(
            "graceful: could not start (exit code 1): resource `audit` failed to open: the audit broker is unreachable"
        ),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(
        !exit.has("main started"),
        "main must not run: {:?}",
        exit.events
    );
    assert!(
        !exit.has("closing audit"),
        "audit never opened: {:?}",
        exit.events
    );
    assert_lower_resources_closed_in_reverse(&exit);
}

#[test]
fn a_panicking_constructor_is_a_startup_failure_too() {
    let service = Service::start(SERVICE, "panic_open");
    let (exit, _) = service.wait(SOON);

    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("resource `audit` panicked while opening: audit misconfigured"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(!exit.has("main started"), "{:?}", exit.events);
    assert_lower_resources_closed_in_reverse(&exit);
}

#[test]
fn a_signal_while_opening_lets_the_constructor_finish_then_closes_all_without_running_main() {
    let mut service = Service::start(SERVICE, "slow_open");
    service.wait_for("audit opening");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);

    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    assert!(!exit.has("main started"), "{:?}", exit.events);
    // Not interrupted: it opened, its flusher drained, and it closed first.
    exit.assert_order(&["opened audit", "closing audit", "closing cache"]);
    exit.assert_order(&["audit flusher stopped", "closing audit"]);
    assert_lower_resources_closed_in_reverse(&exit);
}

#[test]
fn a_constructor_that_never_finishes_is_cut_at_the_deadline_and_named() {
    let mut service = Service::start(SERVICE, "hang_open");
    service.wait_for("audit opening");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);

    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("task `audit (opening)` (1 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    // timeout = "5s": the drain is cut at the deadline less the closes' reserve (the db's 1 s,
    // 250 ms for each other group and for the aborted tasks to stop: 2.5 s).
    assert!(elapsed < Duration::from_secs(7), "took {elapsed:?}");
    assert_lower_resources_closed_in_reverse(&exit);
}

#[test]
fn a_failing_constructor_starts_shutdown_at_once_whatever_its_siblings_do() {
    // The cache fails after 100 ms; the tracer, of the same order, never finishes opening.
    let mut service = Service::start(SERVICE, "sibling_fails");
    service.wait_for("tracer opening");
    let (exit, elapsed) = service.wait(SOON);

    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("could not start (exit code 1): resource `cache` failed to open: the cache cluster is down"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(
        exit.stderr
            .contains("task `tracer (opening)` (1 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    // timeout = "5s", from the failure on.
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
    assert!(!exit.has("main started"));
    exit.assert_order(&["closing db 1", "closing metrics", "closing settings"]);
}

#[test]
fn the_startup_check_names_every_problem_before_anything_opens() {
    let service = Service::start(BROKEN, "");
    let (exit, _) = service.wait(SOON);

    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.events.is_empty(),
        "nothing may open: {:?}",
        exit.events
    );
    for expected in [
        "could not start (exit code 1): 4 problems with the resources:",
        "resources `later` (items_broken::later) and `replica` (items_broken::replica) both provide `items_broken::Later`",
        "resource `early` (order 1) takes `_later: Later`, provided by resource `later` (order 2), which does not open before it",
        "resource `orphan` (items_broken::orphan) takes `_missing: Missing`, but no resource provides `Missing`",
        "`main` takes `_nowhere: Nowhere`, but no resource provides `Nowhere`",
        "the resources linked into this program: `early`: `items_broken::Early` (order 1), `later`: `items_broken::Later` (order 2), `replica`: `items_broken::Later` (order 3), `orphan`: `items_broken::Orphan` (order 4)",
    ] {
        assert!(
            exit.stderr.contains(expected),
            "missing {expected:?} in stderr:\n{}",
            exit.stderr
        );
    }
}
