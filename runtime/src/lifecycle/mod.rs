//! Running a service: [`Config::run`] checks the settings, starts the watchdog, builds the
//! Tokio runtime and runs the shutdown sequence on it (`sequence`), with `main`'s body driven
//! alongside every phase (`body`).

mod body;
mod in_process;
mod sequence;

pub(crate) use body::MainFn;
pub use body::{Kept, MainBody, MainEnd};
pub(crate) use in_process::run_in_process;
pub(crate) use sequence::Startup;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::catch_unwind::panic_message;
use crate::items::Dependency;
use crate::progress::Progress;
use crate::state::State;
use crate::{Config, Flavor, MainOutput, Report, Shutdown, watchdog};

impl Config {
    /// Runs a service to the end of its shutdown and returns what happened. What
    /// `#[graceful::main]` generates runs the same, then calls [`Report::exit`].
    ///
    /// It returns rather than exiting, with two exceptions that end the process as the
    /// attribute would: a second signal (exit code 128 + its number), and the deadline when
    /// the run has not returned 0.5 s after it (exit code 1: a thread is blocked, in a task, a
    /// close or a `Drop`). Neither can happen once it has returned, or unwound.
    ///
    /// It checks the settings, installs the signal handlers (once per process; they are heard
    /// by a thread of graceful's own, outside the runtime), builds the Tokio runtime, checks
    /// and opens the resources declared with `#[graceful::resource]` on functions (every one
    /// linked into the program), runs `main`, waits for the trigger (a signal, a failing task,
    /// [`Shutdown::trigger`], or `main` and every task finishing), then runs the sequence
    /// within [`timeout`](Config::timeout). The runtime is not waited for at the end, so a
    /// stuck `spawn_blocking` thread cannot hold the caller.
    ///
    /// After it returns, a SIGINT or SIGTERM ends the process at once with 128 + its number,
    /// as a second signal would, until another run starts.
    ///
    /// `GRACEFUL_TIMEOUT` and `GRACEFUL_DRAIN_DELAY` override the configured values (an empty
    /// one is unset); a malformed or out-of-range setting ends the run at once with
    /// [`Cause::Startup`](crate::Cause::Startup), naming it.
    ///
    /// ```
    /// use graceful::{Cause, Config};
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
        self.run_erased(
            &[],
            Box::new(move |shutdown| {
                Box::pin(async move {
                    MainEnd {
                        result: main(shutdown).await.into_main_result(),
                        kept: Kept::none(),
                    }
                })
            }),
        )
    }

    /// [`run`](Self::run), for a `main` whose parameters are `main_needs`: they are checked
    /// against the item resources before anything opens.
    pub(crate) fn run_erased(self, main_needs: &'static [Dependency], main: MainFn<'_>) -> Report {
        let configured_timeout = self.timeout;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Report::failed_start(
                "Config::run builds its own Tokio runtime, and was called inside one: call it \
                 from `fn main` or a thread of your own (in a test, run the service with \
                 graceful::test::Service, which runs on the test's runtime)"
                    .to_owned(),
                configured_timeout,
            );
        }
        let config = match self.with_env_overrides() {
            Ok(config) => config,
            Err(error) => return Report::failed_start(error, configured_timeout),
        };
        let timeout = config.timeout;
        let state = State::new(config);
        // Before the runtime exists and before anything opens: from here on every SIGINT and
        // SIGTERM is heard, and once shutdown begins its deadline holds whatever the runtime
        // does, until this function returns or unwinds (when `watched` drops).
        let watched = match watchdog::watch_run(&state) {
            Ok(watched) => watched,
            Err(error) => return Report::failed_start(error, timeout),
        };
        // Before the runtime opens descriptors of its own: those systemd passed are told apart
        // from them, and marked close-on-exec.
        #[cfg(all(unix, feature = "systemd"))]
        crate::systemd::claim_passed();
        let built = catch_unwind(AssertUnwindSafe(|| build_runtime(state.config())));
        state.enter(Progress::Running);
        let runtime = match built {
            Ok(Ok(runtime)) => runtime,
            Ok(Err(error)) => {
                return Report::failed_start(
                    format!("could not build the Tokio runtime: {error}"),
                    timeout,
                );
            }
            Err(panic) => {
                return Report::failed_start(
                    format!(
                        "could not build the Tokio runtime: {}",
                        panic_message(panic.as_ref())
                    ),
                    timeout,
                );
            }
        };
        state.tasks().attach(runtime.handle().clone());
        let startup = sequence::Startup {
            items: Ok(crate::items::registered()),
            main_needs,
            supplied: &[],
        };
        let report = runtime.block_on(run_notifying(&state, startup, main));
        // Dropping the runtime would wait for blocking threads forever (tokio-rs/tokio#5340).
        // The current-thread scheduler still drops the tasks left on it here, on this thread:
        // a `Drop` that blocks is cut by the watchdog (tokio catches one that panics).
        runtime.shutdown_background();
        drop(watched);
        report
    }
}

/// The sequence, with systemd told where it is (feature `systemd`, `NOTIFY_SOCKET` set) and,
/// under its watchdog, the heartbeat kept.
async fn run_notifying(
    state: &std::sync::Arc<State>,
    startup: sequence::Startup<'_>,
    main: body::MainFn<'_>,
) -> Report {
    #[cfg(all(unix, feature = "systemd"))]
    {
        let notifier = crate::systemd::Notifier::start(state);
        let run = sequence::run(state, startup, main);
        match notifier.as_ref().and_then(|notifier| notifier.heartbeat()) {
            Some(heartbeat) => crate::systemd::Beating::new(heartbeat.clone(), run).await,
            None => run.await,
        }
    }
    #[cfg(not(all(unix, feature = "systemd")))]
    sequence::run(state, startup, main).await
}

pub(crate) fn build_runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match config.flavor {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    };
    if let (Flavor::MultiThread, Some(threads)) = (config.flavor, config.worker_threads) {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}
