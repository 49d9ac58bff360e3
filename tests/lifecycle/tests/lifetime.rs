//! The whole program's lifetime: what `main` binds lives until graceful has written its last
//! line, so that a log writer's guard in `main` flushes the report too.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{SOON, Service};

const APPENDER: &str = env!("CARGO_BIN_EXE_appender");

/// A file of its own for one test run.
fn log_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("graceful-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("service.log")
}

#[test]
fn a_log_guard_bound_in_main_lives_until_graceful_has_written_its_report() {
    let path = log_file("appender");
    let mut service = Service::start_with(APPENDER, "", &[("LOG_FILE", path.to_str().unwrap())]);
    service.wait_for("ready");
    // Serving: the logger's lines reach the file while `main`'s body has long returned.
    let started = Instant::now();
    while !std::fs::read_to_string(&path)
        .unwrap_or_default()
        .contains("line 20\n")
    {
        assert!(
            started.elapsed() < SOON,
            "no line reached the file after {SOON:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);

    let text = std::fs::read_to_string(&path).expect("the log file");
    let written: usize = text
        .lines()
        .find_map(|line| line.split("logger wrote ").nth(1))
        .and_then(|rest| rest.strip_suffix(" lines"))
        .unwrap_or_else(|| panic!("the logger's last line is missing:\n{text}"))
        .parse()
        .expect("a count");
    let numbered: BTreeSet<usize> = text
        .lines()
        .filter_map(|line| line.rsplit_once(" line ")?.1.parse().ok())
        .collect();
    assert_eq!(
        numbered,
        (1..=written).collect(),
        "every line the service wrote is in the file"
    );
    for last in ["drained", "phase `close` took", "shutdown complete in"] {
        assert!(
            text.contains(last),
            "graceful's line `{last}` is missing from the file:\n{}",
            &text[text.len().saturating_sub(2_000)..]
        );
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

const CHAIN: &str = env!("CARGO_BIN_EXE_chain");

#[test]
fn main_s_error_is_reported_with_every_cause_in_each_form_a_user_returns_it() {
    for (scenario, chain) in [
        (
            "anyhow",
            "main failed: open the database: connect to db at 10.0.0.1:5432: connection refused",
        ),
        (
            "anyhow_question",
            "main failed: open the database: connect to db at 10.0.0.1:5432: connection refused",
        ),
        (
            "std",
            "main failed: connect to db at 10.0.0.1:5432: connection refused",
        ),
        (
            "boxed",
            "main failed: connect to db at 10.0.0.1:5432: connection refused",
        ),
    ] {
        let service = Service::start(CHAIN, scenario);
        let (exit, _) = service.wait(SOON);
        assert_eq!(exit.code, Some(1), "{scenario}: stderr:\n{}", exit.stderr);
        assert!(
            exit.stderr.contains(chain),
            "{scenario}: `{chain}` is missing from stderr:\n{}",
            exit.stderr
        );
    }
}

const CHANNEL: &str = env!("CARGO_BIN_EXE_channel");

#[test]
fn a_channel_fed_worker_runs_every_job_accepted_though_its_sender_is_a_resource() {
    let mut service = Service::start(CHANNEL, "");
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    let count = |prefix: &str| -> u64 {
        let event = exit
            .events
            .iter()
            .find_map(|event| event.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {:?}", exit.events));
        event
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let accepted = count("accepted ");
    let ran = count("ran ");
    let after_cancel: u64 = exit
        .events
        .iter()
        .find_map(|event| event.split(", ").nth(1)?.split(' ').next()?.parse().ok())
        .expect("the jobs run after the cancel");
    assert_eq!(ran, accepted, "every accepted job ran: {:?}", exit.events);
    assert!(
        after_cancel > 0,
        "the cancel found jobs buffered, so the drain is what ran them: {:?}",
        exit.events
    );
}

const TELEMETRY: &str = env!("CARGO_BIN_EXE_telemetry");

/// Runs the batching telemetry fixture: what reached its file, and how the process exited.
fn telemetry(scenario: &str, signals: usize) -> (String, common::Exit) {
    let path = log_file(&format!("telemetry-{scenario}"));
    let _ = std::fs::remove_file(&path);
    let mut service =
        Service::start_with(TELEMETRY, scenario, &[("LOG_FILE", path.to_str().unwrap())]);
    service.wait_for("ready");
    if signals == 2 {
        // The second once the first is delivered, so that it is a signal of its own.
        service.signal_delivered(libc::SIGTERM);
    }
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    (text, exit)
}

#[test]
fn a_telemetry_resource_closes_after_the_report_so_it_carries_the_report() {
    let (text, exit) = telemetry("", 1);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    for line in [
        "received SIGTERM: shutting down within 2s",
        "resource `db` closed in",
        "shutdown complete in",
    ] {
        assert!(text.contains(line), "`{line}` is not in the file:\n{text}");
    }
}

#[test]
fn on_a_forced_exit_a_telemetry_resource_is_flushed_before_the_process_ends() {
    let (text, exit) = telemetry("stuck", 2);
    assert_eq!(exit.code, Some(143), "stderr:\n{}", exit.stderr);
    for line in [
        "received SIGTERM: shutting down within 2s",
        "received SIGTERM again: exiting at once with code 143",
    ] {
        assert!(text.contains(line), "`{line}` is not in the file:\n{text}");
    }
}

#[test]
fn when_the_deadline_ends_a_blocked_process_a_telemetry_resource_is_flushed_first() {
    let (text, exit) = telemetry("blocked", 1);
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        text.contains("the 2s deadline passed"),
        "the deadline's message is not in the file:\n{text}"
    );
}

const BATCH: &str = env!("CARGO_BIN_EXE_batch");

#[test]
fn a_main_that_feeds_its_workers_and_returns_lets_them_finish_and_exits_0_by_itself() {
    let service = Service::start(BATCH, "");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "stderr:\n{}", exit.stderr);
    // The sender dropped as main returned; the `_`-named binding only at the very end.
    exit.assert_order(&["fed", "worker done after 3 jobs", "kept binding dropped"]);
    assert!(
        exit.stderr.contains("every task finished"),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_kept_binding_that_panics_at_the_end_fails_the_exit_and_says_so_after_the_report() {
    let service = Service::start(BATCH, "kept_panics");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr.contains(
            "after the report: a binding kept by main panicked when dropped at the end: the exporter is gone; exit code 1, no longer clean"
        ),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(
        exit.stderr.contains(
            "graceful: shutdown failed (exit code 1): every task finished\n  a binding kept by main panicked"
        ),
        "stderr:\n{}",
        exit.stderr
    );
}

#[test]
fn a_kept_binding_whose_drop_blocks_is_cut_at_the_deadline_and_named() {
    let service = Service::start(BATCH, "kept_blocks");
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "stderr:\n{}", exit.stderr);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(
        exit.stderr
            .contains("Still running: `main`'s kept bindings (dropping)"),
        "stderr:\n{}",
        exit.stderr
    );
}
