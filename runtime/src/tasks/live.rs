//! The tasks still running, so that the deadline can name and abort them.
//!
//! Each running task has a slot holding its `AbortHandle` and its name's tally, freed for reuse
//! when the task ends. The slots are split into shards, each behind its own lock, so that the
//! thread spawning and the worker threads finishing tasks rarely meet on one lock; a lock is
//! only ever held for a slot write. In particular the spawn itself (an allocation, perhaps a
//! worker's wake-up) happens between two short locks: the slot is reserved before it and
//! filled after it, and a task that ends in between marks its reserved slot instead.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::AbortHandle;

use super::tally::Tally;

const SHARDS: usize = 16;

pub(super) struct LiveTasks {
    shards: [Shard; SHARDS],
}

/// Aligned to its own cache lines, so that two shards' locks do not share one.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Slots>);

#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    /// Indices free for reuse. A slot emptied by `drain` is not put back: a task aborted at
    /// the deadline still looks for its slot when dropped, and must not find another task's.
    free: Vec<u32>,
}

enum Slot {
    Vacant,
    /// Taken by a spawn that has not filled it yet.
    Reserved(Arc<Tally>),
    /// The task ended before its spawn filled the slot: the spawn frees it.
    Ended,
    Running {
        abort: AbortHandle,
        tally: Arc<Tally>,
    },
}

/// Where a task's entry lives.
#[derive(Clone, Copy, Debug)]
pub(super) struct SlotKey {
    shard: u32,
    index: u32,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        // Nothing panics while the lock is held; recover rather than cascade anyway.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for LiveTasks {
    fn default() -> Self {
        LiveTasks {
            shards: std::array::from_fn(|_| Shard::default()),
        }
    }
}

impl LiveTasks {
    /// Reserves a slot in shard `seed % SHARDS` for a task about to be spawned.
    pub(super) fn reserve(&self, seed: u64, tally: Arc<Tally>) -> SlotKey {
        let shard = (seed % SHARDS as u64) as u32;
        let mut slots = self.shards[shard as usize].lock();
        let reserved = Slot::Reserved(tally);
        let index = match slots.free.pop() {
            Some(index) => {
                slots.slots[index as usize] = reserved;
                index
            }
            None => {
                slots.slots.push(reserved);
                u32::try_from(slots.slots.len() - 1).expect("fewer than 2^32 tasks per shard")
            }
        };
        SlotKey { shard, index }
    }

    /// Puts the spawned task's abort handle in its reserved slot.
    pub(super) fn fill(&self, key: SlotKey, abort: AbortHandle) {
        let mut slots = self.shards[key.shard as usize].lock();
        let slot = &mut slots.slots[key.index as usize];
        match std::mem::replace(slot, Slot::Vacant) {
            Slot::Reserved(tally) => *slot = Slot::Running { abort, tally },
            // It already ended: nothing to abort, and the slot is free again.
            Slot::Ended => slots.free.push(key.index),
            // The deadline drained the slot before the spawn returned: the drain counted the
            // task as aborted but had no handle to abort it with, so it is aborted here.
            Slot::Vacant => abort.abort(),
            Slot::Running { .. } => unreachable!("a reserved slot is filled once"),
        }
    }

    /// Empties the slot of a task that ended and returns its tally; `None` if the deadline
    /// already took it (and counted the task as aborted).
    pub(super) fn remove(&self, key: SlotKey) -> Option<Arc<Tally>> {
        let mut slots = self.shards[key.shard as usize].lock();
        let slot = slots.slots.get_mut(key.index as usize)?;
        match std::mem::replace(slot, Slot::Vacant) {
            Slot::Running { tally, .. } => {
                slots.free.push(key.index);
                Some(tally)
            }
            Slot::Reserved(tally) => {
                *slot = Slot::Ended;
                Some(tally)
            }
            Slot::Vacant | Slot::Ended => None,
        }
    }

