//! Why shutdown started.

use std::fmt;

use crate::Signal;

/// The first event that started shutdown. Later events (another task failing during the drain)
/// do not replace it; they are in the [`Report`](crate::Report) too.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The operating system asked the process to stop.
    Signal(Signal),
    /// Code called [`Shutdown::trigger`](crate::Shutdown::trigger).
    Requested(String),
    /// A task returned an error.
    TaskFailed {
        /// The name given to `spawn`.
        task: String,
        /// The error, rendered with `Display` and its causes.
        error: String,
    },
    /// A task panicked.
    TaskPanicked {
        /// The name given to `spawn`.
        task: String,
        /// The panic message.
        message: String,
    },
    /// `main`'s body returned an error, for example a resource that failed to open.
    MainFailed(String),
    /// `main` and every task finished by themselves.
    Completed,
    /// The service could not start: a malformed setting, signal handlers that could not be
    /// installed, resources that do not fit together, or a resource function that failed.
    Startup(String),
}

impl Cause {
    /// Whether this cause, on its own, makes the exit unclean.
    ///
    /// ```
    /// use graceful::{Cause, Signal};
    ///
    /// assert!(!Cause::Signal(Signal::Terminate).is_failure());
    /// assert!(Cause::MainFailed("no database".into()).is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            Cause::Signal(_) | Cause::Requested(_) | Cause::Completed
        )
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Signal(signal) => write!(f, "received {signal}"),
            Cause::Requested(reason) => write!(f, "requested: {reason}"),
            Cause::TaskFailed { task, error } => write!(f, "task `{task}` failed: {error}"),
            Cause::TaskPanicked { task, message } => write!(f, "task `{task}` panicked: {message}"),
            Cause::MainFailed(error) => write!(f, "main failed: {error}"),
            Cause::Completed => f.write_str("every task finished"),
            Cause::Startup(error) => write!(f, "startup failed: {error}"),
        }
    }
}
