//! A gate that opens once and that any number of tasks wait on: the trigger and the cancel
//! reach every waiting task through one of these.
//!
//! It replaces a tokio-util `CancellationToken` on that path because of what the token costs a
//! service with many parked tasks (profiled with 100,000: BENCHMARKS.md, issue 17). Its waits
//! sit in a tokio `Notify` behind the token tree's one mutex: every poll of `cancelled()` takes
//! that mutex to read the flag, every clone and drop of a token takes it, and the cancel wakes
//! the waiters 32 at a time, taking the lock again between batches. About a fifth of the exit
//! went there.
//!
//! Here a wait that finds the gate open reads one atomic and takes no lock. A wait that parks
//! puts its waker in one of [`SHARDS`] lists, chosen by the polling thread, so that the
//! workers rarely meet on a lock. Opening sets the flag, then takes each list whole under its
//! lock and wakes it outside the lock.
//!
//! Why no wake is lost: a waiter registers under its list's lock only after reading the flag
//! unset there, and the opener sets the flag before it takes any list's lock. A waiter that
//! reads it unset under the lock therefore comes before the opener's take of that list, and is
//! in what the opener takes and wakes.

use std::cell::Cell;
use std::future::Future;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use crate::sync::lock;

/// How many waker lists a latch keeps; a power of two.
const SHARDS: usize = 8;

#[derive(Default)]
pub(crate) struct Latch {
    open: AtomicBool,
    shards: [Shard; SHARDS],
}

/// Aligned to its own cache lines, so that two lists' locks do not share one.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Waiters>);

#[derive(Default)]
struct Waiters {
    wakers: Vec<Option<Waker>>,
    /// Indices of `wakers` free for reuse.
    free: Vec<u32>,
}

/// Where a parked wait's waker is.
#[derive(Clone, Copy)]
struct Key {
    shard: u32,
    index: u32,
}

impl Latch {
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Opens the latch and wakes every wait parked on it. Calls after the first do nothing.
    /// Never panics.
    pub(crate) fn open(&self) {
        if self.open.swap(true, Ordering::AcqRel) {
            return;
        }
        for shard in &self.shards {
            let wakers = std::mem::take(&mut lock(&shard.0).wakers);
            // Outside the lock: a wake schedules a task, which may take a scheduler lock.
            for waker in wakers.into_iter().flatten() {
                // A waker of the user's own making that panics must not leave the waits after
                // it asleep, nor unwind into the trigger (which the watchdog's thread calls).
                let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
            }
        }
    }

    /// Resolves once the latch is open. `latch` is how the wait holds it: `&Latch`, or an
    /// `Arc<Latch>` for a wait that owns its latch.
    pub(crate) fn wait<L: Deref<Target = Latch>>(latch: L) -> Wait<L> {
        Wait { latch, key: None }
    }
}

/// A wait for a [`Latch`] to open. Dropped while parked, it takes its waker out.
pub(crate) struct Wait<L: Deref<Target = Latch>> {
    latch: L,
    key: Option<Key>,
}

// Nothing of a `Wait` is ever pinned: it holds its latch by pointer, and a key.
impl<L: Deref<Target = Latch>> Unpin for Wait<L> {}

impl<L: Deref<Target = Latch>> Future for Wait<L> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = Pin::into_inner(self);
        if this.latch.is_open() {
            // The opener took the waker, or will find it: nothing to take out.
            this.key = None;
            return Poll::Ready(());
        }
        let shard = match this.key {
            Some(key) => key.shard,
            None => shard_of_this_thread(),
        };
        let mut waiters = lock(&this.latch.shards[shard as usize].0);
        if this.latch.is_open() {
            this.key = None;
            return Poll::Ready(());
        }
        match this.key {
            Some(key) => {
                let slot = &mut waiters.wakers[key.index as usize];
                match slot {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            None => {
                let waker = Some(cx.waker().clone());
                let index = match waiters.free.pop() {
                    Some(index) => {
                        waiters.wakers[index as usize] = waker;
                        index
                    }
                    None => {
                        waiters.wakers.push(waker);
                        u32::try_from(waiters.wakers.len() - 1)
                            .expect("fewer than 2^32 waits per list")
                    }
                };
                this.key = Some(Key { shard, index });
            }
        }
        Poll::Pending
    }
}

