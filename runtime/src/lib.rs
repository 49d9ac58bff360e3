//! The runtime behind [`graceful`](https://docs.rs/gracefully): the [`Shutdown`] handle, the
//! task group, signal handling, the deadline and the ordered teardown.
//!
//! Depend on the `gracefully` package (its library is `graceful`) rather than on this crate: it
//! re-exports everything here together with the `#[graceful::main]` and
//! `#[graceful::resource]` attributes.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
// Unsafe code lives in two places only, each allowed where it is: the signal handlers and the
// self-pipe (`signals::os`), and the exit that skips every destructor (`watchdog::exit_now`).
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod budget;
mod catch_unwind;
mod cause;
mod config;
mod duration;
mod error;
mod exit;
mod in_process;
mod items;
mod latch;
mod lifecycle;
mod log;
mod main_status;
mod progress;
mod readiness;
mod report;
mod resources;
mod returns;
mod shutdown;
mod signals;
mod state;
mod sync;
#[cfg(all(unix, feature = "systemd"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "systemd"))))]
pub mod systemd;
mod tasks;
pub mod test;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;
mod trigger;
mod watchdog;

#[doc(hidden)]
pub mod __private;

pub use cause::Cause;
pub use config::{
    Config, DRAIN_DELAY_ENV, Flavor, GRACE_PERIOD_ENV, MAX_TIMEOUT, MAX_WORKER_THREADS, TIMEOUT_ENV,
};
pub use duration::parse_duration;
pub use error::BoxError;
pub use readiness::Readiness;
pub use report::{Phase, Report, ResourceOutcome, ResourceReport, TaskFailure, TaskReport};
pub use resources::{Close, Resource};
pub use returns::{MainOutput, Outcome};
pub use shutdown::Shutdown;
pub use signals::Signal;
