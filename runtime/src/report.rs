//! What happened during shutdown: logged at the end, printed to stderr when the exit is not
//! clean, and returned as a value by [`Config::run`](crate::Config::run).

use std::fmt;
use std::time::{Duration, Instant};

use crate::log::Log;
use crate::{Cause, Signal};

/// Outcome of one shutdown sequence.
#[derive(Clone)]
#[non_exhaustive]
pub struct Report {
    /// The first event that started shutdown.
    pub cause: Cause,
    /// `main`'s error, if its body returned one (also the cause if it came first).
    pub main_error: Option<String>,
    /// Each phase of the sequence with how long it took, in order.
    pub phases: Vec<Phase>,
    /// Per task name: how many succeeded, failed and were aborted.
    pub tasks: Vec<TaskReport>,
    /// Every task failure, in the order they happened.
    pub failures: Vec<TaskFailure>,
    /// Work still running when the drain's time ran out, aborted: (name, how many).
    pub stragglers: Vec<(String, usize)>,
    /// Tasks aborted that had not stopped (their poll or their `Drop` still running) when the
    /// closes began, or at the end: (name, how many).
    pub unstopped: Vec<(String, usize)>,
    /// Every resource in the order it was closed.
    pub resources: Vec<ResourceReport>,
    /// Panics after the drain: of a `Drop` (main's body dropped at the deadline, the last
    /// handle of a resource, a `_`-named binding main kept), or of the teardown itself. One
    /// message each.
    pub drop_panics: Vec<String>,
    /// The configured deadline.
    pub timeout: Duration,
    /// From the trigger to the end of the close phase (the `telemetry` closes and main's kept
    /// bindings come after).
    pub elapsed: Duration,
    /// The second signal, in a run of [`graceful::test`](crate::test): it ended the run at
    /// once, as it ends a process with exit code 128 + its number (in a process, there is no
    /// report then). What had not finished was aborted and is in
    /// [`stragglers`](Self::stragglers); the closes stop there: [`resources`](Self::resources)
    /// has those closed before it with their outcome, then the others
    /// [`Abandoned`](ResourceOutcome::Abandoned) (one already closing on a thread of its own,
    /// off the runtime, still finishes in the background).
    pub forced: Option<Signal>,
    /// The shutdown's deadline, which also bounds [`exit`](Self::exit).
    pub(crate) deadline: Option<Instant>,
    /// Where the report is logged: the subscriber of the code that ran the service.
    pub(crate) log: Log,
}

/// One phase of the shutdown sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    /// `"drain delay"`, `"drain"` or `"close"`.
    pub name: &'static str,
    /// How long it took.
    pub elapsed: Duration,
}

/// The tasks spawned under one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskReport {
    /// The name given to `spawn`.
    pub name: String,
    /// Finished with `()` or `Ok`.
    pub succeeded: u64,
    /// Returned an error or panicked.
    pub failed: u64,
    /// Still running at the deadline, aborted.
    pub aborted: u64,
}

impl TaskReport {
    pub(crate) fn new(name: &str) -> Self {
        TaskReport {
            name: name.to_owned(),
            ..TaskReport::default()
        }
    }
}

/// A task that returned an error or panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskFailure {
    /// The name given to `spawn`.
    pub task: String,
    /// Whether it panicked (`false`: it returned an error).
    pub panicked: bool,
    /// The error's `Display` with its sources, or the panic message.
    pub message: String,
}

impl TaskFailure {
    pub(crate) fn from_cause(cause: &Cause) -> Self {
        match cause {
            Cause::TaskFailed { task, error } => TaskFailure {
                task: task.clone(),
                panicked: false,
                message: error.clone(),
            },
            Cause::TaskPanicked { task, message } => TaskFailure {
                task: task.clone(),
                panicked: true,
                message: message.clone(),
            },
            other => TaskFailure {
                task: String::new(),
                panicked: false,
                message: other.to_string(),
            },
        }
    }
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.panicked { "panicked" } else { "failed" };
        write!(f, "task `{}` {verb}: {}", self.task, self.message)
    }
}