impl<L: Deref<Target = Latch>> Drop for Wait<L> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut waiters = lock(&self.latch.shards[key.shard as usize].0);
        // Open: the opener has taken this list, or will, and wakes a task that has moved on,
        // which is harmless. Read under the lock, so that a list it has taken is never touched.
        if !self.latch.is_open() {
            waiters.wakers[key.index as usize] = None;
            waiters.free.push(key.index);
        }
    }
}

/// The list this thread's waits park on: threads take them in turn, once each.
fn shard_of_this_thread() -> u32 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<Option<u32>> = const { Cell::new(None) };
    }
    SHARD.with(|shard| match shard.get() {
        Some(index) => index,
        None => {
            let index = (NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS) as u32;
            shard.set(Some(index));
            index
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll<L: Deref<Target = Latch>>(wait: &mut Wait<L>, waker: &Waker) -> Poll<()> {
        Pin::new(wait).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn opening_wakes_every_parked_wait_once_and_each_then_resolves() {
        let latch = Arc::new(Latch::default());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut waits: Vec<_> = (0..100).map(|_| Latch::wait(latch.clone())).collect();
        for wait in &mut waits {
            assert!(poll(wait, &waker).is_pending());
            // Polled again with the same waker: still one registration.
            assert!(poll(wait, &waker).is_pending());
        }
        // A dropped wait is not woken.
        waits.truncate(60);
        latch.open();
        assert_eq!(count.0.load(Ordering::SeqCst), 60);
        for wait in &mut waits {
            assert!(poll(wait, &waker).is_ready());
        }
        latch.open();
        assert_eq!(count.0.load(Ordering::SeqCst), 60, "opened once");
        assert!(poll(&mut Latch::wait(&*latch), &waker).is_ready());
    }

    struct Panics;

    impl Wake for Panics {
        fn wake(self: Arc<Self>) {
            panic!("a waker that panics");
        }
    }

    #[test]
    fn a_waker_that_panics_leaves_no_other_wait_asleep() {
        let latch = Latch::default();
        let panics = Waker::from(Arc::new(Panics));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let counts = Waker::from(count.clone());
        let mut first = Latch::wait(&latch);
        assert!(poll(&mut first, &panics).is_pending());
        let mut others: Vec<_> = (0..15).map(|_| Latch::wait(&latch)).collect();
        for wait in &mut others {
            assert!(poll(wait, &counts).is_pending());
        }
        latch.open();
        assert_eq!(count.0.load(Ordering::SeqCst), 15);
    }

    #[test]
    fn a_wait_dropped_after_the_open_leaves_the_lists_alone() {
        let latch = Latch::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut first = Latch::wait(&latch);
        assert!(poll(&mut first, &waker).is_pending());
        let mut second = Latch::wait(&latch);
        assert!(poll(&mut second, &waker).is_pending());
        drop(second);
        // The freed index is reused.
        let mut third = Latch::wait(&latch);
        assert!(poll(&mut third, &waker).is_pending());
        latch.open();
        drop(first);
        drop(third);
    }

    /// Threads park and drop waits while another opens: every wait parked before the open is
    /// woken (none is lost), and a wait polled after it resolves at once.
    #[test]
    fn no_wake_is_lost_when_the_open_races_the_waits() {
        for round in 0..300 {
            let latch = Arc::new(Latch::default());
            let start = Arc::new(std::sync::Barrier::new(4));
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let (latch, start) = (latch.clone(), start.clone());
                    std::thread::spawn(move || {
                        let mut kept = Vec::new();
                        start.wait();
                        for i in 0.. {
                            let count = Arc::new(Count(AtomicUsize::new(0)));
                            let waker = Waker::from(count.clone());
                            let mut wait = Latch::wait(latch.clone());
                            if poll(&mut wait, &waker).is_ready() {
                                break;
                            }
                            // Dropped while parked, one in three.
                            if i % 3 != 0 {
                                kept.push((wait, count, waker));
                            }
                        }
                        kept
                    })
                })
                .collect();
            start.wait();
            // Open at a different point of the threads' loops each round.
            for _ in 0..round * 10 {
                std::hint::spin_loop();
            }
            latch.open();
            for thread in threads {
                // The open has returned: every wake it owes has been made.
                for (mut wait, count, waker) in thread.join().unwrap() {
                    assert_eq!(count.0.load(Ordering::SeqCst), 1, "a wake was lost");
                    assert!(poll(&mut wait, &waker).is_ready());
                }
            }
        }
    }
}
