//! Signal listening, installed before anything opens and kept through teardown.
//!
//! Tokio never restores a signal's default action once it listens for it (tokio-rs/tokio#7905):
//! if we stopped listening, a second Ctrl+C would be swallowed. So one task listens for the
//! process's whole life: the first signal starts shutdown, the second exits at once.

use std::sync::Arc;

use crate::state::State;
use crate::{Cause, Signal};

/// Installs the handlers and spawns the listener on the current runtime.
pub(crate) fn install(state: &Arc<State>) -> std::io::Result<()> {
    let mut signals = os::listen()?;
    let state = state.clone();
    tokio::spawn(async move {
        let Some(first) = signals.next().await else {
            return;
        };
        let timeout = state.config.timeout;
        announce(
            tracing::Level::WARN,
            first,
            &format!(
                "received {first}: shutting down within {timeout:?}; send it again to exit at once"
            ),
        );
        state.begin(Cause::Signal(first));
        let Some(second) = signals.next().await else {
            return;
        };
        force_exit(second);
    });
    Ok(())
}

fn force_exit(signal: Signal) -> ! {
    let code = signal.forced_exit_code();
    announce(
        tracing::Level::ERROR,
        signal,
        &format!("received {signal} again: exiting at once with code {code}"),
    );
    std::process::exit(code)
}

/// One line, wherever the operator is looking: the log if there is one, stderr otherwise
/// (the hint that a second signal forces the exit must not be lost without a subscriber).
fn announce(level: tracing::Level, signal: Signal, message: &str) {
    if !tracing::dispatcher::has_been_set() {
        eprintln!("graceful: {message}");
    } else if level == tracing::Level::ERROR {
        tracing::error!(target: "graceful", signal = %signal, "{message}");
    } else {
        tracing::warn!(target: "graceful", signal = %signal, "{message}");
    }
}

#[cfg(unix)]
mod os {
    use tokio::signal::unix::{self, SignalKind, signal};

    use crate::Signal;

    pub(super) struct Listener {
        terminate: unix::Signal,
        interrupt: unix::Signal,
    }

    pub(super) fn listen() -> std::io::Result<Listener> {
        Ok(Listener {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    impl Listener {
        /// The next signal; `None` once the runtime's signal driver is gone.
        pub(super) async fn next(&mut self) -> Option<Signal> {
            tokio::select! {
                Some(()) = self.terminate.recv() => Some(Signal::Terminate),
                Some(()) = self.interrupt.recv() => Some(Signal::Interrupt),
                else => None,
            }
        }
    }
}

#[cfg(windows)]
mod os {
    use tokio::signal::windows;

    use crate::Signal;

    pub(super) struct Listener {
        ctrl_c: windows::CtrlC,
        ctrl_break: windows::CtrlBreak,
        ctrl_close: windows::CtrlClose,
        ctrl_shutdown: windows::CtrlShutdown,
    }

    pub(super) fn listen() -> std::io::Result<Listener> {
        Ok(Listener {
            ctrl_c: windows::ctrl_c()?,
            ctrl_break: windows::ctrl_break()?,
            ctrl_close: windows::ctrl_close()?,
            ctrl_shutdown: windows::ctrl_shutdown()?,
        })
    }

    impl Listener {
        /// The next signal; `None` once the runtime's signal driver is gone.
        pub(super) async fn next(&mut self) -> Option<Signal> {
            tokio::select! {
                Some(()) = self.ctrl_c.recv() => Some(Signal::Interrupt),
                Some(()) = self.ctrl_break.recv() => Some(Signal::CtrlBreak),
                Some(()) = self.ctrl_close.recv() => Some(Signal::CtrlClose),
                Some(()) = self.ctrl_shutdown.recv() => Some(Signal::CtrlShutdown),
                else => None,
            }
        }
    }
}
