//! What a service run in-process by the test kit (`graceful::test`) has that a process does
//! not need: the signals it is sent by the test (no handler is installed, so none comes from
//! the operating system), the forced end a second one makes (a report, not an exit of the test
//! binary), and where the sequence is, for a test to wait on.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::Signal;

/// Where a service run is, as a test observes it. Later steps compare greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Opening the resources declared on functions, before `main`'s body.
    Starting,
    /// `main`'s body has started, the resources declared on functions open (its own
    /// `#[resource] let`s open as it runs): serving, until the trigger.
    Running,
    /// The trigger has happened: not ready, still serving, until the drain delay is over.
    DrainDelay,
    /// The cancel has happened: tasks finish what they took (or are aborted at the drain's
    /// deadline).
    Draining,
    /// The resources close, then the report is logged and the telemetry closes.
    Closing,
    /// The run has ended: its report is ready.
    Finished,
}

pub(crate) struct InProcess {
    /// A handle of `graceful::test::shutdown()`: no sequence runs, the test's calls move it.
    standalone: bool,
    /// Signals delivered by the test so far.
    signals: AtomicU32,
    /// The second signal, which ends the run at once.
    forced: OnceLock<Signal>,
    forced_token: CancellationToken,
    step: watch::Sender<Step>,
}

impl InProcess {
    pub(crate) fn new(standalone: bool) -> Self {
        InProcess {
            standalone,
            signals: AtomicU32::new(0),
            forced: OnceLock::new(),
            forced_token: CancellationToken::new(),
            step: watch::Sender::new(Step::Starting),
        }
    }

    /// Whether no sequence runs (`graceful::test::shutdown()`).
    pub(crate) fn is_standalone(&self) -> bool {
        self.standalone
    }

    /// Counts a signal; returns how many were delivered before it.
    pub(crate) fn count_signal(&self) -> u32 {
        self.signals.fetch_add(1, Ordering::AcqRel)
    }

    /// The run is to end at once, because of `signal`.
    pub(crate) fn force(&self, signal: Signal) {
        let _ = self.forced.set(signal);
        self.forced_token.cancel();
    }

    /// The signal that forced the end, once one has.
    pub(crate) fn forced(&self) -> Option<Signal> {
        self.forced.get().copied()
    }

    /// Resolves once the run is forced to end.
    pub(crate) async fn wait_forced(&self) {
        self.forced_token.cancelled().await;
    }

    /// Moves to `step`, never back.
    pub(crate) fn reach(&self, step: Step) {
        self.step.send_if_modified(|current| {
            let later = step > *current;
            if later {
                *current = step;
            }
            later
        });
    }

    pub(crate) fn step(&self) -> Step {
        *self.step.borrow()
    }

    /// Resolves once the run is at `step` or past it.
    pub(crate) async fn reached(&self, step: Step) {
        let mut steps = self.step.subscribe();
        // The sender lives as long as `self`, which the caller borrows: `wait_for` cannot fail.
        let _ = steps.wait_for(|current| *current >= step).await;
    }
}
