//! The operating-system signals that start and force shutdown.

use std::fmt;

/// A signal that starts shutdown (the first) or forces an immediate exit (the second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT (Ctrl+C in a terminal; Ctrl+C on Windows).
    Interrupt,
    /// SIGTERM (Kubernetes, systemd, `docker stop`).
    Terminate,
    /// Windows Ctrl+Break.
    CtrlBreak,
    /// Windows console window closed.
    CtrlClose,
    /// Windows system shutdown.
    CtrlShutdown,
}

impl Signal {
    /// The exit code of a forced exit: 128 + the signal number (130 for SIGINT, 143 for
    /// SIGTERM), the code a shell reports for a process killed by that signal.
    pub fn forced_exit_code(self) -> i32 {
        match self {
            Signal::Terminate => 128 + 15,
            Signal::Interrupt | Signal::CtrlBreak | Signal::CtrlClose | Signal::CtrlShutdown => {
                128 + 2
            }
        }
    }

    /// The conventional name, such as `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::CtrlBreak => "CTRL_BREAK",
            Signal::CtrlClose => "CTRL_CLOSE",
            Signal::CtrlShutdown => "CTRL_SHUTDOWN",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
