//! The handle user code holds: spawn tasks, watch for shutdown, start it.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::latch::Latch;
use crate::state::State;
use crate::{Cause, Outcome, Readiness, Resource};

/// The service's shutdown handle. Cheap to clone: clone it into every task.
///
/// Two moments matter. At the *trigger* (a signal, a failing task, [`trigger`](Self::trigger))
/// readiness fails and [`is_shutting_down`](Self::is_shutting_down) turns `true`; the service
/// keeps serving through the drain delay. At the *cancel* (the end of the drain delay)
/// [`cancelled`](Self::cancelled) resolves, [`token`](Self::token) is cancelled and
/// [`until_shutdown`](Self::until_shutdown) returns `None`: stop taking new work, finish what
/// was taken.
///
/// ```
/// # graceful::Config::new().run(|shutdown| async move {
/// let worker = shutdown.clone();
/// shutdown.spawn("worker", async move {
///     // Take jobs until shutdown; a job already taken runs to the end.
///     while let Some(job) = worker.until_shutdown(next_job()).await {
///         job.await;
///     }
/// });
/// shutdown.trigger("example over");
/// # });
/// # async fn next_job() -> std::future::Ready<()> { std::future::ready(()) }
/// ```
#[derive(Clone)]
pub struct Shutdown {
    state: Arc<State>,
}

impl Shutdown {
    pub(crate) fn new(state: Arc<State>) -> Self {
        Shutdown { state }
    }

    pub(crate) fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Spawns a task of the service's task group, with errgroup semantics: if it returns an
    /// error or panics, shutdown starts with that cause and the error (or panic message) is in
    /// the report under `name`. Shutdown waits for every spawned task to finish, and aborts and
    /// names those still running at the deadline.
    ///
    /// The task may return `()` or `Result<(), E>` with `E: Into<BoxError>`. Call it from any
    /// thread; the task runs on the service's runtime.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// shutdown.spawn("tick", async { Ok::<(), std::io::Error>(()) });
    /// # });
    /// ```
    pub fn spawn<F>(&self, name: impl Into<Cow<'static, str>>, future: F) -> JoinHandle<()>
    where
        F: Future + Send + 'static,
        F::Output: Outcome,
    {
        self.state.tasks().spawn(name.into(), future)
    }

    /// A `CancellationToken` cancelled at the end of the drain delay, for code written against
    /// tokio-util. It is a child token: cancelling it does not shut the service down (use
    /// [`trigger`](Self::trigger) for that).
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// let token = shutdown.token();
    /// shutdown.spawn("legacy", async move {
    ///     // A component that takes a tokio-util token stops at the cancel.
    ///     token.cancelled().await;
    /// });
    /// shutdown.trigger("example over");
    /// # });
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.state.trigger().cancel_token().child_token()
    }

