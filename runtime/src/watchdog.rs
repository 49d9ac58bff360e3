//! The last line of defence for the deadline.
//!
//! The lifecycle enforces the deadline on the runtime, which works as long as the runtime runs.
//! A task that blocks a runtime thread (a synchronous sleep, a busy loop, a deadlock) can stop
//! that; an OS thread outside the runtime cannot be stopped that way. It wakes shortly after
//! the deadline and, if the lifecycle has not finished by then, exits the process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::state::State;

/// How long after the deadline the watchdog gives the lifecycle to finish on its own.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

pub(crate) fn start(state: Arc<State>, deadline: Instant) {
    let watchdog = std::thread::Builder::new()
        .name("graceful-watchdog".into())
        .spawn(move || {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()) + GRACE);
            if state.is_finished() {
                return;
            }
            let running = state
                .tasks
                .live_names()
                .iter()
                .map(|(name, count)| format!("`{name}` ({count})"))
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!(
                "graceful: shutdown failed (exit code 1): the {:?} deadline passed and the runtime \
             did not finish; a task is blocking a runtime thread. Still running: {}",
                state.config.timeout,
                if running.is_empty() {
                    "no spawned task (main's body?)"
                } else {
                    &running
                },
            );
            std::process::exit(1);
        });
    if let Err(error) = watchdog {
        tracing::error!(target: "graceful", "could not start the deadline watchdog: {error}");
    }
}
