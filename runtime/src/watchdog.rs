//! The thread outside the runtime that guarantees every run ends: it hears the signals, starts
//! shutdown, and ends the process at the deadline whatever the runtime is doing.
//!
//! One thread per process, started (with the signal handlers) by the first [`Config::run`]
//! before its runtime is built and before anything opens. Each run registers while it runs;
//! nothing on the thread's path waits for a runtime thread, for a lock that user code can
//! hold, or for stderr (lines go through `output`, waited for with a bound), and its deadline
//! arithmetic cannot overflow.
//!
//! - A signal goes to every running service: the first starts its shutdown, the second (of
//!   either kind) exits at once with 128 + its number. With no service running (the previous
//!   one has returned, its report is being written) a signal exits at once too.
//! - A service whose deadline has passed by [`GRACE`] and whose `Config::run` has not returned
//!   ends the process with exit code 1, naming what it was doing and what still ran. The
//!   registration lasts until `run` returns or unwinds, so everything after the trigger (the
//!   teardown, the drops of main's body and of the resources, the runtime's own shutdown) is
//!   bounded, and a caller that keeps its process (a test) is never killed later.
//! - [`exit_by`] bounds the very end, `Report::exit`: its output and the process exit.
//!
//! [`Config::run`]: crate::Config::run

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::signals::{Events, Signal, Waker};
use crate::state::State;
use crate::{Cause, output};

/// How long after the deadline the watchdog gives the run to return on its own.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

/// How long the watchdog waits for its last line to be written before it ends the process.
const LAST_WORDS: Duration = Duration::from_millis(100);

struct Watchdog {
    runs: Mutex<Runs>,
    events: Arc<Events>,
    waker: Waker,
    /// Whether the signal handlers are installed: by the first run, once it is registered, so
    /// that the first signal always finds a service to shut down.
    installed: OnceLock<Result<(), String>>,
}

#[derive(Default)]
struct Runs {
    running: Vec<Run>,
    next_id: u64,
    /// Set by `exit_by`: the process ends then with this code, whatever is still being written.
    exit: Option<(Instant, i32)>,
}

struct Run {
    id: u64,
    state: Arc<State>,
    /// Signals delivered while it ran.
    signals: u32,
}

static WATCHDOG: OnceLock<Result<Watchdog, String>> = OnceLock::new();

/// The watchdog, its thread started on first use.
fn watchdog() -> Result<&'static Watchdog, String> {
    WATCHDOG.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Watchdog, String> {
    let events = Arc::new(
        Events::new().map_err(|error| format!("could not open the signal pipe: {error}"))?,
    );
    let waker = events.waker();
    // The output thread too, so that the first signal's line does not wait for it to start.
    output::start();
    let watched = events.clone();
    std::thread::Builder::new()
        .name("graceful-watchdog".into())
        .spawn(move || watch(&watched))
        .map_err(|error| format!("could not start the watchdog thread: {error}"))?;
    Ok(Watchdog {
        runs: Mutex::default(),
        events,
        waker,
        installed: OnceLock::new(),
    })
}

/// A service being watched; dropping it (when `Config::run` returns or unwinds) stands the
/// watchdog down for it.
#[must_use]
pub(crate) struct Watched {
    id: u64,
}

/// Watches `state` until the returned guard drops: its signals, and its deadline once it has
/// one. Starts the watchdog and installs the signal handlers if this is the first run.
pub(crate) fn watch_run(state: &Arc<State>) -> Result<Watched, String> {
    let watchdog = watchdog()?;
    let watched = {
        let mut runs = watchdog.lock();
        let id = runs.next_id;
        runs.next_id += 1;
        runs.running.push(Run {
            id,
            state: state.clone(),
            signals: 0,
        });
        Watched { id }
    };
    // On failure `watched` drops here and unregisters the run.
    watchdog
        .installed
        .get_or_init(|| {
            watchdog
                .events
                .install()
                .map_err(|error| format!("could not install the signal handlers: {error}"))
        })
        .clone()?;
    Ok(watched)
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Ok(watchdog) = watchdog() {
            watchdog.lock().running.retain(|run| run.id != self.id);
        }
    }
}

