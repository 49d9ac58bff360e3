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

use crate::{Config, GRACE_PERIOD_ENV};

/// How long after the deadline the watchdog gives the run to return on its own, before it
/// ends the process.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

/// What a grace period must hold past the shutdown's `timeout` and the watchdog's [`GRACE`]
/// after it: the exit itself, and the platform's own delay in sending the signal.
pub(crate) const GRACE_MARGIN: Duration = Duration::from_secs(1);

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

/// The budget, as arithmetic, for the startup line: "drain delay 5s + drain up to 17.5s =
/// timeout 25s − 2.5s kept for the closes (2.25s) and the aborted tasks' stop (250ms)".
pub(crate) fn arithmetic(config: &Config, reserve: Duration) -> String {
    let cut = drain_cut(config, reserve);
    let drain = longest_drain(config, reserve);
    format!(
        "drain delay {:?} + drain up to {drain:?} = timeout {:?} − {cut:?} kept for the closes \
         ({:?}) and the aborted tasks' stop ({STOP_BUDGET:?})",
        config.drain_delay,
        config.timeout,
        cut.saturating_sub(STOP_BUDGET),
    )
}

/// The longest the drain may take: what the timeout leaves after the drain delay and the cut.
pub(crate) fn longest_drain(config: &Config, reserve: Duration) -> Duration {
    config.timeout - config.drain_delay - drain_cut(config, reserve)
}

/// How the shutdown fits the platform's grace period (`GRACEFUL_GRACE_PERIOD`), if one is
/// known: `Ok` with the line's part, or `Err` with the warning.
pub(crate) fn grace_period_fit(config: &Config) -> Option<Result<String, String>> {
    let grace_period = config.grace_period?;
    let needed = config.timeout + GRACE + GRACE_MARGIN;
    Some(match grace_period.checked_sub(needed) {
        Some(spare) => Ok(format!(
            "fits the {grace_period:?} grace period with {spare:?} to spare"
        )),
        None => {
            let most = grace_period.saturating_sub(GRACE + GRACE_MARGIN);
            let lower = match (most.is_zero(), most <= config.drain_delay) {
                (true, _) => String::new(),
                (false, true) => format!(
                    "Lower `timeout` to {most:?} or less (and the drain delay, {:?}, below \
                     that), or ",
                    config.drain_delay
                ),
                (false, false) => format!("Lower `timeout` to {most:?} or less, or "),
            };
            Err(format!(
                "the shutdown does not fit the platform's grace period: \
                 {GRACE_PERIOD_ENV}={grace_period:?}, but the shutdown may take its timeout ({:?}, \
                 the drain delay of {:?} included) + {GRACE:?} before graceful ends the process + \
                 {GRACE_MARGIN:?} to exit = {needed:?}, and the platform kills the process \
                 (SIGKILL) at the end of its grace period. {lower}raise the grace period by \
                 {:?} (Kubernetes' terminationGracePeriodSeconds, counting any preStop sleep)",
                config.timeout,
                config.drain_delay,
                needed - grace_period,
            ))
        }
    })
}

/// The longest the drain may be cut short by.
fn most(config: &Config) -> Duration {
    (config.timeout - config.drain_delay) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arithmetic_adds_up() {
        let config = config(25_000, 5_000);
        assert_eq!(
            arithmetic(&config, Duration::from_millis(2_250)),
            "drain delay 5s + drain up to 17.5s = timeout 25s − 2.5s kept for the closes \
             (2.25s) and the aborted tasks' stop (250ms)"
        );
    }

    #[test]
    fn a_grace_period_too_short_for_the_timeout_is_a_warning_with_the_numbers() {
        let mut config = config(30_000, 5_000);
        assert_eq!(grace_period_fit(&config), None);
        config.grace_period = Some(Duration::from_secs(30));
        let warning = grace_period_fit(&config).unwrap().unwrap_err();
        assert!(warning.contains("GRACEFUL_GRACE_PERIOD=30s"), "{warning}");
        assert!(warning.contains("= 31.5s"), "{warning}");
        assert!(warning.contains("`timeout` to 28.5s"), "{warning}");
        assert!(
            warning.contains("raise the grace period by 1.5s"),
            "{warning}"
        );
        config.grace_period = Some(Duration::from_secs(6));
        let warning = grace_period_fit(&config).unwrap().unwrap_err();
        assert!(
            warning.contains("to 4.5s or less (and the drain delay, 5s, below that)"),
            "{warning}"
        );
        config.grace_period = Some(Duration::from_secs(35));
        assert_eq!(
            grace_period_fit(&config),
            Some(Ok("fits the 35s grace period with 3.5s to spare".to_owned()))
        );
    }

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
