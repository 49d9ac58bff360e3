//! Serving an [`axum::Router`](https://docs.rs/axum/0.8/axum/struct.Router.html) under the
//! [`Shutdown`] handle, and health endpoints for load balancers. Enabled by the `axum` feature.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use graceful::{Config, axum::{health, serve}};
//!
//! Config::new().run(|shutdown| async move {
//!     let app = Router::new()
//!         .route("/", get(|| async { "hello" }))
//!         .merge(health(&shutdown));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     shutdown.spawn("http", serve(listener, app, shutdown.clone()));
//!     Ok::<(), std::io::Error>(())
//! });
//! ```

mod app;
mod connection;
mod health;
mod requests;
mod serve;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use self::app::App;
use self::app::{Routes, Routing};
use self::connection::{Connections, Io, Traffic};
pub use self::health::health;
use self::requests::{Counting, Requests};
use self::serve::Options;
pub use self::serve::Serve;
use crate::Shutdown;

/// Serves `app` on `listener` until shutdown, then drains. Spawn it as a task:
/// `shutdown.spawn("http", serve(listener, app, shutdown.clone()))`.
///
/// `app` is a `Router`, or `router.into_make_service_with_connect_info::<C>()` for handlers
/// that extract `ConnectInfo<C>` (see [`App`]).
///
/// It speaks HTTP/1.1 (with upgrades, such as WebSockets) and HTTP/2 by prior knowledge (h2c,
/// as gRPC clients and load balancers speak it to a backend), told apart by each connection's
/// first bytes. TLS is not its business: terminate it in front (a load balancer, a sidecar).
///
/// - From the trigger through the drain delay it keeps accepting, while `/readyz` (see
///   [`health`]) answers 503 so that load balancers move traffic away, and HTTP/1.1
///   responses carry `Connection: close` (see [`Serve::drain_hints`]).
/// - At the cancel (the end of the drain delay) it stops accepting: the listener is closed
///   and new connections are refused. Idle keep-alive connections are closed; a request in
///   flight runs to the end and its response carries `Connection: close`. An HTTP/2
///   connection gets a GOAWAY: its streams in flight finish, new ones are refused.
/// - A connection that then has no request in progress and writes nothing for a second (idle,
///   an HTTP/2 client that ignores the GOAWAY, or one in the middle of a request head it never
///   finishes) is closed, within about 3 s of the cancel: half a request head cannot hold the
///   drain. A response still being written goes on to its end. A connection whose every
///   request waits on its client (for the rest of a request body it stopped sending, for it
///   to read a response it stopped reading, an HTTP/2 window it keeps closed) and that moves
///   no byte either way for 2 s is closed too: those requests are the client's to lose, the
///   exit stays clean, and the log says so. A gRPC call is never let go this way: it ends with
///   `UNAVAILABLE` a second before the drain's deadline. A client that trickles bytes or
///   sends HTTP/2 PINGs keeps its request, as a slow link would, until the deadline.
/// - It returns `Ok(())` once every connection is gone, upgraded ones (WebSockets) included.
/// - A connection still open at the shutdown deadline (a request that did not finish, an SSE
///   stream or a WebSocket that was not ended) is closed then: the task is aborted, and every
///   socket it accepted, upgraded or not, fails its next read or write, which ends the
///   handler's stream. The report names the `http` task as cut. End long-lived streams at
///   [`Shutdown::cancelled`] to finish cleanly before that.
///
/// Per request, a few uncontended atomic operations on its connection's counts (about 1.02x
/// the instructions of `axum::serve` per HTTP/1.1 request); per connection, one task and one
/// socket wrapper, with no waiter shared between connections (one shared shutdown waiter per
/// connection halved axum's throughput: tokio-rs/axum#3867).
///
/// Settings: [`Serve::header_read_timeout`], [`Serve::drain_hints`].
///
/// # Errors
///
/// If gRPC calls were still running at the deadline (see [`graceful::tonic`]): they were
/// ended with `UNAVAILABLE`, and the error counts them. A failed `accept` is logged and
/// retried (after a pause if the process is out of file descriptors).
///
/// [`graceful::tonic`]: https://docs.rs/gracefully/latest/graceful/tonic/index.html
pub fn serve(listener: TcpListener, app: impl App, shutdown: Shutdown) -> Serve {
    Serve::new(listener, Routing::from_app(app), shutdown)
}

