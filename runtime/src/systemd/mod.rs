//! systemd: what a service tells it (`Type=notify`, with the watchdog) and the sockets it
//! passes (socket activation). Feature `systemd`, Unix only.
//!
//! # What systemd hears
//!
//! With the feature on and `NOTIFY_SOCKET` set (systemd sets it for `Type=notify`; a path, or
//! an abstract `@name`), each run of `#[graceful::main]` or [`Config::run`] tells it, from a
//! thread of graceful's own that never waits for the runtime:
//!
//! - `READY=1` once the service has started, at the first of: `main`'s body returns `Ok` (its
//!   resources are open, its tasks spawned),
//!   [`graceful::axum::serve`](https://docs.rs/gracefully/latest/graceful/axum/fn.serve.html)
//!   starts accepting, or the body calls [`Shutdown::mark_started`]. A body that does none of
//!   these within 10 s gets a warning on the log: systemd fails its start at
//!   `TimeoutStartSec=`;
//! - `STATUS=…` as the run advances: `starting`, `serving`, then each step of the stop with
//!   its cause: `stopping (received SIGTERM): not ready, serving for the drain delay (5s)`,
//!   ``… draining 3 tasks: `http`, `worker` (2)``, ``… closing `db` ``, `… writing the report`;
//! - `STOPPING=1` at the trigger, whatever the runtime is doing;
//! - `EXTEND_TIMEOUT_USEC=…` at the trigger and at every step after it, up to graceful's own
//!   bound (the deadline, the half second the watchdog gives after it, and a second to exit),
//!   so that a `TimeoutStopSec=` shorter than the shutdown's `timeout` does not kill the
//!   drain;
//! - `WATCHDOG=1` every half `WatchdogSec=` (systemd's `WATCHDOG_USEC`), only while the
//!   runtime makes progress: both the thread that drives `main`'s body and the lifecycle, and
//!   the runtime's workers, must have run since the last one. Once the thread that drives
//!   `main`'s body, or every worker, is blocked, systemd stops hearing it, and restarts the
//!   service (with `Restart=on-failure` or `on-watchdog`). It measures that the runtime runs, not that the
//!   service's own work moves: an `.await` that never completes (an async deadlock) is not
//!   seen. After a miss the heartbeat is read again every eighth of
//!   the timeout, so that a runtime that runs again in time is heard in time. Never after the
//!   shutdown's deadline.
//!
//! One run per process tells systemd it has started: once a run has said `STOPPING=1`, a
//! later [`Config::run`] in the same process does not say `READY=1` again. The last state of
//! a run is sent as it ends, so a stop quicker than the thread still reaches systemd.
//!
//! Without `NOTIFY_SOCKET` nothing is sent and nothing runs. A socket that cannot be used is a
//! warning on graceful's log, never a failure. Messages go out without blocking: one that finds
//! systemd's queue full is sent again 50 ms later. A test run of [`graceful::test`] sends
//! nothing.
//!
//! # Socket activation
//!
//! [`listener`] and [`named_listener`] take the socket systemd passed (`LISTEN_FDS`,
//! `LISTEN_FDNAMES`, `LISTEN_PID` checked), or bind the address when none was passed; their
//! result goes to `graceful::axum::serve` or `graceful::tonic::serve` as any listener would.
//! Under `systemfd` in development, start the binary itself (`systemfd -s http::8080 --
//! target/debug/service`): `LISTEN_PID` must be the service's own process, so `--no-pid`
//! and `cargo run` in between are not recognised, and the address is bound instead.
//!
//! [`Config::run`]: crate::Config::run
//! [`Shutdown::mark_started`]: crate::Shutdown::mark_started
//! [`graceful::test`]: crate::test

mod heartbeat;
mod listen;
mod notify;
mod socket;
mod status;

pub(crate) use heartbeat::Beating;
pub(crate) use listen::claim_passed;
pub use listen::{listener, named_listener};
pub(crate) use notify::Notifier;
