//! The proof that the runtime makes progress, for systemd's watchdog: two counters, one
//! advanced by the future the run's thread drives (`main`'s body and the lifecycle, in
//! `block_on`), one by a task on the runtime's workers. The notify thread sends `WATCHDOG=1`
//! only when both have moved since its last one: once every runtime thread is blocked (a busy
//! loop, a blocking call, a deadlock), systemd stops hearing from the service and restarts it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// How many beats each side gives per watchdog message.
const BEATS_PER_MESSAGE: u32 = 4;

pub(crate) struct Heartbeat {
    /// Between two beats.
    every: Duration,
    lifecycle: AtomicU64,
    workers: AtomicU64,
}

impl Heartbeat {
    /// For a watchdog message every `interval`.
    pub(super) fn new(interval: Duration) -> Arc<Self> {
        Arc::new(Heartbeat {
            every: (interval / BEATS_PER_MESSAGE).max(Duration::from_millis(1)),
            lifecycle: AtomicU64::new(0),
            workers: AtomicU64::new(0),
        })
    }

    /// How long between two beats.
    pub(super) fn every(&self) -> Duration {
        self.every
    }

    /// One beat of each side, as a runtime that runs gives.
    #[cfg(test)]
    pub(super) fn beat(&self) {
        self.lifecycle.fetch_add(1, Ordering::Relaxed);
        self.workers.fetch_add(1, Ordering::Relaxed);
    }

    /// Both counters, to compare with the next reading.
    pub(super) fn read(&self) -> (u64, u64) {
        (
            self.lifecycle.load(Ordering::Relaxed),
            self.workers.load(Ordering::Relaxed),
        )
    }
}

pin_project_lite::pin_project! {
    /// `future`, beating as it is driven; the first poll starts the workers' beat.
    pub(crate) struct Beating<F> {
        #[pin]
        future: F,
        heartbeat: Arc<Heartbeat>,
        #[pin]
        next: tokio::time::Sleep,
        started: bool,
    }
}

impl<F> Beating<F> {
    pub(crate) fn new(heartbeat: Arc<Heartbeat>, future: F) -> Self {
        Beating {
            future,
            next: tokio::time::sleep(Duration::ZERO),
            heartbeat,
            started: false,
        }
    }
}

impl<F: Future> Future for Beating<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        if !*this.started {
            *this.started = true;
            // Not in the task group: it is no work of the service's, and it ends with the
            // runtime.
            tokio::spawn(workers_beat(this.heartbeat.clone()));
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(output);
        }
        while this.next.as_mut().poll(cx).is_ready() {
            this.heartbeat.lifecycle.fetch_add(1, Ordering::Relaxed);
            let at = tokio::time::Instant::now() + this.heartbeat.every;
            this.next.as_mut().reset(at);
        }
        Poll::Pending
    }
}

async fn workers_beat(heartbeat: Arc<Heartbeat>) {
    let mut every = tokio::time::interval(heartbeat.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        heartbeat.workers.fetch_add(1, Ordering::Relaxed);
    }
}
