//! Graceful shutdown for Tokio services.
//!
//! `#[graceful::main]` turns an `async fn main` into a service that shuts down the way an
//! operator wants: on SIGTERM or Ctrl+C (or a failing task, or [`Shutdown::trigger`]) readiness
//! fails, an optional drain delay lets load balancers notice, tasks stop taking work and finish
//! what they took, then resources close in reverse order, all within a deadline; a report
//! says what happened and the exit code is honest. A second signal exits at once.
//!
//! ```no_run
//! use graceful::{BoxError, Close, Shutdown};
//!
//! struct Publisher;
//! impl Close for Publisher {
//!     async fn close(&self) -> Result<(), BoxError> {
//!         Ok(()) // flush, then disconnect
//!     }
//! }
//!
//! #[graceful::main(timeout = "25s")]
//! async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
//!     #[resource]
//!     let publisher = Publisher;
//!     let worker = shutdown.clone();
//!     shutdown.spawn("worker", async move {
//!         while let Some(()) = worker.until_shutdown(tokio::time::sleep(std::time::Duration::from_secs(1))).await {
//!             let _ = &*publisher; // publish something
//!         }
//!     });
//!     Ok(())
//! }
//! ```
//!
//! The sequence, exit codes and every attribute argument are described on [`macro@main`] and in
//! the README. Resources can also be declared on functions anywhere in the program, with
//! `#[graceful::resource(order = N)] async fn`: see [`macro@resource`].
//!
//! With the `axum` feature, `graceful::axum` serves an axum `Router` under the shutdown handle
//! (drained at the cancel, cut at the deadline, upgraded connections included) and provides
//! `/livez` and `/readyz`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use graceful_macros::{main, resource};
pub use graceful_runtime::{
    BoxError, Cause, Close, Config, DRAIN_DELAY_ENV, Flavor, MAX_TIMEOUT, MAX_WORKER_THREADS,
    MainOutput, Outcome, Phase, Readiness, Report, Resource, ResourceOutcome, ResourceReport,
    Shutdown, Signal, TIMEOUT_ENV, TaskFailure, TaskReport, parse_duration,
};

#[cfg(feature = "axum")]
pub use graceful_runtime::axum;

#[doc(hidden)]
pub mod __private {
    pub use graceful_runtime::__private::*;
}
