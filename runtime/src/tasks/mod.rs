//! The task group: errgroup semantics over Tokio tasks.
//!
//! Every task is counted by a `TaskTracker` (the drain waits on it), has a slot among the live
//! tasks (the deadline names and aborts what is left) and a tally by name (the report). A
//! task's error or panic starts shutdown and is kept for the report.
//!
//! Spawning is on the path of every request a service hands to a task, so its cost over a
//! bare `TaskTracker::spawn` is kept to a name lookup and two short slot writes, and each
//! running task costs 16 bytes more than its future plus a 24-byte slot: see BENCHMARKS.md.

pub(crate) mod close_scope;
mod live;
mod refused;
mod tally;

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, ready};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::catch_unwind::CatchUnwind;
use crate::log::Log;
use crate::report::{TaskFailure, TaskReport};
use crate::sync::lock;
use crate::trigger::Trigger;
use crate::{Cause, Outcome};

pub(crate) use live::Accepting;
use live::{LiveTasks, SlotKey};
pub(crate) use tally::TaskName;
use tally::{Ending, Tallies, Tally};

pub(crate) struct TaskGroup {
    tracker: TaskTracker,
    /// The tasks spawned by the resources' closes, also counted by `tracker`.
    closes: TaskTracker,
    /// The service's runtime, where every task runs whichever thread spawns it. Set once the
    /// runtime is built, which is after the group exists (the signal handlers, and so the
    /// state they reach, come first).
    runtime: OnceLock<Handle>,
    live: LiveTasks,
    tallies: Tallies,
    failures: Mutex<Vec<TaskFailure>>,
    /// A task's failure starts shutdown.
    trigger: Arc<Trigger>,
    log: Log,
}

impl TaskGroup {
    pub(crate) fn new(trigger: Arc<Trigger>, log: Log) -> Arc<Self> {
        let tracker = TaskTracker::new();
        // Closed from the start: `wait` then resolves as soon as nothing is running, which is
        // how "every task finished by itself" is noticed. Spawning still works once closed.
        tracker.close();
        let closes = TaskTracker::new();
        closes.close();
        Arc::new(TaskGroup {
            tracker,
            closes,
            runtime: OnceLock::new(),
            live: LiveTasks::default(),
            tallies: Tallies::default(),
            failures: Mutex::default(),
            trigger,
            log,
        })
    }

    /// Sets the runtime the tasks run on.
    pub(crate) fn attach(&self, runtime: Handle) {
        let _ = self.runtime.set(runtime);
    }

    /// Counts a future that is not a spawned task (the body of `main`) as running work.
    pub(crate) fn track<F: Future>(&self, future: F) -> impl Future<Output = F::Output> + use<F> {
        self.tracker.track_future(future)
    }

    /// Resolves once nothing tracked is running.
    pub(crate) async fn wait(&self) {
        self.tracker.wait().await
    }

