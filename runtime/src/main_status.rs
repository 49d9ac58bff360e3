//! Where `main`'s body is, for the watchdog's message: still running (it has neither returned
//! nor been cut at the deadline), and whether the bindings it kept for the end are being
//! dropped; and whether the service has started (systemd's `READY=1`). The lifecycle writes it.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Default)]
pub(crate) struct MainStatus {
    running: AtomicBool,
    dropping_kept: AtomicBool,
    /// The service has started: `main`'s body returned `Ok`, or said so before
    /// ([`Shutdown::mark_started`](crate::Shutdown::mark_started)).
    started: AtomicBool,
}

impl MainStatus {
    /// The body starts (`true`: with the opening of the item resources), or has returned or
    /// been dropped (`false`).
    pub(crate) fn running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }

    /// Whether the body runs.
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The service has started. Returns whether this call said so first.
    pub(crate) fn mark_started(&self) -> bool {
        !self.started.swap(true, Ordering::AcqRel)
    }

    /// Whether the service has started.
    #[cfg_attr(not(all(unix, feature = "systemd")), allow(dead_code))]
    pub(crate) fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// What the body kept starts (`true`) or has finished (`false`) being dropped.
    pub(crate) fn dropping_kept(&self, dropping: bool) {
        self.dropping_kept.store(dropping, Ordering::Release);
    }

    /// Whether what the body kept is being dropped.
    pub(crate) fn is_dropping_kept(&self) -> bool {
        self.dropping_kept.load(Ordering::Acquire)
    }
}
