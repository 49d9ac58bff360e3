//! The state every handle shares: where the lifecycle is, and why.
//!
//! "Are we shutting down?" is asked on hot paths (every request, every job), so it is one
//! atomic load: `CancellationToken::is_cancelled` takes a mutex (tokio-rs/tokio#7775).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::provided::Provided;
use crate::resources::Resources;
use crate::tasks::TaskGroup;
use crate::{Cause, Config, watchdog};

const TRIGGERED: u8 = 0b01;
const CANCELLED: u8 = 0b10;
const FINISHED: u8 = 0b100;

pub(crate) struct State {
    pub(crate) config: Config,
    flags: AtomicU8,
    /// Fired at the trigger: wakes the lifecycle.
    triggered: CancellationToken,
    /// Fired after the drain delay: tasks stop taking work. Handed out by `Shutdown::token`.
    cancel: CancellationToken,
    cause: OnceLock<(Cause, Instant)>,
    pub(crate) tasks: TaskGroup,
    pub(crate) resources: Resources,
    pub(crate) provided: Provided,
    /// The item resources being opened, to name them if the deadline cuts their opening.
    opening: Mutex<Vec<&'static str>>,
}

impl State {
    pub(crate) fn new(config: Config, runtime: tokio::runtime::Handle) -> Arc<Self> {
        Arc::new(State {
            config,
            flags: AtomicU8::new(0),
            triggered: CancellationToken::new(),
            cancel: CancellationToken::new(),
            cause: OnceLock::new(),
            tasks: TaskGroup::new(runtime),
            resources: Resources::default(),
            provided: Provided::default(),
            opening: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn is_triggered(&self) -> bool {
        self.flags.load(Ordering::Acquire) & TRIGGERED != 0
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.flags.load(Ordering::Acquire) & CANCELLED != 0
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.flags.load(Ordering::Acquire) & FINISHED != 0
    }

    /// The sequence is over: the watchdog stands down.
    pub(crate) fn finish(&self) {
        self.flags.fetch_or(FINISHED, Ordering::AcqRel);
    }

    /// Starts shutdown unless it has started already. Returns whether this call started it.
    pub(crate) fn begin(self: &Arc<Self>, cause: Cause) -> bool {
        let now = Instant::now();
        if self.cause.set((cause, now)).is_err() {
            return false;
        }
        self.flags.fetch_or(TRIGGERED, Ordering::AcqRel);
        let (cause, _) = self.cause();
        let timeout = self.config.timeout;
        let drain_delay_ms = self.config.drain_delay.as_millis() as u64;
        if *cause == Cause::Completed {
            // Nothing to worry an operator about: everything finished by itself.
            tracing::info!(target: "graceful", cause = %cause, "shutdown started: closing within {timeout:?}");
        } else {
            tracing::warn!(
                target: "graceful", cause = %cause, timeout_ms = timeout.as_millis() as u64, drain_delay_ms,
                "shutdown started: not ready; draining within {timeout:?}"
            );
        }
        // Started here rather than by the lifecycle so that the deadline holds even when
        // every runtime thread is blocked and the lifecycle cannot run.
        watchdog::start(self.clone(), now + self.config.timeout);
        self.triggered.cancel();
        true
    }

    /// Asks tasks to stop taking work (the end of the drain delay).
    pub(crate) fn cancel(&self) {
        self.flags.fetch_or(CANCELLED, Ordering::AcqRel);
        self.cancel.cancel();
    }

    /// The cause and the instant shutdown began. Only call after the trigger.
    pub(crate) fn cause(&self) -> &(Cause, Instant) {
        self.cause.get().expect("shutdown has been triggered")
    }

    pub(crate) fn set_opening(&self, names: Vec<&'static str>) {
        *self.opening.lock().unwrap_or_else(PoisonError::into_inner) = names;
    }

    /// One of the resources being opened is done (opened or failed).
    pub(crate) fn opened(&self, name: &'static str) {
        let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = opening.iter().position(|opening| *opening == name) {
            opening.remove(at);
        }
    }

    pub(crate) fn opening(&self) -> Vec<&'static str> {
        self.opening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn triggered_token(&self) -> &CancellationToken {
        &self.triggered
    }

    pub(crate) fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }
}
