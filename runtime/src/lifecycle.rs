//! The shutdown sequence (DESIGN.md section 1):
//! trigger → readiness fails → drain delay → cancel → drain → close resources → report.
//!
//! The resources declared on functions open first, as the start of the body: a signal while
//! they open is handled like one during `main`'s body.
//!
//! `main`'s body is driven alongside every phase rather than spawned: it need not be `Send`,
//! and it may itself be the server (`axum::serve(..).with_graceful_shutdown(..)`) that drains
//! after the cancel. It is tracked like a task, and dropped at the deadline like a straggler.

use std::future::Future;
use std::pin::{Pin, pin};

use tokio::time::{Instant, sleep_until, timeout_at};

use crate::catch_unwind::CatchUnwind;
use crate::report::Phase;
use crate::state::State;
use crate::{Cause, Config, Flavor, MainOutput, Report, Shutdown, items, plan, signals};

impl Config {
    /// Runs a service to the end of its shutdown and returns what happened.
    /// `#[graceful::main]` calls this, then [`Report::exit`].
    ///
    /// It returns rather than exiting, with two exceptions that end the process as the
    /// attribute would: a second signal, and the watchdog when a blocked runtime overruns the
    /// deadline. The signal handlers stay installed after it returns.
    ///
    /// It builds the Tokio runtime, installs the signal handlers, checks and opens the
    /// resources declared with `#[graceful::resource]` on functions (every one linked into the
    /// program), runs `main`, waits for the trigger (a signal, a failing task,
    /// [`Shutdown::trigger`], or `main` and every task finishing), then runs the sequence
    /// within [`timeout`](Config::timeout). The runtime is not waited for at the end, so a
    /// stuck `spawn_blocking` thread cannot hold the caller.
    ///
    /// `GRACEFUL_TIMEOUT` and `GRACEFUL_DRAIN_DELAY` override the configured values; a malformed
    /// one ends the run at once with [`Cause::Startup`].
    ///
    /// ```
    /// use graceful_runtime::{Cause, Config};
    ///
    /// let report = Config::new().run(|shutdown| async move {
    ///     shutdown.spawn("job", async { Ok::<(), std::io::Error>(()) });
    /// });
    /// assert_eq!(report.cause, Cause::Completed);
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn run<F, Fut>(self, main: F) -> Report
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future,
        Fut::Output: MainOutput,
    {
        // Only this boxing is generic, and so compiled in the user's crate: the lifecycle and
        // the runtime's `block_on` under it are compiled once, here. Without it a release
        // rebuild of a hello service after touching `main.rs` took 5× as long as one with
        // `#[tokio::main]` (BENCHMARKS.md).
        self.run_erased(Box::new(move |shutdown| {
            Box::pin(async move { main(shutdown).await.into_main_result() })
        }))
    }

    fn run_erased(self, main: MainFn<'_>) -> Report {
        let configured_timeout = self.timeout;
        let config = match self.with_env_overrides() {
            Ok(config) => config,
            Err(error) => return Report::startup_failure(error, configured_timeout),
        };
        let runtime = match build_runtime(&config) {
            Ok(runtime) => runtime,
            Err(error) => {
                return Report::startup_failure(
                    format!("could not build the Tokio runtime: {error}"),
                    config.timeout,
                );
            }
        };
        let report = runtime.block_on(lifecycle(config, main));
        // Dropping the runtime would wait for blocking threads forever (tokio-rs/tokio#5340).
        runtime.shutdown_background();
        report
    }
}

fn build_runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match config.flavor {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    };
    if let (Flavor::MultiThread, Some(threads)) = (config.flavor, config.worker_threads) {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}

/// `main` with its type erased: `Config::run` is generic, the lifecycle is not.
type MainFn<'a> = Box<dyn FnOnce(Shutdown) -> MainBody<'a> + 'a>;
type MainBody<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

