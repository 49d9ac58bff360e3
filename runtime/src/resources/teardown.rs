//! The closes, run off the runtime's worker threads, so that one that blocks its thread cannot
//! stop the runtime's timers (its own timeout among them) and the next group still closes, on
//! a runtime of one worker or on the current-thread scheduler.
//!
//! One closer thread (tokio's blocking pool, driving the closes with `Handle::block_on`) takes
//! the groups in turn: a close that does not block costs no thread hand-off of its own. The
//! lifecycle waits for the closer to finish, and wakes only if the group closing has outlived
//! its budget: then that closer is blocked, its group is reported as timed out, and a new
//! closer takes the groups left (the old one, should it ever wake, takes nothing more). The
//! closes of a group of equal order run side by side, each on a thread of its own, so that
//! one that blocks does not hold up its siblings.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

use super::Stage;
use super::standby::Standby;
use crate::BoxError;
use crate::catch_unwind::{CatchUnwind, panic_message};
use crate::log::Log;
use crate::report::{ResourceOutcome, ResourceReport};
use crate::sync::lock;
use crate::tasks::close_scope;

/// How long past a group's budget the lifecycle waits for the closer's own report of it
/// before it takes the closer for blocked: long enough for a loaded machine.
const SLACK: Duration = Duration::from_millis(100);

pub(super) type CloseFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
pub(super) type CloseFn = Box<dyn FnOnce() -> CloseFuture + Send>;

/// A resource to close: its name, where it closes in the sequence, its budget and its close.
pub(super) struct Entry {
    pub(super) name: &'static str,
    /// Descending keys close first; equal keys close together.
    pub(super) key: (Stage, i64),
    pub(super) timeout: Option<Duration>,
    pub(super) close: CloseFn,
}

/// The groups, in closing order, each of equal key.
pub(super) type Groups = VecDeque<Vec<Entry>>;

/// Where the closes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closer {
    /// On threads of tokio's blocking pool, so that one that blocks its thread stops nothing
    /// else: always, but in a test whose clock is paused.
    OffTheRuntime,
    /// As tasks of the runtime: under a paused clock, which tokio holds still while a blocking
    /// thread runs. A close that blocks its thread then blocks a runtime thread.
    OnTheRuntime,
}

struct Teardown {
    deadline: Instant,
    closer: Closer,
    /// Cancelled if the teardown is dropped before its end: the closes stop at their next
    /// `.await`, wherever they run.
    stopped: CancellationToken,
    log: Log,
    /// The names closing now, for the watchdog's message.
    closing: Arc<Mutex<Vec<&'static str>>>,
    sequence: Mutex<Sequence>,
}

struct Sequence {
    groups: Groups,
    /// The closer that may take the next group; earlier ones were given up on.
    closer: u32,
    current: Option<Current>,
    reports: Vec<ResourceReport>,
}

