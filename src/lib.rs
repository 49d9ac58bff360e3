//! Graceful shutdown for Tokio services, from two attributes.
//!
//! `#[graceful::main]` turns an `async fn main` into a service that shuts down the way an
//! operator wants: on SIGTERM or Ctrl+C (or a failing task, or [`Shutdown::trigger`]) readiness
//! fails, an optional drain delay lets load balancers notice, tasks stop taking work and finish
//! what they took, then resources close in reverse order, all within a deadline; a report
//! says what happened and the exit code is honest. A second signal exits at once.
//!
//! # Quick start
//!
//! ```toml
//! [dependencies]
//! gracefully = "0.1"     # the package; the library is `graceful`
//! tokio = { version = "1", features = ["time"] }
//! ```
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
//! `main` may spawn its tasks and return at once: a top-level `_`-named binding the body never
//! names again (`let _guard`, a log writer's guard) lives until the end of the shutdown. Every argument of the attribute is on [`macro@main`];
//! resources can also be declared on functions anywhere in the program with
//! `#[graceful::resource(order = N)] async fn`: see [`macro@resource`].
//!
//! # What happens at shutdown
//!
//! 1. **Trigger**, once: the first SIGTERM or SIGINT, a task that fails or panics, `main`
//!    returning an error, [`Shutdown::trigger`], or `main` and every task finishing by
//!    themselves.
//! 2. **Readiness** ([`Shutdown::readiness`]) fails at once.
//! 3. **Drain delay**: still serving while load balancers notice (`drain_delay`, 0 by default).
//! 4. **Cancel**: [`Shutdown::cancelled`] resolves, [`Shutdown::until_shutdown`] returns
//!    `None`; take no new work, finish what was taken.
//! 5. **Drain**: every task and `main`'s body finish, or are aborted and named at the deadline.
//! 6. **Close**: resources close in descending `order` (reverse creation without one), each
//!    bounded by its own `timeout`, off the runtime's workers.
//! 7. **Report** ([`Report`]): logged with `tracing` (target `graceful`), and a summary on
//!    stderr when the exit is not clean. Then the resources declared `telemetry` close, and
//!    `main`'s `_`-named bindings drop.
//!
//! A second signal exits at once. The deadline (`timeout`, 30 s by default) holds whatever the
//! runtime does: a thread of graceful's own ends the process 0.5 s past it (plus at most 0.3 s
//! for the last lines and the telemetry resources' `flush_now`).
//!
//! # Exit codes
//!
//! | code | when |
//! |---|---|
//! | 0 | clean: asked to stop, or everything finished, and everything drained and closed in time |
//! | 1 | a task, `main`, a resource or a `Drop` failed, the deadline was hit, or a setting is wrong |
//! | 130 / 143 | a second SIGINT / SIGTERM forced the exit |
//!
//! # Under Kubernetes and systemd
//!
//! Kubernetes sends SIGTERM, then SIGKILL after `terminationGracePeriodSeconds` (30 by
//! default). Give the pod a grace period longer than `timeout` (which covers the drain delay,
//! the drain and the closes) plus 1.5 s: `timeout = "25s"` fits the default. Set
//! `GRACEFUL_GRACE_PERIOD` to the same value, and the startup line says whether the shutdown's
//! budget fits it (a warning with the numbers if not). Serve [`axum::health`]'s `/readyz`
//! (or [`Readiness::is_ready`]) as the readiness probe, so that traffic moves away from the
//! trigger on; `drain_delay` is the in-process form of a `preStop` sleep. `GRACEFUL_TIMEOUT`
//! and `GRACEFUL_DRAIN_DELAY` override the attribute's values from the manifest.
//!
//! Under systemd, the `systemd` feature makes a service `Type=notify` (ready, status,
//! stopping with the stop timeout extended, and a watchdog that stops when the runtime does)
//! and lets it take the sockets a `.socket` unit passes: see `graceful::systemd`.
//!
//! # Testing your shutdown
//!
//! [`graceful::test`](crate::test) runs a service in a test, in-process: the same sequence,
//! on the test's runtime (tokio's paused clock included), with the signals delivered by the
//! test and no handler installed in the test binary, so tests run in parallel. It returns the
//! [`Report`], with helpers to assert the close order, each resource's outcome, what was
//! aborted and the exit code:
//!
//! ```
//! use graceful::{Config, Signal};
//! use graceful::test::Service;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let report = Service::new(Config::new())
//!     .run(
//!         |shutdown| async move {
//!             shutdown.spawn("job", async { Ok::<(), std::io::Error>(()) });
//!         },
//!         |control| async move { control.signal(Signal::Terminate) },
//!     )
//!     .await;
//! assert_eq!(report.exit_code(), 0);
//! assert_eq!(report.task("job").unwrap().succeeded, 1);
//! # }
//! ```
//!
//! [`graceful::test::shutdown`](crate::test::shutdown) makes a handle on its own, to unit-test
//! a handler or a worker; for the process itself (its signal handlers, the watchdog, the exit),
//! build the service as a binary, start it from the test and send it a real SIGTERM, as this
//! crate's own tests do.
//!
//! # Feature flags
//!
//! - `axum`: [`graceful::axum`](crate::axum) serves an axum `Router` under the shutdown handle,
//!   over HTTP/1.1 and HTTP/2 (h2c) (drained at the cancel, a GOAWAY for HTTP/2, cut at the
//!   deadline, upgraded connections included), with `/livez` and `/readyz`.
//! - `tonic` (with `axum`): [`graceful::tonic`](crate::tonic) serves tonic's gRPC routes on
//!   that server, with the standard gRPC health service turned `NOT_SERVING` at the trigger,
//!   and server streams ended with `UNAVAILABLE` at the cancel or, if they ignore it, just
//!   before the deadline.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use graceful_macros::{main, resource, service};
pub use graceful_runtime::{
    BoxError, Cause, Close, Config, DRAIN_DELAY_ENV, Flavor, GRACE_PERIOD_ENV, MAX_TIMEOUT,
    MAX_WORKER_THREADS, MainOutput, Outcome, Phase, Readiness, Report, Resource, ResourceOutcome,
    ResourceReport, Shutdown, Signal, TIMEOUT_ENV, TaskFailure, TaskReport, parse_duration,
};

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use graceful_runtime::axum;

#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use graceful_runtime::tonic;

#[cfg(all(unix, feature = "systemd"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "systemd"))))]
pub use graceful_runtime::systemd;

pub use graceful_runtime::test;

#[doc(hidden)]
pub mod __private {
    pub use graceful_runtime::__private::*;
}
