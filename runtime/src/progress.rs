//! Where the lifecycle is, for the watchdog's message when the deadline passes: the operator
//! reads from it what was blocked.

/// Where the lifecycle is, for the watchdog's message when the deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Progress {
    /// Building the Tokio runtime: the run is bounded by its timeout already, since a build
    /// that cannot start its threads may hang (tokio waits for the ones it started).
    Building = 0,
    /// Before the lifecycle noticed the trigger.
    Running = 1,
    DrainDelay = 2,
    Draining = 3,
    /// The drain is over: dropping main's body, waiting for the aborted tasks to stop.
    Stopping = 4,
    Closing = 5,
    /// After the last close: the report, the `telemetry` closes, dropping what main kept and
    /// the resources, stopping the runtime.
    Finishing = 6,
}

impl Progress {
    /// Completes "the deadline passed …".
    pub(crate) fn at_the_deadline(self) -> &'static str {
        match self {
            Progress::Building => {
                "while the Tokio runtime was being built: could its threads start (a limit on \
                 the threads or processes of the user or the container)?"
            }
            Progress::Running => {
                "before the runtime could start the shutdown: the thread that drives the \
                 lifecycle and main's body is blocked (a busy loop, a blocking call or a \
                 deadlock in main's body or, on the current-thread scheduler, in a task)"
            }
            Progress::DrainDelay | Progress::Draining => {
                "during the drain and the runtime did not finish: a task is blocking a runtime thread"
            }
            Progress::Stopping => {
                "at the end of the drain, while dropping main's body and what was aborted: a \
                 `Drop` is blocking"
            }
            Progress::Closing => {
                "while resources were closing and the runtime did not finish: a close or a task \
                 is blocking a runtime thread"
            }
            Progress::Finishing => {
                "after the resources closed, while closing the telemetry or dropping what was \
                 left (the resources, what main kept, tasks left on the runtime): a close or a \
                 `Drop` is blocking"
            }
        }
    }

    /// Decodes what [`State`](crate::state::State) stores.
    pub(crate) fn from_u8(value: u8) -> Progress {
        match value {
            0 => Progress::Building,
            1 => Progress::Running,
            2 => Progress::DrainDelay,
            3 => Progress::Draining,
            4 => Progress::Stopping,
            5 => Progress::Closing,
            _ => Progress::Finishing,
        }
    }
}