/// The group closing now.
struct Current {
    number: u64,
    started: Instant,
    budget: Instant,
    names: Vec<(&'static str, i64)>,
}

/// Closes every group in turn within `deadline`; returns a report per resource, in order.
pub(super) async fn close_all(
    groups: Groups,
    deadline: Instant,
    closer: Closer,
    standby: &Standby,
    log: &Log,
    closing: Arc<Mutex<Vec<&'static str>>>,
    abandoned: Arc<Mutex<Vec<ResourceReport>>>,
) -> Vec<ResourceReport> {
    let teardown = Arc::new(Teardown {
        deadline,
        closer,
        stopped: CancellationToken::new(),
        log: log.clone(),
        closing,
        sequence: Mutex::new(Sequence {
            groups,
            closer: 0,
            current: None,
            reports: Vec::new(),
        }),
    });
    // Dropped half-way (the end of a test's run forced by a second signal), the teardown
    // takes no further group, as a process would have ended there, and leaves what it did in
    // `abandoned`.
    let mut stop = StopOnDrop {
        teardown: teardown.clone(),
        abandoned,
        done: false,
    };
    let mut closer = start_first_closer(&teardown, standby);
    loop {
        let check = teardown.next_check();
        tokio::select! {
            _ = &mut closer => match teardown.after_closer_ended() {
                // It ended in the middle (a bug of ours): the rest goes to a new one.
                Some(next) => closer = start_closer(&teardown, next),
                None => break,
            },
            () = sleep_until(check) => {
                match teardown.give_up_if_blocked() {
                    GaveUp::No => {}
                    GaveUp::Yes { next } => closer = start_closer(&teardown, next),
                    GaveUp::YesAndDone => break,
                }
            }
        }
    }
    stop.done = true;
    lock(&teardown.closing).clear();
    std::mem::take(&mut lock(&teardown.sequence).reports)
}

/// Stops the teardown if it is dropped before its end: no closer takes another group, and the
/// closes running stop at their next `.await` (one that blocks its thread cannot be stopped).
/// What closed is kept in `abandoned`, followed by the rest, abandoned.
struct StopOnDrop {
    teardown: Arc<Teardown>,
    abandoned: Arc<Mutex<Vec<ResourceReport>>>,
    /// Whether the teardown reached its end.
    done: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // At its end, a close given up on (blocking its thread past its budget) is left to
        // finish if it ever can.
        if self.done {
            return;
        }
        let mut sequence = lock(&self.teardown.sequence);
        sequence.closer = sequence.closer.wrapping_add(1);
        let mut reports = std::mem::take(&mut sequence.reports);
        if let Some(current) = sequence.current.take() {
            for (name, order) in current.names {
                reports.push(ResourceReport::new(
                    name,
                    order,
                    ResourceOutcome::Abandoned,
                    current.started.elapsed(),
                ));
            }
        }
        for entry in std::mem::take(&mut sequence.groups).into_iter().flatten() {
            reports.push(ResourceReport::new(
                entry.name,
                entry.key.1,
                ResourceOutcome::Abandoned,
                Duration::ZERO,
            ));
        }
        drop(sequence);
        self.teardown.stopped.cancel();
        lock(&self.abandoned).extend(reports);
    }
}

/// The first closer, on the thread made ahead for it if there is one (off the runtime).
fn start_first_closer(teardown: &Arc<Teardown>, standby: &Standby) -> JoinHandle<Option<()>> {
    if teardown.closer != Closer::OffTheRuntime {
        return start_closer(teardown, 0);
    }
    let close = close_scope::enter(teardown.clone().closer(0));
    let close = teardown.stopped.clone().run_until_cancelled_owned(close);
    let runtime = Handle::current();
    match standby.run(Box::new(move || runtime.block_on(close))) {
        Ok(closing) => closing,
        Err(close) => tokio::task::spawn_blocking(close),
    }
}

fn start_closer(teardown: &Arc<Teardown>, id: u32) -> JoinHandle<Option<()>> {
    // What a close spawns is taken by the task group, which takes nothing else now.
    let close = close_scope::enter(teardown.clone().closer(id));
    off_or_on(teardown.closer, &teardown.stopped, close)
}

/// Runs `close` as `closer` says, until `stopped` (then `None`).
fn off_or_on<F>(
    closer: Closer,
    stopped: &CancellationToken,
    close: F,
) -> JoinHandle<Option<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let close = stopped.clone().run_until_cancelled_owned(close);
    match closer {
        Closer::OffTheRuntime => {
            let runtime = Handle::current();
            tokio::task::spawn_blocking(move || runtime.block_on(close))
        }
        Closer::OnTheRuntime => tokio::spawn(close),
    }
}

enum GaveUp {
    No,
    Yes { next: u32 },
    YesAndDone,
}

