//! A connection's requests in progress, counted from the router's call until hyper drops the
//! response's body (written or not), so that a closing connection knows whether it still
//! serves anything; and the end of the gRPC calls still running when the deadline comes.
//!
//! A gRPC status is a frame of its own (trailers after the last message): a call cut by
//! closing its connection reaches the client as a protocol error ("h2 protocol error",
//! `Unknown`), not as a status it can act on. So just before the drain's deadline each gRPC
//! call still running ends with `UNAVAILABLE` (retry elsewhere): a response still streaming
//! between two messages, a handler that has not answered yet (a slow unary call, a client
//! stream its client never ends) with a status in place of its answer; and its connection is
//! given the time to write it. A response that is ready goes out as it is.
//!
//! None of it shares a waiter between the streams of a connection on the way: a gRPC body
//! reads one flag per poll, and registers once, the first time it waits; a new waker (the
//! body moved to another task) registers again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker, ready};

use hyper::body::{Body, Buf, Frame, Incoming, SizeHint};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response};
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

use crate::Shutdown;

/// The message of the status a gRPC call cut at the deadline ends with (printable ASCII, so
/// it needs no percent-encoding).
const CUT_MESSAGE: &str = "cut at the server's shutdown deadline; retry on another server";

/// How many frames a gRPC body that is never pending (it always has the next message ready)
/// may still send once the cut has fired: enough for a response that is ending (its last
/// message, its trailers), few enough to leave the time to write the status.
const FRAMES_AFTER_CUT: u8 = 2;

/// How many bytes of messages those frames may carry. The status is written after every byte
/// queued ahead of it on its stream (HTTP/2 keeps a stream's frames in order), so a large
/// message ready once the cut has fired is dropped for the status: the call ends with
/// `UNAVAILABLE` either way, and a message of a few MiB could hold the status past the
/// deadline (a client on a loaded machine read 4 MiB queued at the cut too slowly, and got a
/// connection error instead). tonic writes one message per frame; a body of another kind that
/// splits a message across frames could have its message cut in two here, and its client would
/// see a truncated message rather than the status.
const DATA_AFTER_CUT: usize = 64 * 1024;

/// One connection's requests.
pub(super) struct Requests {
    seen: AtomicBool,
    arrived: tokio::sync::Notify,
    in_progress: AtomicUsize,
    /// Of those, how many wait on their client: for more of the request's body, or for it to
    /// take the response's next bytes.
    on_client: AtomicUsize,
    /// For an HTTP/2 connection: fired just before the deadline, to end its gRPC streams.
    /// HTTP/1.1 carries no gRPC, and gets none.
    cut: Option<CutSignal>,
    /// Per server: how many gRPC streams the cut ended.
    cut_streams: Arc<AtomicUsize>,
    /// For an HTTP/1.1 connection whose server tells clients to move: from the trigger on,
    /// its responses carry `Connection: close`.
    drain_hint: Option<Shutdown>,
}

impl Requests {
    pub(super) fn new(
        http2: bool,
        cut_streams: Arc<AtomicUsize>,
        drain_hint: Option<Shutdown>,
    ) -> Self {
        Requests {
            drain_hint,
            seen: AtomicBool::new(false),
            arrived: tokio::sync::Notify::new(),
            in_progress: AtomicUsize::new(0),
            on_client: AtomicUsize::new(0),
            cut: http2.then(CutSignal::default),
            cut_streams,
        }
    }

    /// Whether a request has arrived yet.
    pub(super) fn seen(&self) -> bool {
        self.seen.load(Ordering::Acquire)
    }

    /// Resolves when the first request arrives (call only while none has).
    pub(super) async fn first(&self) {
        self.arrived.notified().await;
    }

    pub(super) fn in_progress(&self) -> usize {
        self.in_progress.load(Ordering::Acquire)
    }

    /// How many of the requests in progress wait on their client.
    pub(super) fn on_client(&self) -> usize {
        self.on_client.load(Ordering::Acquire)
    }

