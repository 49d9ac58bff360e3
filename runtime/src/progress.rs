//! Where the lifecycle is, for the watchdog's message when the deadline passes: the operator
//! reads from it what was blocked.

/// Where the lifecycle is, for the watchdog's message when the deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Progress {
    /// Before the lifecycle noticed the trigger.
    Running = 0,
    DrainDelay = 1,
    Draining = 2,
    /// The drain is over: dropping main's body, waiting for the aborted tasks to stop.
    Stopping = 3,
    Closing = 4,
    /// After the last close: dropping the resources, stopping the runtime.
    Finishing = 5,
}

impl Progress {
    /// Completes "the deadline passed …".
    pub(crate) fn at_the_deadline(self) -> &'static str {
        match self {
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
                "after the resources closed, while dropping what was left (the resources, tasks \
                 left on the runtime): a `Drop` is blocking"
            }
        }
    }

    /// Decodes what [`State`](crate::state::State) stores.
    pub(crate) fn from_u8(value: u8) -> Progress {
        match value {
            0 => Progress::Running,
            1 => Progress::DrainDelay,
            2 => Progress::Draining,
            3 => Progress::Stopping,
            4 => Progress::Closing,
            _ => Progress::Finishing,
        }
    }
}
