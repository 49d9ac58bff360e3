//! Per-name counters of the task group: what the report says about the tasks of each name.
//!
//! A task holds its name's tally (one `Arc`) and bumps an atomic counter when it ends, so
//! finishing a task never takes a lock; looking a name up takes one at spawn, held for a hash
//! lookup.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::report::TaskReport;

use super::TaskName;

pub(super) struct Tally {
    pub(super) name: TaskName,
    /// Position of the name's first spawn, to report names in that order.
    pub(super) rank: usize,
    succeeded: AtomicU64,
    failed: AtomicU64,
    aborted: AtomicU64,
}

/// How a task ended, for its tally.
#[derive(Clone, Copy)]
pub(super) enum Ending {
    Succeeded,
    Failed,
    Aborted,
}

impl Tally {
    pub(super) fn count(&self, ending: Ending, tasks: u64) {
        let counter = match ending {
            Ending::Succeeded => &self.succeeded,
            Ending::Failed => &self.failed,
            Ending::Aborted => &self.aborted,
        };
        counter.fetch_add(tasks, Ordering::Relaxed);
    }

    fn report(&self) -> TaskReport {
        let mut report = TaskReport::new(&self.name);
        report.succeeded = self.succeeded.load(Ordering::Relaxed);
        report.failed = self.failed.load(Ordering::Relaxed);
        report.aborted = self.aborted.load(Ordering::Relaxed);
        report
    }
}

/// Every name spawned so far, in order of first spawn.
#[derive(Default)]
pub(super) struct Tallies {
    names: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    index: HashMap<TaskName, usize>,
    in_order: Vec<Arc<Tally>>,
}

impl Tallies {
    fn names(&self) -> MutexGuard<'_, Names> {
        // Nothing panics while the lock is held; recover rather than cascade anyway.
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tally of `name`, created at its first spawn.
    pub(super) fn of(&self, name: TaskName) -> Arc<Tally> {
        let mut names = self.names();
        if let Some(&rank) = names.index.get(&*name) {
            return names.in_order[rank].clone();
        }
        let rank = names.in_order.len();
        let tally = Arc::new(Tally {
            name: name.clone(),
            rank,
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
        });
        names.index.insert(name, rank);
        names.in_order.push(tally.clone());
        tally
    }

    pub(super) fn reports(&self) -> Vec<TaskReport> {
        self.names()
            .in_order
            .iter()
            .map(|tally| tally.report())
            .collect()
    }
}
