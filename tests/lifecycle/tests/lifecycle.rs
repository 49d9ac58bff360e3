//! The shutdown sequence as an operator meets it: a real process, real signals, exit codes,
//! the order of teardown, and time bounds with wide margins.

mod common;

use std::time::Duration;

use common::{SOON, Service};

const SERVICE: &str = env!("CARGO_BIN_EXE_service");

#[test]
fn sigterm_drains_the_job_in_flight_then_closes_in_reverse_and_exits_0() {
    let mut service = Service::start(SERVICE, "idle");
    service.wait_for("ready");
    service.wait_for("job 1 started");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);

    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    // The job taken before the signal completes before any resource starts closing.
    exit.assert_order(&[
        "job 1 done",
        "closing publisher",
        "closed publisher",
        "closing cache",
        "closed cache",
        "closing db",
        "closed db",
    ]);
    // Without a subscriber, stderr has the first signal's hint and no failure summary.
    assert_eq!(
        exit.stderr.trim(),
        "graceful: received SIGTERM: shutting down within 4s; send it again to exit at once"
    );
}

#[test]
fn sigint_is_a_clean_shutdown_too() {
    let mut service = Service::start(SERVICE, "idle");
    service.wait_for("ready");
    service.signal(libc::SIGINT);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closed publisher", "closed cache", "closed db"]);
}

