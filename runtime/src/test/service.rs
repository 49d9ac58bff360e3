//! A service run in a test: the production sequence on the test's runtime, with the resources
//! the test chooses.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::Control;
use crate::items::{self, Provides};
use crate::lifecycle::{Kept, MainEnd, MainFn, build_runtime, run_in_process};
use crate::resources::{Provided, Resource};
use crate::state::State;
use crate::{Config, MainOutput, Report, Shutdown};

/// A service to run in a test, in-process: the sequence of a process (readiness, drain delay,
/// cancel, drain, the closes in order, the report), with its signals delivered by the test
/// ([`Control::signal`]) rather than by the operating system.
///
/// - **Nothing of the process is touched**: no signal handler is installed and no watchdog
///   thread started, so tests run in parallel without hearing each other, and the test binary
///   keeps its own signal behaviour. `GRACEFUL_TIMEOUT` and `GRACEFUL_DRAIN_DELAY` are not
///   read: the run is what the test's [`Config`] says (checked as at startup).
/// - **The resources it opens are the ones it names**: a resource declared with
///   `#[graceful::resource]` on a function opens only if the test asks for its type
///   ([`resource`](Self::resource)), with those it takes, or supplies a value in its place
///   ([`provide`](Self::provide)). None of the others linked into the test binary opens.
/// - **It runs on the test's runtime**, so it works with tokio's paused clock
///   (`#[tokio::test(start_paused = true)]`): a 30 s drain delay and a 25 s deadline take no
///   wall time. (Under a paused clock the closes run as tasks of the runtime, since tokio holds
///   the clock still while a blocking thread runs: a close that blocks its thread then
///   blocks the runtime.)
///
/// What a process does that a test cannot: end itself when a thread is blocked past the
/// deadline. A task that blocks a runtime thread leaves such a run waiting; a close that
/// blocks its thread is reported as timed out, but the thread stays blocked (and a
/// `#[tokio::test]` runtime waits for it when dropped). Test those at the process level (a
/// real process and a real signal). A run ended early (a second signal, or its future
/// dropped by the test's own timeout) aborts its tasks, stops its closes at their next
/// `.await` and lets go of its resources.
///
/// ```
/// use std::time::Duration;
/// use graceful::{Config, Signal};
/// use graceful::test::{Service, Step};
///
/// // In a `#[tokio::test(start_paused = true)] async fn drains_the_job_in_flight()`:
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let config = Config::new()
///     .timeout(Duration::from_secs(25))
///     .drain_delay(Duration::from_secs(10));
/// let report = Service::new(config)
///     .run(
///         |shutdown| async move {
///             let worker = shutdown.clone();
///             shutdown.spawn("worker", async move {
///                 let tick = || tokio::time::sleep(Duration::from_secs(1));
///                 while worker.until_shutdown(tick()).await.is_some() {}
///                 tokio::time::sleep(Duration::from_secs(3)).await; // the job in flight
///             });
///         },
///         |control| async move {
///             control.reached(Step::Running).await;
///             control.signal(Signal::Terminate);
///         },
///     )
///     .await;
/// assert_eq!(report.exit_code(), 0);
/// assert_eq!(report.task("worker").unwrap().succeeded, 1);
/// // 10 s of drain delay and 3 s of drain on the paused clock, in no wall time.
/// assert!(report.elapsed >= Duration::from_secs(13));
/// # }
/// ```
#[must_use = "a Service does nothing until it is run"]
pub struct Service {
    config: Config,
    wanted: Vec<Provides>,
    supplied: Vec<Supplied>,
}

/// A value the test supplies in place of a resource function.
struct Supplied {
    provides: Provides,
    insert: Box<dyn FnOnce(&Provided) + Send>,
}

/// The test's part of a run, with its type erased.
type DriveFn<'a> = Box<dyn FnOnce(Control) -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

impl Service {
    /// A service with `config`'s timeout and drain delay (its flavor and worker threads
    /// matter only to [`run_blocking`](Self::run_blocking)), and no resource function.
    ///
    /// ```
    /// let service = graceful::test::Service::new(graceful::Config::new());
    /// # let _ = service;
    /// ```
    pub fn new(config: Config) -> Self {
        Service {
            config,
            wanted: Vec::new(),
            supplied: Vec::new(),
        }
    }

