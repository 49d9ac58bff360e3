//! The notify thread: tells systemd where a run is (`READY=1`, `STATUS=`, `STOPPING=1`,
//! `EXTEND_TIMEOUT_USEC=`) and that its runtime is alive (`WATCHDOG=1`).
//!
//! A thread of its own, outside the runtime, like the watchdog: a signal that finds every
//! runtime thread blocked is still answered with `STOPPING=1` and the extended stop timeout,
//! and the heartbeat stops only because the runtime does. It reads the run's state when woken
//! (by the trigger, by every step of the sequence, by the start) and on its own timer; it
//! never waits for the runtime, and nothing waits for it.

use std::ffi::OsString;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use super::heartbeat::Heartbeat;
use super::socket::NotifySocket;
use super::status::status;
use crate::state::State;
use crate::sync::lock;
use crate::watchdog::with_grace;

/// How often the status is read again during a shutdown, for the drain's task count.
const SHUTDOWN_REFRESH: Duration = Duration::from_secs(1);

/// How soon a message that found systemd's queue full is sent again.
const RETRY: Duration = Duration::from_millis(50);

/// What the stop timeout is extended by past graceful's own bound (the deadline and the
/// watchdog's grace after it): the time the process takes to exit once it has decided to.
const EXIT_MARGIN: Duration = Duration::from_secs(1);

/// The longest status line sent: `systemctl status` shows one line.
const STATUS_LIMIT: usize = 400;

/// A run's notify thread; dropping it (when `Config::run` returns) stops the thread.
pub(crate) struct Notifier {
    stop: Arc<AtomicBool>,
    thread: std::thread::Thread,
    heartbeat: Option<Arc<Heartbeat>>,
    /// Shared with the thread, for the last message: a run that ends before the thread has
    /// woken (a quick stop) still tells systemd where it ended.
    announcer: Arc<Mutex<Announcer>>,
}

/// Whether a run of this process has told systemd it stops: a later run (`Config::run`
/// called again) does not say `READY=1` to a manager that is stopping the service.
static STOPPING_SAID: AtomicBool = AtomicBool::new(false);

impl Notifier {
    /// Starts telling systemd about `state`'s run, if `NOTIFY_SOCKET` says where. A socket
    /// that cannot be used is a warning, not a failure: outside systemd a stray variable must
    /// not stop a service, and under it the warning says why its start timed out.
    pub(crate) fn start(state: &Arc<State>) -> Option<Notifier> {
        let name = std::env::var_os("NOTIFY_SOCKET").filter(|name| !name.is_empty())?;
        let socket = match NotifySocket::open(&name) {
            Ok(socket) => socket,
            Err(error) => {
                warn(state, format!("systemd notifications are off: {error}"));
                return None;
            }
        };
        let watchdog = sd_notify::watchdog_enabled().filter(|usec| !usec.is_zero());
        let heartbeat = watchdog.map(|timeout| Heartbeat::new(timeout / 2));
        let stop = Arc::new(AtomicBool::new(false));
        let announcer = Arc::new(Mutex::new(Announcer::new(
            state.clone(),
            socket,
            name,
            watchdog.zip(heartbeat.clone()),
        )));
        let thread = {
            let (announcer, stop) = (announcer.clone(), stop.clone());
            std::thread::Builder::new()
                .name("graceful-notify".into())
                .spawn(move || run(&announcer, &stop))
        };
        match thread {
            Ok(thread) => {
                let thread = thread.thread().clone();
                state.trigger().set_observer(thread.clone());
                // What happened before the thread could be woken (a trigger, the start) is read
                // now rather than at its first timeout.
                thread.unpark();
                Some(Notifier {
                    stop,
                    thread,
                    heartbeat,
                    announcer,
                })
            }
            Err(error) => {
                warn(
                    state,
                    format!("systemd notifications are off: could not start their thread: {error}"),
                );
                None
            }
        }
    }

    /// The heartbeat the runtime must keep, if systemd's watchdog is on.
    pub(crate) fn heartbeat(&self) -> Option<&Arc<Heartbeat>> {
        self.heartbeat.as_ref()
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // The last message, from here: sending never blocks, and the thread holds the lock
        // only while it composes and sends.
        lock(&self.announcer).announce(Instant::now());
        self.thread.unpark();
    }
}

