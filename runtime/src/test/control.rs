//! Driving a service from a test: the signals a process would receive, and where the run is.

use std::fmt;
use std::sync::Arc;

use crate::in_process::Step;
use crate::state::State;
use crate::{Cause, Shutdown, Signal, watchdog};

/// Drives a service run by the test kit, or a handle made by [`shutdown`](super::shutdown):
/// deliver signals, cancel, and watch where the run is. Cheap to clone.
///
/// ```
/// use graceful::{Cause, Config, Signal};
/// use graceful::test::{Service, Step};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let report = Service::new(Config::new())
///     .run(
///         |shutdown| async move {
///             shutdown.spawn("worker", shutdown.cancelled());
///         },
///         |control| async move {
///             control.reached(Step::Running).await;
///             control.signal(Signal::Terminate); // as `kill -TERM` would
///         },
///     )
///     .await;
/// assert_eq!(report.cause, Cause::Signal(Signal::Terminate));
/// assert_eq!(report.exit_code(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct Control {
    state: Arc<State>,
}

impl Control {
    pub(super) fn new(state: Arc<State>) -> Self {
        Control { state }
    }

    fn in_process(&self) -> &crate::in_process::InProcess {
        self.state
            .in_process()
            .expect("a Control is made for a run of the test kit")
    }

    /// The service's handle, as its tasks hold it.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown::new(self.state.clone())
    }

    /// Delivers `signal` to the service, as the operating system would to its process: the
    /// first starts shutdown with [`Cause::Signal`] (the same path and the same log line as in
    /// a process), the second ends the run at once. Where a process would exit with 128 + the
    /// signal's number, the run returns a report with [`forced`](crate::Report::forced) set
    /// and that [`exit_code`](crate::Report::exit_code); what still ran is aborted and named
    /// in it.
    ///
    /// Nothing reaches the test process: no signal handler is installed, and no other run in
    /// it hears this signal.
    ///
    /// ```
    /// use graceful::{Config, Signal};
    /// use graceful::test::Service;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let report = Service::new(Config::new())
    ///     .run(
    ///         |shutdown| async move {
    ///             // A task that does not stop at the cancel.
    ///             shutdown.spawn("stubborn", std::future::pending::<()>());
    ///         },
    ///         |control| async move {
    ///             control.signal(Signal::Terminate);
    ///             control.signal(Signal::Terminate); // the operator loses patience
    ///         },
    ///     )
    ///     .await;
    /// assert_eq!(report.forced, Some(Signal::Terminate));
    /// assert_eq!(report.exit_code(), 143);
    /// assert_eq!(report.aborted(), ["stubborn"]);
    /// # }
    /// ```
    pub fn signal(&self, signal: Signal) {
        let in_process = self.in_process();
        if in_process.count_signal() == 0 {
            watchdog::first_signal(&self.state, signal);
            if in_process.is_standalone() {
                in_process.reach(Step::DrainDelay);
            }
            return;
        }
        // Two signals at once from two threads: the second may get here before the first has
        // started shutdown, which the forced end needs.
        self.state.trigger().begin(Cause::Signal(signal));
        self.state.log().announce(
            tracing::Level::ERROR,
            Some(signal),
            watchdog::forced_message(signal),
        );
        in_process.force(signal);
        // No sequence ends it: its tasks stop here, as a process's would.
        if in_process.is_standalone() {
            self.state.tasks().close(crate::tasks::Accepting::None);
            in_process.reach(Step::Finished);
        }
    }

    /// The cancel, now: [`Shutdown::cancelled`] resolves, [`Shutdown::is_cancelled`] turns
    /// `true` and [`Shutdown::until_shutdown`] returns `None`, starting shutdown first (cause
    /// [`Cause::Requested`]) if it has not started. For a handle made by
    /// [`shutdown`](super::shutdown), which no sequence moves; in a service run, it cuts the
    /// drain delay short.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (shutdown, control) = graceful::test::shutdown();
    /// assert!(!shutdown.is_cancelled());
    /// control.cancel();
    /// assert!(shutdown.is_shutting_down() && shutdown.is_cancelled());
    /// assert_eq!(shutdown.until_shutdown(std::future::pending::<()>()).await, None);
    /// # }
    /// ```
    pub fn cancel(&self) {
        self.state
            .trigger()
            .begin(Cause::Requested("cancelled by the test".to_owned()));
        self.state.trigger().cancel();
        let in_process = self.in_process();
        if in_process.is_standalone() {
            in_process.reach(Step::Draining);
        }
    }

    /// What started shutdown, once it has.
    ///
    /// ```
    /// use graceful::Cause;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (shutdown, control) = graceful::test::shutdown();
    /// assert_eq!(control.cause(), None);
    /// let failing = shutdown.spawn("importer", async { Err::<(), _>("disk full") });
    /// failing.await.unwrap();
    /// assert_eq!(
    ///     control.cause(),
    ///     Some(Cause::TaskFailed { task: "importer".into(), error: "disk full".into() })
    /// );
    /// # }
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        self.state
            .trigger()
            .triggered()
            .map(|triggered| triggered.cause.clone())
    }

    /// Where the run is now.
    ///
    /// ```
    /// let (_shutdown, control) = graceful::test::shutdown();
    /// assert_eq!(control.step(), graceful::test::Step::Running);
    /// ```
    pub fn step(&self) -> Step {
        self.in_process().step()
    }

    /// Resolves once the run is at `step` or past it: [`Step::Running`] once `main`'s body
    /// has started (the resources declared on functions are open; its own `#[resource] let`s
    /// open as it runs), [`Step::DrainDelay`] at the trigger,
    /// [`Step::Draining`] at the cancel, and so on. A step the run skips (the drain delay of
    /// a service that finished by itself) is passed when the next is reached.
    ///
    /// ```
    /// use graceful::Config;
    /// use graceful::test::{Service, Step};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let config = Config::new().drain_delay(Duration::from_secs(5));
    /// let report = Service::new(config)
    ///     .run(
    ///         |shutdown| async move {
    ///             let readiness = shutdown.readiness();
    ///             shutdown.spawn("http", shutdown.cancelled());
    ///             assert!(readiness.is_ready());
    ///         },
    ///         |control| async move {
    ///             let readiness = control.shutdown().readiness();
    ///             control.reached(Step::Running).await;
    ///             control.shutdown().trigger("deploy");
    ///             control.reached(Step::DrainDelay).await;
    ///             assert!(!readiness.is_ready()); // not ready, still serving
    ///             assert!(!control.shutdown().is_cancelled());
    ///             control.reached(Step::Draining).await; // 5 s later, on the paused clock
    ///             assert!(control.shutdown().is_cancelled());
    ///         },
    ///     )
    ///     .await;
    /// assert_eq!(report.exit_code(), 0);
    /// # }
    /// ```
    pub async fn reached(&self, step: Step) {
        self.in_process().reached(step).await;
    }
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("step", &self.step())
            .field("shutting_down", &self.state.trigger().is_triggered())
            .finish_non_exhaustive()
    }
}
