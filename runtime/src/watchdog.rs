//! The thread outside the runtime that guarantees every run ends: it hears the signals, starts
//! shutdown, and ends the process at the deadline whatever the runtime is doing.
//!
//! One thread per process, started (with the signal handlers) by the first [`Config::run`]
//! before its runtime is built and before anything opens. Each run registers while it runs;
//! nothing on the thread's path waits for a runtime thread, for a lock that user code can
//! hold, or for stderr (lines go through the log's writer thread, waited for with a bound), and its deadline
//! arithmetic cannot overflow.
//!
//! - A signal goes to every running service: the first starts its shutdown, the second (of
//!   either kind) exits at once with 128 + its number. With no service running, a signal exits
//!   at once too, except the first after a run that had none while its report is being written
//!   ([`exit_by`]): that exit goes on with its own code.
//! - A service whose deadline has passed by [`GRACE`] and whose `Config::run` has not returned
//!   ends the process with exit code 1, naming what it was doing and what still ran. The
//!   registration lasts until `run` returns or unwinds, so everything after the trigger (the
//!   teardown, the drops of main's body and of the resources, the runtime's own shutdown) is
//!   bounded, and a caller that keeps its process (a test) is never killed later.
//! - [`exit_by`] bounds the very end, `Report::exit`: its output and the process exit.
//!
//! [`Config::run`]: crate::Config::run

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::Cause;
use crate::budget::GRACE;
use crate::log::{self, Log};
use crate::progress::Progress;
use crate::signals::{Blocked, Events, Signal};
use crate::state::State;
use crate::sync::lock;

/// How long the watchdog waits for its last line to be written before it ends the process.
pub(crate) const LAST_WORDS: Duration = Duration::from_millis(100);

/// How long the telemetry resources' `flush_now` get when the process must end at once.
const FLUSH_NOW: Duration = Duration::from_millis(200);

struct Watchdog {
    events: Events,
    /// The process it was started in: a child forked from it has none of its threads.
    pid: u32,
    runs: Mutex<Runs>,
    /// Whether the thread runs: started once the watchdog is in its static.
    thread: OnceLock<Result<(), String>>,
    /// Whether the signal handlers are installed: by the first run, once it is registered, so
    /// that the first signal always finds a service to shut down.
    installed: OnceLock<Result<(), String>>,
}

#[derive(Default)]
struct Runs {
    running: Vec<Run>,
    next_id: u64,
    /// Signals delivered since the last run ended, counting that run's own.
    since_last_run: u32,
    /// Set by `exit_by`: the process ends then with this code, whatever is still being written.
    exit: Option<(Instant, i32)>,
    /// When the last run ended, if no signal had come to it: until `exit_by` (the report is on
    /// its way out), a first signal must not turn its exit into a forced one.
    ended_quietly_at: Option<Instant>,
}

/// How long after a run that had no signal ends a first signal is taken as coming while its
/// process exits, before `exit_by` says so: the time `run` takes to return to `exit`.
const ENDING: Duration = Duration::from_secs(1);

struct Run {
    id: u64,
    state: Arc<State>,
    /// Bounds its startup until its runtime is built (see `Progress::Building`).
    registered_at: Instant,
    /// Signals delivered while it ran.
    signals: u32,
}

static WATCHDOG: OnceLock<Result<Watchdog, String>> = OnceLock::new();

/// The watchdog, its thread started on first use.
fn watchdog() -> Result<&'static Watchdog, String> {
    let watchdog = WATCHDOG.get_or_init(open).as_ref().map_err(Clone::clone)?;
    if watchdog.pid != std::process::id() {
        return Err(
            "graceful runs no service in a process forked from one that ran graceful \
                    (its signal and deadline thread does not survive fork): exec a new program, \
                    or fork before the first service runs"
                .to_owned(),
        );
    }
    watchdog
        .thread
        .get_or_init(|| {
            // The log's writer thread too, so that the first signal's line does not wait for it.
            log::start();
            std::thread::Builder::new()
                .name("graceful-watchdog".into())
                .spawn(move || watch(watchdog))
                .map(drop)
                .map_err(|error| format!("could not start the watchdog thread: {error}"))
        })
        .clone()?;
    Ok(watchdog)
}

