//! The state every handle shares: where the lifecycle is, and why.
//!
//! "Are we shutting down?" is asked on hot paths (every request, every job), so it is one
//! atomic load: `CancellationToken::is_cancelled` takes a mutex (tokio-rs/tokio#7775).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::output::Log;
use crate::progress::Progress;
use crate::provided::Provided;
use crate::resources::Resources;
use crate::signals::Waker;
use crate::sync::lock;
use crate::tasks::TaskGroup;
use crate::{Cause, Config};

const TRIGGERED: u8 = 0b01;
const CANCELLED: u8 = 0b10;

pub(crate) struct State {
    pub(crate) config: Config,
    flags: AtomicU8,
    /// Fired at the trigger: wakes the lifecycle.
    triggered: CancellationToken,
    /// Fired after the drain delay: tasks stop taking work. Handed out by `Shutdown::token`.
    cancel: CancellationToken,
    trigger: OnceLock<Trigger>,
    /// Wakes the watchdog, which then bounds the shutdown by its deadline.
    watchdog: OnceLock<Waker>,
    /// Where graceful's own events go (the subscriber of the code that called `Config::run`).
    pub(crate) log: Log,
    progress: AtomicU8,
    /// Whether `main`'s body (with the item resources' opening) is still running.
    body_running: AtomicBool,
    pub(crate) tasks: TaskGroup,
    pub(crate) resources: Resources,
    pub(crate) provided: Provided,
    /// The item resources being opened, to name them if the deadline cuts their opening.
    opening: Mutex<Vec<&'static str>>,
}

/// What started shutdown, when, and the deadline that follows from it.
pub(crate) struct Trigger {
    pub(crate) cause: Cause,
    pub(crate) at: Instant,
    pub(crate) deadline: Instant,
}

impl State {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        Arc::new(State {
            config,
            flags: AtomicU8::new(0),
            triggered: CancellationToken::new(),
            cancel: CancellationToken::new(),
            trigger: OnceLock::new(),
            watchdog: OnceLock::new(),
            log: Log::here(),
            progress: AtomicU8::new(Progress::Building as u8),
            body_running: AtomicBool::new(false),
            tasks: TaskGroup::new(),
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

    /// Starts shutdown unless it has started already. Returns whether this call started it.
    ///
    /// Called from any thread, the watchdog's included, so it cannot fail and does not wait:
    /// no output (the lifecycle logs the start when it wakes), no allocation beyond the cause,
    /// and a deadline that cannot overflow (the timeout is at most a day: `Config::run` checks).
    pub(crate) fn begin(&self, cause: Cause) -> bool {
        let at = Instant::now();
        let deadline = at.checked_add(self.config.timeout).unwrap_or(at);
        if self
            .trigger
            .set(Trigger {
                cause,
                at,
                deadline,
            })
            .is_err()
        {
            return false;
        }
        self.flags.fetch_or(TRIGGERED, Ordering::AcqRel);
        self.triggered.cancel();
        // The watchdog bounds the rest by the deadline, whatever the runtime does.
        if let Some(watchdog) = self.watchdog.get() {
            watchdog.wake();
        }
        true
    }

    /// Asks tasks to stop taking work (the end of the drain delay).
    pub(crate) fn cancel(&self) {
        self.flags.fetch_or(CANCELLED, Ordering::AcqRel);
        self.cancel.cancel();
    }

    /// What started shutdown, once it has.
    pub(crate) fn trigger(&self) -> Option<&Trigger> {
        self.trigger.get()
    }

    /// Set once, by the watchdog, as the run registers with it.
    pub(crate) fn set_waker(&self, watchdog: Waker) {
        let _ = self.watchdog.set(watchdog);
    }

    /// The deadline of the shutdown, once it has begun.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.trigger.get().map(|trigger| trigger.deadline)
    }

    pub(crate) fn enter(&self, progress: Progress) {
        self.progress.store(progress as u8, Ordering::Release);
    }

    pub(crate) fn progress(&self) -> Progress {
        Progress::from_u8(self.progress.load(Ordering::Acquire))
    }

    pub(crate) fn set_body_running(&self, running: bool) {
        self.body_running.store(running, Ordering::Release);
    }

    /// What still runs, for the watchdog's message: main's body or the resources it is
    /// opening, the resources closing, then the tasks by name with their counts.
    pub(crate) fn still_running(&self) -> Vec<String> {
        let opening = self.opening();
        let mut running: Vec<String> = opening
            .iter()
            .map(|name| format!("resource `{name}` (opening)"))
            .collect();
        if opening.is_empty() && self.body_running.load(Ordering::Acquire) {
            running.push("`main`".to_owned());
        }
        running.extend(
            self.resources
                .closing()
                .into_iter()
                .map(|name| format!("resource `{name}` (closing)")),
        );
        running.extend(
            self.tasks
                .live_names()
                .into_iter()
                .map(|(name, count)| format!("`{name}` ({count})")),
        );
        running
    }

    pub(crate) fn set_opening(&self, names: Vec<&'static str>) {
        *lock(&self.opening) = names;
    }

    /// One of the resources being opened is done (opened or failed).
    pub(crate) fn opened(&self, name: &'static str) {
        let mut opening = lock(&self.opening);
        if let Some(at) = opening.iter().position(|opening| *opening == name) {
            opening.remove(at);
        }
    }

    pub(crate) fn opening(&self) -> Vec<&'static str> {
        lock(&self.opening).clone()
    }

    pub(crate) fn triggered_token(&self) -> &CancellationToken {
        &self.triggered
    }

    pub(crate) fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }
}
