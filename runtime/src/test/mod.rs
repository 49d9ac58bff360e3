//! Test your shutdown in-process: run a service in a `#[test]`, deliver its signals, and
//! assert its report; or build a [`Shutdown`] handle on its own to unit-test a handler or a
//! worker.
//!
//! Three levels, from the cheapest to the most faithful:
//!
//! - **A handler or a worker**, with a handle made by [`shutdown`]: trigger it and cancel it
//!   by hand ([`Control`]), and check what your code does (a `/readyz` that turns 503, a worker
//!   loop that stops taking jobs). No sequence runs.
//! - **The service in-process**, with [`Service`]: the sequence of a process (readiness, drain
//!   delay, cancel, drain, the closes in order, the report) on the test's runtime, with the
//!   resources the test chooses and its signals delivered by the test. It works with tokio's
//!   paused clock, and tests run in parallel without hearing each other.
//! - **The real process and a real signal**: build the binary, spawn it, `kill -TERM` it, and
//!   read its exit code and its output. The only level at which the process itself is tested
//!   (the signal handlers, the watchdog that ends a process blocked past its deadline, the
//!   exit), and the slowest.
//!
//! ```
//! use graceful::test::Service;
//! use graceful::{Config, Signal};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let report = Service::new(Config::new())
//!     .run(
//!         |shutdown| async move {
//!             shutdown.spawn("http", shutdown.cancelled());
//!         },
//!         |control| async move { control.signal(Signal::Terminate) },
//!     )
//!     .await;
//! assert_eq!(report.exit_code(), 0);
//! assert_eq!(report.task("http").unwrap().succeeded, 1);
//! # }
//! ```

mod control;
mod service;

pub use crate::in_process::Step;
pub use control::Control;
pub use service::Service;

use crate::state::State;
use crate::{Config, Shutdown};

/// A [`Shutdown`] handle that no service runs, and its [`Control`]: to unit-test code that
/// takes the handle (an axum router with `tower::ServiceExt::oneshot`, a worker loop).
/// Nothing moves it but the test: [`Shutdown::trigger`] or [`Control::signal`] start
/// shutdown (readiness fails, [`Shutdown::is_shutting_down`] turns `true`), and
/// [`Control::cancel`] is the cancel. Its [`Step`] follows [`Control`]'s calls: `Running`,
/// `DrainDelay` at a signal, `Draining` at the cancel, `Finished` at a second signal (which
/// aborts its tasks). A task spawned on it runs on the runtime it was made in
/// (make it inside one to spawn); a failing task starts shutdown, as in a service.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (shutdown, control) = graceful::test::shutdown();
/// let (jobs, mut queue) = tokio::sync::mpsc::channel::<u32>(8);
/// let worker = shutdown.clone();
/// let done = shutdown.spawn("worker", async move {
///     let mut ran = 0;
///     while let Some(Some(_job)) = worker.until_shutdown(queue.recv()).await {
///         ran += 1;
///     }
///     assert_eq!(ran, 2);
/// });
/// jobs.send(1).await.unwrap();
/// jobs.send(2).await.unwrap();
/// tokio::task::yield_now().await; // the worker takes both
/// # while jobs.capacity() < 8 { tokio::task::yield_now().await; }
/// control.cancel();
/// done.await.unwrap(); // the loop has ended
/// # }
/// ```
pub fn shutdown() -> (Shutdown, Control) {
    let state = State::new_in_process(Config::new(), true);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        state.trigger().use_clock_of(runtime.clone());
        state.tasks().attach(runtime);
    }
    state.enter(crate::progress::Progress::Running);
    if let Some(in_process) = state.in_process() {
        in_process.reach(Step::Running);
    }
    (Shutdown::new(state.clone()), Control::new(state))
}
