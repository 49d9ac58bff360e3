//! The resources registered so far, each with its close, and the start of their teardown.
//!
//! Resources close after the drain, in descending `(stage, order)`: a writer with a higher
//! order is flushed before the connection it writes to closes. Equal keys close concurrently.
//! Each close runs under its own `timeout`, off the runtime's workers (see `teardown`), so one
//! that fails, panics, hangs or blocks its thread is reported and the next group still closes
//! (OTP semantics, not "skip the rest").

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::standby::Standby;
use super::teardown::{self, CloseFn, Closer, Entry};
use super::{Resource, ResourceSpec};
use crate::budget::{self, DEFAULT_CLOSE_RESERVE};
use crate::log::Log;
use crate::report::{ResourceOutcome, ResourceReport};
use crate::sync::lock;
use crate::{Config, Outcome};

/// `entries` as the groups of their teardown: descending keys, equal keys together, in reverse
/// creation within a key.
fn in_closing_order(mut entries: Vec<Entry>) -> teardown::Groups {
    // Stable sort, then reversed: descending keys, and equal keys in reverse creation.
    entries.sort_by_key(|entry| entry.key);
    entries.reverse();
    let mut groups = teardown::Groups::new();
    let mut entries = entries.into_iter().peekable();
    while let Some(first) = entries.next() {
        let mut group = vec![first];
        while let Some(next) = entries.next_if(|next| next.key == group[0].key) {
            group.push(next);
        }
        groups.push_back(group);
    }
    groups
}

/// A telemetry resource's `flush_now`, bound to its value.
pub(crate) type Flusher = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct Resources {
    /// The budgets are checked against its timeout and drain delay as resources register.
    config: Config,
    log: Log,
    entries: Mutex<Vec<Entry>>,
    /// The resources that carry telemetry: closed last, after the report is logged.
    telemetry: Mutex<Vec<Entry>>,
    /// What each telemetry resource flushes when the process must end at once.
    flushers: Mutex<Vec<Flusher>>,
    /// The group closing now, for the watchdog's message if a close blocks past the deadline.
    closing: Arc<Mutex<Vec<&'static str>>>,
    /// What a teardown dropped half-way had done, and had left (see [`abandon`](Self::abandon)).
    abandoned: Arc<Mutex<Vec<ResourceReport>>>,
    /// Whether the startup warning about budgets past what the drain can give was logged.
    warned: AtomicBool,
    /// The thread the first close will run on, made as a process's run starts.
    standby: Standby,
}

/// Lets the prepared closer's thread go when dropped (see [`Resources::prepare_closer`]).
pub(crate) struct PreparedCloser<'a>(&'a Standby);

impl Drop for PreparedCloser<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Resources {
    pub(crate) fn new(config: Config, log: Log) -> Self {
        Resources {
            config,
            log,
            entries: Mutex::default(),
            telemetry: Mutex::default(),
            flushers: Mutex::default(),
            closing: Arc::default(),
            abandoned: Arc::default(),
            warned: AtomicBool::new(false),
            standby: Standby::default(),
        }
    }

    /// Registers `value` for the teardown, which calls `close` with it; returns it shared. A
    /// telemetry resource's `flush_now` is called if the process must end at once.
    pub(crate) fn register<T, C, Fut>(
        &self,
        spec: ResourceSpec,
        value: T,
        close: C,
        flush_now: Option<fn(&T)>,
    ) -> Resource<T>
    where
        T: Send + Sync + 'static,
        C: FnOnce(Arc<T>) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome,
    {
        let value = Arc::new(value);
        let for_close = value.clone();
        let (name, order) = (spec.name, spec.order);
        self.log.event(move || {
            tracing::info!(target: "graceful", resource = name, order, "opened resource `{name}`");
        });
        if let Some(flush_now) = flush_now.filter(|_| spec.telemetry) {
            let for_flush = value.clone();
            lock(&self.flushers).push(Arc::new(move || flush_now(&for_flush)));
        }
        let close: CloseFn =
            Box::new(move || Box::pin(async move { close(for_close).await.into_result() }));
        if let Some(warning) = self.push(spec, close) {
            // On stderr too without a subscriber: a budget that cannot hold is worth seeing.
            self.log.announce(tracing::Level::WARN, None, warning);
        }
        Resource::from(value)
    }

