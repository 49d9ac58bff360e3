//! The tasks still running, so that the drain's end can name, abort and wait for them, and
//! whether the group still takes new ones.
//!
//! Each running task has a slot holding its `AbortHandle` and its name's tally, freed for reuse
//! when the task ends. The slots are split into shards, each behind its own lock, so that the
//! thread spawning and the worker threads finishing tasks rarely meet on one lock; a lock is
//! only ever held for a slot write. In particular the spawn itself (an allocation, perhaps a
//! worker's wake-up) happens between two short locks: the slot is reserved before it and
//! filled after it, and a task that ends in between marks its reserved slot instead.
//!
//! Whether the group takes a task is decided under the shard lock, at the reservation, and
//! [`close`](LiveTasks::close) sets it before it sweeps every shard under the same locks: a
//! spawn either reserved its slot before the sweep reached its shard (and is swept), or reserves
//! after, and then sees the group closed. No spawn slips between the two.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::AbortHandle;

use super::tally::Tally;
use crate::sync::lock;

const SHARDS: usize = 16;

/// Which spawns the group takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Accepting {
    /// Every spawn: until the drain ends.
    All = 0,
    /// Spawns from a resource's close (and from what it spawns): while resources close.
    Closes = 1,
    /// None: a spawn is aborted at once, before it runs.
    None = 2,
}

pub(super) struct LiveTasks {
    shards: [Shard; SHARDS],
    accepting: AtomicU8,
}

/// Aligned to its own cache lines, so that two shards' locks do not share one.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Slots>);

#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    /// Indices free for reuse: only slots whose task will never look at them again.
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
    /// Swept while reserved: the spawn aborts its task when it fills the slot. Counted.
    AbortedUnfilled(Arc<Tally>),
    /// Swept and aborted; the task's future has not been dropped yet. Counted.
    Aborted(Arc<Tally>),
}

/// A slot reserved for a task.
pub(super) struct Reserved {
    pub(super) key: SlotKey,
    /// Taken because it comes from a resource's close (the group takes nothing else then).
    pub(super) for_close: bool,
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
        lock(&self.0)
    }
}

impl Default for LiveTasks {
    fn default() -> Self {
        LiveTasks {
            shards: std::array::from_fn(|_| Shard::default()),
            accepting: AtomicU8::new(Accepting::All as u8),
        }
    }
}

impl LiveTasks {
    fn accepting(&self) -> Accepting {
        match self.accepting.load(Ordering::Acquire) {
            0 => Accepting::All,
            1 => Accepting::Closes,
            _ => Accepting::None,
        }
    }

    /// Reserves a slot in shard `seed % SHARDS` for a task about to be spawned, unless the
    /// group does not take it (`from_close` tells whether the spawn comes from a resource's
    /// close): then the tally is handed back.
    pub(super) fn reserve(
        &self,
        seed: u64,
        tally: Arc<Tally>,
        from_close: impl FnOnce() -> bool,
    ) -> Result<Reserved, Arc<Tally>> {
        let shard = (seed % SHARDS as u64) as u32;
        let mut slots = self.shards[shard as usize].lock();
        let for_close = match self.accepting() {
            Accepting::All => false,
            Accepting::Closes if from_close() => true,
            Accepting::Closes | Accepting::None => return Err(tally),
        };
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
        Ok(Reserved {
            key: SlotKey { shard, index },
            for_close,
        })
    }

    /// Puts the spawned task's abort handle in its reserved slot.
    pub(super) fn fill(&self, key: SlotKey, abort: AbortHandle) {
        let mut slots = self.shards[key.shard as usize].lock();
        let slot = &mut slots.slots[key.index as usize];
        match std::mem::replace(slot, Slot::Vacant) {
            Slot::Reserved(tally) => *slot = Slot::Running { abort, tally },
            // It already ended: nothing to abort, and the slot is free again.
            Slot::Ended => slots.free.push(key.index),
            // Swept before the spawn returned: the sweep counted the task as aborted but had
            // no handle to abort it with, so it is aborted here.
            Slot::AbortedUnfilled(tally) => {
                abort.abort();
                *slot = Slot::Aborted(tally);
            }
            Slot::Vacant | Slot::Running { .. } | Slot::Aborted(_) => {
                unreachable!("a reserved slot is filled once")
            }
        }
    }

