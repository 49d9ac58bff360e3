//! The future [`serve`](super::serve) returns, and its settings.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpListener;

use super::app::Routing;
use crate::Shutdown;

/// The server [`serve`](super::serve) makes: a future, to spawn as a task or to await, with
/// settings to change before it first runs.
#[must_use = "a server does nothing unless spawned or awaited"]
pub struct Serve {
    start: Option<(TcpListener, Routing, Shutdown)>,
    options: Options,
    running: Option<Pin<Box<dyn Future<Output = io::Result<()>> + Send>>>,
}

/// What a connection is served with.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) drain_hints: bool,
    /// For the responses' `Connection: close` from the trigger on, if `drain_hints`.
    pub(crate) trigger: Option<Shutdown>,
    /// Where a connection says what it let go.
    pub(crate) log: Option<crate::log::Log>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            header_read_timeout: None,
            drain_hints: true,
            trigger: None,
            log: None,
        }
    }
}

impl Options {
    /// These options for one connection of the server of `shutdown`.
    pub(crate) fn with_trigger(&self, shutdown: &Shutdown) -> Options {
        Options {
            trigger: self.drain_hints.then(|| shutdown.clone()),
            log: Some(shutdown.state().log().clone()),
            ..self.clone()
        }
    }
}

impl Serve {
    pub(crate) fn new(listener: TcpListener, routing: Routing, shutdown: Shutdown) -> Self {
        Serve {
            start: Some((listener, routing, shutdown)),
            options: Options::default(),
            running: None,
        }
    }

    /// Closes a connection whose client has not sent a whole request head (or, first, the
    /// bytes that say its protocol) within `timeout` of the server starting to wait for one:
    /// hyper's `header_read_timeout`, for HTTP/1.1. `None`, the default, sets none, as
    /// `axum::serve` does.
    ///
    /// Off by default because hyper starts that clock as soon as it waits for the next
    /// request, so an idle keep-alive connection is closed after `timeout` too: behind a load
    /// balancer that keeps idle connections open for longer (60 s is AWS's default), the
    /// balancer would send a request on a connection the server is closing, and answer 502.
    /// Set it to more than the balancer's idle timeout, or when clients connect directly.
    /// Shutdown needs none of it: after the cancel, a connection halfway through a head is
    /// closed within about 3 s whatever this says.
    ///
    /// ```no_run
    /// # graceful::Config::new().run(|shutdown| async move {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let server = graceful::axum::serve(listener, axum::Router::new(), shutdown.clone())
    ///     .header_read_timeout(std::time::Duration::from_secs(75));
    /// shutdown.spawn("http", server);
    /// # Ok::<(), std::io::Error>(())
    /// # });
    /// ```
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.options.header_read_timeout = timeout.into();
        self
    }

    /// Whether HTTP/1.1 clients are told to move from the trigger on, while the server still
    /// serves and accepts through the drain delay: each response carries `Connection:
    /// close`, and its client's next request opens a new connection. On by default.
    ///
    /// Under Kubernetes, a Service's proxy balances connections, not requests: a keep-alive
    /// connection stays on this pod however early its endpoint is removed, until it is closed.
    /// Closed at the cancel while idle, it can cross a request its client is sending, which
    /// is then lost; told to move by a response, the client reconnects through a proxy that
    /// sends it elsewhere once the removal has reached it (to this pod, still served, before).
    /// Envoy's drain does the same. The cost is a reconnection per request through the drain
    /// delay, for the clients still routed here.
    ///
    /// HTTP/2 connections get their GOAWAY at the cancel, not at the trigger: a GOAWAY can
    /// cross the client's next stream, which tonic's and hyper's clients fail rather than
    /// retry (measured: `Cancelled: connection closed`), and during the drain delay, before
    /// the load balancers have moved, more calls would cross it.
    ///
    /// ```no_run
    /// # graceful::Config::new().run(|shutdown| async move {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let server = graceful::axum::serve(listener, axum::Router::new(), shutdown.clone())
    ///     .drain_hints(false);
    /// shutdown.spawn("http", server);
    /// # Ok::<(), std::io::Error>(())
    /// # });
    /// ```
    pub fn drain_hints(mut self, hints: bool) -> Self {
        self.options.drain_hints = hints;
        self
    }
}

impl Future for Serve {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let running = match &mut this.running {
            Some(running) => running,
            None => {
                let (listener, routing, shutdown) = this.start.take().expect("a server runs once");
                this.running.insert(Box::pin(super::serve_routing(
                    listener,
                    routing,
                    shutdown,
                    this.options.clone(),
                )))
            }
        };
        running.as_mut().poll(cx)
    }
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("options", &self.options)
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}
