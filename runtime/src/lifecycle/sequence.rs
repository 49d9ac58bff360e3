//! The shutdown sequence of the README, one function per phase:
//! trigger → readiness fails → drain delay → cancel → drain → close resources → report.
//!
//! The resources declared on functions open first, as the start of the body: a signal while
//! they open is handled like one during `main`'s body.
//!
//! `main`'s body is driven alongside every phase rather than spawned: it need not be `Send`,
//! and it may itself be the server (`axum::serve(..).with_graceful_shutdown(..)`) that drains
//! after the cancel. It is tracked like a task, and dropped at the deadline like a straggler.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout_at};

use super::body::{Body, Kept, MainEnd, MainFn};
use crate::budget::{self, STOP_BUDGET};
use crate::catch_unwind::{CatchUnwind, panic_message};
use crate::exit::OUTPUT_BUDGET;
use crate::in_process::Step;
use crate::items::{self, Dependency, ItemResource, Provides};
use crate::latch::Latch;
use crate::log;
use crate::progress::Progress;
use crate::report::{Phase, ResourceOutcome, ResourceReport};
use crate::resources::Closer;
use crate::state::State;
use crate::tasks::Accepting;
use crate::watchdog::with_grace;
use crate::{Cause, Report, Shutdown};

/// What the run opens before `main`'s body, and what `main` takes.
pub(crate) struct Startup<'p> {
    /// The item resources to open, sorted; or why they cannot be chosen.
    pub(crate) items: Result<Vec<&'static ItemResource>, String>,
    pub(crate) main_needs: &'static [Dependency],
    /// The types a test run supplies itself, in place of their resource functions.
    pub(crate) supplied: &'p [Provides],
}

/// The sequence, from the startup check to the report.
pub(super) async fn run(state: &Arc<State>, startup: Startup<'_>, main: MainFn<'_>) -> Report {
    // Startup: every problem between the item resources is found before any of them opens.
    let checked = startup.items.and_then(|items| {
        items::check(&items, startup.main_needs, startup.supplied).map(|()| items)
    });
    let items = match checked {
        Ok(items) => items,
        Err(problems) => {
            let line = problems.clone();
            state
                .log()
                .event(move || tracing::error!(target: "graceful", "{line}"));
            return Report::failed_start(problems, state.config().timeout);
        }
    };
    // A process's closes run off the runtime: their thread is made now, not at the close. Let
    // go as the run ends, however it ends.
    let _closer = state
        .in_process()
        .is_none()
        .then(|| state.resources().prepare_closer());
    let mut body = start(state, items, main);
    running(state, &mut body).await;

    // 1. Trigger: it has happened. 2. Readiness failed with it: `Readiness` reads the flag
    // that `Trigger::begin` set.
    let triggered = state
        .trigger()
        .triggered()
        .expect("the running phase ends once shutdown has begun");
    let cause = triggered.cause.clone();
    let triggered_at = Instant::from_std(triggered.at);
    let deadline = Instant::from_std(triggered.deadline);
    log_trigger(state, &cause);
    let drain_deadline = deadline - budget::drain_cut(state.config(), state.resources().reserved());
    state.set_drain_deadline(drain_deadline);
    let mut phases = Vec::new();

    // 3. Drain delay: skipped when everything finished by itself, and when the service never
    // started.
    if cause != Cause::Completed && !matches!(cause, Cause::Startup(_)) {
        drain_delay(state, &mut body, triggered_at, drain_deadline).await;
        phases.push(phase(state, "drain delay", triggered_at));
    }

    // 4. Cancel. 5. Drain, then what it aborted stops.
    let drain_started = Instant::now();
    cancel(state);
    let mut stragglers = drain(state, &mut body, drain_deadline).await;
    let stopped = stop_group(state, body, deadline).await;
    let mut unstopped = stopped.unstopped;
    phases.push(phase(state, "drain", drain_started));

    // 6. Close, and what the closes spawned.
    let close_started = Instant::now();
    let (resources, close_panic) = close(state, deadline).await;
    let (late, late_unstopped) = close_tasks(state, deadline, &unstopped).await;
    stragglers.extend(late);
    unstopped.extend(late_unstopped);
    phases.push(phase(state, "close", close_started));

    // 7. Report, logged; then what carries the logs is let go: the resources declared
    // `telemetry` close, then the bindings main kept (a `tracing-appender` guard) drop.
    state.enter(Progress::Finishing);
    let forget_panic = forget_items(state);
    let (tasks, failures) = state.tasks().outcomes();
    let mut report = Report {
        cause,
        main_error: stopped.main_error,
        phases,
        tasks,
        failures,
        stragglers,
        unstopped,
        resources,
        drop_panics: [stopped.body_panic, close_panic, forget_panic]
            .into_iter()
            .flatten()
            .collect(),
        timeout: state.config().timeout,
        elapsed: triggered_at.elapsed(),
        forced: None,
        deadline: Some(triggered.deadline),
        log: state.log().clone(),
    };
    report.log();
    // Written out before what may carry it is let go. Without any, `Report::exit` flushes:
    // a wait for the writer thread here would only lengthen the exit.
    if !stopped.kept.is_empty() || state.resources().has_telemetry() {
        let bound = (std::time::Instant::now() + OUTPUT_BUDGET).min(with_grace(triggered.deadline));
        log::flush(bound);
    }
    let telemetry = state
        .resources()
        .close_telemetry(deadline, closer(state))
        .await;
    let kept_panic = drop_kept(state, stopped.kept);
    after_the_report(&mut report, telemetry, kept_panic);
    report
}