/// The thread: reads the run and tells systemd, when woken and on its own timers.
fn run(announcer: &Mutex<Announcer>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        let wake = {
            let mut announcer = lock(announcer);
            let now = Instant::now();
            let retry = announcer.announce(now);
            announcer.warn_if_unstarted(now);
            announcer.next_wake(now, retry)
        };
        std::thread::park_timeout(wake);
    }
}

fn warn(state: &State, message: String) {
    state.log().announce(tracing::Level::WARN, None, message);
}

/// What systemd has been told: what a message adds to, once it is sent.
#[derive(Clone, Default)]
struct Said {
    ready: bool,
    stopping: bool,
    status: String,
}

/// systemd's watchdog, as the thread keeps it.
struct Watchdog {
    /// `WatchdogSec=`: a `WATCHDOG=1` is due every half of it.
    timeout: Duration,
    heartbeat: Arc<Heartbeat>,
    /// When the heartbeat is read next.
    next: Instant,
    /// The heartbeat read when the last `WATCHDOG=1` went out.
    last: (u64, u64),
}

/// What the heartbeat says when it is read.
enum Beat {
    NotDue,
    /// The runtime has not run since the last `WATCHDOG=1`: nothing is sent, and the heartbeat
    /// is read again soon, so that a runtime that runs again is heard within its timeout.
    Missed,
    Alive((u64, u64)),
}

/// The thread's side: what has been said, and what is owed.
struct Announcer {
    state: Arc<State>,
    socket: NotifySocket,
    name: OsString,
    watchdog: Option<Watchdog>,
    said: Said,
    /// Whether a send failure has been said (once is enough).
    failed: bool,
    /// Since when `main`'s body has run without the service having started, and whether the
    /// warning that systemd waits for `READY=1` has been given.
    unstarted_since: Option<Instant>,
    warned_unstarted: bool,
}

/// How long `main`'s body may run (its resources open) before the service has started and
/// the log says that systemd waits for `READY=1`.
const UNSTARTED_WARNING: Duration = Duration::from_secs(10);

/// How often a run not started yet is looked at again, for that warning.
const UNSTARTED_RECHECK: Duration = Duration::from_secs(1);

impl Announcer {
    fn new(
        state: Arc<State>,
        socket: NotifySocket,
        name: OsString,
        watchdog: Option<(Duration, Arc<Heartbeat>)>,
    ) -> Self {
        let watchdog = watchdog.map(|(timeout, heartbeat)| Watchdog {
            next: Instant::now() + timeout / 2,
            last: heartbeat.read(),
            timeout,
            heartbeat,
        });
        Announcer {
            state,
            socket,
            name,
            watchdog,
            said: Said::default(),
            failed: false,
            unstarted_since: None,
            warned_unstarted: false,
        }
    }

    /// Sends what is owed now; returns whether systemd's queue was full (send it again soon).
    fn announce(&mut self, now: Instant) -> bool {
        let (message, said) = self.compose(now);
        let beat = self.beat(now);
        let mut message = message;
        if let Beat::Alive(_) = beat {
            line(&mut message, NotifyState::Watchdog);
        }
        if let (Beat::Missed, Some(watchdog)) = (&beat, &mut self.watchdog) {
            watchdog.next = now + watchdog.heartbeat.every();
        }
        if message.is_empty() {
            return false;
        }
        match self.socket.send(&message) {
            Ok(false) => {
                // Nothing of it counts as said: the next message is composed again from where
                // the run is then, not appended to this one (systemd reads the first `STATUS=`
                // of a message).
                return true;
            }
            Ok(true) => {}
            Err(error) => self.failed_once(&error),
        }
        if said.stopping {
            STOPPING_SAID.store(true, Ordering::Release);
        }
        self.said = said;
        if let (Beat::Alive(reading), Some(watchdog)) = (beat, &mut self.watchdog) {
            watchdog.last = reading;
            watchdog.next = now + watchdog.timeout / 2;
        }
        false
    }