    /// Empties the slot of a task that ended (completed, or its future was dropped) and
    /// returns its tally; `None` if a sweep already counted it as aborted.
    pub(super) fn remove(&self, key: SlotKey) -> Option<Arc<Tally>> {
        let mut slots = self.shards[key.shard as usize].lock();
        let slot = &mut slots.slots[key.index as usize];
        match std::mem::replace(slot, Slot::Vacant) {
            Slot::Running { tally, .. } => {
                slots.free.push(key.index);
                Some(tally)
            }
            Slot::Reserved(tally) => {
                *slot = Slot::Ended;
                Some(tally)
            }
            Slot::Aborted(_) => {
                slots.free.push(key.index);
                None
            }
            // Its spawn has not filled the slot yet, and frees it then.
            Slot::AbortedUnfilled(_) => {
                *slot = Slot::Ended;
                None
            }
            // A task ends once; should that ever not hold, it is not counted twice.
            other @ (Slot::Vacant | Slot::Ended) => {
                *slot = other;
                None
            }
        }
    }

    /// From now on takes only what `accepting` says, then aborts every task still running and
    /// returns their tallies, one per task. Their slots stay until their futures are dropped:
    /// [`unstopped`](Self::unstopped) names those that are not.
    pub(super) fn close(&self, accepting: Accepting) -> Vec<Arc<Tally>> {
        self.accepting.store(accepting as u8, Ordering::Release);
        let mut aborted = Vec::new();
        for shard in &self.shards {
            let mut handles = Vec::new();
            for slot in &mut shard.lock().slots {
                *slot = match std::mem::replace(slot, Slot::Vacant) {
                    Slot::Running { abort, tally } => {
                        handles.push(abort);
                        aborted.push(tally.clone());
                        Slot::Aborted(tally)
                    }
                    Slot::Reserved(tally) => {
                        aborted.push(tally.clone());
                        Slot::AbortedUnfilled(tally)
                    }
                    other => other,
                };
            }
            // Outside the lock: an abort may wake a worker, and workers ending tasks take it.
            for handle in handles {
                handle.abort();
            }
        }
        aborted
    }

    /// Lets the group take spawns again, as `accepting` says (the closes' own tasks).
    pub(super) fn reopen(&self, accepting: Accepting) {
        self.accepting.store(accepting as u8, Ordering::Release);
    }

    /// The tallies of the tasks still running, one per task.
    pub(super) fn running(&self) -> Vec<Arc<Tally>> {
        self.collect(|slot| match slot {
            Slot::Reserved(tally) | Slot::Running { tally, .. } => Some(tally),
            _ => None,
        })
    }

    /// The tallies of the tasks aborted whose futures have not been dropped yet: a poll or a
    /// `Drop` of theirs is still running (or their worker is blocked).
    pub(super) fn unstopped(&self) -> Vec<Arc<Tally>> {
        self.collect(|slot| match slot {
            Slot::Aborted(tally) | Slot::AbortedUnfilled(tally) => Some(tally),
            _ => None,
        })
    }

    /// Whether a sweep caught a spawn between its reservation and its fill: that task is not
    /// counted by the tracker yet, and will be aborted as soon as its spawn returns.
    pub(super) fn has_unfilled(&self) -> bool {
        self.shards.iter().any(|shard| {
            shard
                .lock()
                .slots
                .iter()
                .any(|slot| matches!(slot, Slot::AbortedUnfilled(_)))
        })
    }

