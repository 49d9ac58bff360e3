//! A run of the test kit: the sequence of a process, on the caller's runtime, with nothing of
//! the process around it. No signal handler (a test delivers its signals itself), no watchdog
//! thread, no environment overrides; a second signal ends the run at once with a report, where
//! a process would exit.
//!
//! A run ended early (by a second signal, or by the test dropping its future, say at its own
//! timeout) lets go of everything it holds, as a process that ends does: its tasks are
//! aborted, its closes stop, its resources are forgotten. The test's runtime goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::body::MainFn;
use super::sequence::{self, Startup};
use crate::in_process::Step;
use crate::log;
use crate::progress::Progress;
use crate::report::{Report, ResourceReport};
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
    let runtime = tokio::runtime::Handle::current();
    state.trigger().use_clock_of(runtime.clone());
    state.tasks().attach(runtime);
    state.enter(Progress::Running);
    let mut ended = EndOnDrop { state, done: false };
    let report = tokio::select! {
        biased;
        () = in_process.wait_forced() => forced(state),
        report = sequence::run(state, startup, main) => report,
    };
    ended.done = true;
    in_process.reach(Step::Finished);
    report
}

/// Lets go of what a run holds if its future is dropped before the end.
struct EndOnDrop<'s> {
    state: &'s State,
    done: bool,
}

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = end_early(self.state);
            if let Some(in_process) = self.state.in_process() {
                in_process.reach(Step::Finished);
            }
        }
    }
}

/// Ends a run before its sequence did: what still runs (main's body, a resource function
/// opening, the tasks) by name, aborted; the resources (what closed, then the others
/// abandoned), forgotten. The `Drop`s of what is let go run under a catcher.
fn end_early(state: &State) -> (Vec<(String, usize)>, Vec<ResourceReport>) {
    let mut stragglers = Vec::new();
    if state.main().is_running() {
        state.main().running(false);
        let opening = state.provided().opening();
        if opening.is_empty() {
            stragglers.push(("main".to_owned(), 1));
        }
        stragglers.extend(
            opening
                .into_iter()
                .map(|name| (format!("{name} (opening)"), 1)),
        );
    }
    stragglers.extend(state.tasks().close(Accepting::None));
    let resources = catch_unwind(AssertUnwindSafe(|| {
        let resources = state.resources().abandon();
        state.provided().clear();
        resources
    }))
    .unwrap_or_default();
    (stragglers, resources)
}

/// The report of a run that a second signal ended: what a process would have done then (its
/// last lines written, the telemetry flushed at once, nothing else), then what was left is let
/// go, since the test's runtime goes on.
fn forced(state: &State) -> Report {
    log::flush(std::time::Instant::now() + LAST_WORDS);
    flush_telemetry(std::iter::once(state));
    let (stragglers, resources) = end_early(state);
    let (tasks, failures) = state.tasks().outcomes();
    let triggered = state
        .trigger()
        .triggered()
        .expect("a second signal starts shutdown before it forces the end");
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
        resources,
        drop_panics: Vec::new(),
        timeout: state.config().timeout,
        elapsed: tokio::time::Instant::from_std(triggered.at).elapsed(),
        forced,
        deadline: Some(triggered.deadline),
        log: state.log().clone(),
    }
}