    /// The state's news since what was said, one assignment per line; and what will have been
    /// said once it is sent.
    fn compose(&self, now: Instant) -> (String, Said) {
        let mut message = String::new();
        let mut said = self.said.clone();
        let deadline = self.state.trigger().deadline();
        // Read once: the status and `READY=1` go out together.
        let started = self.state.main().is_started();
        if deadline.is_none() && !said.ready && started && !STOPPING_SAID.load(Ordering::Acquire) {
            said.ready = true;
            line(&mut message, NotifyState::Ready);
        }
        let mut extend = false;
        if deadline.is_some() && !said.stopping {
            said.stopping = true;
            extend = true;
            line(&mut message, NotifyState::Stopping);
        }
        let status = one_line(status(&self.state, started));
        if status != said.status {
            line(&mut message, NotifyState::Status(&status));
            said.status = status;
            extend |= deadline.is_some();
        }
        // Past graceful's own bound: the process ends then, whatever systemd allowed.
        if let Some(deadline) = deadline.filter(|_| extend) {
            let until = with_grace(deadline) + EXIT_MARGIN;
            let usec = until.saturating_duration_since(now).as_micros();
            // Written out: `NotifyState::ExtendTimeoutUsec` takes a `u32`, 71 minutes at most,
            // and a `timeout` may be up to a day (systemd reads a 64-bit count).
            let _ = writeln!(message, "EXTEND_TIMEOUT_USEC={usec}");
        }
        (message, said)
    }

    /// Whether a `WATCHDOG=1` is due, and earned.
    fn beat(&self, now: Instant) -> Beat {
        let Some(watchdog) = &self.watchdog else {
            return Beat::NotDue;
        };
        if now < watchdog.next {
            return Beat::NotDue;
        }
        // Never past the deadline: the watchdog thread ends the process then, and a process
        // that has not is wedged.
        if self
            .state
            .trigger()
            .deadline()
            .is_some_and(|deadline| now >= deadline)
        {
            return Beat::Missed;
        }
        let reading = watchdog.heartbeat.read();
        match reading.0 != watchdog.last.0 && reading.1 != watchdog.last.1 {
            true => Beat::Alive(reading),
            false => Beat::Missed,
        }
    }

    fn failed_once(&mut self, error: &std::io::Error) {
        if !self.failed {
            self.failed = true;
            let name = self.name.to_string_lossy();
            warn(
                &self.state,
                format!("could not notify systemd at NOTIFY_SOCKET={name}: {error}"),
            );
        }
    }

    /// A body that neither returns nor says it has started keeps systemd waiting for
    /// `READY=1` until `TimeoutStartSec=` fails the unit: the log says why, once.
    fn warn_if_unstarted(&mut self, now: Instant) {
        let main = self.state.main();
        let waiting = !main.is_started()
            && main.is_running()
            && self.state.trigger().deadline().is_none()
            && self.state.provided().opening().is_empty();
        if !waiting {
            self.unstarted_since = None;
            return;
        }
        let since = *self.unstarted_since.get_or_insert(now);
        if !self.warned_unstarted && now.duration_since(since) >= UNSTARTED_WARNING {
            self.warned_unstarted = true;
            warn(
                &self.state,
                format!(
                    "systemd waits for READY=1 (NOTIFY_SOCKET is set), and main's body has run \
                     for {UNSTARTED_WARNING:?} without returning: spawn the server and return, \
                     or call shutdown.mark_started() once it serves"
                ),
            );
        }
    }

    fn next_wake(&self, now: Instant, retry: bool) -> Duration {
        let mut wake = Duration::from_secs(3600);
        if let Some(watchdog) = &self.watchdog {
            wake = wake.min(watchdog.next.saturating_duration_since(now));
        }
        if self.state.trigger().deadline().is_some() {
            wake = wake.min(SHUTDOWN_REFRESH);
        }
        if let Some(since) = self.unstarted_since.filter(|_| !self.warned_unstarted) {
            wake = wake.min((since + UNSTARTED_WARNING).saturating_duration_since(now));
        }
        // Until the service has started (or the warning is out), look again now and then:
        // main's body may begin to run, or its resources finish opening, with nothing that
        // wakes this thread, and the wait for the warning starts only once it is seen.
        if !self.warned_unstarted
            && !self.state.main().is_started()
            && self.state.trigger().deadline().is_none()
        {
            wake = wake.min(UNSTARTED_RECHECK);
        }
        if retry {
            wake = wake.min(RETRY);
        }
        wake
    }
}