fn open() -> Result<Watchdog, String> {
    Ok(Watchdog {
        events: Events::new()
            .map_err(|error| format!("could not open the signal pipe: {error}"))?,
        pid: std::process::id(),
        runs: Mutex::default(),
        thread: OnceLock::new(),
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
    // Until the handlers are in place, a signal waits rather than being lost (see `Blocked`).
    let blocked = Blocked::here();
    let watchdog = watchdog()?;
    state.trigger().set_waker(watchdog.events.waker());
    let watched = {
        let mut runs = watchdog.lock();
        let id = runs.next_id;
        runs.next_id += 1;
        runs.since_last_run = 0;
        runs.ended_quietly_at = None;
        runs.running.push(Run {
            id,
            state: state.clone(),
            registered_at: Instant::now(),
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
    drop(blocked);
    // Now the watchdog thread takes them too, whatever this thread's mask.
    watchdog.events.waker().wake();
    Ok(watched)
}

impl Drop for Watched {
    fn drop(&mut self) {
        let Ok(watchdog) = watchdog() else { return };
        let mut runs = watchdog.lock();
        if let Some(at) = runs.running.iter().position(|run| run.id == self.id) {
            let run = runs.running.remove(at);
            runs.since_last_run = run.signals;
            runs.ended_quietly_at = (run.signals == 0).then(Instant::now);
        }
    }
}

/// Ends the process with `code` at `bound` if it has not ended by then.
pub(crate) fn exit_by(bound: Instant, code: i32) {
    if let Ok(watchdog) = watchdog() {
        watchdog.lock().exit = Some((bound, code));
        watchdog.events.waker().wake();
    }
}

/// `deadline + GRACE`, or `deadline` itself should that not be representable.
pub(crate) fn with_grace(deadline: Instant) -> Instant {
    deadline.checked_add(GRACE).unwrap_or(deadline)
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, Runs> {
        // Nothing panics while the lock is held; recover rather than stop watching anyway.
        lock(&self.runs)
    }
}

fn watch(watchdog: &'static Watchdog) {
    // Not before the handlers are in place (see `Blocked`); then always, whatever the mask this
    // thread inherited, so that a signal sent to the process has a thread that takes it.
    let blocked = Blocked::here();
    let mut blocked = Some(blocked);
    let mut signals = Vec::new();
    loop {
        if blocked.is_some() && watchdog.installed.get().is_some() {
            blocked = None;
            watchdog.events.receive_here();
        }
        // A bug of ours must not stop the watching: the handlers would then write to a pipe
        // that nobody reads, and only SIGKILL would end the process.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let timeout = watchdog
                .lock()
                .next_expiry()
                .map(|at| at.saturating_duration_since(Instant::now()));
            watchdog.events.wait(timeout, &mut signals);
            let mut runs = watchdog.lock();
            for signal in signals.drain(..) {
                runs.deliver(signal);
            }
            runs.enforce(Instant::now());
        }));
    }
}

impl Runs {
    /// When the watchdog must act next, if ever.
    fn next_expiry(&self) -> Option<Instant> {
        let deadlines = self.running.iter().filter_map(Run::expiry);
        deadlines.chain(self.exit.map(|(at, _)| at)).min()
    }

    fn deliver(&mut self, signal: Signal) {
        if self.running.is_empty() {
            self.since_last_run += 1;
            // The report of a run that had no signal is being written: let it end with its
            // own code, unless this is a second signal. The same just before `exit_by`, in
            // the moment between the run's end and its report's exit.
            let ending = self
                .ended_quietly_at
                .is_some_and(|at| at.elapsed() < ENDING)
                .then(String::new);
            let code = self
                .exit
                .map(|(_, code)| format!(" with code {code}"))
                .or(ending);
            if let Some(code) = code
                && self.since_last_run == 1
            {
                Log::here().announce(
                    tracing::Level::WARN,
                    Some(signal),
                    format!("received {signal} while exiting{code}; send it again to exit at once"),
                );
                return;
            }
            force_exit(signal, &self.running);
        }
        if self.running.iter().any(|run| run.signals > 0) {
            force_exit(signal, &self.running);
        }
        for run in &mut self.running {
            run.signals += 1;
            first_signal(&run.state, signal);
        }
    }

    fn enforce(&self, now: Instant) {
        for run in &self.running {
            if run.expiry().is_some_and(|expiry| now >= expiry) {
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

impl Run {
    /// When the watchdog ends the process for this run: past its deadline, or past its
    /// timeout while its runtime is still being built.
    fn expiry(&self) -> Option<Instant> {
        let building = (self.state.progress() == Progress::Building).then(|| {
            self.registered_at
                .checked_add(self.state.config().timeout)
                .unwrap_or(self.registered_at)
        });
        let deadline = match (self.state.trigger().deadline(), building) {
            (Some(deadline), Some(building)) => Some(deadline.min(building)),
            (deadline, building) => deadline.or(building),
        };
        deadline.map(with_grace)
    }
}

/// A run's first signal: shutdown starts with it as the cause (unless it has started), and
/// the line says so. The trigger first: starting shutdown never waits for the line.
pub(crate) fn first_signal(state: &State, signal: Signal) {
    let started = state.trigger().begin(Cause::Signal(signal));
    let message = match state.trigger().triggered() {
        Some(triggered) if !started => format!(
            "received {signal} while already shutting down ({}); send it again to exit at once",
            triggered.cause
        ),
        _ => format!(
            "received {signal}: shutting down within {:?}; send it again to exit at once",
            state.config().timeout
        ),
    };
    state
        .log()
        .announce(tracing::Level::WARN, Some(signal), message);
}

/// The line of a second signal.
pub(crate) fn forced_message(signal: Signal) -> String {
    let code = signal.forced_exit_code();
    format!("received {signal} again: exiting at once with code {code}")
}

fn force_exit(signal: Signal, running: &[Run]) -> ! {
    let code = signal.forced_exit_code();
    let message = forced_message(signal);
    match running.first() {
        Some(run) => run
            .state
            .log()
            .announce(tracing::Level::ERROR, Some(signal), message),
        None => Log::here().announce(tracing::Level::ERROR, Some(signal), message),
    }
    log::flush(Instant::now() + LAST_WORDS);
    flush_telemetry(running.iter().map(|run| &*run.state));
    exit_now(code)
}

/// Runs the `flush_now` of every telemetry resource of `states`, on a thread of its own, and
/// waits for them [`FLUSH_NOW`] at most: a flush that blocks cannot hold the exit.
pub(crate) fn flush_telemetry<'a>(states: impl Iterator<Item = &'a State>) {
    let flushers: Vec<_> = states
        .flat_map(|state| state.resources().flushers())
        .collect();
    if flushers.is_empty() {
        return;
    }
    let (done, flushed) = std::sync::mpsc::channel();
    let started = std::thread::Builder::new()
        .name("graceful-flush".into())
        .spawn(move || {
            for flush in flushers {
                let _ = catch_unwind(AssertUnwindSafe(|| flush()));
            }
            let _ = done.send(());
        });
    if started.is_ok() {
        let _ = flushed.recv_timeout(FLUSH_NOW);
    }
}

/// The deadline has passed and the run has not returned: a thread is blocked (in a task, a
/// close, a `Drop`, or every runtime thread at once). Say where, then end the process.
fn expire(state: &State) -> ! {
    let running = still_running(state);
    let message = format!(
        "graceful: shutdown failed (exit code 1): the {:?} deadline passed {}, and the process \
         was ended {GRACE:?} after it. Still running: {}\n",
        state.config().timeout,
        state.progress().at_the_deadline(),
        if running.is_empty() {
            "no task".to_owned()
        } else {
            running.join(", ")
        },
    );
    // Through the service's log too, so that its telemetry carries it (without the prefix
    // that marks graceful's own lines on stderr).
    let line = message
        .trim_end()
        .trim_start_matches("graceful: ")
        .to_owned();
    state
        .log()
        .event(move || tracing::error!(target: "graceful", "{line}"));
    log::stderr(message);
    log::flush(Instant::now() + LAST_WORDS);
    flush_telemetry(std::iter::once(state));
    exit_now(1)
}

/// Ends the process now. On Unix with `_exit`: no destructor, no `atexit` handler, no flush of
/// stdout, any of which could block (a full stdout pipe) or panic. Elsewhere with
/// `std::process::exit`, which does flush stdout.
#[allow(unsafe_code)]
fn exit_now(code: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(unix))]
    std::process::exit(code)
}

/// What still runs, for the message: main's body or the resources it is opening, the resources
/// closing, then the tasks by name with their counts.
fn still_running(state: &State) -> Vec<String> {
    let opening = state.provided().opening();
    let mut running: Vec<String> = opening
        .iter()
        .map(|name| format!("resource `{name}` (opening)"))
        .collect();
    if opening.is_empty() && state.main().is_running() {
        running.push("`main`".to_owned());
    }
    if state.main().is_dropping_kept() {
        running.push("`main`'s kept bindings (dropping)".to_owned());
    }
    running.extend(
        state
            .resources()
            .closing()
            .into_iter()
            .map(|name| format!("resource `{name}` (closing)")),
    );
    running.extend(
        state
            .tasks()
            .live_names()
            .into_iter()
            .map(|(name, count)| format!("`{name}` ({count})")),
    );
    running
}