    /// Resolves at the end of the drain delay. The future is owned and `'static`, so it fits
    /// `axum::serve(..).with_graceful_shutdown(shutdown.cancelled())`.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// let cancelled = shutdown.cancelled();
    /// shutdown.spawn("ticker", async move {
    ///     let mut ticks = tokio::time::interval(std::time::Duration::from_millis(10));
    ///     tokio::pin!(cancelled);
    ///     loop {
    ///         tokio::select! {
    ///             _ = ticks.tick() => { /* one unit of work */ }
    ///             () = &mut cancelled => break,
    ///         }
    ///     }
    /// });
    /// shutdown.trigger("example over");
    /// # });
    /// ```
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        Latch::wait(self.state.trigger().cancelled_latch().clone())
    }

    /// Resolves at the trigger: the moment readiness fails, before the drain delay. The future
    /// is owned and `'static`, as [`cancelled`](Self::cancelled)'s is. For a server that keeps
    /// its own health (a gRPC health service, another framework's readiness flag): flip it
    /// here, and keep serving until [`cancelled`](Self::cancelled).
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// let (health, watching) = tokio::sync::watch::channel("SERVING");
    /// let triggered = shutdown.triggered();
    /// shutdown.spawn("health", async move {
    ///     triggered.await;
    ///     health.send_replace("NOT_SERVING"); // load balancers move away; still serving
    /// });
    /// shutdown.trigger("deploy");
    /// # let mut watching = watching;
    /// # watching.wait_for(|status| *status == "NOT_SERVING").await.unwrap();
    /// # });
    /// ```
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + 'static {
        Latch::wait(self.state.trigger().triggered_latch().clone())
    }

    /// `true` from the trigger on. A single atomic load: cheap enough for every request.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// assert!(!shutdown.is_shutting_down());
    /// shutdown.trigger("deploy");
    /// assert!(shutdown.is_shutting_down()); // and still serving, through the drain delay
    /// # });
    /// ```
    #[inline]
    pub fn is_shutting_down(&self) -> bool {
        self.state.trigger().is_triggered()
    }

    /// `true` from the cancel on (the end of the drain delay): stop taking new work. A single
    /// atomic load. For a worker whose "take a job" step must not be interrupted (a database
    /// claim), check this before taking one, and use [`until_shutdown`](Self::until_shutdown)
    /// only for the wait:
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// # async fn claim() -> Option<u32> { None }
    /// # async fn wait_for_work() {}
    /// let worker = shutdown.clone();
    /// shutdown.spawn("worker", async move {
    ///     while !worker.is_cancelled() {
    ///         match claim().await {
    ///             Some(job) => { let _ = job; /* runs to the end, whatever shutdown does */ }
    ///             None => { worker.until_shutdown(wait_for_work()).await; }
    ///         }
    ///     }
    /// });
    /// shutdown.trigger("example over");
    /// # });
    /// ```
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.state.trigger().is_cancelled()
    }

    /// Says that the service has started, before `main`'s body returns: for a body that is
    /// itself the server and returns only at shutdown. Under systemd (feature `systemd`,
    /// `Type=notify`) this is when `READY=1` is sent; otherwise it only records the moment.
    ///
    /// A body that returns `Ok` has started when it returns, and [`graceful::axum::serve`]
    /// says so as it starts accepting: most services never call this. Calls after the first,
    /// and calls once shutdown has begun, change nothing.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// # async fn serve_until(shutdown: graceful::Shutdown) { shutdown.cancelled().await }
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// shutdown.mark_started(); // the socket is bound: systemd hears READY=1
    /// # shutdown.trigger("example over");
    /// serve_until(shutdown).await; // another server, run in main's body
    /// # drop(listener);
    /// # });
    /// ```
    ///
    /// [`graceful::axum::serve`]: https://docs.rs/gracefully/latest/graceful/axum/fn.serve.html
    pub fn mark_started(&self) {
        self.state.mark_started();
    }

    /// Starts shutdown from code, with `reason` as its cause in the report. A clean shutdown:
    /// the exit code is 0 if everything then drains and closes. Calls after the first are
    /// ignored.
    ///
    /// ```
    /// let report = graceful::Config::new().run(|shutdown| async move {
    ///     shutdown.trigger("maintenance window");
    /// });
    /// assert_eq!(report.cause, graceful::Cause::Requested("maintenance window".into()));
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn trigger(&self, reason: impl Into<String>) {
        self.state.trigger().begin(Cause::Requested(reason.into()));
    }

    /// Runs `future` until shutdown is cancelled: `Some(output)` if it finished first, `None`
    /// from the cancel on (the end of the drain delay). Made for worker loops: once the drain
    /// delay is over no new job is taken, while a job already taken is never cancelled by
    /// shutdown.
    ///
    /// The future may borrow (`rx.recv()`, `listener.accept()`); it is dropped if shutdown
    /// wins, so it should be cancel-safe, as those are. When both are ready, shutdown wins.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// let (jobs, mut queue) = tokio::sync::mpsc::channel::<u32>(16);
    /// let worker = shutdown.clone();
    /// shutdown.spawn("worker", async move {
    ///     while let Some(Some(job)) = worker.until_shutdown(queue.recv()).await {
    ///         let _ = job; // runs to the end: shutdown never cancels a job taken
    ///     }
    ///     // The cancel: take nothing new, run what was accepted into the channel.
    ///     queue.close();
    ///     while let Some(job) = queue.recv().await {
    ///         let _ = job;
    ///     }
    /// });
    /// jobs.send(1).await.unwrap();
    /// shutdown.trigger("example over");
    /// # });
    /// ```
    pub async fn until_shutdown<F: IntoFuture>(&self, future: F) -> Option<F::Output> {
        if self.state.trigger().is_cancelled() {
            return None;
        }
        tokio::select! {
            biased;
            () = Latch::wait(self.state.trigger().cancelled_latch().clone()) => None,
            output = future => Some(output),
        }
    }

    /// The resource of type `T` declared with `#[graceful::resource]` on a function, once it
    /// has opened: the shared instance that the teardown closes. `None` if no such resource
    /// exists or it has not opened yet. A `#[resource] let` in `main` is a variable of `main`'s
    /// body instead, and is not found here.
    ///
    /// Fetch it once and keep the handle: the lookup takes a lock.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// struct Pool;
    /// assert!(shutdown.resource::<Pool>().is_none()); // no `#[graceful::resource]` provides it
    /// # });
    /// ```
    pub fn resource<T: Send + Sync + 'static>(&self) -> Option<Resource<T>> {
        self.state.provided().resource::<T>()
    }

    /// The service's readiness, for `/readyz`: fails from the trigger on.
    ///
    /// ```
    /// # graceful::Config::new().run(|shutdown| async move {
    /// let readiness = shutdown.readiness();
    /// // In a `/readyz` handler: 200 while ready, 503 from the trigger on.
    /// let status = if readiness.is_ready() { 200 } else { 503 };
    /// assert_eq!(status, 200);
    /// # shutdown.trigger("example over");
    /// # });
    /// ```
    pub fn readiness(&self) -> Readiness {
        Readiness::new(self.state.trigger().clone())
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("shutting_down", &self.is_shutting_down())
            .finish_non_exhaustive()
    }
}