/// Drops what main kept: named by the watchdog, should a `Drop` block.
fn drop_kept(state: &State, kept: Kept<'_>) -> Option<String> {
    if kept.is_empty() {
        return None;
    }
    state.main().dropping_kept(true);
    let panic = kept.drop_now();
    state.main().dropping_kept(false);
    panic
}

/// What failed after the report was logged (a telemetry resource's close, a kept binding's
/// `Drop`) goes into it, and is said in a line of its own with the exit code it makes: the
/// report already logged said what was known then.
fn after_the_report(
    report: &mut Report,
    telemetry: Vec<ResourceReport>,
    kept_panic: Option<String>,
) {
    let was_clean = report.is_clean();
    let mut late: Vec<String> = telemetry
        .iter()
        .filter(|resource| resource.outcome != ResourceOutcome::Closed)
        .map(ToString::to_string)
        .collect();
    late.extend(kept_panic.clone());
    report.resources.extend(telemetry);
    report.drop_panics.extend(kept_panic);
    if late.is_empty() {
        return;
    }
    let code = report.exit_code();
    let then = if was_clean { ", no longer clean" } else { "" };
    let line = format!(
        "after the report: {}; exit code {code}{then}",
        late.join("; ")
    );
    report
        .log
        .event(move || tracing::error!(target: "graceful", exit_code = code, "{line}"));
}

/// Starts `main`'s body: the item resources open first, as part of it, tracked and bounded
/// like it.
fn start<'a, 's>(
    state: &'s Arc<State>,
    items: Vec<&'static ItemResource>,
    main: MainFn<'a>,
) -> Body<'s, 'a, impl Future<Output = MainEnd<'a>> + use<'a>> {
    let shutdown = Shutdown::new(state.clone());
    state.main().running(true);
    Body::new(
        state,
        state.tasks().track(async move {
            if !items::open_all(&shutdown, &items).await {
                return MainEnd {
                    result: Ok(()),
                    kept: Kept::none(),
                };
            }
            // Logged once the resources are open, so that a subscriber installed by one of them
            // (a telemetry resource) shows it.
            log_budget(shutdown.state(), items.len());
            if let Some(in_process) = shutdown.state().in_process() {
                in_process.reach(Step::Running);
            }
            // A panic in main's body is a failure like any other: it must not skip the teardown.
            match CatchUnwind::new(main(shutdown)).await {
                Ok(end) => end,
                Err(message) => MainEnd {
                    result: Err(format!("panicked: {message}")),
                    kept: Kept::none(),
                },
            }
        }),
    )
}

/// The shutdown's budget, as arithmetic, and how it fits the platform's grace period (a
/// warning if it does not): logged once the resources are open, so that a subscriber
/// installed by one of them (a telemetry resource) shows it, and their close budgets count.
fn log_budget(state: &State, resources: usize) {
    let config = state.config();
    let (timeout, drain_delay) = (config.timeout, config.drain_delay);
    let reserve = state.resources().reserved();
    let drain = budget::longest_drain(config, reserve);
    let arithmetic = budget::arithmetic(config, reserve);
    let fit = budget::grace_period_fit(config);
    let fits = match &fit {
        Some(Ok(fits)) => format!("; {fits}"),
        _ => String::new(),
    };
    if let Some(Err(warning)) = fit {
        state.log().announce(tracing::Level::WARN, None, warning);
    }
    state.log().event(move || {
        tracing::info!(
            target: "graceful",
            timeout_ms = timeout.as_millis() as u64,
            drain_delay_ms = drain_delay.as_millis() as u64,
            drain_ms = drain.as_millis() as u64,
            resources,
            "service starting; shutdown budget: {arithmetic}{fits}",
        );
    });
}

/// Running: until the trigger, or until main and every task have finished by themselves.
async fn running<'a, F: Future<Output = MainEnd<'a>>>(state: &State, body: &mut Body<'_, 'a, F>) {
    body.alongside(async {
        tokio::select! {
            () = Latch::wait(state.trigger().triggered_latch().clone()) => {}
            () = state.tasks().wait() => { state.trigger().begin(Cause::Completed); }
        }
    })
    .await;
}