    /// Ends the gRPC responses still streaming, each between two messages, with `UNAVAILABLE`.
    pub(super) fn cut_grpc_streams(&self) {
        if let Some(cut) = &self.cut {
            cut.fired.store(true, Ordering::SeqCst);
            cut.waiters.notify_waiters();
        }
    }
}

/// A connection's cut: a flag that each poll of a gRPC body reads (a load, no lock, as a
/// unary response needs no more), and a wake-up for the bodies waiting when it fires.
#[derive(Default)]
struct CutSignal {
    fired: AtomicBool,
    waiters: Arc<Notify>,
}

/// One request in progress, until dropped.
struct InProgress {
    requests: Arc<Requests>,
    /// What it waits on its client for; none for a gRPC call, which is never let go as a
    /// stalled client (its end is a status, at the cut).
    waits: Tracked,
}

/// A request's [`Waits`]: its own when it has no body (no allocation), shared with its body
/// when it has one.
enum Tracked {
    Not,
    Own(Waits),
    Shared(Arc<Waits>),
}

impl Tracked {
    fn get(&self) -> Option<&Waits> {
        match self {
            Tracked::Not => None,
            Tracked::Own(waits) => Some(waits),
            Tracked::Shared(waits) => Some(waits),
        }
    }
}

impl InProgress {
    fn new(requests: &Arc<Requests>, waits: Tracked) -> Self {
        requests.in_progress.fetch_add(1, Ordering::AcqRel);
        // A load first: after the first request, no write to the line the streams share.
        if !requests.seen.load(Ordering::Acquire) && !requests.seen.swap(true, Ordering::AcqRel) {
            requests.arrived.notify_one();
        }
        InProgress {
            requests: requests.clone(),
            waits,
        }
    }

