//! The settings of a service's lifecycle, and the operator's overrides from the environment.

use std::time::Duration;

use crate::duration::parse_duration;
use crate::items::Dependency;

/// Environment variable that overrides [`Config::timeout`] at run time.
pub const TIMEOUT_ENV: &str = "GRACEFUL_TIMEOUT";
/// Environment variable that overrides [`Config::drain_delay`] at run time.
pub const DRAIN_DELAY_ENV: &str = "GRACEFUL_DRAIN_DELAY";

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
/// use graceful_runtime::{Config, Flavor};
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
    /// `main`'s parameters, checked at startup against the item resources.
    pub(crate) main_needs: &'static [Dependency],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: Duration::from_secs(30),
            drain_delay: Duration::ZERO,
            flavor: Flavor::MultiThread,
            worker_threads: None,
            main_needs: &[],
        }
    }
}

impl Config {
    /// The defaults: `timeout` 30 s, no drain delay, the multi-thread scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds the whole shutdown sequence, from its trigger to the last resource closed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the service keeps serving, not ready, before it stops accepting work: the time
    /// load balancers need to notice (the in-process form of a Kubernetes `preStop: sleep`).
    pub fn drain_delay(mut self, drain_delay: Duration) -> Self {
        self.drain_delay = drain_delay;
        self
    }

    /// The Tokio scheduler.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// Worker threads of the multi-thread scheduler (default: one per core).
    pub fn worker_threads(mut self, worker_threads: usize) -> Self {
        self.worker_threads = Some(worker_threads);
        self
    }

    /// The configured deadline of the shutdown sequence.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The configured drain delay.
    pub fn get_drain_delay(&self) -> Duration {
        self.drain_delay
    }

    /// Applies `GRACEFUL_TIMEOUT` and `GRACEFUL_DRAIN_DELAY`. A malformed value is an error
    /// naming the variable, never a silent fallback to the default.
    pub(crate) fn with_env_overrides(self) -> Result<Self, String> {
        self.with_overrides(|name| std::env::var_os(name))
    }

    fn with_overrides(
        mut self,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, String> {
        let read = |name: &str| -> Result<Option<Duration>, String> {
            let Some(raw) = lookup(name) else {
                return Ok(None);
            };
            let text = raw
                .to_str()
                .ok_or_else(|| format!("{name} is not valid UTF-8"))?;
            parse_duration(text)
                .map(Some)
                .map_err(|error| format!("invalid {name}: {error}"))
        };
        if let Some(timeout) = read(TIMEOUT_ENV)? {
            self.timeout = timeout;
        }
        if let Some(drain_delay) = read(DRAIN_DELAY_ENV)? {
            self.drain_delay = drain_delay;
        }
        if self.timeout.is_zero() {
            return Err(format!(
                "the shutdown timeout must be longer than zero ({TIMEOUT_ENV})"
            ));
        }
        if self.drain_delay >= self.timeout {
            return Err(format!(
                "the drain delay ({:?}) must be shorter than the shutdown timeout ({:?}), which \
                 bounds the whole sequence; check {DRAIN_DELAY_ENV} and {TIMEOUT_ENV}",
                self.drain_delay, self.timeout
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
            error.starts_with("the drain delay (5s) must be shorter"),
            "{error}"
        );
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
