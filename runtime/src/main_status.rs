//! Where `main`'s body is: running, returned (its output kept), or cut at the deadline; and
//! whether the bindings it kept for the end are being dropped. The lifecycle writes it, the
//! watchdog reads it to say what still runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::sync::lock;

#[derive(Default)]
pub(crate) struct MainStatus {
    running: AtomicBool,
    output: Mutex<Option<Result<(), String>>>,
    /// Counts the body as work of the task group until it has returned.
    token: Mutex<Option<TaskTrackerToken>>,
    /// Whether what it kept for the end is being dropped.
    dropping_kept: AtomicBool,
}

impl MainStatus {
    /// The body starts (with the opening of the item resources), counted by `token`.
    pub(crate) fn start(&self, token: TaskTrackerToken) {
        *lock(&self.token) = Some(token);
        self.running.store(true, Ordering::Release);
    }

    /// The body's output. Returns whether this was the first.
    pub(crate) fn returned(&self, output: Result<(), String>) -> bool {
        let mut kept = lock(&self.output);
        if kept.is_some() {
            return false;
        }
        *kept = Some(output);
        drop(kept);
        self.running.store(false, Ordering::Release);
        // No longer work that the drain waits for, even while the bindings it kept live on.
        drop(lock(&self.token).take());
        true
    }

    /// The error `main` returned, if it did.
    pub(crate) fn error(&self) -> Option<String> {
        lock(&self.output).clone().and_then(Result::err)
    }

    /// Whether the body runs: started and not returned, nor dropped at the deadline.
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The body was dropped before it returned (the deadline cut it).
    pub(crate) fn dropped(&self) {
        self.running.store(false, Ordering::Release);
        drop(lock(&self.token).take());
    }

    /// What the body kept starts (`true`) or has finished (`false`) being dropped.
    pub(crate) fn dropping_kept(&self, dropping: bool) {
        self.dropping_kept.store(dropping, Ordering::Release);
    }

    /// Whether what the body kept is being dropped.
    pub(crate) fn is_dropping_kept(&self) -> bool {
        self.dropping_kept.load(Ordering::Acquire)
    }
}
