//! The settings of a service's lifecycle, and the operator's overrides from the environment.

use std::time::Duration;

use crate::duration::parse_duration;

/// The longest accepted [`Config::timeout`]: a day. Past it a setting is a mistake (a unit
/// typo, an overflow), and a deadline so far away could not be computed safely.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The most worker threads [`Config::worker_threads`] accepts.
pub const MAX_WORKER_THREADS: usize = 4096;

/// Environment variable that overrides [`Config::timeout`] at run time.
pub const TIMEOUT_ENV: &str = "GRACEFUL_TIMEOUT";
/// Environment variable that overrides [`Config::drain_delay`] at run time.
pub const DRAIN_DELAY_ENV: &str = "GRACEFUL_DRAIN_DELAY";
/// Environment variable that tells a service the time its platform gives it between the stop
/// signal and a kill (Kubernetes' `terminationGracePeriodSeconds`, less any `preStop` sleep),
/// as `"30s"`: at startup graceful warns when the shutdown does not fit inside it.
pub const GRACE_PERIOD_ENV: &str = "GRACEFUL_GRACE_PERIOD";

/// Which Tokio scheduler runs the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Flavor {
    /// One worker thread per core (or [`Config::worker_threads`]).
    #[default]
    MultiThread,
    /// Everything on the thread that called `main`.
    CurrentThread,
}

/// How a service runs and shuts down. `#[graceful::main(...)]` builds one from its arguments;
/// code that does not use the attribute can build one and call [`Config::run`].
///
/// ```
/// use std::time::Duration;
/// use graceful::{Config, Flavor};
///
/// let config = Config::new()
///     .timeout(Duration::from_secs(25))
///     .drain_delay(Duration::from_secs(5))
///     .flavor(Flavor::CurrentThread);
/// assert_eq!(config.get_timeout(), Duration::from_secs(25));
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) timeout: Duration,
    pub(crate) drain_delay: Duration,
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<usize>,
    /// The platform's grace period, from [`GRACE_PERIOD_ENV`] only.
    pub(crate) grace_period: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: Duration::from_secs(30),
            drain_delay: Duration::ZERO,
            flavor: Flavor::MultiThread,
            worker_threads: None,
            grace_period: None,
        }
    }
}

impl Config {
    /// The defaults: `timeout` 30 s, no drain delay, the multi-thread scheduler.
    ///
    /// ```
    /// let config = graceful::Config::new();
    /// assert_eq!(config.get_timeout(), std::time::Duration::from_secs(30));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds the whole shutdown sequence, from its trigger to the exit of the process.
    /// Longer than zero and at most [`MAX_TIMEOUT`] (a day): [`Config::run`] refuses anything
    /// else at startup.
    ///
    /// ```
    /// let config = graceful::Config::new().timeout(std::time::Duration::from_secs(25));
    /// assert_eq!(config.get_timeout(), std::time::Duration::from_secs(25));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the service keeps serving, not ready, before it stops accepting work: the time
    /// load balancers need to notice (the in-process form of a Kubernetes `preStop: sleep`).
    ///
    /// ```
    /// let config = graceful::Config::new().drain_delay(std::time::Duration::from_secs(5));
    /// assert_eq!(config.get_drain_delay(), std::time::Duration::from_secs(5));
    /// ```
    pub fn drain_delay(mut self, drain_delay: Duration) -> Self {
        self.drain_delay = drain_delay;
        self
    }