/// How one resource closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceReport {
    /// Its name.
    pub name: String,
    /// Its effective order (creation index when no `order` was given).
    pub order: i64,
    /// What happened.
    pub outcome: ResourceOutcome,
    /// How long closing took.
    pub elapsed: Duration,
}

/// What happened when a resource was closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceOutcome {
    /// Closed successfully.
    Closed,
    /// Its close returned an error.
    Failed(String),
    /// Its close panicked.
    Panicked(String),
    /// Its close overran its budget (its own `timeout`, or what was left of the deadline).
    TimedOut(Duration),
    /// The deadline had passed before its turn.
    NotClosed,
    /// In a run of [`graceful::test`](crate::test): a second signal ended the run before it
    /// closed, or while it closed (a process would have exited then).
    Abandoned,
}

impl ResourceReport {
    pub(crate) fn new(name: &str, order: i64, outcome: ResourceOutcome, elapsed: Duration) -> Self {
        ResourceReport {
            name: name.to_owned(),
            order,
            outcome,
            elapsed,
        }
    }

    pub(crate) fn log(&self, log: &Log) {
        let report = self.clone();
        log.event(move || report.emit());
    }

    fn emit(&self) {
        let elapsed_ms = self.elapsed.as_millis() as u64;
        match &self.outcome {
            ResourceOutcome::Closed => {
                tracing::info!(target: "graceful", resource = %self.name, order = self.order, elapsed_ms, "{self}")
            }
            _ => {
                tracing::error!(target: "graceful", resource = %self.name, order = self.order, elapsed_ms, "{self}")
            }
        }
    }
}

impl fmt::Display for ResourceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.outcome {
            ResourceOutcome::Closed => write!(f, "resource `{name}` closed in {:?}", self.elapsed),
            ResourceOutcome::Failed(error) => {
                write!(f, "resource `{name}` failed to close: {error}")
            }
            ResourceOutcome::Panicked(message) => {
                write!(f, "resource `{name}` panicked while closing: {message}")
            }
            ResourceOutcome::TimedOut(budget) => {
                write!(f, "resource `{name}` did not close within {budget:?}")
            }
            ResourceOutcome::NotClosed => {
                write!(
                    f,
                    "resource `{name}` was not closed: the deadline had passed"
                )
            }
            ResourceOutcome::Abandoned => {
                write!(
                    f,
                    "resource `{name}` was not closed: a second signal ended the run first"
                )
            }
        }
    }
}

impl Report {
    /// The report of a service that could not start at all, logged.
    pub(crate) fn failed_start(error: String, timeout: Duration) -> Self {
        let report = Report {
            cause: Cause::Startup(error),
            main_error: None,
            phases: Vec::new(),
            tasks: Vec::new(),
            failures: Vec::new(),
            stragglers: Vec::new(),
            unstopped: Vec::new(),
            resources: Vec::new(),
            drop_panics: Vec::new(),
            timeout,
            elapsed: Duration::ZERO,
            forced: None,
            deadline: None,
            log: Log::here(),
        };
        report.log();
        report
    }

    /// `true` when shutdown was asked for (signal, `trigger`, or every task done), everything
    /// drained in time and every resource closed.
    ///
    /// ```
    /// let report = graceful::Config::new().run(|shutdown| async move {
    ///     shutdown.spawn("job", async { Err::<(), _>("disk full") });
    /// });
    /// assert!(!report.is_clean()); // a task failed: shutdown started with it as the cause
    /// ```
    pub fn is_clean(&self) -> bool {
        self.forced.is_none()
            && !self.cause.is_failure()
            && self.main_error.is_none()
            && self.failures.is_empty()
            && self.stragglers.is_empty()
            && self.unstopped.is_empty()
            && self.drop_panics.is_empty()
            && self
                .resources
                .iter()
                .all(|r| r.outcome == ResourceOutcome::Closed)
    }

