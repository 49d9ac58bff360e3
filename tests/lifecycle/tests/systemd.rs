//! systemd's watchdog against src/bin/wedged.rs, over the real notify protocol: `WATCHDOG=1`
//! comes while the runtime makes progress and stops once every runtime thread is blocked; the
//! stop is still announced from outside the runtime.

mod common;

use std::time::Duration;

use common::notify::NotifySocket;
use common::{SOON, Service};

/// systemd's `WatchdogSec=`: a `WATCHDOG=1` every 400 ms is expected.
const WATCHDOG_USEC: &str = "800000";
const INTERVAL: Duration = Duration::from_millis(400);

fn start(scenario: &str, socket: &NotifySocket) -> Service {
    Service::start_with(
        env!("CARGO_BIN_EXE_wedged"),
        scenario,
        &[
            ("NOTIFY_SOCKET", &socket.name),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
        ],
    )
}

/// The extension told with `STOPPING=1`: the 3 s timeout, the watchdog's 0.5 s after it and a
/// second to exit.
fn assert_extended(stopping: &common::notify::Message) {
    let extend: u64 = stopping
        .get("EXTEND_TIMEOUT_USEC")
        .unwrap_or_else(|| panic!("no EXTEND_TIMEOUT_USEC with STOPPING=1: {stopping:?}"))
        .parse()
        .unwrap();
    assert!(
        (3_000_000..=4_500_000).contains(&extend),
        "EXTEND_TIMEOUT_USEC={extend}"
    );
}

fn watchdogs(messages: &[common::notify::Message]) -> usize {
    messages
        .iter()
        .filter(|m| m.get("WATCHDOG").is_some())
        .count()
}

#[test]
fn the_watchdog_stops_once_every_runtime_thread_is_blocked_and_the_stop_is_still_announced() {
    let mut socket = NotifySocket::at_path("wedged");
    let mut service = start("", &socket);
    socket.wait_for("READY", SOON);
    socket.wait_for("WATCHDOG", SOON);
    service.wait_for("wedged");
    // One may have been on its way as the threads blocked.
    socket.collect(INTERVAL * 2);
    let after = socket.collect(INTERVAL * 6);
    assert_eq!(
        watchdogs(&after),
        0,
        "WATCHDOG=1 while every runtime thread is blocked: {:?}",
        socket.lines()
    );
    // Outside the runtime, the stop is still told, with the time graceful needs.
    service.signal(libc::SIGTERM);
    assert_extended(&socket.wait_for("STOPPING", SOON));
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
    assert_eq!(
        watchdogs(&socket.collect(Duration::ZERO)),
        0,
        "{:?}",
        socket.lines()
    );
}

/// The control: one worker blocked, the other and the body's thread still run, and so does
/// the heartbeat.
#[test]
fn one_blocked_worker_does_not_stop_the_watchdog() {
    let mut socket = NotifySocket::at_path("one");
    let mut service = start("one", &socket);
    socket.wait_for("READY", SOON);
    service.wait_for("one worker blocked");
    let after = socket.collect(INTERVAL * 6);
    assert!(
        watchdogs(&after) >= 2,
        "the heartbeat stopped with one worker blocked: {:?}",
        socket.lines()
    );
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    // The blocked worker's task cannot be aborted: the watchdog ends the process.
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
}

/// Only the thread that drives `main`'s body and the lifecycle is blocked: the workers run,
/// but the shutdown could not, and systemd must stop hearing the heartbeat.
#[test]
fn the_watchdog_stops_when_the_thread_of_main_is_blocked() {
    let mut socket = NotifySocket::at_path("body");
    let mut service = start("body", &socket);
    socket.wait_for("WATCHDOG", SOON);
    service.wait_for("body blocked");
    socket.collect(INTERVAL * 2);
    let after = socket.collect(INTERVAL * 6);
    assert_eq!(watchdogs(&after), 0, "{:?}", socket.lines());
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
}

/// Without systemd's watchdog the notify thread has no timer of its own to wake it: the
/// trigger must, or a service whose every runtime thread is blocked would never say it stops.
#[test]
fn the_stop_is_told_while_wedged_without_a_watchdog() {
    let mut socket = NotifySocket::at_path("nowatchdog");
    let mut service = Service::start_with(
        env!("CARGO_BIN_EXE_wedged"),
        "",
        &[("NOTIFY_SOCKET", &socket.name)],
    );
    socket.wait_for("READY", SOON);
    service.wait_for("wedged");
    service.signal(libc::SIGTERM);
    // Before the process ends (the watchdog thread ends it 0.5 s after the 3 s deadline).
    assert_extended(&socket.wait_for("STOPPING", Duration::from_secs(3)));
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
}

/// A stop over within milliseconds still reaches systemd whole: the run's end sends its last
/// state itself rather than leaving it to the thread's next wake.
#[test]
fn a_quick_stop_is_told_to_its_end() {
    for round in 0..5 {
        let mut socket = NotifySocket::at_path(&format!("quick-{round}"));
        let mut service = Service::start_with(
            env!("CARGO_BIN_EXE_wedged"),
            "quick",
            &[("NOTIFY_SOCKET", &socket.name)],
        );
        socket.wait_for("READY", SOON);
        service.wait_for("started");
        service.signal(libc::SIGTERM);
        let (exit, _) = service.wait(SOON);
        assert_eq!(exit.code, Some(0), "{}", exit.stderr);
        socket.collect(Duration::from_millis(200));
        let lines = socket.lines();
        assert!(
            lines.contains(&"STOPPING=1".to_owned()),
            "round {round}: {lines:?}"
        );
        assert!(
            socket
                .statuses()
                .last()
                .is_some_and(|status| status.ends_with("writing the report")),
            "round {round}: {lines:?}"
        );
    }
}

/// A body that neither returns nor marks itself started keeps systemd waiting for `READY=1`
/// until its start times out: after 10 s the log says why, and nothing says READY.
#[test]
fn a_body_that_never_starts_gets_a_warning_and_no_ready() {
    let mut socket = NotifySocket::at_path("unstarted");
    let mut service = Service::start_with(
        env!("CARGO_BIN_EXE_wedged"),
        "unstarted",
        &[("NOTIFY_SOCKET", &socket.name)],
    );
    service.wait_for("running");
    socket.wait_for("STATUS", SOON);
    // 10 s in.
    service.wait_for("log: systemd waits for READY=1");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    socket.collect(Duration::from_millis(200));
    assert!(
        !socket.lines().contains(&"READY=1".to_owned()),
        "{:?}",
        socket.lines()
    );
}