    /// Whether its response waits on the client to take what it has produced.
    fn set_response_held(&self, held: bool) {
        if let Some(waits) = self.waits.get() {
            waits.set(&self.requests, RESPONSE_HELD, held);
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        if let Some(waits) = self.waits.get() {
            waits.done(&self.requests);
        }
        self.requests.in_progress.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The handler waits for more of the request's body.
const BODY_PENDING: u8 = 1;
/// The response has handed hyper a frame that it has not taken yet.
const RESPONSE_HELD: u8 = 2;
/// The request is no longer in progress: nothing of it counts any more (a body read by a task
/// of the handler's, after its response).
const DONE: u8 = 4;

/// What one request waits on its client for, each side set by the task that polls it (the
/// body by the handler, the response by hyper). The request counts once in its connection's
/// `on_client` while either side waits, and not at all once it is done.
#[derive(Default)]
struct Waits(AtomicU8);

impl Waits {
    fn set(&self, requests: &Requests, side: u8, waiting: bool) {
        let before = match waiting {
            true => self.0.fetch_or(side, Ordering::AcqRel),
            false => self.0.fetch_and(!side, Ordering::AcqRel),
        };
        if before & DONE != 0 {
            return;
        }
        let after = match waiting {
            true => before | side,
            false => before & !side,
        };
        // A `done` between the two operations balances the count: it takes away what it saw.
        match (before & !DONE != 0, after & !DONE != 0) {
            (false, true) => requests.on_client.fetch_add(1, Ordering::AcqRel),
            (true, false) => requests.on_client.fetch_sub(1, Ordering::AcqRel),
            _ => return,
        };
    }

    fn done(&self, requests: &Requests) {
        let before = self.0.fetch_or(DONE, Ordering::AcqRel);
        if before & DONE == 0 && before != 0 {
            requests.on_client.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's body, as the router reads it: while the handler waits for more of it, the
    /// request waits on its client. A request with no body (most `GET`s) tracks nothing.
    pub(crate) struct RequestBody {
        #[pin]
        body: Incoming,
        waits: Option<(Arc<Requests>, Arc<Waits>)>,
    }

    impl PinnedDrop for RequestBody {
        fn drop(this: Pin<&mut Self>) {
            if let Some((requests, waits)) = this.project().waits {
                waits.set(requests, BODY_PENDING, false);
            }
        }
    }
}

impl Body for RequestBody {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        if let Some((requests, waits)) = this.waits {
            waits.set(requests, BODY_PENDING, polled.is_pending());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The router's service, counting its requests in progress.
pub(super) struct Counting<S> {
    inner: S,
    requests: Arc<Requests>,
}

impl<S> Counting<S> {
    pub(super) fn new(inner: S, requests: Arc<Requests>) -> Self {
        Counting { inner, requests }
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Counting<S>
where
    S: hyper::service::Service<Request<RequestBody>, Response = Response<B>>,
    B: Default,
{
    type Response = Response<Counted<B>>;
    type Error = S::Error;
    type Future = Responding<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        // Only an HTTP/2 connection has a cut, so HTTP/1.1 requests skip the header lookup.
        let grpc = self.requests.cut.is_some() && is_grpc(request.headers());
        // What it waits on its client for is shared with its body only if it has one.
        let (waits, body_waits) = match (grpc, request.body().is_end_stream()) {
            (true, _) => (Tracked::Not, None),
            (false, true) => (Tracked::Own(Waits::default()), None),
            (false, false) => {
                let waits = Arc::<Waits>::default();
                let body_waits = (self.requests.clone(), waits.clone());
                (Tracked::Shared(waits), Some(body_waits))
            }
        };
        let request = request.map(|body| RequestBody {
            body,
            waits: body_waits,
        });
        Responding {
            in_progress: Some(InProgress::new(&self.requests, waits)),
            cut: grpc.then(Waiting::default),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The router's response on the way: the request stays in progress in its body.
    pub(super) struct Responding<F> {
        #[pin]
        inner: F,
        in_progress: Option<InProgress>,
        // For a gRPC call: its handler is dropped at the cut if it has not answered.
        cut: Option<Waiting>,
    }
}

impl<F, B, E> Future for Responding<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<Counted<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.poll(cx) {
            Poll::Ready(response) => response?,
            Poll::Pending => {
                let (Some(waiting), Some(in_progress)) = (this.cut, this.in_progress.as_ref())
                else {
                    return Poll::Pending;
                };
                ready!(waiting.poll_cut(in_progress.signal(), cx));
                in_progress.count_cut();
                // Trailers-only: the status in the headers, no message.
                let mut response = Response::new(B::default());
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
                add_cut_status(headers);
                return Poll::Ready(Ok(response.map(|body| Counted {
                    body,
                    cut: None,
                    in_progress: this.in_progress.take(),
                })));
            }
        };
        let in_progress = this.in_progress.take();
        let mut response = response;
        if let Some(shutdown) = in_progress
            .as_ref()
            .and_then(|in_progress| in_progress.requests.drain_hint.as_ref())
            && shutdown.is_shutting_down()
        {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let cut = this.cut.take().map(|waiting| Cut {
            waiting,
            after: 0,
            data_after: 0,
            ended: false,
        });
        Poll::Ready(Ok(response.map(|body| Counted {
            body,
            cut,
            in_progress,
        })))
    }
}

/// `application/grpc`, `application/grpc+proto` and the like; not gRPC-web, whose status is
/// a frame of the body rather than HTTP trailers.
fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        value
            .strip_prefix(b"application/grpc")
            .is_some_and(|rest| rest.is_empty() || rest[0] == b'+' || rest[0] == b';')
    })
}

fn add_cut_status(headers: &mut HeaderMap) {
    headers.insert("grpc-status", HeaderValue::from_static("14"));
    headers.insert("grpc-message", HeaderValue::from_static(CUT_MESSAGE));
}

impl InProgress {
    /// The cut of this request's connection (only gRPC calls, on HTTP/2, ask for it).
    fn signal(&self) -> &CutSignal {
        self.requests
            .cut
            .as_ref()
            .expect("a gRPC call's cut is its connection's")
    }

    fn count_cut(&self) {
        self.requests.cut_streams.fetch_add(1, Ordering::Relaxed);
    }
}

/// A gRPC call's wait for the cut.
#[derive(Default)]
struct Waiting {
    /// Made the first time the call waits (a unary response, ready at once, never makes it).
    notified: Option<Pin<Box<OwnedNotified>>>,
    /// The waker `notified` was last polled with: polling it again with the same one would
    /// lock the connection's waiter list for nothing.
    waker: Option<Waker>,
}

impl Waiting {
    /// Ready once the cut has fired; otherwise registers `cx` to be woken by it.
    fn poll_cut(&mut self, signal: &CutSignal, cx: &mut Context<'_>) -> Poll<()> {
        if signal.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let notified = self.notified.get_or_insert_with(|| {
            let mut notified = Box::pin(signal.waiters.clone().notified_owned());
            notified.as_mut().enable();
            notified
        });
        // Registered (by `enable`) before the flag is read again: a cut between the two is
        // not missed.
        if signal.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if self
            .waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        self.waker = Some(cx.waker().clone());
        notified.as_mut().poll(cx)
    }
}

/// A gRPC response's end at the deadline.
struct Cut {
    waiting: Waiting,
    /// Frames sent since the cut fired.
    after: u8,
    /// Bytes of data those frames carried.
    data_after: usize,
    ended: bool,
}

impl Cut {
    /// The trailers of a stream cut at the deadline.
    fn trailers<D>() -> Frame<D> {
        let mut trailers = HeaderMap::with_capacity(2);
        add_cut_status(&mut trailers);
        Frame::trailers(trailers)
    }
}

pin_project_lite::pin_project! {
    /// A response's body, its request in progress until hyper drops it.
    pub(super) struct Counted<B> {
        #[pin]
        body: B,
        cut: Option<Cut>,
        in_progress: Option<InProgress>,
    }
}

impl<B: Body> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        // Polled again: what it gave last has been taken. A frame given now waits on the
        // client until the next poll (hyper polls once it has written it).
        let polled = poll_counted(this.body.as_mut(), this.cut, this.in_progress, cx);
        if let Some(in_progress) = this.in_progress {
            let data = matches!(&polled, Poll::Ready(Some(Ok(frame))) if frame.is_data());
            in_progress.set_response_held(data);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.cut {
            Some(cut) if cut.ended => true,
            _ => self.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A frame of `B`, or its error.
type FrameOf<B> = Result<Frame<<B as Body>::Data>, <B as Body>::Error>;

/// A response's next frame: the router's, or the status of a gRPC call cut at the deadline.
fn poll_counted<B: Body>(
    body: Pin<&mut B>,
    cut: &mut Option<Cut>,
    in_progress: &Option<InProgress>,
    cx: &mut Context<'_>,
) -> Poll<Option<FrameOf<B>>> {
    let (Some(cut), Some(in_progress)) = (cut, in_progress.as_ref()) else {
        return body.poll_frame(cx);
    };
    if cut.ended {
        return Poll::Ready(None);
    }
    let signal = in_progress.signal();
    // What is ready goes out, the cut or not (a response that is ending: its last message,
    // its trailers), up to a few frames once the cut has fired; tonic writes whole messages
    // per frame, so between two frames is between two messages.
    let fired = signal.fired.load(Ordering::SeqCst);
    if !fired || cut.after < FRAMES_AFTER_CUT {
        if let Poll::Ready(frame) = body.poll_frame(cx) {
            if !fired {
                return Poll::Ready(frame);
            }
            cut.after += 1;
            let data = match &frame {
                Some(Ok(frame)) => frame.data_ref().map_or(0, Buf::remaining),
                _ => 0,
            };
            cut.data_after = cut.data_after.saturating_add(data);
            if cut.data_after <= DATA_AFTER_CUT {
                return Poll::Ready(frame);
            }
            // Too large to go ahead of the status: dropped (see `DATA_AFTER_CUT`).
        } else {
            ready!(cut.waiting.poll_cut(signal, cx));
        }
    }
    cut.ended = true;
    in_progress.count_cut();
    Poll::Ready(Some(Ok(Cut::trailers())))
}