impl Teardown {
    /// When the lifecycle looks again whether the closer is blocked: past the budget of the
    /// group closing now, or, between groups, past the shortest budget the next could have.
    fn next_check(&self) -> Instant {
        let sequence = lock(&self.sequence);
        let now = Instant::now();
        let budget = match &sequence.current {
            Some(current) if current.names.len() == 1 => current.budget,
            Some(_) => self.deadline,
            None => sequence
                .groups
                .iter()
                .map(|group| budget(group, now, self.deadline))
                .min()
                .unwrap_or(self.deadline),
        };
        budget + SLACK
    }

    /// A closer has ended: `None` if the teardown is done, else the closer to start for what is
    /// left (the group it was closing is reported as panicked).
    fn after_closer_ended(&self) -> Option<u32> {
        let mut sequence = lock(&self.sequence);
        if let Some(current) = sequence.current.take() {
            for (name, order) in current.names {
                let report = ResourceReport::new(
                    name,
                    order,
                    ResourceOutcome::Panicked("the teardown's closer thread stopped".to_owned()),
                    current.started.elapsed(),
                );
                report.log(&self.log);
                sequence.reports.push(report);
            }
        } else if sequence.groups.is_empty() {
            return None;
        }
        sequence.closer += 1;
        (!sequence.groups.is_empty()).then_some(sequence.closer)
    }

    /// Gives up on the closer if the lone close it runs has outlived its budget: it blocks the
    /// closer's thread. (For a group of several, the closer only waits, each close on a thread
    /// of its own, and reports each at its budget.) Past the deadline with no group closing,
    /// the groups left are not closed.
    fn give_up_if_blocked(&self) -> GaveUp {
        let mut sequence = lock(&self.sequence);
        let now = Instant::now();
        if sequence.current.is_none() && now >= self.deadline + SLACK {
            // No closer took them (the blocking pool is full, say): not closed.
            let groups = std::mem::take(&mut sequence.groups);
            for entry in groups.into_iter().flatten() {
                sequence.reports.push(ResourceReport::new(
                    entry.name,
                    entry.key.1,
                    ResourceOutcome::NotClosed,
                    Duration::ZERO,
                ));
            }
            sequence.closer += 1;
            return GaveUp::YesAndDone;
        }
        // A group of several is given up on only past the deadline: its closer only waits,
        // and must have reported by then.
        let blocked = sequence.current.as_ref().is_some_and(|current| {
            let budget = match current.names.len() {
                1 => current.budget,
                _ => self.deadline,
            };
            now >= budget + SLACK
        });
        if !blocked {
            return GaveUp::No;
        }
        let current = sequence.current.take().expect("checked above");
        for (name, order) in current.names {
            self.log.event(move || {
                tracing::error!(
                    target: "graceful", resource = name,
                    "the close of `{name}` is blocking its thread past its budget: left running"
                );
            });
            let report = ResourceReport::new(
                name,
                order,
                ResourceOutcome::TimedOut(current.budget - current.started),
                current.started.elapsed(),
            );
            report.log(&self.log);
            sequence.reports.push(report);
        }
        sequence.closer += 1;
        match sequence.groups.is_empty() {
            true => GaveUp::YesAndDone,
            false => GaveUp::Yes {
                next: sequence.closer,
            },
        }
    }

    /// Takes the groups in turn until none is left, or until it has been given up on.
    async fn closer(self: Arc<Self>, id: u32) {
        let mut number = 0;
        loop {
            let (group, started) = {
                let mut sequence = lock(&self.sequence);
                if sequence.closer != id {
                    return;
                }
                let Some(group) = sequence.groups.pop_front() else {
                    return;
                };
                let started = Instant::now();
                if started >= self.deadline {
                    for entry in group {
                        let name = entry.name;
                        self.log.event(move || {
                            tracing::error!(target: "graceful", resource = name, "not closed: the shutdown deadline has passed");
                        });
                        sequence.reports.push(ResourceReport::new(
                            entry.name,
                            entry.key.1,
                            ResourceOutcome::NotClosed,
                            Duration::ZERO,
                        ));
                    }
                    continue;
                }
                number += 1;
                sequence.current = Some(Current {
                    number,
                    started,
                    budget: budget(&group, started, self.deadline),
                    names: group
                        .iter()
                        .map(|entry| (entry.name, entry.key.1))
                        .collect(),
                });
                *lock(&self.closing) = group.iter().map(|entry| entry.name).collect();
                (group, started)
            };
            let reports =
                close_group(group, started, self.deadline, self.closer, &self.stopped).await;
            let mut sequence = lock(&self.sequence);
            let still_ours = sequence.closer == id
                && sequence
                    .current
                    .as_ref()
                    .is_some_and(|current| current.number == number);
            if !still_ours {
                // Given up on while this group blocked it: already reported.
                return;
            }
            sequence.current = None;
            for report in &reports {
                report.log(&self.log);
            }
            sequence.reports.extend(reports);
        }
    }
}

