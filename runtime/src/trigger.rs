//! The two moments of a shutdown: the *trigger* (why and when it began, and the deadline that
//! follows) and the *cancel* (the end of the drain delay, when work stops being taken).
//!
//! "Are we shutting down?" is asked on hot paths (every request, every job), so it is one
//! atomic load: `CancellationToken::is_cancelled` takes a mutex (tokio-rs/tokio#7775). And the
//! tasks waiting for either moment wait on a [`Latch`], which wakes many of them for less.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::Cause;
use crate::latch::Latch;
use crate::signals::Waker;

const TRIGGERED: u8 = 0b01;
const CANCELLED: u8 = 0b10;

pub(crate) struct Trigger {
    /// From the trigger to the deadline.
    timeout: Duration,
    flags: AtomicU8,
    /// Opened at the trigger: wakes the lifecycle and `Shutdown::triggered`.
    triggered_latch: Arc<Latch>,
    /// Opened at the cancel: tasks stop taking work (`Shutdown::cancelled`).
    cancelled_latch: Arc<Latch>,
    /// Cancelled at the cancel too, for `Shutdown::token`.
    cancel_token: CancellationToken,
    triggered: OnceLock<Triggered>,
    /// Wakes the watchdog, which then bounds the shutdown by its deadline.
    watchdog: OnceLock<Waker>,
    /// The thread that tells the service manager where the run is (systemd's notify thread),
    /// woken at the trigger and at every step after it.
    observer: OnceLock<std::thread::Thread>,
    /// The runtime whose clock stamps the trigger, in a test's run: its clock may be paused,
    /// and the trigger may come from a thread outside it.
    clock: OnceLock<tokio::runtime::Handle>,
}

/// What started shutdown, when, and the deadline that follows from it.
pub(crate) struct Triggered {
    pub(crate) cause: Cause,
    pub(crate) at: Instant,
    pub(crate) deadline: Instant,
}

impl Trigger {
    /// `timeout` is at most a day (`Config::run` checks), so no deadline overflows.
    pub(crate) fn new(timeout: Duration) -> Self {
        Trigger {
            timeout,
            flags: AtomicU8::new(0),
            triggered_latch: Arc::default(),
            cancelled_latch: Arc::default(),
            cancel_token: CancellationToken::new(),
            triggered: OnceLock::new(),
            watchdog: OnceLock::new(),
            observer: OnceLock::new(),
            clock: OnceLock::new(),
        }
    }

    pub(crate) fn is_triggered(&self) -> bool {
        self.flags.load(Ordering::Acquire) & TRIGGERED != 0
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.flags.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// Starts shutdown unless it has started already. Returns whether this call started it.
    ///
    /// Called from any thread, the watchdog's included, so it cannot fail and does not wait:
    /// no output (the lifecycle logs the start when it wakes), no allocation beyond the cause,
    /// and a deadline that cannot overflow.
    pub(crate) fn begin(&self, cause: Cause) -> bool {
        // Tokio's clock: the same instant as the system's, but on a runtime whose clock a test
        // paused, where the sequence's timers measure the drain delay and the deadline.
        let at = match self.clock.get() {
            Some(runtime) => {
                let _on = runtime.enter();
                tokio::time::Instant::now().into_std()
            }
            None => tokio::time::Instant::now().into_std(),
        };
        let deadline = at.checked_add(self.timeout).unwrap_or(at);
        if self
            .triggered
            .set(Triggered {
                cause,
                at,
                deadline,
            })
            .is_err()
        {
            return false;
        }
        self.flags.fetch_or(TRIGGERED, Ordering::AcqRel);
        self.triggered_latch.open();
        // The watchdog bounds the rest by the deadline, whatever the runtime does.
        if let Some(watchdog) = self.watchdog.get() {
            watchdog.wake();
        }
        self.wake_observer();
        true
    }

    /// Asks tasks to stop taking work (the end of the drain delay).
    pub(crate) fn cancel(&self) {
        self.flags.fetch_or(CANCELLED, Ordering::AcqRel);
        // The token first: its few waiters (code written against tokio-util) are woken at the
        // same moment as the latch's many. A waker of the user's own making that panics stops
        // the token's wakes (tokio-util lets it through), never the latch's opening.
        let _ = catch_unwind(AssertUnwindSafe(|| self.cancel_token.cancel()));
        self.cancelled_latch.open();
    }

    /// What started shutdown, once it has.
    pub(crate) fn triggered(&self) -> Option<&Triggered> {
        self.triggered.get()
    }

    /// The deadline of the shutdown, once it has begun.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.triggered().map(|triggered| triggered.deadline)
    }

    /// Stamps the trigger with `runtime`'s clock, from whatever thread it comes (a test's run).
    pub(crate) fn use_clock_of(&self, runtime: tokio::runtime::Handle) {
        let _ = self.clock.set(runtime);
    }

    /// Set once, by the watchdog, as the run registers with it.
    pub(crate) fn set_waker(&self, watchdog: Waker) {
        let _ = self.watchdog.set(watchdog);
    }

    /// Set once, by the notify thread as it starts.
    #[cfg_attr(not(all(unix, feature = "systemd")), allow(dead_code))]
    pub(crate) fn set_observer(&self, thread: std::thread::Thread) {
        let _ = self.observer.set(thread);
    }

    /// Tells the observer, if there is one, that the run has moved: it reads where to.
    /// Never waits.
    pub(crate) fn wake_observer(&self) {
        if let Some(observer) = self.observer.get() {
            observer.unpark();
        }
    }

    /// Opened at the trigger.
    pub(crate) fn triggered_latch(&self) -> &Arc<Latch> {
        &self.triggered_latch
    }

    /// Opened at the cancel.
    pub(crate) fn cancelled_latch(&self) -> &Arc<Latch> {
        &self.cancelled_latch
    }

    /// Cancelled at the cancel.
    pub(crate) fn cancel_token(&self) -> &CancellationToken {
        &self.cancel_token
    }
}