    /// Resolves once every task aborted has stopped: nothing tracked runs, and no spawn that a
    /// sweep caught between its reservation and `spawn_on` (on a thread outside the runtime)
    /// is left to start, and be aborted, later.
    pub(crate) async fn wait_stopped(&self) {
        loop {
            self.tracker.wait().await;
            if !self.live.has_unfilled() {
                return;
            }
            // Such a spawn returns within microseconds; it is then tracked.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// Resolves once no task spawned by a close is running.
    pub(crate) async fn wait_closes(&self) {
        self.closes.wait().await
    }

    /// The tasks still running, counted by name.
    pub(crate) fn live_names(&self) -> Vec<(String, usize)> {
        names(count_by_name(self.live.running()))
    }

    /// Takes only what `accepting` says from now on, aborts every task still running and
    /// returns how many of each name there were. Counted as aborted; they may still be
    /// finishing a poll or running a `Drop` (see [`unstopped`](Self::unstopped)).
    pub(crate) fn close(&self, accepting: Accepting) -> Vec<(String, usize)> {
        let aborted = count_by_name(self.live.close(accepting));
        for (tally, count) in &aborted {
            self.tallies.end(tally, Ending::Aborted, *count as u64);
        }
        names(aborted)
    }

    /// Takes the spawns of the resources' closes again (after a `close`).
    pub(crate) fn take_closes(&self) {
        self.live.reopen(Accepting::Closes);
    }

    /// The tasks aborted whose futures have not been dropped yet, by name.
    pub(crate) fn unstopped(&self) -> Vec<(String, usize)> {
        names(count_by_name(self.live.unstopped()))
    }

    /// Per-name counts and every failure, for the report.
    pub(crate) fn outcomes(&self) -> (Vec<TaskReport>, Vec<TaskFailure>) {
        let failures = lock(&self.failures).clone();
        (self.tallies.reports(), failures)
    }

    /// Spawns `future` as a task of the group. See [`Shutdown::spawn`](crate::Shutdown::spawn).
    pub(crate) fn spawn<F>(self: &Arc<Self>, name: TaskName, future: F) -> JoinHandle<()>
    where
        F: Future + Send + 'static,
        F::Output: Outcome,
    {
        let runtime = self.runtime.get().expect(
            "a task is spawned on the service's runtime, and this handle has none: make \
                 graceful::test::shutdown() inside a Tokio runtime to spawn on it",
        );
        let tally = self.tallies.of(name);
        let reserved = match self
            .live
            .reserve(shard_seed(), tally, close_scope::is_current)
        {
            Ok(reserved) => reserved,
            Err(tally) => return refuse(self, &tally, future, runtime),
        };
        let task = Task {
            future: CatchUnwind::new(future),
            // Created outside the future's poll so that it is dropped even if the task never runs.
            unfinished: Unfinished {
                group: Some(Arc::clone(self)),
                key: reserved.key,
            },
        };
        let handle = match reserved.for_close {
            false => self.tracker.spawn_on(task, runtime),
            // What a close's task spawns comes from that close too.
            true => {
                let task = self.closes.track_future(close_scope::enter(task));
                self.tracker.spawn_on(task, runtime)
            }
        };
        self.live.fill(reserved.key, handle.abort_handle());
        handle
    }
}

/// Which shard of the live tasks a spawn takes, per spawning thread: each thread goes round the
/// shards on its own count, so that spawns share no counter, from its own starting point, so that
/// two spawning threads rarely take the same shard at once.
fn shard_seed() -> u64 {
    static THREADS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static NEXT: Cell<Option<u64>> = const { Cell::new(None) };
    }
    // A `const` cell without a destructor: readable until the thread's very end.
    NEXT.with(|next| {
        let seed = next
            .get()
            .unwrap_or_else(|| THREADS.fetch_add(1, Ordering::Relaxed).wrapping_mul(5));
        next.set(Some(seed.wrapping_add(1)));
        seed
    })
}

/// A spawn the group no longer takes (its drain has ended): counted as aborted and dropped
/// without running. The handle it returns resolves to a cancelled `JoinError`, as for any
/// task aborted before it ran.
#[cold]
fn refuse<F: Send + 'static>(
    group: &TaskGroup,
    tally: &Arc<Tally>,
    future: F,
    runtime: &Handle,
) -> JoinHandle<()> {
    group.tallies.end(tally, Ending::Aborted, 1);
    let name = tally.name.clone();
    group.log.event(move || {
        tracing::debug!(target: "graceful", task = %name, "spawned after the drain ended: aborted before it ran");
    });
    refused::drop_refused(Box::new(future));
    let handle = runtime.spawn(std::future::pending());
    handle.abort();
    handle
}

pin_project_lite::pin_project! {
    /// A spawned task: the user's future, then the tally. Written by hand rather than as an
    /// `async` block, which would keep the future twice in its state (once as the captured
    /// value, once as the awaited one): 88 bytes more for a 72-byte future.
    struct Task<F> {
        #[pin]
        future: CatchUnwind<F>,
        unfinished: Unfinished,
    }
}

