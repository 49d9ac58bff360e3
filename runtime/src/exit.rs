//! The end of the process: the report written, then the exit with its code, bounded so that
//! output cannot hold it.

use std::time::{Duration, Instant};

use crate::watchdog::{self, LAST_WORDS, with_grace};
use crate::{Report, log};

/// How long graceful waits at most for its lines to be written, at the end of a run and at
/// the exit.
pub(crate) const OUTPUT_BUDGET: Duration = Duration::from_millis(250);

impl Report {
    /// Prints the summary to stderr when the exit is not clean (even with no `tracing`
    /// subscriber installed, as `main -> Result` prints its error), and exits with
    /// [`exit_code`](Self::exit_code). (The report itself was logged by [`Config::run`].)
    ///
    /// [`Config::run`]: crate::Config::run
    ///
    /// Output cannot hold the exit: the summary is written without panicking on a closed or
    /// broken stderr, graceful's lines get at most 0.25 s to be written (0.1 s once the
    /// shutdown's deadline is 0.5 s past), and the process ends with its code 0.1 s after that
    /// even if the log, stderr or stdout's final flush is stuck.
    ///
    /// ```no_run
    /// // In `fn main`, what `#[graceful::main]` generates, for code that does not use it
    /// // (without the attribute nothing of the closure is kept to the end: a guard that must
    /// // outlive the report belongs in a `telemetry` resource):
    /// graceful::Config::new()
    ///     .run(|shutdown| async move {
    ///         shutdown.spawn("worker", async {});
    ///     })
    ///     .exit()
    /// ```
    pub fn exit(self) -> ! {
        let code = self.exit_code();
        let now = Instant::now();
        let flush_by = match self.deadline {
            Some(deadline) => with_grace(deadline)
                .min(now + OUTPUT_BUDGET)
                .max(now + LAST_WORDS),
            None => now + OUTPUT_BUDGET,
        };
        watchdog::exit_by(flush_by + LAST_WORDS, code);
        if !self.is_clean() {
            log::stderr(format!("{}\n", self.summary()));
        }
        log::flush(flush_by);
        std::process::exit(code)
    }
}