    /// Opens the resource of type `T` declared with `#[graceful::resource]` on a function,
    /// and those it takes (unless [supplied](Self::provide)), in their order, as the start of
    /// `main`'s body; they close in reverse after the drain, as in a process. Fetch it in the
    /// body with [`Shutdown::resource`]. A type that no resource function provides is a
    /// startup failure of the run, naming the resources there are.
    ///
    /// ```
    /// # #[derive(Clone)] struct Pool;
    /// let service = graceful::test::Service::new(graceful::Config::new())
    ///     .resource::<Pool>(); // the `#[graceful::resource]` that returns a `Pool`
    /// # let _ = service;
    /// ```
    pub fn resource<T: Send + Sync + 'static>(mut self) -> Self {
        self.wanted.push(Provides::of::<T>());
        self
    }

    /// Supplies `value` as the resource of type `T`, in place of the function that provides
    /// it: its dependents and [`Shutdown::resource`] get this one, and the function does not
    /// run (settings a test writes itself, a fake client). It is not closed: it is the
    /// test's.
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct Settings { database_url: String }
    ///
    /// let service = graceful::test::Service::new(graceful::Config::new())
    ///     .provide(Settings { database_url: "sqlite::memory:".into() });
    /// # let _ = service;
    /// ```
    pub fn provide<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.supplied.push(Supplied {
            provides: Provides::of::<T>(),
            insert: Box::new(move |provided: &Provided| provided.insert(&Resource::new(value))),
        });
        self
    }

    /// Runs the service on the test's Tokio runtime (a `#[tokio::test]`, of either flavor)
    /// until the end of its shutdown, and returns its report. `main` is the service's body, as
    /// in `#[graceful::main]`; `drive` is the test's part, run alongside it from the start
    /// with a [`Control`]: it delivers the signals, makes requests, checks readiness. The run
    /// returns once the sequence has ended and `drive` has returned.
    ///
    /// Neither needs to be `Send`: both are polled on the test's task.
    ///
    /// ```
    /// use graceful::{Cause, Config};
    /// use graceful::test::Service;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let report = Service::new(Config::new())
    ///     .run(
    ///         |shutdown| async move {
    ///             shutdown.spawn("importer", async { Err::<(), _>("disk full") });
    ///         },
    ///         |_control| async {},
    ///     )
    ///     .await;
    /// assert_eq!(
    ///     report.cause,
    ///     Cause::TaskFailed { task: "importer".into(), error: "disk full".into() }
    /// );
    /// assert_eq!(report.exit_code(), 1);
    /// # }
    /// ```
    pub async fn run<M, MainFut, D, DriveFut>(self, main: M, drive: D) -> Report
    where
        M: FnOnce(Shutdown) -> MainFut,
        MainFut: Future,
        MainFut::Output: MainOutput,
        D: FnOnce(Control) -> DriveFut,
        DriveFut: Future<Output = ()>,
    {
        // Only this boxing is generic, as in `Config::run`.
        self.run_erased(erase_main(main), erase_drive(drive)).await
    }

    /// [`run`](Self::run), for a plain `#[test]`: builds a runtime of `config`'s flavor, runs
    /// the service on it and returns the report. Called inside a Tokio runtime, it refuses
    /// (a report with [`Cause::Startup`](crate::Cause::Startup)): use `run` there.
    ///
    /// ```
    /// use graceful::Config;
    /// use graceful::test::Service;
    ///
    /// let report = Service::new(Config::new()).run_blocking(
    ///     |shutdown| async move { shutdown.trigger("done") },
    ///     |_control| async {},
    /// );
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn run_blocking<M, MainFut, D, DriveFut>(self, main: M, drive: D) -> Report
    where
        M: FnOnce(Shutdown) -> MainFut,
        MainFut: Future,
        MainFut::Output: MainOutput,
        D: FnOnce(Control) -> DriveFut,
        DriveFut: Future<Output = ()>,
    {
        self.run_blocking_erased(erase_main(main), erase_drive(drive))
    }

    fn run_blocking_erased(self, main: MainFn<'_>, drive: DriveFn<'_>) -> Report {
        let timeout = self.config.timeout;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Report::failed_start(
                "graceful::test::Service::run_blocking builds its own Tokio runtime, and was \
                 called inside one: in a #[tokio::test], use `Service::run(..).await`"
                    .to_owned(),
                timeout,
            );
        }
        let runtime = match build_runtime(&self.config) {
            Ok(runtime) => runtime,
            Err(error) => {
                return Report::failed_start(
                    format!("could not build the Tokio runtime: {error}"),
                    timeout,
                );
            }
        };
        let report = runtime.block_on(self.run_erased(main, drive));
        // As in a process: a blocking thread left behind must not hold the test.
        runtime.shutdown_background();
        report
    }

    async fn run_erased(self, main: MainFn<'_>, drive: DriveFn<'_>) -> Report {
        let timeout = self.config.timeout;
        if tokio::runtime::Handle::try_current().is_err() {
            return Report::failed_start(
                "graceful::test::Service::run runs on the test's Tokio runtime, and was \
                 polled outside one: use #[tokio::test], or `run_blocking` in a plain #[test]"
                    .to_owned(),
                timeout,
            );
        }
        let config = match self.config.checked() {
            Ok(config) => config,
            Err(error) => return Report::failed_start(error, timeout),
        };
        let state = State::new_in_process(config, false);
        let supplied: Vec<Provides> = self.supplied.iter().map(|s| s.provides).collect();
        for value in self.supplied {
            (value.insert)(state.provided());
        }
        let startup = crate::lifecycle::Startup {
            items: items::select(&items::registered(), &self.wanted, &supplied),
            main_needs: &[],
            supplied: &supplied,
        };
        let control = Control::new(state.clone());
        let (report, ()) = tokio::join!(run_in_process(&state, startup, main), drive(control));
        report
    }
}

fn erase_main<'a, M, MainFut>(main: M) -> MainFn<'a>
where
    M: FnOnce(Shutdown) -> MainFut + 'a,
    MainFut: Future + 'a,
    MainFut::Output: MainOutput,
{
    Box::new(move |shutdown| {
        Box::pin(async move {
            MainEnd {
                result: main(shutdown).await.into_main_result(),
                kept: Kept::none(),
            }
        })
    })
}

fn erase_drive<'a, D, DriveFut>(drive: D) -> DriveFn<'a>
where
    D: FnOnce(Control) -> DriveFut + 'a,
    DriveFut: Future<Output = ()> + 'a,
{
    Box::new(move |control| Box::pin(drive(control)))
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .field("resources", &self.wanted)
            .field(
                "supplied",
                &self
                    .supplied
                    .iter()
                    .map(|supplied| supplied.provides)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