/// The start of shutdown, once the lifecycle has woken to it. (The watchdog thread has
/// already announced a signal, on its own, in case the runtime cannot get here.)
fn log_trigger(state: &State, cause: &Cause) {
    let (timeout, drain_delay) = (state.config().timeout, state.config().drain_delay);
    let (completed, cause) = (*cause == Cause::Completed, cause.to_string());
    state
        .log()
        .event(move || log_trigger_now(completed, &cause, timeout, drain_delay));
}

fn log_trigger_now(completed: bool, cause: &str, timeout: Duration, drain_delay: Duration) {
    if completed {
        // Nothing to worry an operator about: everything finished by itself.
        tracing::info!(target: "graceful", cause = %cause, "shutdown started: closing within {timeout:?}");
    } else {
        tracing::warn!(
            target: "graceful", cause = %cause, timeout_ms = timeout.as_millis() as u64,
            drain_delay_ms = drain_delay.as_millis() as u64,
            "shutdown started: not ready; draining within {timeout:?}"
        );
    }
}

/// Drain delay: not ready, still serving, so load balancers notice. Cut short when nothing is
/// left running.
async fn drain_delay<'a, F: Future<Output = MainEnd<'a>>>(
    state: &State,
    body: &mut Body<'_, 'a, F>,
    triggered_at: Instant,
    drain_deadline: Instant,
) {
    state.enter(Progress::DrainDelay);
    let delay_end = (triggered_at + state.config().drain_delay).min(drain_deadline);
    // Without a delay there is nothing to wait for: even an elapsed timer would only fire at
    // the timer's next tick, up to a millisecond later.
    if delay_end > Instant::now() {
        body.alongside(async {
            tokio::select! {
                () = sleep_until(delay_end) => {}
                () = state.tasks().wait() => {}
            }
        })
        .await;
    }
}

/// Cancel: tasks are asked to stop taking work.
fn cancel(state: &State) {
    state.enter(Progress::Draining);
    state.trigger().cancel();
    state.log().event(|| {
        tracing::info!(target: "graceful", "draining: tasks asked to stop taking work");
    });
}

/// Drain: every task and main's body finish what they took, or are aborted and named at the
/// drain's deadline. Either way the group is closed at the end: a spawn from then
/// on is aborted before it runs. Returns the stragglers.
async fn drain<'a, F: Future<Output = MainEnd<'a>>>(
    state: &State,
    body: &mut Body<'_, 'a, F>,
    drain_deadline: Instant,
) -> Vec<(String, usize)> {
    let drain_started = Instant::now();
    let drained = body
        .alongside(timeout_at(drain_deadline, state.tasks().wait()))
        .await
        .is_ok();
    let aborted = state.tasks().close(Accepting::None);
    if drained {
        let elapsed_ms = drain_started.elapsed().as_millis() as u64;
        state.log().event(move || {
            tracing::info!(target: "graceful", elapsed_ms, "drained");
            for (name, count) in aborted {
                tracing::warn!(target: "graceful", task = %name, count, "spawned as the drain ended: aborted");
            }
        });
        return Vec::new();
    }
    let mut stragglers = aborted;
    if !body.is_done() {
        let opening = state.provided().opening();
        if opening.is_empty() {
            stragglers.insert(0, ("main".to_owned(), 1));
        }
        for name in opening.into_iter().rev() {
            stragglers.insert(0, (format!("{name} (opening)"), 1));
        }
    }
    log_tasks(state, &stragglers, "still running at the deadline: aborted");
    stragglers
}

/// The end of the drain: main's body is dropped if the drain's deadline cut it, and the tasks
/// aborted are waited for, so that none is still in a poll or its `Drop` when the first
/// resource closes. Returns main's error, the panic of its `Drop`, and the tasks that did not
/// stop.
async fn stop_group<'a, F: Future<Output = MainEnd<'a>>>(
    state: &State,
    body: Body<'_, 'a, F>,
    deadline: Instant,
) -> Stopped<'a> {
    state.enter(Progress::Stopping);
    let (main_error, body_panic, kept) = body.finish();
    let stop_by = (Instant::now() + STOP_BUDGET).min(deadline);
    let unstopped = stop(state, stop_by, Tracked::Group).await;
    Stopped {
        main_error,
        body_panic,
        kept,
        unstopped,
    }
}

/// What [`stop_group`] leaves.
struct Stopped<'a> {
    main_error: Option<String>,
    body_panic: Option<String>,
    /// The bindings main kept for the end.
    kept: Kept<'a>,
    unstopped: Vec<(String, usize)>,
}

/// Which tasks [`stop`] waits for.
#[derive(Clone, Copy)]
enum Tracked {
    /// Every task of the group (and main's body).
    Group,
    /// Only those the closes spawned.
    Closes,
}

