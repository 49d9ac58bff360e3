//! The task group: errgroup semantics over Tokio tasks.
//!
//! Every task is counted by a `TaskTracker` (the drain waits on it) and named in a registry
//! (the deadline names and aborts what is left). A task's error or panic starts shutdown and is
//! kept for the report; the registry only holds live tasks, so it stays small when many
//! short tasks come and go.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::runtime::Handle;
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::task::TaskTracker;

use crate::catch_unwind::CatchUnwind;
use crate::report::{TaskFailure, TaskReport};
use crate::state::State;
use crate::{Cause, Outcome};

pub(crate) type TaskName = Cow<'static, str>;

pub(crate) struct TaskGroup {
    tracker: TaskTracker,
    runtime: Handle,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    live: HashMap<u64, LiveTask>,
    /// Finished and aborted counts per task name, in order of first spawn.
    tallies: Vec<TaskReport>,
    tally_index: HashMap<String, usize>,
    failures: Vec<TaskFailure>,
}

struct LiveTask {
    name: TaskName,
    abort: AbortHandle,
}

impl TaskGroup {
    pub(crate) fn new(runtime: Handle) -> Self {
        let tracker = TaskTracker::new();
        // Closed from the start: `wait` then resolves as soon as nothing is running, which is
        // how "every task finished by itself" is noticed. Spawning still works once closed.
        tracker.close();
        TaskGroup {
            tracker,
            runtime,
            next_id: AtomicU64::new(0),
            registry: Mutex::default(),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic never happens while the lock is held; recover rather than cascade anyway.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a future that is not a spawned task (the body of `main`) as running work.
    pub(crate) fn track<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        self.tracker.track_future(future)
    }

    /// Resolves once nothing tracked is running.
    pub(crate) async fn wait(&self) {
        self.tracker.wait().await
    }

    /// The tasks still running, counted by name.
    pub(crate) fn live_names(&self) -> Vec<(String, usize)> {
        count_by_name(self.registry().live.values().map(|task| &*task.name))
    }

    /// Aborts every task still running and returns how many of each name there were.
    pub(crate) fn abort_stragglers(&self) -> Vec<(String, usize)> {
        let mut registry = self.registry();
        let live = std::mem::take(&mut registry.live);
        for task in live.values() {
            task.abort.abort();
        }
        let stragglers = count_by_name(live.values().map(|task| &*task.name));
        for (name, count) in &stragglers {
            registry.tally(name).aborted += *count as u64;
        }
        stragglers
    }

    /// Per-name counts and every failure, for the report.
    pub(crate) fn outcomes(&self) -> (Vec<TaskReport>, Vec<TaskFailure>) {
        let registry = self.registry();
        (registry.tallies.clone(), registry.failures.clone())
    }
}

/// Spawns `future` as a task of the group. See [`Shutdown::spawn`](crate::Shutdown::spawn).
pub(crate) fn spawn<F>(state: &Arc<State>, name: TaskName, future: F) -> JoinHandle<()>
where
    F: Future + Send + 'static,
    F::Output: Outcome,
{
    let group = &state.tasks;
    let id = group.next_id.fetch_add(1, Ordering::Relaxed);
    let task_state = state.clone();
    let task_name = name.clone();
    // Created outside the future so that it is dropped even if the task never runs.
    let mut unfinished = Unfinished {
        state: task_state,
        id,
        armed: true,
    };
    let task = async move {
        let result = CatchUnwind::new(future).await;
        unfinished.armed = false;
        finish(&unfinished.state, id, task_name, result);
    };
    // Spawned under the lock so that a task that finishes at once cannot look for its
    // registry entry before it exists.
    let mut registry = group.registry();
    let handle = group.tracker.spawn_on(task, &group.runtime);
    registry.live.insert(
        id,
        LiveTask {
            name,
            abort: handle.abort_handle(),
        },
    );
    handle
}

/// Lives inside a task until it completes: if the task is dropped instead (aborted through its
/// `JoinHandle`, even before it first ran, or dropped with the runtime), its registry entry is
/// removed and it is counted as aborted, so the registry never keeps tasks that are gone.
struct Unfinished {
    state: Arc<State>,
    id: u64,
    armed: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut registry = self.state.tasks.registry();
        // Absent when the deadline already aborted (and counted) it.
        if let Some(task) = registry.live.remove(&self.id) {
            registry.tally(&task.name).aborted += 1;
        }
    }
}

fn finish<T: Outcome>(state: &Arc<State>, id: u64, name: TaskName, result: Result<T, String>) {
    let cause = match result {
        Ok(output) => match output.into_result() {
            Ok(()) => None,
            Err(error) => Some(Cause::TaskFailed {
                task: name.to_string(),
                error: crate::error::render(&*error),
            }),
        },
        Err(message) => Some(Cause::TaskPanicked {
            task: name.to_string(),
            message,
        }),
    };
    {
        let mut registry = state.tasks.registry();
        registry.live.remove(&id);
        let tally = registry.tally(&name);
        match &cause {
            None => tally.succeeded += 1,
            Some(_) => tally.failed += 1,
        }
        if let Some(cause) = &cause {
            registry.failures.push(TaskFailure::from_cause(cause));
        }
    }
    if let Some(cause) = cause {
        tracing::error!(target: "graceful", task = %name, "{cause}");
        state.begin(cause);
    }
}

impl Registry {
    fn tally(&mut self, name: &str) -> &mut TaskReport {
        let index = match self.tally_index.get(name) {
            Some(&index) => index,
            None => {
                self.tally_index.insert(name.to_owned(), self.tallies.len());
                self.tallies.push(TaskReport::new(name));
                self.tallies.len() - 1
            }
        };
        &mut self.tallies[index]
    }
}

/// Names in order of first appearance, each with how many times it appears.
fn count_by_name<'a>(names: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for name in names {
        match index.get(name) {
            Some(&at) => counts[at].1 += 1,
            None => {
                index.insert(name, counts.len());
                counts.push((name.to_owned(), 1));
            }
        }
    }
    counts
}
