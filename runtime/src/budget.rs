//! How the deadline is shared between the phases after the trigger: the drain delay, the drain,
//! the stop of the tasks the drain's end aborts, and the closes.
//!
//! The drain ends early enough to leave the closes their budgets: per group of equal order the
//! longest `timeout` (a resource without one counts [`DEFAULT_CLOSE_RESERVE`]), summed over the
//! groups, plus [`STOP_BUDGET`]. However many resources there are, the drain keeps at least
//! half of what the timeout leaves after the drain delay: budgets past that are a startup
//! warning, and the closes then share what is left (each still bounded by its own `timeout` and
//! by the deadline), so that a task that finishes soon after the cancel is never aborted for it.

use std::time::Duration;

use crate::Config;

/// The close time kept free of the drain for a resource declared without a `timeout`. It is
/// not a limit on that close: the deadline is.
pub(crate) const DEFAULT_CLOSE_RESERVE: Duration = Duration::from_millis(250);

/// How long the tasks aborted at the drain's end get to stop (to finish the poll they are in,
/// to run their `Drop`) before the first resource closes.
pub(crate) const STOP_BUDGET: Duration = Duration::from_millis(250);

/// How long before the deadline the drain ends, for closes that reserve `reserve` in all.
pub(crate) fn drain_cut(config: &Config, reserve: Duration) -> Duration {
    (reserve + STOP_BUDGET).min(most(config))
}

/// The warning for closes that reserve more than the drain can give, if they do.
pub(crate) fn warning(config: &Config, reserve: Duration) -> Option<String> {
    let most = most(config);
    (reserve + STOP_BUDGET > most).then(|| {
        format!(
            "the resources' close budgets ({reserve:?}, and {STOP_BUDGET:?} for aborted tasks to \
             stop) exceed half of the {:?} the shutdown timeout leaves after the drain delay: the \
             drain keeps {:?}, and the closes share the rest. Raise `timeout`, or give the \
             resources shorter `timeout`s",
            config.timeout - config.drain_delay,
            config.timeout - config.drain_delay - most,
        )
    })
}

/// The longest the drain may be cut short by.
fn most(config: &Config) -> Duration {
    (config.timeout - config.drain_delay) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(timeout_ms: u64, drain_delay_ms: u64) -> Config {
        Config::new()
            .timeout(Duration::from_millis(timeout_ms))
            .drain_delay(Duration::from_millis(drain_delay_ms))
    }

    #[test]
    fn the_drain_leaves_the_closes_their_reserve_and_the_stop_budget() {
        let config = config(30_000, 5_000);
        assert_eq!(
            drain_cut(&config, Duration::from_secs(3)),
            Duration::from_millis(3_250)
        );
        assert_eq!(warning(&config, Duration::from_secs(3)), None);
    }

    #[test]
    fn the_drain_keeps_half_of_what_the_drain_delay_leaves_whatever_the_budgets() {
        let config = config(4_000, 1_000);
        assert_eq!(
            drain_cut(&config, Duration::from_secs(4)),
            Duration::from_millis(1_500)
        );
        let warning = warning(&config, Duration::from_secs(4)).expect("a warning");
        assert!(warning.contains("the drain keeps 1.5s"), "{warning}");
    }
}
