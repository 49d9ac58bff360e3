//! Every line graceful writes on its own (the signal announcements, the deadline's message, the
//! summary of a failed shutdown) goes through here, so that output can never hurt the sequence.
//!
//! `eprintln!` panics when stderr is a broken pipe (`service | head`, a dead log shipper), and
//! any write blocks when stderr is a pipe nobody reads. So the lines are queued to one writer
//! thread, which ignores write errors: queueing never blocks and never fails, and whoever
//! wants the lines out before the process ends waits for them with a bound ([`flush`]), never
//! longer.

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::time::Instant;

use tracing::Dispatch;
use tracing::subscriber::NoSubscriber;

use crate::Signal;
use crate::signals::Blocked;

/// What the writer thread writes.
enum Line {
    /// A `tracing` event, emitted by `event`; without any subscriber, `otherwise` (if given)
    /// goes to stderr instead.
    Event {
        event: Box<dyn FnOnce() + Send>,
        otherwise: Option<String>,
        /// The subscriber of the code that ran the service, when it is not the global one
        /// (`tracing::subscriber::set_default`): the writer thread would not see it.
        scoped: Option<Dispatch>,
    },
    /// Straight to stderr, subscriber or not.
    Stderr(String),
    /// Everything queued before it is written: answered on the channel.
    Flush(SyncSender<()>),
}

static WRITER: OnceLock<Option<Sender<Line>>> = OnceLock::new();

/// Lines queued, and lines written: when they are equal there is nothing to wait for, and a
/// flush costs no round trip to the writer thread (the common case without a subscriber).
static QUEUED: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// The writer, started on first use; `None` if its thread could not start (then nothing is
/// written, which is still better than blocking).
fn writer() -> Option<&'static Sender<Line>> {
    WRITER
        .get_or_init(|| {
            let (lines, receiver) = mpsc::channel::<Line>();
            std::thread::Builder::new()
                // The thread's old name, kept: an operator may already look for it.
                .name("graceful-output".into())
                .spawn(move || {
                    // Signals are the watchdog's: never handled on this thread.
                    let _blocked = Blocked::here();
                    for line in receiver {
                        let counted = !matches!(line, Line::Flush(_));
                        // A panicking subscriber must not take the writer down with it.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(move || write(line)));
                        if counted {
                            WRITTEN.fetch_add(1, Ordering::Release);
                        }
                    }
                })
                .ok()
                .map(|_| lines)
        })
        .as_ref()
}

/// Starts the writer thread now, so that the first line of a shutdown does not pay for it.
pub(crate) fn start() {
    writer();
}

/// The subscriber in effect on the calling thread, scoped or global, to hand to the writer
/// thread, which sees only a global one.
fn current_subscriber() -> Option<Dispatch> {
    tracing::dispatcher::get_default(|dispatch| {
        (!dispatch.is::<NoSubscriber>()).then(|| dispatch.clone())
    })
}

/// Where graceful's own events go: to the writer thread, which emits them under the subscriber
/// of the code that ran the service. The lifecycle never waits for a subscriber (one writing to
/// a full pipe blocks only the writer thread) and a subscriber that panics cannot unwind
/// through it.
#[derive(Clone, Debug)]
pub(crate) struct Log {
    scoped: Option<Dispatch>,
    /// Whether a line the operator must see goes to stderr when there is no subscriber: not
    /// in a test's run, whose report says it (and whose output is the test harness's).
    to_stderr: bool,
}

impl Log {
    /// Events for the subscriber in effect on the calling thread (see [`current_subscriber`]).
    pub(crate) fn here() -> Self {
        Log {
            scoped: current_subscriber(),
            to_stderr: true,
        }
    }

    /// The same, never written to stderr without a subscriber.
    pub(crate) fn quiet(self) -> Self {
        Log {
            to_stderr: false,
            ..self
        }
    }

    /// Emits an event from the writer thread: `event` calls a `tracing` macro with what it
    /// captured.
    pub(crate) fn event(&self, event: impl FnOnce() + Send + 'static) {
        // No subscriber at all: `tracing` itself would drop the event, so it is not queued.
        if self.scoped.is_none() && !tracing::dispatcher::has_been_set() {
            return;
        }
        queue(Line::Event {
            event: Box::new(event),
            otherwise: None,
            scoped: self.scoped.clone(),
        });
    }

    /// A line the operator must see: logged at `level`, or without any subscriber written to
    /// stderr as `graceful: {message}`.
    pub(crate) fn announce(&self, level: tracing::Level, signal: Option<Signal>, message: String) {
        let otherwise = self.to_stderr.then(|| format!("graceful: {message}\n"));
        let event = move || {
            let signal = signal.map(Signal::name);
            match level {
                tracing::Level::ERROR => {
                    tracing::error!(target: "graceful", signal, "{message}");
                }
                tracing::Level::WARN => {
                    tracing::warn!(target: "graceful", signal, "{message}");
                }
                _ => tracing::info!(target: "graceful", signal, "{message}"),
            }
        };
        queue(Line::Event {
            event: Box::new(event),
            otherwise,
            scoped: self.scoped.clone(),
        });
    }
}

/// Queues text for stderr, whatever the subscriber.
pub(crate) fn stderr(text: String) {
    queue(Line::Stderr(text));
}

fn queue(line: Line) {
    if let Some(writer) = writer() {
        // Counted before it is sent, so that a flush never misses it.
        QUEUED.fetch_add(1, Ordering::AcqRel);
        if writer.send(line).is_err() {
            WRITTEN.fetch_add(1, Ordering::Release);
        }
    }
}

/// Waits until every line queued so far is written, or until `bound`, whichever comes first.
pub(crate) fn flush(bound: Instant) {
    if WRITTEN.load(Ordering::Acquire) == QUEUED.load(Ordering::Acquire) {
        return;
    }
    let Some(writer) = writer() else { return };
    let (done, written) = mpsc::sync_channel(1);
    if writer.send(Line::Flush(done)).is_ok() {
        let _ = written.recv_timeout(bound.saturating_duration_since(Instant::now()));
    }
}

fn write(line: Line) {
    match line {
        Line::Event {
            event,
            otherwise,
            scoped,
        } => {
            // On this thread, which never has a scoped subscriber, the current one is the
            // global one: it wins, as it may have been installed after the service started.
            match current_subscriber().or(scoped) {
                Some(dispatch) => tracing::dispatcher::with_default(&dispatch, event),
                None => {
                    if let Some(text) = otherwise {
                        to_stderr(&text);
                    }
                }
            }
        }
        Line::Stderr(text) => to_stderr(&text),
        Line::Flush(done) => {
            let _ = done.try_send(());
        }
    }
}

fn to_stderr(text: &str) {
    // Errors are dropped: a closed or broken stderr has nobody to tell.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