#[test]
fn a_second_sigint_during_the_drain_exits_at_once_with_130() {
    let mut service = Service::start(SERVICE, "slow_drain");
    service.wait_for("ready");
    // Sent once the SIGTERM has been heard. Only then is it second: the kernel takes a signal
    // off the pending set before its handler runs, and a SIGINT sent in between can be handled
    // first (on another thread, or nested in the SIGTERM's handler before it writes).
    service.signal(libc::SIGTERM);
    service.wait_for("draining");
    service.signal(libc::SIGINT);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(130), "stderr:\n{}", exit.stderr);
    // The drain alone would take 3 s.
    assert!(
        elapsed < Duration::from_secs(2),
        "forced exit took {elapsed:?}"
    );
    assert!(
        exit.stderr
            .contains("received SIGINT again: exiting at once with code 130"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_second_sigterm_during_teardown_exits_at_once_with_143() {
    // The listener must outlive the drain: tokio never restores the default action.
    let mut service = Service::start(SERVICE, "hang_close");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    service.wait_for("closing cache");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(143), "stderr:\n{}", exit.stderr);
    // The cache's close would take 1 s more, then db would close.
    assert!(
        elapsed < Duration::from_millis(900),
        "forced exit took {elapsed:?}"
    );
    assert!(
        !exit.has("closing db"),
        "a forced exit skips the rest of the teardown: {:?}",
        exit.events
    );
    // Without a subscriber, the first signal's hint goes to stderr.
    assert!(
        exit.stderr
            .contains("received SIGTERM: shutting down within 4s; send it again to exit at once"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_failing_task_shuts_everything_down_and_exits_1_with_every_resource_closed() {
    let mut service = Service::start(SERVICE, "fail");
    service.wait_for("ready");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    exit.assert_order(&["closed publisher", "closed cache", "closed db"]);
    assert!(
        exit.stderr
            .contains("task `http` failed: bind: address already in use"),
        "stderr names the task and its error:\n{}",
        exit.stderr
    );
    // Said once in the summary (the cause, not again among the failures), and the log line
    // does not quote the summary's own header.
    let summary = exit
        .stderr
        .lines()
        .skip_while(|line| !line.starts_with("graceful: shutdown failed (exit code 1)"))
        .take_while(|line| line.starts_with("graceful:") || line.starts_with("  "))
        .collect::<Vec<_>>();
    assert_eq!(
        summary
            .iter()
            .filter(|line| line.contains("task `http` failed"))
            .count(),
        1,
        "{summary:?}"
    );
    assert!(
        !exit.stderr.contains("): graceful: shutdown failed"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_panicking_task_is_reported_with_its_message_and_exits_1() {
    let mut service = Service::start(SERVICE, "panic");
    service.wait_for("ready");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    exit.assert_order(&["closed publisher", "closed cache", "closed db"]);
    assert!(
        exit.stderr
            .contains("task `http` panicked: handler bug: index out of bounds"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_hanging_close_is_cut_at_its_timeout_and_the_next_resource_still_closes() {
    let mut service = Service::start(SERVICE, "hang_close");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closed publisher", "closing cache", "closed db"]);
    assert!(!exit.has("closed cache"));
    assert!(
        exit.stderr
            .contains("resource `cache` did not close within 1s"),
        "stderr:\n{}",
        exit.stderr
    );
    // The drain takes ~1.5 s (the job), the cache 1 s: far below the 4 s deadline.
    assert!(
        elapsed < Duration::from_secs(4) + Duration::from_secs(2),
        "took {elapsed:?}"
    );
}

#[test]
fn a_failing_close_is_reported_and_the_next_resource_still_closes() {
    let mut service = Service::start(SERVICE, "fail_close");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    exit.assert_order(&["closing cache", "closed db"]);
    assert!(
        exit.stderr
            .contains("resource `cache` failed to close: cache refused to close"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_stuck_spawn_blocking_thread_cannot_hold_the_process_past_the_deadline() {
    let mut service = Service::start(SERVICE, "stuck_blocking");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(
        exit.code,
        Some(1),
        "the deadline was hit; stderr:\n{}",
        exit.stderr
    );
    // Deadline 4 s; the blocking thread sleeps 600 s.
    assert!(
        elapsed < Duration::from_secs(4) + Duration::from_secs(3),
        "took {elapsed:?}"
    );
    assert!(
        exit.stderr
            .contains("task `http` (1 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    // The drain was cut before the deadline by the cache's 1 s reserve, so resources closed.
    exit.assert_order(&["closed publisher", "closed cache", "closed db"]);
}

#[test]
fn a_straggler_is_named_and_aborted_and_resources_close_in_the_reserved_time() {
    let mut service = Service::start(SERVICE, "straggler");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    assert!(
        elapsed >= Duration::from_secs(2),
        "the drain ran until its bound: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(4) + Duration::from_secs(3),
        "took {elapsed:?}"
    );
    assert!(
        exit.stderr
            .contains("task `http` (1 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    exit.assert_order(&["closed publisher", "closed cache", "closed db"]);
}

#[test]
fn a_startup_failure_closes_what_was_opened_in_reverse_and_exits_1() {
    let service = Service::start(SERVICE, "startup_fail");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    assert!(!exit.has("opened publisher"));
    assert!(!exit.has("ready"));
    exit.assert_order(&["opened db", "opened cache", "closed cache", "closed db"]);
    assert!(
        exit.stderr
            .contains("main failed: publisher: connection refused"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_signal_during_startup_still_closes_everything_and_exits_0() {
    // SIGTERM arrives while startup is sleeping between two resources: the body is not
    // interrupted, tasks spawned after the signal see the shutdown at once (no job is taken),
    // every resource closes in reverse, and a requested stop is a clean exit.
    let mut service = Service::start(SERVICE, "slow_startup");
    service.wait_for("opened db");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    exit.assert_order(&[
        "opened db",
        "opened cache",
        "opened publisher",
        "closed publisher",
        "closed cache",
        "closed db",
    ]);
    assert!(
        !exit.has("job 1 started"),
        "no job is taken once shutdown began: {:?}",
        exit.events
    );
}

#[test]
fn a_panic_in_main_is_a_failure_that_still_closes_everything() {
    let service = Service::start(SERVICE, "main_panic");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["opened cache", "closed cache", "closed db"]);
    assert!(
        exit.stderr
            .contains("main failed: panicked: PORT must be set"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn explicit_orders_close_descending_and_equal_orders_concurrently() {
    let mut service = Service::start(env!("CARGO_BIN_EXE_ordered"), "");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["closed d", "closing b", "closed b", "closing a"]);
    exit.assert_order(&["closed d", "closing c", "closed c", "closing a"]);
    // b and c (order 2) overlap: each starts before the other ends.
    assert!(
        exit.position("closing b") < exit.position("closed c"),
        "{:?}",
        exit.events
    );
    assert!(
        exit.position("closing c") < exit.position("closed b"),
        "{:?}",
        exit.events
    );
}

#[test]
fn the_drain_delay_override_keeps_the_service_up_before_cancelling() {
    let mut service = Service::start_with(SERVICE, "idle", &[("GRACEFUL_DRAIN_DELAY", "1500ms")]);
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    assert!(
        elapsed >= Duration::from_millis(1500),
        "exited after {elapsed:?}, before the drain delay"
    );
}

#[test]
fn an_empty_override_is_unset_as_manifests_leave_it() {
    let mut service = Service::start_with(
        SERVICE,
        "idle",
        &[("GRACEFUL_TIMEOUT", ""), ("GRACEFUL_DRAIN_DELAY", "")],
    );
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    // The attribute's own `timeout = "4s"` holds.
    assert!(
        exit.stderr
            .contains("received SIGTERM: shutting down within 4s"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_malformed_override_is_a_clear_startup_error() {
    let service = Service::start_with(SERVICE, "idle", &[("GRACEFUL_TIMEOUT", "soon")]);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    assert!(!exit.has("opened db"), "nothing opens with a bad setting");
    assert!(
        exit.stderr
            .contains("invalid GRACEFUL_TIMEOUT: `soon` is not a duration"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn when_every_task_finishes_by_itself_the_service_exits_0_without_waiting_for_the_drain_delay() {
    let service = Service::start(env!("CARGO_BIN_EXE_completes"), "");
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    exit.assert_order(&["batch 2 done", "closed db"]);
    assert!(
        elapsed < Duration::from_secs(8),
        "took {elapsed:?}: the 10 s drain delay applies only to a triggered shutdown"
    );
}

#[test]
fn a_task_blocking_the_runtime_thread_cannot_hold_the_process_past_the_deadline() {
    let mut service = Service::start(env!("CARGO_BIN_EXE_blocked_runtime"), "");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    assert!(exit.has("blocking the runtime thread"));
    // Deadline 1 s, watchdog grace 0.5 s; the task blocks for 600 s.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(
        exit.stderr.contains("a task is blocking a runtime thread"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(
        exit.stderr.contains("`blocker` (1)"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn streams_and_upgraded_connections_are_closed_at_the_deadline() {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let mut service = Service::start(env!("CARGO_BIN_EXE_http"), "");
    service.wait_for("listening ");
    let addr = service.events.last().unwrap()["listening ".len()..].to_owned();

    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 256];
    let read = stream.read(&mut head).unwrap();
    assert!(
        head[..read].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..read])
    );

    let mut upgraded = TcpStream::connect(&addr).unwrap();
    upgraded
        .write_all(
            b"GET /upgrade HTTP/1.1\r\nhost: test\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n",
        )
        .unwrap();
    let read = upgraded.read(&mut head).unwrap();
    assert!(
        head[..read].starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head[..read])
    );
    upgraded.write_all(b"ping").unwrap();
    let read = upgraded.read(&mut head).unwrap();
    assert_eq!(&head[..read], b"ping");

    // Each socket is read to its end on a thread of its own, which notes whether the service
    // was still running then: the server must close them, not the process's exit.
    let pid = service.pid();
    let ended_while_running = |mut socket: TcpStream| {
        std::thread::spawn(move || {
            socket.set_read_timeout(Some(SOON)).unwrap();
            let mut buffer = [0u8; 4096];
            while matches!(socket.read(&mut buffer), Ok(1..)) {}
            common::is_running(pid)
        })
    };
    let stream_ended = ended_while_running(stream);
    let upgraded_ended = ended_while_running(upgraded);
    service.signal(libc::SIGTERM);
    let (exit, elapsed) = service.wait(SOON);

    // Neither would ever end by itself: the deadline (2 s) ends both, and says so.
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("task `http` (1 running) aborted at the deadline"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(
        exit.has("upgraded connection ended: closed by graceful: the shutdown deadline has passed"),
        "the upgraded connection was not ended by the server: {:?}",
        exit.events
    );
    exit.assert_order(&["upgraded connection ended", "closed db"]);
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    // Both sockets were closed by the server, while the process still ran.
    assert!(
        stream_ended.join().unwrap(),
        "the stream ended with the process"
    );
    assert!(
        upgraded_ended.join().unwrap(),
        "the upgraded connection ended with the process"
    );
}