async fn lifecycle(config: Config, main: MainFn<'_>) -> Report {
    let state = State::new(config, tokio::runtime::Handle::current());
    let timeout = state.config.timeout;
    if let Err(error) = signals::install(&state) {
        let error = format!("could not install the signal handlers: {error}");
        return Report::startup_failure(error, timeout);
    }
    // Every problem between the item resources is found before any of them opens.
    let items = items::registered();
    if let Err(problems) = plan::check(&items, state.config.main_needs) {
        tracing::error!(target: "graceful", "{problems}");
        return Report::startup_failure(problems, timeout);
    }

    let body_state = state.clone();
    let shutdown = Shutdown::new(state.clone());
    let mut body = Body::new(state.tasks.track(async move {
        // Item resources open first, as part of the body: tracked and bounded like it.
        if !items::open_all(&shutdown, &items).await {
            return Ok(());
        }
        // Logged once the resources are open, so that a subscriber installed by one of them
        // (a telemetry resource) shows it.
        let config = &shutdown.state().config;
        tracing::info!(
            target: "graceful",
            timeout_ms = config.timeout.as_millis() as u64,
            drain_delay_ms = config.drain_delay.as_millis() as u64,
            resources = items.len(),
            "service starting; shutdown deadline {:?} (drain delay {:?})",
            config.timeout,
            config.drain_delay,
        );
        // A panic in main's body is a failure like any other: it must not skip the teardown.
        let output = match CatchUnwind::new(main(shutdown)).await {
            Ok(output) => output,
            Err(message) => Err(format!("panicked: {message}")),
        };
        if let Err(error) = &output {
            tracing::error!(target: "graceful", "main returned an error: {error}");
            body_state.begin(Cause::MainFailed(error.clone()));
        }
        output
    }));

    // Running: until the trigger, or until main and every task have finished by themselves.
    body.alongside(async {
        tokio::select! {
            () = state.triggered_token().cancelled() => {}
            () = state.tasks.wait() => { state.begin(Cause::Completed); }
        }
    })
    .await;

    let (cause, triggered_at) = state.cause().clone();
    let triggered_at = Instant::from_std(triggered_at);
    let deadline = triggered_at + timeout;
    let drain_deadline = deadline - state.resources.reserved().min(timeout);
    let mut phases = Vec::new();

    // Drain delay: not ready, still serving, so load balancers notice. Cut short when nothing
    // is left running.
    // Skipped when everything finished by itself, and when the service never started.
    if cause != Cause::Completed && !matches!(cause, Cause::Startup(_)) {
        let delay_end = (triggered_at + state.config.drain_delay).min(drain_deadline);
        if delay_end >= drain_deadline {
            tracing::warn!(
                target: "graceful",
                "the drain delay and the resources' close timeouts leave no time to drain within {timeout:?}: \
                 tasks still running will be aborted; raise `timeout` or lower them"
            );
        }
        // Without a delay there is nothing to wait for: even an elapsed timer would only fire
        // at the timer's next tick, up to a millisecond later.
        if delay_end > Instant::now() {
            body.alongside(async {
                tokio::select! {
                    () = sleep_until(delay_end) => {}
                    () = state.tasks.wait() => {}
                }
            })
            .await;
        }
        phases.push(phase("drain delay", triggered_at));
    }

    // Cancel, then drain: every task and main's body finish what they took.
    let drain_started = Instant::now();
    state.cancel();
    tracing::info!(target: "graceful", "draining: tasks asked to stop taking work");
    let drained = body
        .alongside(timeout_at(drain_deadline, state.tasks.wait()))
        .await
        .is_ok();
    let mut stragglers = Vec::new();
    if !drained {
        stragglers = state.tasks.abort_stragglers();
        if !body.is_done() {
            let opening = state.opening();
            if opening.is_empty() {
                stragglers.insert(0, ("main".to_owned(), 1));
            }
            for name in opening.into_iter().rev() {
                stragglers.insert(0, (format!("{name} (opening)"), 1));
            }
        }
        for (name, count) in &stragglers {
            tracing::error!(target: "graceful", task = %name, count, "still running at the deadline: aborted");
        }
    }
    let main_error = body.into_error();
    phases.push(phase("drain", drain_started));
    if drained {
        tracing::info!(target: "graceful", elapsed_ms = drain_started.elapsed().as_millis() as u64, "drained");
    }

    // Close: only now, with the drain complete or cut, do resources close.
    let close_started = Instant::now();
    // On a worker thread: each close is a task of its own, and a task spawned from a worker
    // starts on that worker without waking another thread (this function runs on the thread
    // that called `block_on`, where every spawn is a hand-off).
    let closing = state.clone();
    let resources =
        match tokio::spawn(async move { closing.resources.close_all(deadline).await }).await {
            Ok(resources) => resources,
            // `close_all` catches every close's panic; a panic of its own would be a bug here.
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
    phases.push(phase("close", close_started));

    state.finish();
    state.provided.clear();
    let (tasks, failures) = state.tasks.outcomes();
    Report {
        cause,
        main_error,
        phases,
        tasks,
        failures,
        stragglers,
        resources,
        timeout,
        elapsed: triggered_at.elapsed(),
    }
}

fn phase(name: &'static str, started: Instant) -> Phase {
    let elapsed = started.elapsed();
    tracing::info!(target: "graceful", phase = name, elapsed_ms = elapsed.as_millis() as u64, "phase `{name}` took {elapsed:?}");
    Phase { name, elapsed }
}

/// `main`'s body, polled alongside whatever the lifecycle awaits until it finishes.
struct Body<F: Future> {
    running: Option<Pin<Box<F>>>,
    output: Option<F::Output>,
}

impl<F: Future<Output = Result<(), String>>> Body<F> {
    fn new(future: F) -> Self {
        Body {
            running: Some(Box::pin(future)),
            output: None,
        }
    }

    async fn alongside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = pin!(work);
        loop {
            let Some(running) = self.running.as_mut() else {
                return work.await;
            };
            tokio::select! {
                biased;
                value = work.as_mut() => return value,
                output = running.as_mut() => {
                    // Dropping the finished future releases its slot in the task tracker.
                    self.running = None;
                    self.output = Some(output);
                }
            }
        }
    }

    fn is_done(&self) -> bool {
        self.running.is_none()
    }

    fn into_error(self) -> Option<String> {
        self.output.and_then(Result::err)
    }
}