    /// 0 when clean, 1 otherwise; 128 + the signal's number when a second signal
    /// [forced](Self::forced) the end (in a process it exits at once with that code, and
    /// produces no report).
    ///
    /// ```
    /// let report = graceful::Config::new().run(|shutdown| async move {
    ///     shutdown.trigger("done");
    /// });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn exit_code(&self) -> i32 {
        match self.forced {
            Some(signal) => signal.forced_exit_code(),
            None if self.is_clean() => 0,
            None => 1,
        }
    }

    /// The resources in the order their closes ran, whatever their outcome (the ones declared
    /// `telemetry` last): what a test compares with the order it expects.
    ///
    /// ```
    /// use graceful::{Close, Config, Shutdown};
    ///
    /// struct Db;
    /// impl Close for Db {}
    /// struct Cache;
    /// impl Close for Cache {}
    ///
    /// #[graceful::service]
    /// async fn service(shutdown: Shutdown) {
    ///     #[resource]
    ///     let db = Db;
    ///     #[resource]
    ///     let cache = Cache; // opened after db: closed before it
    ///     let _ = (db, cache);
    ///     shutdown.trigger("done");
    /// }
    ///
    /// let report = graceful::test::Service::new(Config::new()).run_blocking(service, |_| async {});
    /// assert_eq!(report.close_order(), ["cache", "db"]);
    /// ```
    pub fn close_order(&self) -> Vec<&str> {
        self.resources
            .iter()
            .map(|resource| resource.name.as_str())
            .collect()
    }

    /// How the resource named `name` closed, if there is one.
    ///
    /// ```
    /// let report = graceful::Config::new().run(|shutdown| async move { shutdown.trigger("done") });
    /// assert_eq!(report.resource("db"), None); // this service has no resource
    /// ```
    pub fn resource(&self, name: &str) -> Option<&ResourceOutcome> {
        self.resources
            .iter()
            .find(|resource| resource.name == name)
            .map(|resource| &resource.outcome)
    }

    /// The tasks spawned under `name`: how many succeeded, failed and were aborted.
    ///
    /// ```
    /// let report = graceful::Config::new().run(|shutdown| async move {
    ///     shutdown.spawn("job", async {});
    /// });
    /// let job = report.task("job").expect("spawned");
    /// assert_eq!((job.succeeded, job.failed, job.aborted), (1, 0, 0));
    /// ```
    pub fn task(&self, name: &str) -> Option<&TaskReport> {
        self.tasks.iter().find(|task| task.name == name)
    }

    /// The names of the work aborted because it was still running when the drain's time ran
    /// out (or when a second signal forced the end), in the order they were first spawned.
    ///
    /// ```
    /// let report = graceful::Config::new()
    ///     .timeout(std::time::Duration::from_millis(300))
    ///     .run(|shutdown| async move {
    ///         shutdown.spawn("stuck", std::future::pending::<()>());
    ///         shutdown.trigger("done");
    ///     });
    /// assert_eq!(report.aborted(), ["stuck"]);
    /// assert_eq!(report.exit_code(), 1);
    /// ```
    pub fn aborted(&self) -> Vec<&str> {
        self.stragglers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The lines an operator needs when the exit was not clean: the cause, each failed or
    /// straggling task, each resource that did not close.
    ///
    /// ```
    /// let report = graceful::Config::new().run(|shutdown| async move {
    ///     shutdown.spawn("importer", async { Err::<(), _>("disk full") });
    /// });
    /// assert!(report.summary().contains("task `importer` failed: disk full"));
    /// ```
    pub fn summary(&self) -> String {
        let code = self.exit_code();
        let header = match &self.cause {
            cause if self.forced.is_some() => {
                let signal = self.forced.map_or("", Signal::name);
                format!(
                    "graceful: exited at once (exit code {code}): received {signal} again, while shutting down ({cause})"
                )
            }
            Cause::Startup(error) => {
                format!("graceful: could not start (exit code {code}): {error}")
            }
            cause => {
                let outcome = if self.is_clean() {
                    "complete"
                } else {
                    "failed"
                };
                format!("graceful: shutdown {outcome} (exit code {code}): {cause}")
            }
        };
        header + &self.details()
    }

    /// What went wrong besides the cause, a line each: each failed or straggling task, each
    /// resource that did not close, each `Drop` that panicked.
    fn details(&self) -> String {
        use fmt::Write;
        let mut out = String::new();
        if let Some(error) = &self.main_error
            && !matches!(&self.cause, Cause::MainFailed(cause) if cause == error)
        {
            let _ = write!(out, "\n  main failed: {error}");
        }
        // The failure that started shutdown is the cause, said already.
        let cause = self.cause.to_string();
        for failure in self
            .failures
            .iter()
            .filter(|failure| failure.to_string() != cause)
        {
            let _ = write!(out, "\n  {failure}");
        }
        for (name, count) in &self.stragglers {
            let _ = write!(
                out,
                "\n  task `{name}` ({count} running) aborted at the deadline"
            );
        }
        for (name, count) in &self.unstopped {
            let _ = write!(
                out,
                "\n  task `{name}` ({count}) did not stop when aborted: a poll or a `Drop` of it was blocking"
            );
        }
        for resource in self
            .resources
            .iter()
            .filter(|r| r.outcome != ResourceOutcome::Closed)
        {
            let _ = write!(out, "\n  {resource}");
        }
        for panic in &self.drop_panics {
            let _ = write!(out, "\n  {panic}");
        }
        out
    }

    /// Logs the report, through graceful's writer thread.
    pub(crate) fn log(&self) {
        let report = self.clone();
        self.log.event(move || report.emit());
    }

    /// The report's lines: one per task name, then the outcome.
    fn emit(&self) {
        let elapsed_ms = self.elapsed.as_millis() as u64;
        let budget_ms = self.timeout.as_millis() as u64;
        let phases = self
            .phases
            .iter()
            .map(|phase| format!("{} {:?}", phase.name, phase.elapsed))
            .collect::<Vec<_>>()
            .join(", ");
        for task in &self.tasks {
            tracing::info!(
                target: "graceful",
                task = %task.name, succeeded = task.succeeded, failed = task.failed, aborted = task.aborted,
                "task `{}`: {} succeeded, {} failed, {} aborted",
                task.name, task.succeeded, task.failed, task.aborted
            );
        }
        let exit_code = self.exit_code();
        match &self.cause {
            _ if self.is_clean() => tracing::info!(
                target: "graceful", cause = %self.cause, elapsed_ms, budget_ms, exit_code,
                "shutdown complete in {:?} of {:?} ({phases})", self.elapsed, self.timeout
            ),
            Cause::Startup(error) => tracing::error!(
                target: "graceful", exit_code,
                "could not start: {error}{}", self.details()
            ),
            cause => tracing::error!(
                target: "graceful", cause = %cause, elapsed_ms, budget_ms, exit_code,
                "shutdown failed after {:?} of {:?} ({phases}): {cause}{}", self.elapsed, self.timeout, self.details()
            ),
        }
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The public fields: where the report is logged, and its deadline's instant, are ours.
        f.debug_struct("Report")
            .field("cause", &self.cause)
            .field("main_error", &self.main_error)
            .field("phases", &self.phases)
            .field("tasks", &self.tasks)
            .field("failures", &self.failures)
            .field("stragglers", &self.stragglers)
            .field("unstopped", &self.unstopped)
            .field("resources", &self.resources)
            .field("drop_panics", &self.drop_panics)
            .field("timeout", &self.timeout)
            .field("elapsed", &self.elapsed)
            .field("forced", &self.forced)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}
