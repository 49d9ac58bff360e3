//! The resources of a service and their teardown.
//!
//! Resources close after the drain, in descending `(stage, order)`: a writer with a higher
//! order is flushed before the connection it writes to closes. Equal keys close concurrently.
//! Each close runs under its own `timeout`, off the runtime's workers (see `teardown`), so one
//! that fails, panics, hangs or blocks its thread is reported and the next group still closes
//! (OTP semantics, not "skip the rest").

mod teardown;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::budget::DEFAULT_CLOSE_RESERVE;
use crate::output::Log;
use crate::report::ResourceReport;
use crate::sync::lock;
use crate::{BoxError, Config, budget};

type CloseFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
type CloseFn = Box<dyn FnOnce() -> CloseFuture + Send>;

/// When a resource was created relative to the others: item resources (declared with
/// `#[graceful::resource]` on a function) open before those declared in `main`'s body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Opened before `main`'s body.
    Item = 0,
    /// Opened by a `let` in `main`'s body.
    Body = 1,
}

/// How a resource is named and ordered, as written in its attribute.
#[derive(Clone, Debug)]
pub struct ResourceSpec {
    /// The name in logs and the report (the binding's name unless `name = "..."`).
    pub name: &'static str,
    /// `order = N`; `None` means "in creation order".
    pub order: Option<i64>,
    /// `timeout = "..."`: the longest its close may take.
    pub timeout: Option<Duration>,
    /// Where it was declared.
    pub stage: Stage,
}

struct Entry {
    name: &'static str,
    key: (Stage, i64),
    timeout: Option<Duration>,
    close: CloseFn,
}

#[derive(Default)]
pub(crate) struct Resources {
    entries: Mutex<Vec<Entry>>,
    /// The group closing now, for the watchdog's message if a close blocks past the deadline.
    closing: Arc<Mutex<Vec<&'static str>>>,
    /// Whether the startup warning about budgets past what the drain can give was logged.
    warned: AtomicBool,
}

impl Resources {
    /// Registers a resource for the teardown. Returns a warning, the first time the close
    /// budgets exceed what the drain can leave them (see `budget`).
    pub(crate) fn push(
        &self,
        spec: ResourceSpec,
        close: CloseFn,
        config: &Config,
    ) -> Option<String> {
        let reserve = {
            let mut entries = lock(&self.entries);
            // Without an explicit order, each resource is its own group, in creation order.
            let order = spec.order.unwrap_or(entries.len() as i64);
            entries.push(Entry {
                name: spec.name,
                key: (spec.stage, order),
                timeout: spec.timeout,
                close,
            });
            reserve(&entries)
        };
        budget::warning(config, reserve).filter(|_| !self.warned.swap(true, Ordering::Relaxed))
    }

    /// Time the teardown may need: per group, the longest close budget, summed. The drain is
    /// cut this much before the deadline (see `budget`), so that a hung task cannot eat it.
    pub(crate) fn reserved(&self) -> Duration {
        reserve(&lock(&self.entries))
    }

    /// Closes every resource, group by group, within `deadline`.
    pub(crate) async fn close_all(&self, deadline: Instant, log: &Log) -> Vec<ResourceReport> {
        let mut entries = std::mem::take(&mut *lock(&self.entries));
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
        teardown::close_all(groups, deadline, log, self.closing.clone()).await
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