/// [`serve`], compiled once: whatever the application, each connection gets the same type.
async fn serve_routing(
    listener: TcpListener,
    routing: Routing,
    shutdown: Shutdown,
    options: Options,
) -> io::Result<()> {
    // Accepting: the service has started (systemd hears `READY=1`), should `main`'s body
    // be this server rather than return.
    shutdown.mark_started();
    let connections = Arc::new(Connections::default());
    // If this future is dropped (the task aborted at the deadline), end every socket it
    // accepted, including those an upgrade took out of hyper's hands.
    let _kill_on_drop = KillOnDrop(connections.clone());
    let mut tasks = JoinSet::new();
    // One `oneshot` per connection, owned here: sending on it (or dropping it) asks that
    // connection to close gracefully, without any waiter shared between connections.
    let mut closers: HashMap<tokio::task::Id, oneshot::Sender<Closing>> = HashMap::new();
    let cut_streams = Arc::new(AtomicUsize::new(0));
    let mut stop = pin!(shutdown.cancelled());

    'accept: loop {
        tokio::select! {
            biased;
            () = &mut stop => break 'accept,
            Some(done) = tasks.join_next_with_id() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(error) => error.id(),
                };
                closers.remove(&id);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, client)) => {
                    let _ = stream.set_nodelay(true);
                    let (closer, closing) = oneshot::channel();
                    let io = connections.accept(stream);
                    let task = tasks.spawn(serve_connection(
                        io,
                        routing.for_client(client),
                        closing,
                        cut_streams.clone(),
                        options.with_trigger(&shutdown),
                    ));
                    closers.insert(task.id(), closer);
                }
                Err(error) if is_connection_error(&error) => {}
                Err(error) => {
                    // Out of file descriptors, most likely: pause rather than spin.
                    tracing::error!(target: "graceful::axum", "accept failed: {error}");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = &mut stop => break 'accept,
                    }
                }
            },
        }
    }

    let closing = Closing::now(&shutdown);
    // The connections the kernel has completed but this loop has not taken yet are served
    // too, each closing after what it sent: closing the listener would reset them.
    loop {
        let pending = std::future::poll_fn(|cx| {
            Poll::Ready(match listener.poll_accept(cx) {
                Poll::Ready(Ok(accepted)) => Some(accepted),
                Poll::Ready(Err(_)) | Poll::Pending => None,
            })
        })
        .await;
        let Some((stream, client)) = pending else {
            break;
        };
        let _ = stream.set_nodelay(true);
        let (closer, closed) = oneshot::channel();
        let _ = closer.send(closing);
        tasks.spawn(serve_connection(
            connections.accept(stream),
            routing.for_client(client),
            closed,
            cut_streams.clone(),
            options.with_trigger(&shutdown),
        ));
    }
    let address = listener.local_addr().ok();
    drop(listener);
    let open = connections.count();
    tracing::info!(
        target: "graceful::axum",
        open,
        "stopped accepting on {}; closing {open} {} as their requests finish",
        address.map_or_else(|| "the listener".to_owned(), |address| address.to_string()),
        if open == 1 { "connection" } else { "connections" },
    );
    for (_, closer) in closers.drain() {
        let _ = closer.send(closing);
    }
    while tasks.join_next().await.is_some() {}
    connections.gone().await;
    tracing::info!(target: "graceful::axum", "every connection closed");
    // The streams the deadline cut ended cleanly on the wire, but their work did not: the
    // task says so, and the report names it.
    match cut_streams.load(Ordering::Relaxed) {
        0 => Ok(()),
        1 => Err(io::Error::other(
            "1 gRPC call was still running at the shutdown deadline: ended with UNAVAILABLE",
        )),
        cut => Err(io::Error::other(format!(
            "{cut} gRPC calls were still running at the shutdown deadline: ended with UNAVAILABLE"
        ))),
    }
}

/// What a connection is told when the server closes.
#[derive(Clone, Copy)]
struct Closing {
    /// When its gRPC calls still running are ended with `UNAVAILABLE`: shortly before the
    /// drain's deadline, leaving the connection the time to write their status. `None` for a
    /// handle that no sequence runs (it has no deadline).
    cut_at: Option<Instant>,
}

/// How long before the drain's deadline the gRPC calls still running are ended, at most: the
/// time their connections have to write the status before the task is aborted. The status
/// waits behind what its stream has queued under flow control (up to hyper's send buffer and
/// a message), and then crosses the network to a client that may be a round trip of a
/// mobile link away: 100 ms, then 250 ms, were too little for 1 MiB messages on a loaded
/// machine. A short drain keeps three quarters of itself for the calls to finish.
const CUT_AHEAD: Duration = Duration::from_secs(1);

