//! Every line graceful writes on its own (the signal announcements, the deadline's message, the
//! summary of a failed shutdown) goes through here, so that output can never hurt the sequence.
//!
//! `eprintln!` panics when stderr is a broken pipe (`service | head`, a dead log shipper), and
//! any write blocks when stderr is a pipe nobody reads. So the lines are queued to one writer
//! thread, which ignores write errors: queueing never blocks and never fails, and whoever
//! wants the lines out before the process ends waits for them with a bound
//! ([`flush`]), never longer.

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Sender};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use crate::Signal;

/// What the writer thread writes.
enum Line {
    /// Through `tracing` when a global subscriber is set, else `graceful: {message}` on stderr.
    Log {
        level: tracing::Level,
        signal: Option<Signal>,
        message: String,
    },
    /// Straight to stderr, subscriber or not.
    Stderr(String),
}

struct Writer {
    lines: Sender<(u64, Line)>,
    /// The number of the next line to queue.
    queued: Mutex<u64>,
    /// How many lines are written (or given up on), and its change.
    written: Mutex<u64>,
    changed: Condvar,
}

static WRITER: OnceLock<Option<Writer>> = OnceLock::new();

/// The writer, started on first use; `None` if its thread could not start (then nothing is
/// written, which is still better than blocking).
fn writer() -> Option<&'static Writer> {
    WRITER
        .get_or_init(|| {
            let (lines, receiver) = mpsc::channel::<(u64, Line)>();
            let spawned = std::thread::Builder::new()
                .name("graceful-output".into())
                .spawn(move || {
                    for (number, line) in receiver {
                        // A panicking subscriber must not take the writer down with it.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(move || write(line)));
                        if let Some(writer) = WRITER.get().and_then(Option::as_ref) {
                            *lock(&writer.written) = number + 1;
                            writer.changed.notify_all();
                        }
                    }
                });
            spawned.ok().map(|_| Writer {
                lines,
                queued: Mutex::new(0),
                written: Mutex::new(0),
                changed: Condvar::new(),
            })
        })
        .as_ref()
}

/// Starts the writer thread now, so that the first line of a shutdown does not pay for it.
pub(crate) fn start() {
    writer();
}

/// Queues a line for the log (or stderr, without a subscriber).
pub(crate) fn log(level: tracing::Level, signal: Option<Signal>, message: String) {
    queue(Line::Log {
        level,
        signal,
        message,
    });
}

/// Queues text for stderr, whatever the subscriber.
pub(crate) fn stderr(text: String) {
    queue(Line::Stderr(text));
}

fn queue(line: Line) {
    let Some(writer) = writer() else { return };
    // The number is taken and the line sent under one lock, so lines arrive in number order.
    let mut queued = lock(&writer.queued);
    if writer.lines.send((*queued, line)).is_ok() {
        *queued += 1;
    }
}

/// Waits until every line queued so far is written, or until `bound`. Returns whether they were.
pub(crate) fn flush(bound: Instant) -> bool {
    let Some(writer) = writer() else { return true };
    let target = *lock(&writer.queued);
    let mut written = lock(&writer.written);
    while *written < target {
        let Some(left) = bound.checked_duration_since(Instant::now()) else {
            return false;
        };
        written = writer
            .changed
            .wait_timeout(written, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

fn write(line: Line) {
    match line {
        Line::Log {
            level,
            signal,
            message,
        } if tracing::dispatcher::has_been_set() => {
            let signal = signal.map(Signal::name);
            match level {
                tracing::Level::ERROR => {
                    tracing::error!(target: "graceful", signal, "{message}");
                }
                tracing::Level::WARN => tracing::warn!(target: "graceful", signal, "{message}"),
                _ => tracing::info!(target: "graceful", signal, "{message}"),
            }
        }
        Line::Log { message, .. } => to_stderr(&format!("graceful: {message}\n")),
        Line::Stderr(text) => to_stderr(&text),
    }
}

fn to_stderr(text: &str) {
    // Errors are dropped: a closed or broken stderr has nobody to tell.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