/// The latest any close of `group` may end, started at `started`.
fn budget(group: &[Entry], started: Instant, deadline: Instant) -> Instant {
    group
        .iter()
        .map(|entry| entry_budget(entry, started, deadline))
        .max()
        .unwrap_or(deadline)
}

fn entry_budget(entry: &Entry, started: Instant, deadline: Instant) -> Instant {
    entry
        .timeout
        .map_or(deadline, |timeout| deadline.min(started + timeout))
}

/// Closes one group: a lone close here, on the closer's thread; closes side by side each on a
/// thread of its own, so that one that blocks holds up none of the others.
async fn close_group(
    group: Vec<Entry>,
    started: Instant,
    deadline: Instant,
    closer: Closer,
    stopped: &CancellationToken,
) -> Vec<ResourceReport> {
    if group.len() == 1 {
        let entry = group.into_iter().next().expect("one entry");
        let budget = entry_budget(&entry, started, deadline);
        let (name, order) = (entry.name, entry.key.1);
        let (outcome, elapsed) = close_one(entry, started, budget).await;
        return vec![ResourceReport::new(name, order, outcome, elapsed)];
    }
    let closing: Vec<_> = group
        .into_iter()
        .map(|entry| {
            let budget = entry_budget(&entry, started, deadline);
            let (name, order) = (entry.name, entry.key.1);
            let task = off_or_on(
                closer,
                stopped,
                close_scope::enter(close_one(entry, started, budget)),
            );
            (name, order, budget, task)
        })
        .collect();
    let mut reports = Vec::with_capacity(closing.len());
    for (name, order, budget, task) in closing {
        // A close that blocks its thread never reaches its own timeout: this one bounds it.
        let (outcome, elapsed) = match timeout_at(budget, task).await {
            Ok(Ok(Some(done))) => done,
            Ok(Ok(None)) => (ResourceOutcome::Abandoned, started.elapsed()),
            Ok(Err(error)) => match error.try_into_panic() {
                Ok(panic) => (
                    ResourceOutcome::Panicked(panic_message(panic.as_ref())),
                    started.elapsed(),
                ),
                Err(_) => (
                    ResourceOutcome::TimedOut(budget - started),
                    started.elapsed(),
                ),
            },
            Err(_) => (
                ResourceOutcome::TimedOut(budget - started),
                started.elapsed(),
            ),
        };
        reports.push(ResourceReport::new(name, order, outcome, elapsed));
    }
    reports
}

/// One close under its budget. Everything of the close's own code runs under the catcher: its
/// poll, its error's rendering and drop, and its drop when cut at the budget.
async fn close_one(entry: Entry, started: Instant, budget: Instant) -> (ResourceOutcome, Duration) {
    let close = (entry.close)();
    let outcome = CatchUnwind::new(async move {
        match timeout_at(budget, close).await {
            Ok(Ok(())) => ResourceOutcome::Closed,
            Ok(Err(error)) => ResourceOutcome::Failed(crate::error::render(&*error)),
            Err(_) => ResourceOutcome::TimedOut(budget - started),
        }
    })
    .await
    .unwrap_or_else(ResourceOutcome::Panicked);
    (outcome, started.elapsed())
}