    /// The Tokio scheduler.
    ///
    /// ```
    /// let report = graceful::Config::new()
    ///     .flavor(graceful::Flavor::CurrentThread)
    ///     .run(|shutdown| async move { shutdown.trigger("done") });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// Worker threads of the multi-thread scheduler (default: one per core), from 1 to
    /// [`MAX_WORKER_THREADS`].
    ///
    /// ```
    /// let report = graceful::Config::new()
    ///     .worker_threads(2)
    ///     .run(|shutdown| async move { shutdown.trigger("done") });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn worker_threads(mut self, worker_threads: usize) -> Self {
        self.worker_threads = Some(worker_threads);
        self
    }

    /// The configured deadline of the shutdown sequence (before `GRACEFUL_TIMEOUT`, which
    /// [`Config::run`] applies).
    ///
    /// ```
    /// assert_eq!(graceful::Config::new().get_timeout(), std::time::Duration::from_secs(30));
    /// ```
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The configured drain delay (before `GRACEFUL_DRAIN_DELAY`, which [`Config::run`]
    /// applies).
    ///
    /// ```
    /// assert_eq!(graceful::Config::new().get_drain_delay(), std::time::Duration::ZERO);
    /// ```
    pub fn get_drain_delay(&self) -> Duration {
        self.drain_delay
    }

    /// Applies `GRACEFUL_TIMEOUT` and `GRACEFUL_DRAIN_DELAY` (and reads
    /// `GRACEFUL_GRACE_PERIOD`), then checks every setting. An
    /// empty (or blank) variable is unset; a malformed or out-of-range value is an error
    /// naming it, never a silent fallback.
    pub(crate) fn with_env_overrides(self) -> Result<Self, String> {
        self.with_overrides(|name| std::env::var_os(name))
    }

    /// Checks every setting as [`with_env_overrides`](Self::with_env_overrides) does, without
    /// the environment: a test's run is what the test says.
    pub(crate) fn checked(self) -> Result<Self, String> {
        self.with_overrides(|_| None)
    }

    fn with_overrides(
        mut self,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, String> {
        let read = |name: &str| -> Result<Option<(Duration, String)>, String> {
            let Some(raw) = lookup(name) else {
                return Ok(None);
            };
            let text = raw
                .to_str()
                .ok_or_else(|| format!("{name} is not valid UTF-8"))?;
            // `GRACEFUL_TIMEOUT=` is how compose files and manifests leave a variable unset.
            if text.trim().is_empty() {
                return Ok(None);
            }
            parse_duration(text)
                .map(|duration| Some((duration, format!("{name}={text}"))))
                .map_err(|error| format!("invalid {name}: {error}"))
        };
        // Where each value comes from, to name it in an error.
        let mut timeout_from = "`timeout` (of #[graceful::main], or Config::timeout)".to_owned();
        let mut drain_delay_from =
            "`drain_delay` (of #[graceful::main], or Config::drain_delay)".to_owned();
        if let Some((timeout, from)) = read(TIMEOUT_ENV)? {
            self.timeout = timeout;
            timeout_from = from;
        }
        if let Some((drain_delay, from)) = read(DRAIN_DELAY_ENV)? {
            self.drain_delay = drain_delay;
            drain_delay_from = from;
        }
        if let Some((grace_period, _)) = read(GRACE_PERIOD_ENV)? {
            self.grace_period = Some(grace_period);
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(format!(
                "{timeout_from} is out of range: the shutdown timeout must be longer than zero and \
                 at most {MAX_TIMEOUT:?} (24h), got {:?}",
                self.timeout
            ));
        }
        if self.drain_delay >= self.timeout {
            return Err(format!(
                "the drain delay ({:?}, from {drain_delay_from}) must be shorter than the shutdown \
                 timeout ({:?}, from {timeout_from}), which bounds the whole sequence; check \
                 {DRAIN_DELAY_ENV} and {TIMEOUT_ENV}",
                self.drain_delay, self.timeout
            ));
        }
        if let Some(threads) = self.worker_threads
            && !(1..=MAX_WORKER_THREADS).contains(&threads)
        {
            return Err(format!(
                "`worker_threads` (of #[graceful::main], or Config::worker_threads) is out of \
                 range: it must be from 1 to {MAX_WORKER_THREADS}, got {threads}"
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.into())
        }
    }

    #[test]
    fn overrides_apply_in_the_attribute_syntax() {
        let config = Config::new()
            .with_overrides(env(&[(TIMEOUT_ENV, "25s"), (DRAIN_DELAY_ENV, "1500ms")]))
            .unwrap();
        assert_eq!(config.timeout, Duration::from_secs(25));
        assert_eq!(config.drain_delay, Duration::from_millis(1500));
    }

    #[test]
    fn the_grace_period_is_read_and_a_bad_one_named() {
        let config = Config::new()
            .with_overrides(env(&[(GRACE_PERIOD_ENV, "45s")]))
            .unwrap();
        assert_eq!(config.grace_period, Some(Duration::from_secs(45)));
        let error = Config::new()
            .with_overrides(env(&[(GRACE_PERIOD_ENV, "30")]))
            .unwrap_err();
        assert!(error.contains("invalid GRACEFUL_GRACE_PERIOD"), "{error}");
    }

    #[test]
    fn an_empty_override_is_unset() {
        let config = Config::new()
            .timeout(Duration::from_secs(7))
            .with_overrides(env(&[(TIMEOUT_ENV, ""), (DRAIN_DELAY_ENV, "  ")]))
            .unwrap();
        assert_eq!(config.timeout, Duration::from_secs(7));
        assert_eq!(config.drain_delay, Duration::ZERO);
    }

    #[test]
    fn a_malformed_override_names_the_variable() {
        let error = Config::new()
            .with_overrides(env(&[(TIMEOUT_ENV, "soon")]))
            .unwrap_err();
        assert!(
            error.starts_with("invalid GRACEFUL_TIMEOUT: `soon`"),
            "{error}"
        );
    }

    #[test]
    fn a_drain_delay_that_leaves_no_time_to_drain_is_refused() {
        let error = Config::new()
            .with_overrides(env(&[(TIMEOUT_ENV, "5s"), (DRAIN_DELAY_ENV, "5s")]))
            .unwrap_err();
        assert!(
            error.starts_with("the drain delay (5s, from GRACEFUL_DRAIN_DELAY=5s) must be shorter"),
            "{error}"
        );
    }

    #[test]
    fn an_absurd_timeout_is_refused_with_its_source_and_the_range() {
        let error = Config::new()
            .with_overrides(env(&[(TIMEOUT_ENV, "300000000000y")]))
            .unwrap_err();
        assert!(
            error.starts_with("GRACEFUL_TIMEOUT=300000000000y is out of range"),
            "{error}"
        );
        assert!(error.contains("at most 86400s (24h)"), "{error}");
        let error = Config::new()
            .timeout(Duration::MAX)
            .with_overrides(env(&[]))
            .unwrap_err();
        assert!(
            error.starts_with("`timeout` (of #[graceful::main]"),
            "{error}"
        );
        let error = Config::new()
            .timeout(Duration::ZERO)
            .with_overrides(env(&[]))
            .unwrap_err();
        assert!(error.contains("longer than zero"), "{error}");
        assert!(
            Config::new()
                .timeout(MAX_TIMEOUT)
                .drain_delay(MAX_TIMEOUT - Duration::from_secs(1))
                .with_overrides(env(&[]))
                .is_ok()
        );
    }

    #[test]
    fn a_worker_thread_count_out_of_range_is_refused() {
        for threads in [0, MAX_WORKER_THREADS + 1, usize::MAX] {
            let error = Config::new()
                .worker_threads(threads)
                .with_overrides(env(&[]))
                .unwrap_err();
            assert!(error.contains("from 1 to 4096"), "{error}");
        }
    }

    #[test]
    fn absent_variables_keep_the_configured_values() {
        let config = Config::new()
            .timeout(Duration::from_secs(7))
            .with_overrides(env(&[]))
            .unwrap();
        assert_eq!(config.timeout, Duration::from_secs(7));
    }
}
