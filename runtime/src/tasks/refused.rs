//! What happens to a task the group no longer takes: it is dropped before it ever runs.
//!
//! Dropped on the spawning thread, but not recursively: a future whose captured state spawns
//! again when dropped (a guard that respawns its task) would otherwise recurse until the stack
//! overflows, which aborts the process. Drops that happen while one is under way on this thread
//! are queued and run one after the other by the outermost, and past [`LIMIT`] of them in one
//! go the rest are leaked rather than dropped, so that such a chain always ends.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The most refused futures dropped in one go on one thread.
const LIMIT: usize = 10_000;

type Refused = Box<dyn Send>;

thread_local! {
    /// `Some` while this thread drops refused futures: the ones refused meanwhile.
    static QUEUE: RefCell<Option<VecDeque<Refused>>> = const { RefCell::new(None) };
}

/// Drops `future` without running it.
pub(super) fn drop_refused(future: Refused) {
    let first = QUEUE.with(|queue| {
        let mut queue = queue.borrow_mut();
        match queue.as_mut() {
            Some(queued) => {
                queued.push_back(future);
                None
            }
            None => {
                *queue = Some(VecDeque::new());
                Some(future)
            }
        }
    });
    // Already inside a drop on this thread: that one drops it.
    let Some(mut next) = first else { return };
    let mut dropped = 0;
    loop {
        if dropped < LIMIT {
            // A panicking `Drop` must not leave the queue set, nor skip the others.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(next)));
            dropped += 1;
        } else {
            std::mem::forget(next);
        }
        match QUEUE.with(|queue| queue.borrow_mut().as_mut().and_then(VecDeque::pop_front)) {
            Some(queued) => next = queued,
            None => break,
        }
    }
    QUEUE.with(|queue| *queue.borrow_mut() = None);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Refuses a copy of itself when dropped, for ever.
    struct Respawner(Arc<AtomicUsize>);

    impl Drop for Respawner {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
            drop_refused(Box::new(Respawner(self.0.clone())));
        }
    }

    #[test]
    fn a_future_that_refuses_itself_again_when_dropped_ends_without_overflowing_the_stack() {
        let drops = Arc::new(AtomicUsize::new(0));
        drop_refused(Box::new(Respawner(drops.clone())));
        assert_eq!(drops.load(Ordering::Relaxed), LIMIT);
        // The thread is ready for the next one.
        drop_refused(Box::new(Respawner(drops.clone())));
        assert_eq!(drops.load(Ordering::Relaxed), 2 * LIMIT);
    }
}