    /// Adds a close to the teardown. Returns a warning, the first time the close budgets
    /// exceed what the drain can leave them (see `budget`).
    fn push(&self, spec: ResourceSpec, close: CloseFn) -> Option<String> {
        let reserve = {
            let mut entries = lock(&self.entries);
            let mut telemetry = lock(&self.telemetry);
            let list = if spec.telemetry {
                &mut *telemetry
            } else {
                &mut *entries
            };
            // Without an explicit order, each resource is its own group, in creation order.
            let order = spec.order.unwrap_or(list.len() as i64);
            list.push(Entry {
                name: spec.name,
                key: (spec.stage, order),
                timeout: spec.timeout,
                close,
            });
            reserve(&entries) + reserve(&telemetry)
        };
        budget::warning(&self.config, reserve)
            .filter(|_| !self.warned.swap(true, Ordering::Relaxed))
    }

    /// Time the teardown may need: per group, the longest close budget, summed. The drain is
    /// cut this much before the deadline (see `budget`), so that a hung task cannot eat it.
    pub(crate) fn reserved(&self) -> Duration {
        reserve(&lock(&self.entries)) + reserve(&lock(&self.telemetry))
    }

    /// Makes the thread the first close will run on, ahead of the close (a process's run,
    /// whose closes always run off the runtime; see `standby`). The thread is let go, if no
    /// close took it, when the guard is dropped: the run's end, or its unwinding, which must
    /// not leave the runtime's drop waiting for a thread blocked on its channel.
    pub(crate) fn prepare_closer(&self) -> PreparedCloser<'_> {
        self.standby.start();
        PreparedCloser(&self.standby)
    }

    /// Closes every resource but those that carry telemetry, group by group, within
    /// `deadline`.
    pub(crate) async fn close_all(&self, deadline: Instant, closer: Closer) -> Vec<ResourceReport> {
        let entries = std::mem::take(&mut *lock(&self.entries));
        self.close_groups(entries, deadline, closer).await
    }

    /// Closes the resources that carry telemetry, within `deadline`: after the report is
    /// logged, so that they carry it.
    pub(crate) async fn close_telemetry(
        &self,
        deadline: Instant,
        closer: Closer,
    ) -> Vec<ResourceReport> {
        let entries = std::mem::take(&mut *lock(&self.telemetry));
        // Most services have none: no closer thread for nothing.
        let reports = match entries.is_empty() {
            true => Vec::new(),
            false => self.close_groups(entries, deadline, closer).await,
        };
        lock(&self.flushers).clear();
        reports
    }

    /// Whether any resource carries telemetry.
    pub(crate) fn has_telemetry(&self) -> bool {
        !lock(&self.telemetry).is_empty()
    }

    /// What the telemetry resources flush when the process must end at once.
    pub(crate) fn flushers(&self) -> Vec<Flusher> {
        lock(&self.flushers).clone()
    }

    async fn close_groups(
        &self,
        entries: Vec<Entry>,
        deadline: Instant,
        closer: Closer,
    ) -> Vec<ResourceReport> {
        let groups = in_closing_order(entries);
        let (closing, abandoned) = (self.closing.clone(), self.abandoned.clone());
        let log = &self.log;
        teardown::close_all(
            groups,
            deadline,
            closer,
            &self.standby,
            log,
            closing,
            abandoned,
        )
        .await
    }

    /// The end of a test's run that a second signal forced: each resource in closing order,
    /// those closed before it with their outcome, the others (the one closing then included)
    /// [`Abandoned`](crate::ResourceOutcome::Abandoned).
    pub(crate) fn abandon(&self) -> Vec<ResourceReport> {
        let mut reports = std::mem::take(&mut *lock(&self.abandoned));
        let left = std::mem::take(&mut *lock(&self.entries));
        let telemetry = std::mem::take(&mut *lock(&self.telemetry));
        for entry in in_closing_order(left)
            .into_iter()
            .chain(in_closing_order(telemetry))
            .flatten()
        {
            reports.push(ResourceReport::new(
                entry.name,
                entry.key.1,
                ResourceOutcome::Abandoned,
                Duration::ZERO,
            ));
        }
        reports
    }

    /// The names of the resources closing now.
    pub(crate) fn closing(&self) -> Vec<&'static str> {
        lock(&self.closing).clone()
    }
}

/// Per group of equal key, the longest budget (`DEFAULT_CLOSE_RESERVE` without a `timeout`),
/// summed.
fn reserve(entries: &[Entry]) -> Duration {
    let mut keys: Vec<_> = entries.iter().map(|entry| entry.key).collect();
    keys.sort();
    keys.dedup();
    keys.iter()
        .map(|key| {
            entries
                .iter()
                .filter(|entry| entry.key == *key)
                .map(|entry| entry.timeout.unwrap_or(DEFAULT_CLOSE_RESERVE))
                .max()
                .unwrap_or_default()
        })
        .sum()
}