/// Waits, until `bound` at most, for the tasks aborted to stop: for their futures to be
/// dropped, once the poll they are in has returned and their `Drop` has run. Returns those that
/// have not, by name.
async fn stop(state: &State, bound: Instant, tracked: Tracked) -> Vec<(String, usize)> {
    let stopped = match tracked {
        Tracked::Group => timeout_at(bound, state.tasks().wait_stopped()).await,
        Tracked::Closes => timeout_at(bound, state.tasks().wait_closes()).await,
    };
    if stopped.is_ok() {
        return Vec::new();
    }
    let unstopped = state.tasks().unstopped();
    log_tasks(
        state,
        &unstopped,
        "did not stop when aborted: a poll or a `Drop` of it is blocking its thread",
    );
    unstopped
}

/// Close: only now, with the drain complete or cut and the aborted tasks stopped, do resources
/// close. The group takes the tasks they spawn, and nothing else. Returns their reports, and the
/// teardown's own panic if it had one (a bug: every close's panic is caught).
async fn close(state: &State, deadline: Instant) -> (Vec<ResourceReport>, Option<String>) {
    state.enter(Progress::Closing);
    state.tasks().take_closes();
    match CatchUnwind::new(state.resources().close_all(deadline, closer(state))).await {
        Ok(resources) => (resources, None),
        Err(message) => (
            Vec::new(),
            Some(format!("the teardown panicked: {message}")),
        ),
    }
}

/// Where the closes run: off the runtime's worker threads, but on them in a test whose clock
/// is paused. Tokio holds a paused clock still while a blocking thread runs (so that the
/// thread's work is not overtaken by time), so a close there that awaits a timer would wait
/// forever.
fn closer(state: &State) -> Closer {
    match state.in_process().is_some() && clock_is_paused() {
        true => Closer::OnTheRuntime,
        false => Closer::OffTheRuntime,
    }
}

/// Whether tokio's clock is paused (`start_paused`, `tokio::time::pause`): it then stands still
/// while real time moves. Tokio has no way to ask; only a test run's closes ask this.
fn clock_is_paused() -> bool {
    let before = Instant::now();
    let real = std::time::Instant::now();
    while real.elapsed() < Duration::from_micros(20) {
        std::hint::spin_loop();
    }
    Instant::now() == before
}

/// The tasks the closes spawned and did not wait for (a flush in the background) run until
/// shortly before the deadline; then the group takes nothing more, and what is left is aborted
/// and named, and given until the deadline to stop. Returns the stragglers and those that did
/// not stop (but for `unstopped` already, the group's tasks named at the drain's end).
async fn close_tasks(
    state: &State,
    deadline: Instant,
    unstopped: &[(String, usize)],
) -> (Vec<(String, usize)>, Vec<(String, usize)>) {
    let cut = deadline.checked_sub(STOP_BUDGET).unwrap_or(deadline);
    let done = timeout_at(cut, state.tasks().wait_closes()).await.is_ok();
    let aborted = state.tasks().close(Accepting::None);
    if done {
        return (Vec::new(), Vec::new());
    }
    log_tasks(
        state,
        &aborted,
        "spawned by a close, still running at the deadline: aborted",
    );
    let after = stop(state, deadline, Tracked::Closes).await;
    (aborted, without(after, unstopped))
}

/// One error line per name of `tasks`.
fn log_tasks(state: &State, tasks: &[(String, usize)], what: &'static str) {
    let tasks = tasks.to_vec();
    state.log().event(move || {
        for (name, count) in tasks {
            tracing::error!(target: "graceful", task = %name, count, "{what}");
        }
    });
}

/// `counts` less `known`, name by name.
fn without(counts: Vec<(String, usize)>, known: &[(String, usize)]) -> Vec<(String, usize)> {
    counts
        .into_iter()
        .filter_map(|(name, count)| {
            let before = known
                .iter()
                .find(|(known, _)| *known == name)
                .map_or(0, |(_, count)| *count);
            (count > before).then(|| (name, count - before))
        })
        .collect()
}

/// The resources declared on functions, forgotten: their last handles. A `Drop` that panics is
/// reported, one that blocks is cut by the watchdog.
fn forget_items(state: &State) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| state.provided().clear()))
        .err()
        .map(|panic| {
            format!(
                "a resource panicked when dropped: {}",
                panic_message(panic.as_ref())
            )
        })
}

fn phase(state: &State, name: &'static str, started: Instant) -> Phase {
    let elapsed = started.elapsed();
    state.log().event(move || {
        tracing::info!(target: "graceful", phase = name, elapsed_ms = elapsed.as_millis() as u64, "phase `{name}` took {elapsed:?}");
    });
    Phase { name, elapsed }
}