impl<F> Future for Task<F>
where
    F: Future,
    F::Output: Outcome,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        if let Some(group) = this.unfinished.group.take() {
            finish(&group, this.unfinished.key, result);
        }
        Poll::Ready(())
    }
}

/// Lives inside a task until it completes: if the task is dropped instead (aborted through its
/// `JoinHandle`, even before it first ran, or dropped with the runtime), its slot is emptied
/// and it is counted as aborted, so no slot outlives its task. `group` is `None` once the task
/// has completed.
struct Unfinished {
    group: Option<Arc<TaskGroup>>,
    key: SlotKey,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        let Some(group) = &self.group else { return };
        // `None` when the deadline already aborted (and counted) it.
        if let Some(tally) = group.live.remove(self.key) {
            group.tallies.end(&tally, Ending::Aborted, 1);
        }
    }
}

fn finish<T: Outcome>(group: &TaskGroup, key: SlotKey, result: Result<T, String>) {
    let failure = failure_of(result);
    // A task that ends in the instant the deadline aborts it was counted as aborted; its
    // result comes too late for the report, but a failure is still logged.
    let Some(tally) = group.live.remove(key) else {
        if let Some(failure) = failure {
            group.log.event(move || {
                tracing::warn!(target: "graceful", "a task counted as aborted at the deadline had just failed: {}", failure.message);
            });
        }
        return;
    };
    let Some(failure) = failure else {
        group.tallies.end(&tally, Ending::Succeeded, 1);
        return;
    };
    group.tallies.end(&tally, Ending::Failed, 1);
    let task = tally.name.to_string();
    let cause = match failure.panicked {
        true => Cause::TaskPanicked {
            task,
            message: failure.message,
        },
        false => Cause::TaskFailed {
            task,
            error: failure.message,
        },
    };
    lock(&group.failures).push(TaskFailure::from_cause(&cause));
    let (name, line) = (tally.name.clone(), cause.to_string());
    group.trigger.begin(cause);
    group
        .log
        .event(move || tracing::error!(target: "graceful", task = %name, "{line}"));
}

/// How a task failed, rendered.
struct Failure {
    panicked: bool,
    message: String,
}

/// Renders what a task ended with. Everything of the task's own code that runs here (its
/// error's conversion, `Display`, sources and `Drop`) runs under the catcher, like the task
/// itself: one that panics is still a failure, not a task that vanishes from the report.
fn failure_of<T: Outcome>(result: Result<T, String>) -> Option<Failure> {
    let rendered = catch_unwind(AssertUnwindSafe(move || match result {
        Ok(output) => output.into_result().err().map(|error| Failure {
            panicked: false,
            message: crate::error::render(&*error),
        }),
        Err(message) => Some(Failure {
            panicked: true,
            message,
        }),
    }));
    rendered.unwrap_or_else(|panic| {
        Some(Failure {
            panicked: false,
            message: crate::error::unrenderable(panic.as_ref()),
        })
    })
}

fn names(counts: Vec<(Arc<Tally>, usize)>) -> Vec<(String, usize)> {
    counts
        .into_iter()
        .map(|(tally, count)| (tally.name.to_string(), count))
        .collect()
}

/// Tallies in order of their name's first spawn, each with how many tasks it holds.
fn count_by_name(tallies: Vec<Arc<Tally>>) -> Vec<(Arc<Tally>, usize)> {
    let mut counts: HashMap<usize, (Arc<Tally>, usize)> = HashMap::new();
    for tally in tallies {
        counts.entry(tally.rank).or_insert_with(|| (tally, 0)).1 += 1;
    }
    let mut counts: Vec<(Arc<Tally>, usize)> = counts.into_values().collect();
    counts.sort_by_key(|(tally, _)| tally.rank);
    counts
}
