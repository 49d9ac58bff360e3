//! Where `main`'s body is. It runs until it returns, or until it hands over its output at its
//! last expression: then it stays, parked with its locals, until the very end of the sequence,
//! as the locals of a `#[tokio::main]` function live until the program ends. The body writes
//! this (its output, once), the lifecycle and the watchdog read it.

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
}

impl MainStatus {
    /// The body starts (with the opening of the item resources), counted by `token`.
    pub(crate) fn start(&self, token: TaskTrackerToken) {
        *lock(&self.token) = Some(token);
        self.running.store(true, Ordering::Release);
    }

    /// The body's output. Returns whether this was the first: a parked body that is then
    /// dropped does not return again.
    pub(crate) fn returned(&self, output: Result<(), String>) -> bool {
        let mut kept = lock(&self.output);
        if kept.is_some() {
            return false;
        }
        *kept = Some(output);
        drop(kept);
        self.running.store(false, Ordering::Release);
        // No longer work that the drain waits for, even while its locals live on.
        drop(lock(&self.token).take());
        true
    }

    /// Whether the body has handed over its output (returned, or parked).
    pub(crate) fn has_returned(&self) -> bool {
        lock(&self.output).is_some()
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
}
