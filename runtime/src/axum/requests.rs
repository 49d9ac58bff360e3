//! A connection's requests in progress, counted from the router's call until hyper drops the
//! response's body (written or not), so that a closing connection knows whether it still
//! serves anything; and the end of the gRPC responses still streaming when the deadline comes.
//!
//! A gRPC status is a frame of its own (trailers after the last message): a stream cut by
//! closing its connection reaches the client as a protocol error ("h2 protocol error",
//! `Unknown`), not as a status it can act on. So just before the drain's deadline each gRPC
//! response still streaming ends with `UNAVAILABLE` (retry elsewhere), between two messages,
//! and its connection is given the time to write it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response};
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

/// The message of the status a gRPC stream cut at the deadline ends with (printable ASCII, so
/// it needs no percent-encoding).
const CUT_MESSAGE: &str = "cut at the server's shutdown deadline; retry on another server";

/// One connection's requests.
pub(super) struct Requests {
    seen: AtomicBool,
    arrived: tokio::sync::Notify,
    in_progress: AtomicUsize,
    /// For an HTTP/2 connection: fired just before the deadline, to end its gRPC streams.
    /// HTTP/1.1 carries no gRPC, and gets none.
    cut: Option<CutSignal>,
    /// Per server: how many gRPC streams the cut ended.
    cut_streams: Arc<AtomicUsize>,
}

impl Requests {
    pub(super) fn new(http2: bool, cut_streams: Arc<AtomicUsize>) -> Self {
        Requests {
            seen: AtomicBool::new(false),
            arrived: tokio::sync::Notify::new(),
            in_progress: AtomicUsize::new(0),
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
struct InProgress(Arc<Requests>);

impl InProgress {
    fn new(requests: &Arc<Requests>) -> Self {
        requests.in_progress.fetch_add(1, Ordering::AcqRel);
        if !requests.seen.swap(true, Ordering::AcqRel) {
            requests.arrived.notify_one();
        }
        InProgress(requests.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::AcqRel);
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
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<Counted<B>>;
    type Error = S::Error;
    type Future = Responding<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        Responding {
            in_progress: Some(InProgress::new(&self.requests)),
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
    }
}

impl<F, B, E> Future for Responding<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<Counted<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let in_progress = this.in_progress.take();
        // Only an HTTP/2 connection has a cut, so HTTP/1.1 responses skip the header lookup.
        let cut = in_progress
            .as_ref()
            .filter(|in_progress| in_progress.0.cut.is_some() && is_grpc(response.headers()))
            .map(|_| Cut {
                waiting: None,
                ended: false,
            });
        Poll::Ready(Ok(response.map(|body| Counted {
            body,
            cut,
            in_progress,
        })))
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// A gRPC response's end at the deadline.
struct Cut {
    /// Made the first time the body waits (a unary response, ready at once, never makes it).
    waiting: Option<Pin<Box<OwnedNotified>>>,
    ended: bool,
}

impl Cut {
    /// The trailers of a stream cut at the deadline.
    fn trailers<D>() -> Frame<D> {
        let mut trailers = HeaderMap::with_capacity(2);
        trailers.insert("grpc-status", HeaderValue::from_static("14"));
        trailers.insert("grpc-message", HeaderValue::from_static(CUT_MESSAGE));
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
        let this = self.project();
        let (Some(cut), Some(in_progress)) = (this.cut, this.in_progress.as_ref()) else {
            return this.body.poll_frame(cx);
        };
        if cut.ended {
            return Poll::Ready(None);
        }
        let signal = in_progress
            .0
            .cut
            .as_ref()
            .expect("a gRPC response's cut is its connection's");
        // tonic writes whole messages per frame: between two frames is between two messages.
        if !signal.fired.load(Ordering::SeqCst) {
            let polled = this.body.poll_frame(cx);
            if polled.is_ready() {
                return polled;
            }
            // Waiting: registered before the flag is read again, so that a cut between the two
            // is not missed.
            let waiting = cut.waiting.get_or_insert_with(|| {
                let mut waiting = Box::pin(signal.waiters.clone().notified_owned());
                waiting.as_mut().enable();
                waiting
            });
            if !signal.fired.load(Ordering::SeqCst) {
                ready!(waiting.as_mut().poll(cx));
            }
        }
        cut.ended = true;
        in_progress.0.cut_streams.fetch_add(1, Ordering::Relaxed);
        Poll::Ready(Some(Ok(Cut::trailers())))
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
