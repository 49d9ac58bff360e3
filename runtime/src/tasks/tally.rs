//! Per-name counters of the task group: what the report says about the tasks of each name.
//!
//! A task holds its name's tally (one `Arc`) and bumps an atomic counter when it ends, so
//! finishing a task never takes a lock. Looking a name up takes one, held for a hash lookup,
//! unless the tally this thread looked up last is that name's in this group: a service spawns
//! the same few names over and over (`"request"`, `"job"`), and then the spawn takes no lock.
//! (Each thread remembers one tally, of any group, and only one of the first
//! [`NAMED_TALLIES`] names: a spawn in another group replaces it, a later name's does not.)
//!
//! Memory is bounded by the tasks alive, not by the names ever seen: the first
//! [`NAMED_TALLIES`] names keep a tally of their own for the whole run, and a later name's
//! tally is folded into one aggregate line when its last task ends. A service that
//! names every job apart (`format!("job-{id}")`) keeps its report exact in sum, and flat in size.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::report::TaskReport;
use crate::sync::lock;

/// A task's name, as given to `spawn`.
pub(crate) type TaskName = Cow<'static, str>;

/// How many names keep a line of their own in the report once their tasks have ended.
pub(crate) const NAMED_TALLIES: usize = 1000;

pub(super) struct Tally {
    pub(super) name: TaskName,
    /// Position of the name's first spawn, to report names in that order.
    pub(super) rank: usize,
    succeeded: AtomicU64,
    failed: AtomicU64,
    aborted: AtomicU64,
    /// Tasks of this tally that have not ended, counted only for a tally that `folds` (the
    /// others never need it). Raised only under the names' lock, so that a tally found at zero
    /// there has no task left and none to come.
    live: AtomicU64,
    /// Whether it is folded into the aggregate when `live` falls to zero (it came after the
    /// first `NAMED_TALLIES` names).
    folds: bool,
}

/// How a task ended, for its tally.
#[derive(Clone, Copy)]
pub(super) enum Ending {
    Succeeded,
    Failed,
    Aborted,
}

impl Tally {
    fn counter(&self, ending: Ending) -> &AtomicU64 {
        match ending {
            Ending::Succeeded => &self.succeeded,
            Ending::Failed => &self.failed,
            Ending::Aborted => &self.aborted,
        }
    }

    fn report(&self) -> TaskReport {
        let mut report = TaskReport::new(&self.name);
        report.succeeded = self.succeeded.load(Ordering::Relaxed);
        report.failed = self.failed.load(Ordering::Relaxed);
        report.aborted = self.aborted.load(Ordering::Relaxed);
        report
    }
}

/// Every name spawned so far (or the aggregate of those folded).
pub(super) struct Tallies {
    names: Mutex<Names>,
    /// Tells this group's tallies from another's in a thread's [`LAST`] (a process may run
    /// several groups, one after the other or at once).
    id: u64,
}

thread_local! {
    /// The tally this thread looked up last, with its group's id: one that never folds, so it
    /// stays its name's tally for the group's whole run.
    static LAST: RefCell<Option<(u64, Arc<Tally>)>> = const { RefCell::new(None) };
}