    /// Aborts every task still running and returns their tallies, one per task.
    pub(super) fn drain(&self) -> Vec<Arc<Tally>> {
        let mut aborted = Vec::new();
        for shard in &self.shards {
            let mut handles = Vec::new();
            for slot in &mut shard.lock().slots {
                match std::mem::replace(slot, Slot::Vacant) {
                    Slot::Running { abort, tally } => {
                        handles.push(abort);
                        aborted.push(tally);
                    }
                    // Its spawn has not returned yet: `fill` aborts it.
                    Slot::Reserved(tally) => aborted.push(tally),
                    Slot::Ended => *slot = Slot::Ended,
                    Slot::Vacant => {}
                }
            }
            // Outside the lock: an abort may wake a worker, and workers ending tasks take it.
            for handle in handles {
                handle.abort();
            }
        }
        aborted
    }

    /// The tallies of the tasks still running, one per task.
    pub(super) fn running(&self) -> Vec<Arc<Tally>> {
        let mut running = Vec::new();
        for shard in &self.shards {
            let slots = shard.lock();
            running.extend(slots.slots.iter().filter_map(|slot| match slot {
                Slot::Reserved(tally) | Slot::Running { tally, .. } => Some(tally.clone()),
                Slot::Vacant | Slot::Ended => None,
            }));
        }
        running
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::tally::Tallies;

    fn with_runtime(test: impl FnOnce()) {
        runtime().block_on(async { test() });
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn pending_task() -> tokio::task::JoinHandle<()> {
        tokio::spawn(std::future::pending())
    }

    #[test]
    fn a_slot_is_reused_once_its_task_ends() {
        with_runtime(|| {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let key = live.reserve(0, tallies.of("a".into()));
            live.fill(key, pending_task().abort_handle());
            assert_eq!(live.running().len(), 1);
            assert_eq!(&*live.remove(key).unwrap().name, "a");
            assert!(live.remove(key).is_none(), "removed twice");
            let again = live.reserve(0, tallies.of("b".into()));
            assert_eq!((again.shard, again.index), (key.shard, key.index));
        });
    }

    #[test]
    fn a_task_that_ends_before_its_spawn_returns_frees_its_slot_at_fill() {
        with_runtime(|| {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let key = live.reserve(3, tallies.of("quick".into()));
            assert_eq!(&*live.remove(key).unwrap().name, "quick");
            assert!(live.running().is_empty());
            let other = live.reserve(3, tallies.of("next".into()));
            assert_ne!(other.index, key.index, "reused before the fill");
            live.fill(key, pending_task().abort_handle());
            assert!(live.remove(key).is_none());
            let reused = live.reserve(3, tallies.of("later".into()));
            assert_eq!(reused.index, key.index);
        });
    }

    #[test]
    fn drain_aborts_running_tasks_and_counts_reserved_ones_once() {
        let runtime = runtime();
        runtime.block_on(async {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let running = pending_task();
            let filled = live.reserve(0, tallies.of("running".into()));
            live.fill(filled, running.abort_handle());
            let reserved = live.reserve(1, tallies.of("spawning".into()));
            let drained: Vec<String> = live.drain().iter().map(|t| t.name.to_string()).collect();
            assert_eq!(drained, ["running", "spawning"]);
            // The tasks' own endings come too late to be counted again.
            assert!(live.remove(filled).is_none());
            assert!(live.remove(reserved).is_none());
            // A spawn returning after the drain aborts its task at once.
            let late = pending_task();
            live.fill(reserved, late.abort_handle());
            assert!(late.await.is_err_and(|error| error.is_cancelled()));
            assert!(running.await.is_err_and(|error| error.is_cancelled()));
            assert!(live.running().is_empty());
            // Drained slots are never handed out again.
            let fresh = live.reserve(0, tallies.of("fresh".into()));
            assert_ne!(fresh.index, filled.index);
        });
    }
}