/// A run's deadline has been set or moved: the watchdog looks again.
pub(crate) fn wake() {
    if let Some(Ok(watchdog)) = WATCHDOG.get() {
        watchdog.waker.wake();
    }
}

/// Ends the process with `code` at `bound` if it has not ended by then.
pub(crate) fn exit_by(bound: Instant, code: i32) {
    if let Ok(watchdog) = watchdog() {
        watchdog.lock().exit = Some((bound, code));
        watchdog.waker.wake();
    }
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, Runs> {
        // Nothing panics while the lock is held; recover rather than stop watching anyway.
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn watch(events: &Events) -> ! {
    let mut signals = Vec::new();
    loop {
        let timeout = match WATCHDOG.get() {
            Some(Ok(watchdog)) => watchdog
                .lock()
                .next_expiry()
                .map(|at| at.saturating_duration_since(Instant::now())),
            // The watchdog is still being started; no handler is installed yet.
            _ => Some(Duration::from_millis(1)),
        };
        events.wait(timeout, &mut signals);
        let Some(Ok(watchdog)) = WATCHDOG.get() else {
            continue;
        };
        let mut runs = watchdog.lock();
        for signal in signals.drain(..) {
            runs.deliver(signal);
        }
        runs.enforce(Instant::now());
    }
}

impl Runs {
    /// When the watchdog must act next, if ever.
    fn next_expiry(&self) -> Option<Instant> {
        let deadlines = self
            .running
            .iter()
            .filter_map(|run| run.state.deadline())
            .map(|deadline| deadline.checked_add(GRACE).unwrap_or(deadline));
        deadlines.chain(self.exit.map(|(at, _)| at)).min()
    }

    fn deliver(&mut self, signal: Signal) {
        if self.running.is_empty() || self.running.iter().any(|run| run.signals > 0) {
            force_exit(signal);
        }
        for run in &mut self.running {
            run.signals += 1;
            // The trigger first: starting shutdown never waits for the line that says so.
            let started = run.state.begin(Cause::Signal(signal));
            let message = if started {
                format!(
                    "received {signal}: shutting down within {:?}; send it again to exit at once",
                    run.state.config.timeout
                )
            } else {
                format!(
                    "received {signal} while already shutting down ({}); send it again to exit at once",
                    run.state.cause().0
                )
            };
            output::log(tracing::Level::WARN, Some(signal), message);
        }
    }

    fn enforce(&self, now: Instant) {
        for run in &self.running {
            if let Some(deadline) = run.state.deadline()
                && now >= deadline.checked_add(GRACE).unwrap_or(deadline)
            {
                expire(&run.state);
            }
        }
        if let Some((at, code)) = self.exit
            && now >= at
        {
            exit_now(code);
        }
    }
}

fn force_exit(signal: Signal) -> ! {
    let code = signal.forced_exit_code();
    output::log(
        tracing::Level::ERROR,
        Some(signal),
        format!("received {signal} again: exiting at once with code {code}"),
    );
    output::flush(Instant::now() + LAST_WORDS);
    exit_now(code)
}

/// The deadline has passed and the run has not returned: a thread is blocked (in a task, a
/// close, a `Drop`, or every runtime thread at once). Say where, then end the process.
fn expire(state: &State) -> ! {
    let running = state.still_running();
    let message = format!(
        "graceful: shutdown failed (exit code 1): the {:?} deadline passed {}, and the process \
         was ended {GRACE:?} after it. Still running: {}\n",
        state.config.timeout,
        state.progress().at_the_deadline(),
        if running.is_empty() {
            "no task".to_owned()
        } else {
            running.join(", ")
        },
    );
    output::stderr(message);
    output::flush(Instant::now() + LAST_WORDS);
    exit_now(1)
}

/// Ends the process now: no destructor, no `atexit` handler, no flush of stdout, any of which
/// could block (a full stdout pipe) or panic.
fn exit_now(code: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(unix))]
    std::process::exit(code)
}