    fn collect(&self, pick: impl Fn(&Slot) -> Option<&Arc<Tally>>) -> Vec<Arc<Tally>> {
        let mut picked = Vec::new();
        for shard in &self.shards {
            let slots = shard.lock();
            picked.extend(slots.slots.iter().filter_map(&pick).cloned());
        }
        picked
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

    fn reserve(live: &LiveTasks, seed: u64, tally: Arc<Tally>) -> SlotKey {
        live.reserve(seed, tally, || false).ok().expect("taken").key
    }

    #[test]
    fn a_slot_is_reused_once_its_task_ends() {
        with_runtime(|| {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let key = reserve(&live, 0, tallies.of("a".into()));
            live.fill(key, pending_task().abort_handle());
            assert_eq!(live.running().len(), 1);
            assert_eq!(&*live.remove(key).unwrap().name, "a");
            let again = reserve(&live, 0, tallies.of("b".into()));
            assert_eq!((again.shard, again.index), (key.shard, key.index));
        });
    }

    #[test]
    fn a_task_that_ends_before_its_spawn_returns_frees_its_slot_at_fill() {
        with_runtime(|| {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let key = reserve(&live, 3, tallies.of("quick".into()));
            assert_eq!(&*live.remove(key).unwrap().name, "quick");
            assert!(live.running().is_empty());
            let other = reserve(&live, 3, tallies.of("next".into()));
            assert_ne!(other.index, key.index, "reused before the fill");
            live.fill(key, pending_task().abort_handle());
            let reused = reserve(&live, 3, tallies.of("later".into()));
            assert_eq!(reused.index, key.index);
        });
    }

    #[test]
    fn close_aborts_running_tasks_counts_reserved_ones_once_and_refuses_new_ones() {
        let runtime = runtime();
        runtime.block_on(async {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let running = pending_task();
            let filled = reserve(&live, 0, tallies.of("running".into()));
            live.fill(filled, running.abort_handle());
            let reserved = reserve(&live, 1, tallies.of("spawning".into()));
            let swept: Vec<String> = live
                .close(Accepting::None)
                .iter()
                .map(|t| t.name.to_string())
                .collect();
            assert_eq!(swept, ["running", "spawning"]);
            assert!(live.reserve(2, tallies.of("late".into()), || true).is_err());
            // A spawn returning after the sweep aborts its task at once.
            let late = pending_task();
            live.fill(reserved, late.abort_handle());
            assert!(late.await.is_err_and(|error| error.is_cancelled()));
            assert!(running.await.is_err_and(|error| error.is_cancelled()));
            // Until their futures are dropped (the tasks' own `remove`), they have not stopped.
            assert_eq!(live.unstopped().len(), 2);
            assert!(live.remove(filled).is_none(), "counted by the sweep");
            assert!(live.remove(reserved).is_none(), "counted by the sweep");
            assert!(live.unstopped().is_empty());
            assert!(live.running().is_empty());
        });
    }

    #[test]
    fn a_task_swept_while_reserved_that_ends_before_the_fill_frees_its_slot_at_the_fill() {
        with_runtime(|| {
            let tallies = Tallies::default();
            let live = LiveTasks::default();
            let key = reserve(&live, 0, tallies.of("a".into()));
            assert_eq!(live.close(Accepting::None).len(), 1);
            assert!(live.remove(key).is_none());
            live.reopen(Accepting::All);
            let other = reserve(&live, 0, tallies.of("b".into()));
            assert_ne!(other.index, key.index, "reused before the fill");
            live.fill(key, pending_task().abort_handle());
            assert!(live.unstopped().is_empty());
            let reused = reserve(&live, 0, tallies.of("c".into()));
            assert_eq!(reused.index, key.index);
        });
    }

    #[test]
    fn while_resources_close_only_their_spawns_are_taken() {
        let tallies = Tallies::default();
        let live = LiveTasks::default();
        live.close(Accepting::None);
        live.reopen(Accepting::Closes);
        assert!(
            live.reserve(0, tallies.of("stray".into()), || false)
                .is_err()
        );
        assert!(live.reserve(0, tallies.of("flush".into()), || true).is_ok());
    }
}