impl Closing {
    fn now(shutdown: &Shutdown) -> Self {
        let now = Instant::now();
        let cut_at = shutdown.state().drain_deadline().map(|deadline| {
            let left = deadline.saturating_duration_since(now);
            deadline - CUT_AHEAD.min(left / 4)
        });
        Closing { cut_at }
    }
}

/// How long a connection that has not sent a request yet is given to send one once the
/// server closes: its client may have it on the way (Go's `Shutdown` waits the same way for a
/// new connection), and closing first would reset it.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

/// How long a closing connection may go without a request in progress and without writing a
/// byte before it is dropped: an idle HTTP/1.1 connection closes at once, an HTTP/2 one once
/// its client has its GOAWAY; one in the middle of a request head that never ends
/// (slowloris), or an HTTP/2 client that ignores the GOAWAY, is dropped then.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long a closing connection whose every request waits on its client (a request body it
/// stopped sending, a response it stopped reading) may go without a byte either way before it
/// is dropped: a client on a bad link stalls for a moment, one that holds the drain for good.
const STALLED_CLIENT_GRACE: Duration = Duration::from_secs(2);

async fn serve_connection(
    mut io: Io,
    routes: Routes,
    mut closing: oneshot::Receiver<Closing>,
    cut_streams: Arc<AtomicUsize>,
    options: Options,
) {
    // The client's first bytes say which protocol it speaks. One that has sent nothing by the
    // close is given the same grace as for a first request.
    let mut closed = None;
    let first_bytes = async {
        match options.header_read_timeout {
            Some(timeout) => tokio::time::timeout(timeout, Protocol::of(&mut io))
                .await
                .ok(),
            None => Some(Protocol::of(&mut io).await),
        }
    };
    let protocol = tokio::select! {
        protocol = first_bytes => match protocol {
            Some(protocol) => protocol,
            None => return,
        },
        sent = &mut closing => {
            closed = Some(sent.unwrap_or(Closing { cut_at: None }));
            match tokio::time::timeout(FIRST_REQUEST_GRACE, Protocol::of(&mut io)).await {
                Ok(protocol) => protocol,
                Err(_) => return,
            }
        }
    };
    let traffic = io.traffic();
    let http2 = matches!(protocol, Protocol::Http2);
    // HTTP/1.1 clients are told to move by their responses (`Connection: close` from the
    // trigger on), which no request of theirs can cross. HTTP/2 ones get their GOAWAY at the
    // cancel: one crosses the client's next stream, which tonic and hyper's clients then fail
    // rather than retry, and during the drain delay more of them would cross it.
    let drain_hint = options.trigger.filter(|_| !http2);
    let log = options.log;
    let requests = Arc::new(Requests::new(http2, cut_streams, drain_hint));
    let service = Counting::new(routes, requests.clone());
    match protocol {
        Protocol::Http1 => {
            let mut builder = http1::Builder::new();
            if let Some(timeout) = options.header_read_timeout {
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(timeout);
            }
            let connection = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            drive(pin!(connection), &requests, &traffic, &log, closing, closed).await;
        }
        Protocol::Http2 => {
            // Each stream runs on a task of its own. They end with the connection: dropping it
            // fails every stream still open, which wakes its task (hyper's stream tasks watch
            // for a reset while they wait for the handler or the body). A `JoinSet` per
            // connection to abort them measured 0.91x of tokio's executor in requests per
            // second: a lock per spawn, per completion and per reap.
            let connection = http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(io), service);
            drive(pin!(connection), &requests, &traffic, &log, closing, closed).await;
        }
    }
}

/// What a connection speaks: HTTP/2 by prior knowledge (h2c: the client starts with the
/// HTTP/2 preface, as gRPC clients and load balancers do with a backend), or HTTP/1.1. Each
/// goes to hyper's own builder for it, so HTTP/1.1 pays nothing for HTTP/2.
enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    /// Reads the first bytes (given back to hyper): the preface starts with `PRI`, which no
    /// HTTP/1.1 method is. An early end or an error is hyper's to find out, as HTTP/1.1.
    async fn of(io: &mut Io) -> Protocol {
        let first = io.first_bytes(3, |first| !b"PRI".starts_with(first)).await;
        match first.starts_with(b"PRI") {
            true => Protocol::Http2,
            false => Protocol::Http1,
        }
    }
}

