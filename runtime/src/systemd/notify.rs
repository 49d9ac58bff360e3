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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use super::heartbeat::Heartbeat;
use super::socket::NotifySocket;
use super::status::status;
use crate::state::State;
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
}

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
        let thread = {
            let (state, stop, heartbeat) = (state.clone(), stop.clone(), heartbeat.clone());
            std::thread::Builder::new()
                .name("graceful-notify".into())
                .spawn(move || {
                    let watchdog = watchdog.zip(heartbeat);
                    Thread::new(state, socket, name, watchdog).run(&stop);
                })
        };
        match thread {
            Ok(thread) => {
                let thread = thread.thread().clone();
                state.trigger().set_observer(thread.clone());
                Some(Notifier {
                    stop,
                    thread,
                    heartbeat,
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
        self.thread.unpark();
    }
}

fn warn(state: &State, message: String) {
    state.log().announce(tracing::Level::WARN, None, message);
}

/// What the thread has said, and what it owes.
struct Thread {
    state: Arc<State>,
    socket: NotifySocket,
    name: OsString,
    /// systemd's watchdog timeout, and the heartbeat that proves progress.
    watchdog: Option<(Duration, Arc<Heartbeat>)>,
    /// When the next `WATCHDOG=1` is due, and the heartbeat read at the last one.
    next_beat: Instant,
    last_beat: (u64, u64),
    ready: bool,
    stopping: bool,
    status: String,
    /// A message systemd's full queue refused: sent first next time.
    unsent: String,
    /// Whether a send failure has been said (once is enough).
    failed: bool,
}

impl Thread {
    fn new(
        state: Arc<State>,
        socket: NotifySocket,
        name: OsString,
        watchdog: Option<(Duration, Arc<Heartbeat>)>,
    ) -> Self {
        let last_beat = watchdog.as_ref().map_or((0, 0), |(_, beat)| beat.read());
        Thread {
            next_beat: Instant::now() + watchdog.as_ref().map_or(Duration::ZERO, |(t, _)| *t / 2),
            state,
            socket,
            name,
            watchdog,
            last_beat,
            ready: false,
            stopping: false,
            status: String::new(),
            unsent: String::new(),
            failed: false,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Acquire) {
            let now = Instant::now();
            let message = self.message(now);
            let retry = self.send(message);
            std::thread::park_timeout(self.next_wake(now, retry));
        }
    }

    /// Everything owed to systemd now, one assignment per line.
    fn message(&mut self, now: Instant) -> String {
        let mut message = std::mem::take(&mut self.unsent);
        let deadline = self.state.trigger().deadline();
        if deadline.is_none() && !self.ready && self.state.main().is_started() {
            self.ready = true;
            line(&mut message, NotifyState::Ready);
        }
        let mut extend = false;
        if deadline.is_some() && !self.stopping {
            self.stopping = true;
            extend = true;
            line(&mut message, NotifyState::Stopping);
        }
        let status = one_line(status(&self.state));
        if status != self.status {
            line(&mut message, NotifyState::Status(&status));
            self.status = status;
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
        if let Some((timeout, heartbeat)) = &self.watchdog
            && now >= self.next_beat
        {
            self.next_beat = now + *timeout / 2;
            let beat = heartbeat.read();
            let alive = beat.0 != self.last_beat.0 && beat.1 != self.last_beat.1;
            self.last_beat = beat;
            // Never past the deadline: the watchdog thread ends the process then, and a
            // process that has not is wedged.
            if alive && deadline.is_none_or(|deadline| now < deadline) {
                line(&mut message, NotifyState::Watchdog);
            }
        }
        message
    }

    /// Sends `message`; returns whether it must be sent again soon (systemd's queue was full).
    fn send(&mut self, message: String) -> bool {
        if message.is_empty() {
            return false;
        }
        match self.socket.send(&message) {
            Ok(true) => false,
            Ok(false) => {
                self.unsent = message;
                true
            }
            Err(error) => {
                if !self.failed {
                    self.failed = true;
                    let name = self.name.to_string_lossy();
                    warn(
                        &self.state,
                        format!("could not notify systemd at NOTIFY_SOCKET={name}: {error}"),
                    );
                }
                false
            }
        }
    }

    fn next_wake(&self, now: Instant, retry: bool) -> Duration {
        let mut wake = Duration::from_secs(3600);
        if self.watchdog.is_some() {
            wake = wake.min(self.next_beat.saturating_duration_since(now));
        }
        if self.state.trigger().deadline().is_some() {
            wake = wake.min(SHUTDOWN_REFRESH);
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

/// A status on one line (an error's message may span several), and not too long for it.
fn one_line(status: String) -> String {
    let mut status = status.replace(['\n', '\r'], " ");
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
    use super::*;

    #[test]
    fn a_status_is_one_line_of_bounded_length() {
        assert_eq!(one_line("a\nb\r\nc".to_owned()), "a b  c");
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
