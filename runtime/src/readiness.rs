//! Readiness: healthy until shutdown begins, for `/readyz` handlers and load balancers.

use std::fmt;
use std::sync::Arc;

use crate::trigger::Trigger;

/// Whether the service should receive new traffic: `true` until shutdown begins, `false` from
/// that moment on (before the drain delay, so load balancers can notice in time).
///
/// Checking it is a single atomic load; call it on every request.
///
/// ```
/// # graceful::Config::new().run(|shutdown| async move {
/// let readiness = shutdown.readiness();
/// assert!(readiness.is_ready());
/// shutdown.trigger("test");
/// assert!(!readiness.is_ready());
/// # });
/// ```
#[derive(Clone)]
pub struct Readiness {
    trigger: Arc<Trigger>,
}

impl Readiness {
    pub(crate) fn new(trigger: Arc<Trigger>) -> Self {
        Readiness { trigger }
    }

    /// `true` until shutdown begins.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// let readiness = shutdown.readiness();
    /// shutdown.trigger("deploy");
    /// assert!(!readiness.is_ready()); // `/readyz` answers 503 from here on
    /// # });
    /// ```
    #[inline]
    pub fn is_ready(&self) -> bool {
        !self.trigger.is_triggered()
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("ready", &self.is_ready())
            .finish()
    }
}
