//! A run of the test kit: the sequence of a process, on the caller's runtime, with nothing of
//! the process around it. No signal handler (a test delivers its signals itself), no watchdog
//! thread (the test's own timeout bounds it), no environment overrides; a second signal ends
//! the run at once with a report, where a process would exit.

use std::sync::Arc;

use super::body::MainFn;
use super::sequence::{self, Startup};
use crate::in_process::Step;
use crate::log;
use crate::progress::Progress;
use crate::report::Report;
use crate::state::State;
use crate::tasks::Accepting;
use crate::watchdog::{LAST_WORDS, flush_telemetry};

/// Runs the sequence for `state` (made with `State::new_in_process`) on the current runtime.
pub(crate) async fn run_in_process(
    state: &Arc<State>,
    startup: Startup<'_>,
    main: MainFn<'_>,
) -> Report {
    let in_process = state
        .in_process()
        .expect("a run in-process has its state made for one");
    state.tasks().attach(tokio::runtime::Handle::current());
    state.enter(Progress::Running);
    let report = tokio::select! {
        biased;
        () = in_process.wait_forced() => forced(state),
        report = sequence::run(state, startup, main) => report,
    };
    in_process.reach(Step::Finished);
    report
}

/// The report of a run that a second signal ended: what a process would have done then (its
/// last lines written, the telemetry flushed at once, nothing else), then what was left
/// aborted, since the test's runtime goes on.
fn forced(state: &State) -> Report {
    log::flush(std::time::Instant::now() + LAST_WORDS);
    flush_telemetry(std::iter::once(state));
    let stragglers = state.tasks().close(Accepting::None);
    let (tasks, failures) = state.tasks().outcomes();
    let triggered = state
        .trigger()
        .triggered()
        .expect("a second signal comes after the first, which started shutdown");
    let forced = state
        .in_process()
        .and_then(|in_process| in_process.forced());
    Report {
        cause: triggered.cause.clone(),
        main_error: None,
        phases: Vec::new(),
        tasks,
        failures,
        stragglers,
        unstopped: Vec::new(),
        resources: state.resources().abandon(),
        drop_panics: Vec::new(),
        timeout: state.config().timeout,
        elapsed: tokio::time::Instant::from_std(triggered.at).elapsed(),
        forced,
        deadline: Some(triggered.deadline),
        log: state.log().clone(),
    }
}