impl Default for Tallies {
    fn default() -> Self {
        static GROUPS: AtomicU64 = AtomicU64::new(0);
        Tallies {
            names: Mutex::default(),
            id: GROUPS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

#[derive(Default)]
struct Names {
    by_name: HashMap<TaskName, Arc<Tally>>,
    next_rank: usize,
    /// The tallies folded so far, summed.
    folded: Folded,
}

#[derive(Default)]
struct Folded {
    names: u64,
    succeeded: u64,
    failed: u64,
    aborted: u64,
}

impl Tallies {
    fn names(&self) -> MutexGuard<'_, Names> {
        // Nothing panics while the lock is held; recover rather than cascade anyway.
        lock(&self.names)
    }

    /// The tally of `name` for one more task, created at the name's first spawn.
    pub(super) fn of(&self, name: TaskName) -> Arc<Tally> {
        let last = LAST.try_with(|last| match &*last.borrow() {
            Some((id, tally)) if *id == self.id && tally.name == name => Some(tally.clone()),
            _ => None,
        });
        if let Ok(Some(tally)) = last {
            return tally;
        }
        let tally = self.look_up(name);
        if !tally.folds {
            // Fails only while the thread is exiting: the next spawn looks up again.
            let _ = LAST.try_with(|last| *last.borrow_mut() = Some((self.id, tally.clone())));
        }
        tally
    }

    fn look_up(&self, name: TaskName) -> Arc<Tally> {
        let mut names = self.names();
        if let Some(tally) = names.by_name.get(&*name) {
            if tally.folds {
                tally.live.fetch_add(1, Ordering::Relaxed);
            }
            return tally.clone();
        }
        let rank = names.next_rank;
        names.next_rank += 1;
        let tally = Arc::new(Tally {
            name: name.clone(),
            rank,
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            live: AtomicU64::new(1),
            folds: rank >= NAMED_TALLIES,
        });
        names.by_name.insert(name, tally.clone());
        tally
    }

    /// Counts `tasks` tasks of `tally` as ended. Every task of a tally ends exactly once.
    pub(super) fn end(&self, tally: &Arc<Tally>, ending: Ending, tasks: u64) {
        tally.counter(ending).fetch_add(tasks, Ordering::Relaxed);
        if tally.folds && tally.live.fetch_sub(tasks, Ordering::AcqRel) == tasks {
            self.fold(tally);
        }
    }

    /// Folds a tally whose last task has ended into the aggregate, unless a spawn took it up
    /// again meanwhile.
    fn fold(&self, tally: &Arc<Tally>) {
        let mut names = self.names();
        let current = names
            .by_name
            .get(&*tally.name)
            .is_some_and(|current| Arc::ptr_eq(current, tally));
        if !current || tally.live.load(Ordering::Acquire) != 0 {
            return;
        }
        names.by_name.remove(&*tally.name);
        let report = tally.report();
        let folded = &mut names.folded;
        folded.names += 1;
        folded.succeeded += report.succeeded;
        folded.failed += report.failed;
        folded.aborted += report.aborted;
    }

    /// A line per name in order of first spawn, then the aggregate of the folded names.
    pub(super) fn reports(&self) -> Vec<TaskReport> {
        let names = self.names();
        let mut tallies: Vec<&Arc<Tally>> = names.by_name.values().collect();
        tallies.sort_by_key(|tally| tally.rank);
        let mut reports: Vec<TaskReport> = tallies.iter().map(|tally| tally.report()).collect();
        let folded = &names.folded;
        if folded.names > 0 {
            let mut report = TaskReport::new(&format!(
                "(names past the first {NAMED_TALLIES}: {} tallies folded)",
                folded.names
            ));
            report.succeeded = folded.succeeded;
            report.failed = folded.failed;
            report.aborted = folded.aborted;
            reports.push(report);
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threads_last_tally_is_reused_only_for_its_own_name_and_group() {
        let (one, two) = (Tallies::default(), Tallies::default());
        for _ in 0..3 {
            let job = one.of("job".into());
            one.end(&job, Ending::Succeeded, 1);
            // The same name in another group, on the same thread: that group's own tally.
            let other = two.of("job".into());
            two.end(&other, Ending::Failed, 1);
            let request = one.of("request".into());
            one.end(&request, Ending::Aborted, 1);
        }
        // The name spawned again at once: the thread's last tally, taken without the names
        // (emptied here, so that only the thread's own can give it).
        let first = one.of("job".into());
        let names = std::mem::take(&mut one.names().by_name);
        let again = one.of("job".into());
        assert!(Arc::ptr_eq(&first, &again));
        one.names().by_name = names;
        one.end(&first, Ending::Succeeded, 1);
        one.end(&again, Ending::Succeeded, 1);
        let lines = |tallies: &Tallies| -> Vec<(String, u64, u64, u64)> {
            let reports = tallies.reports().into_iter();
            reports
                .map(|r| (r.name, r.succeeded, r.failed, r.aborted))
                .collect()
        };
        assert_eq!(
            lines(&one),
            [("job".into(), 5, 0, 0), ("request".into(), 0, 0, 3)]
        );
        assert_eq!(lines(&two), [("job".into(), 0, 3, 0)]);
    }

    #[test]
    fn names_past_the_cap_are_folded_when_their_last_task_ends() {
        let tallies = Tallies::default();
        let first = tallies.of("first".into());
        for n in 1..NAMED_TALLIES + 500 {
            let tally = tallies.of(format!("job-{n}").into());
            tallies.end(&tally, Ending::Succeeded, 1);
        }
        // A folded name spawned again gets a fresh line; one still running keeps its own.
        let running = tallies.of(format!("job-{}", NAMED_TALLIES + 100).into());
        assert_eq!(tallies.names().by_name.len(), NAMED_TALLIES + 1);
        tallies.end(&first, Ending::Failed, 1);

        let reports = tallies.reports();
        assert_eq!(reports.len(), NAMED_TALLIES + 2);
        assert_eq!((reports[0].name.as_str(), reports[0].failed), ("first", 1));
        let aggregate = reports.last().unwrap();
        assert_eq!(
            aggregate.name,
            "(names past the first 1000: 500 tallies folded)"
        );
        assert_eq!(aggregate.succeeded, 500);
        let total: u64 = reports
            .iter()
            .map(|r| r.succeeded + r.failed + r.aborted)
            .sum();
        assert_eq!(
            total,
            NAMED_TALLIES as u64 + 500,
            "every ended task counted once"
        );
        tallies.end(&running, Ending::Aborted, 1);
        assert_eq!(tallies.names().by_name.len(), NAMED_TALLIES);
    }
}
