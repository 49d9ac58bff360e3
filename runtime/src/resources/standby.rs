//! A closer thread made before it is needed.
//!
//! The closes run on a thread of tokio's blocking pool (see `teardown`), and at the close the
//! pool usually has none idle: its threads are the runtime's workers. Making one then (a stack
//! mapped, a thread cloned and started, its allocator arena) was most of what a quick shutdown
//! cost over closing by hand: in one run, closing on the workers instead took 1.02 ms against
//! 1.23 ms, and the hand-written service 0.91 ms (BENCHMARKS.md, issue 17). So a process's run
//! starts one as it begins, waiting on a channel, and the teardown's first closer runs there.
//! One that is never needed is let go when the run ends (`Resources::prepare_closer`).

use std::sync::Mutex;
use std::sync::mpsc::{SendError, SyncSender, sync_channel};

use tokio::task::JoinHandle;

use crate::sync::lock;

/// What the closer runs: `None` if the teardown stopped it.
pub(super) type Job = Box<dyn FnOnce() -> Option<()> + Send>;

#[derive(Default)]
pub(super) struct Standby(Mutex<Option<Waiting>>);

struct Waiting {
    job: SyncSender<Job>,
    done: JoinHandle<Option<()>>,
}

impl Standby {
    /// Starts a thread of the current runtime's blocking pool that waits for a job.
    pub(super) fn start(&self) {
        let (job, waiting) = sync_channel::<Job>(1);
        // Its sender dropped, `recv` fails and the thread goes back to the pool.
        let done = tokio::task::spawn_blocking(move || waiting.recv().ok().and_then(|job| job()));
        *lock(&self.0) = Some(Waiting { job, done });
    }

    /// Runs `job` on the waiting thread, if there is one, and returns its handle; otherwise
    /// hands `job` back.
    pub(super) fn run(&self, job: Job) -> Result<JoinHandle<Option<()>>, Job> {
        let Some(waiting) = lock(&self.0).take() else {
            return Err(job);
        };
        match waiting.job.send(job) {
            Ok(()) => Ok(waiting.done),
            Err(SendError(job)) => Err(job),
        }
    }

    /// Lets the waiting thread go.
    pub(super) fn release(&self) {
        lock(&self.0).take();
    }
}