fn line(message: &mut String, state: NotifyState<'_>) {
    let _ = writeln!(message, "{state}");
}

/// A status on one line (an error's message may span several), with no control character
/// (systemd ignores a whole message that holds a NUL), and not too long.
fn one_line(status: String) -> String {
    let mut status: String = status
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if status.len() > STATUS_LIMIT {
        let mut end = STATUS_LIMIT;
        while !status.is_char_boundary(end) {
            end -= 1;
        }
        status.truncate(end);
        status.push('…');
    }
    status
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;

    use super::*;
    use crate::Config;

    /// What systemd received, without waiting.
    fn received(receiver: &UnixDatagram) -> Vec<String> {
        let mut buffer = [0; 4096];
        let mut lines = Vec::new();
        while let Ok(len) = receiver.recv(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
            lines.extend(text.lines().map(str::to_owned));
        }
        lines
    }

    #[test]
    fn a_runtime_heard_again_after_a_missed_beat_is_told_at_once() {
        let path =
            std::env::temp_dir().join(format!("graceful-unit-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let receiver = UnixDatagram::bind(&path).unwrap();
        receiver.set_nonblocking(true).unwrap();
        let timeout = Duration::from_secs(8);
        let heartbeat = Heartbeat::new(timeout / 2);
        let socket = NotifySocket::open(path.as_os_str()).unwrap();
        let state = State::new(Config::new());
        // A service that has started: only the watchdog sets the next wake.
        state.mark_started();
        let mut announcer = Announcer::new(
            state,
            socket,
            path.clone().into_os_string(),
            Some((timeout, heartbeat.clone())),
        );
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        heartbeat.beat();
        announcer.announce(at(4));
        assert!(received(&receiver).contains(&"WATCHDOG=1".to_owned()));
        // Blocked across the next reading: nothing is said, and the next reading is soon.
        announcer.announce(at(8));
        assert_eq!(received(&receiver), Vec::<String>::new());
        assert_eq!(announcer.next_wake(at(8), false), Duration::from_secs(1));
        // Running again: heard at that reading, not half a timeout later.
        heartbeat.beat();
        announcer.announce(at(9));
        assert_eq!(received(&receiver), ["WATCHDOG=1"]);
        assert_eq!(announcer.next_wake(at(9), false), timeout / 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_message_refused_by_a_full_queue_is_composed_again_not_appended_to() {
        let path = std::env::temp_dir().join(format!("graceful-unit-full-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let receiver = UnixDatagram::bind(&path).unwrap();
        receiver.set_nonblocking(true).unwrap();
        let state = State::new(Config::new());
        let socket = NotifySocket::open(path.as_os_str()).unwrap();
        let mut announcer =
            Announcer::new(state.clone(), socket, path.clone().into_os_string(), None);
        assert!(!announcer.announce(Instant::now()));
        assert_eq!(received(&receiver), ["STATUS=starting"]);
        // systemd falls behind: its queue fills.
        let filler = NotifySocket::open(path.as_os_str()).unwrap();
        while filler.send("X=1").unwrap() {}
        state.mark_started();
        assert!(
            announcer.announce(Instant::now()),
            "a full queue is retried"
        );
        state
            .trigger()
            .begin(crate::Cause::Requested("test".into()));
        assert!(announcer.announce(Instant::now()));
        // It reads again: one message, from where the run is now.
        received(&receiver);
        assert!(!announcer.announce(Instant::now()));
        let lines = received(&receiver);
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("STATUS=")).count(),
            1,
            "{lines:?}"
        );
        assert!(lines.contains(&"STOPPING=1".to_owned()), "{lines:?}");
        assert!(
            !lines.contains(&"READY=1".to_owned()),
            "no READY after the trigger: {lines:?}"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_status_is_one_line_of_bounded_length() {
        assert_eq!(one_line("a\nb\r\nc\0d\x01".to_owned()), "a b  c d ");
        let long = "é".repeat(STATUS_LIMIT);
        let line = one_line(long);
        assert!(
            line.len() <= STATUS_LIMIT + '…'.len_utf8(),
            "{}",
            line.len()
        );
        assert!(line.ends_with('…'));
    }
}
