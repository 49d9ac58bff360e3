//! A gate that opens once and that any number of tasks wait on: the trigger and the cancel
//! reach every waiting task through one of these.
//!
//! It replaces a tokio-util `CancellationToken` on that path because of what the token costs a
//! service with many parked tasks (profiled with 100,000 in BENCHMARKS.md, issue 17): every poll
//! of `cancelled()` takes the token tree's mutex to read the flag, and every clone and drop of
//! a token takes it too, so the thread spawning tasks and the workers polling them meet on it.
//! A wait here is a tokio `Notify` wait (its waiter kept inside the future, as the token's is:
//! no memory per waiter elsewhere) behind a flag of its own, read with one atomic load.
//!
//! Why no wake is lost: a wait creates its `Notified` before it first reads the flag, and a
//! `Notified` created before `notify_waiters` completes at that call, polled or not. So a wait
//! that reads the flag unset is woken by the open that sets it.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

#[derive(Default)]
pub(crate) struct Latch {
    open: AtomicBool,
    waiters: Arc<Notify>,
}

impl Latch {
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Opens the latch and wakes every wait on it. Calls after the first do nothing. Never
    /// panics: the trigger, which calls it, runs on the watchdog's thread too.
    pub(crate) fn open(&self) {
        if self.open.swap(true, Ordering::AcqRel) {
            return;
        }
        // Only a waker of the user's own making can panic here. The waits after it in tokio's
        // list are then not woken (as with any `Notify`: they resolve when next polled, at
        // the latest when the deadline aborts their task), and the panic goes no further.
        let _ = catch_unwind(AssertUnwindSafe(|| self.waiters.notify_waiters()));
    }

    /// Resolves once the latch is open. The wait owns (a count of) its latch, so that it is
    /// `'static`; and it is one type, not generic, so that its code is compiled here once
    /// rather than again in every crate that awaits it.
    pub(crate) fn wait(latch: Arc<Latch>) -> Wait {
        // Created before the flag is first read: see the module's comment.
        let notified = latch.waiters.clone().notified_owned();
        Wait {
            latch,
            notified,
            parked: false,
        }
    }
}

pin_project_lite::pin_project! {
    /// A wait for a [`Latch`] to open.
    pub(crate) struct Wait {
        latch: Arc<Latch>,
        #[pin]
        notified: OwnedNotified,
        // Whether `notified` has been polled and is in tokio's list.
        parked: bool,
    }
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.latch.is_open() {
            // Parked and woken by the open: polled once more, `notified` learns it was
            // notified, so that its drop need not take the `Notify`'s lock to leave the list.
            if *this.parked {
                let _ = this.notified.poll(cx);
            }
            return Poll::Ready(());
        }
        *this.parked = true;
        this.notified.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use std::task::Waker;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wait(latch: &Arc<Latch>) -> Pin<Box<Wait>> {
        Box::pin(Latch::wait(latch.clone()))
    }

    fn poll(wait: &mut Pin<Box<Wait>>, waker: &Waker) -> Poll<()> {
        wait.as_mut().poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn opening_wakes_every_parked_wait_once_and_each_then_resolves() {
        let latch = Arc::new(Latch::default());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut waits: Vec<_> = (0..100).map(|_| wait(&latch)).collect();
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
        assert!(poll(&mut wait(&latch), &waker).is_ready());
    }

    struct Panics;

    impl Wake for Panics {
        fn wake(self: Arc<Self>) {
            panic!("a waker that panics");
        }
    }

    #[test]
    fn a_waker_that_panics_does_not_unwind_out_of_the_open() {
        let latch = Arc::new(Latch::default());
        let panics = Waker::from(Arc::new(Panics));
        let mut first = wait(&latch);
        assert!(poll(&mut first, &panics).is_pending());
        latch.open();
        assert!(latch.is_open());
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        assert!(poll(&mut wait(&latch), &waker).is_ready());
    }

    #[test]
    fn a_wait_made_before_the_open_and_first_polled_after_it_resolves() {
        let latch = Arc::new(Latch::default());
        let mut early = wait(&latch);
        latch.open();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        assert!(poll(&mut early, &waker).is_ready());
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
                            let mut parked = wait(&latch);
                            if poll(&mut parked, &waker).is_ready() {
                                break;
                            }
                            // Dropped while parked, one in three.
                            if i % 3 != 0 {
                                kept.push((parked, count, waker));
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
                for (mut parked, count, waker) in thread.join().unwrap() {
                    assert_eq!(count.0.load(Ordering::SeqCst), 1, "a wake was lost");
                    assert!(poll(&mut parked, &waker).is_ready());
                }
            }
        }
    }
}