/// A connection of either protocol, which can be asked to close gracefully.
trait Graceful: Future<Output = Result<(), hyper::Error>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

/// The application, as each connection serves it.
type RouterService = Counting<Routes>;

impl Graceful for http1::UpgradeableConnection<TokioIo<Io>, RouterService> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

impl Graceful for http2::Connection<TokioIo<Io>, RouterService, TokioExecutor> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http2::Connection::graceful_shutdown(self);
    }
}

/// Serves a connection until it ends, or until the server closes (`closing` fires, or
/// `closed` already): then it closes gracefully, reading first a request already sent, and
/// is dropped once it has had no request in progress and written nothing for a whole
/// [`IDLE_CLOSE_GRACE`]. Its gRPC calls still running at the cut end then.
async fn drive<C: Graceful>(
    mut connection: Pin<&mut C>,
    requests: &Requests,
    traffic: &Traffic,
    log: &Option<crate::log::Log>,
    closing: oneshot::Receiver<Closing>,
    closed: Option<Closing>,
) {
    let closing = match closed {
        Some(closing) => closing,
        None => tokio::select! {
            result = connection.as_mut() => return log_end(result),
            // Dropped rather than sent: the server is going (aborted), with no deadline to keep.
            sent = closing => sent.unwrap_or(Closing { cut_at: None }),
        },
    };
    let mut to_cut = closing.cut_at.is_some();
    let mut cut = pin!(tokio::time::sleep_until(
        closing.cut_at.unwrap_or_else(Instant::now)
    ));
    if !requests.seen() {
        tokio::select! {
            result = connection.as_mut() => return log_end(result),
            () = requests.first() => {}
            () = tokio::time::sleep(FIRST_REQUEST_GRACE) => {}
        }
    }
    // A request that has arrived but that hyper has not read yet is read first: hyper closes
    // a connection it sees idle at once, and the unread request would get a reset instead of
    // its answer (with `Connection: close`).
    let read = std::future::poll_fn(|cx| Poll::Ready(connection.as_mut().poll(cx))).await;
    if let Poll::Ready(result) = read {
        return log_end(result);
    }
    // HTTP/1.1: no keep-alive from now on, idle closes at once; HTTP/2: GOAWAY, the streams in
    // flight (those that crossed the GOAWAY too) finish, new ones are refused.
    connection.as_mut().graceful_shutdown();
    // A connection that neither serves a request nor writes a byte for a whole grace is done
    // with: idle (an HTTP/2 client that does not answer the GOAWAY's ping), or in the middle
    // of a request head it may never finish (slowloris), which hyper would wait for up to the
    // deadline. One still writing a response (a large body to a slow reader) goes on.
    let mut written = traffic.written();
    let mut moved = traffic.moved();
    // Since when every request in progress has waited on its client with no byte moving, as
    // far as the ticks saw.
    let mut stalled_since: Option<Instant> = None;
    let mut idle = pin!(tokio::time::sleep(IDLE_CLOSE_GRACE));
    loop {
        tokio::select! {
            result = connection.as_mut() => return log_end(result),
            () = &mut cut, if to_cut => {
                requests.cut_grpc_streams();
                to_cut = false;
            }
            () = &mut idle => {
                let now = Instant::now();
                let (written_now, moved_now) = (traffic.written(), traffic.moved());
                let in_progress = requests.in_progress();
                if in_progress == 0 && written_now == written {
                    return;
                }
                // Every request in progress waits on its client (for the rest of its body, or
                // for it to take the response), and no byte has moved either way: the client
                // has stopped, and would hold the drain to the deadline.
                let waiting = in_progress > 0 && requests.on_client() == in_progress;
                if waiting && moved_now == moved {
                    let since = *stalled_since.get_or_insert(now);
                    if now - since >= STALLED_CLIENT_GRACE {
                        if let Some(log) = log {
                            log.announce(
                                tracing::Level::WARN,
                                None,
                                format!(
                                    "let go of a connection whose client stopped sending its \
                                     request or reading its response ({in_progress} in progress)"
                                ),
                            );
                        }
                        return;
                    }
                } else {
                    stalled_since = waiting.then_some(now);
                }
                (written, moved) = (written_now, moved_now);
                idle.as_mut().reset(now + IDLE_CLOSE_GRACE);
            }
        }
    }
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        tracing::debug!(target: "graceful::axum", "connection ended with an error: {error}");
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

struct KillOnDrop(Arc<Connections>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}
