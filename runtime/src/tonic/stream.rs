//! A server stream that ends at the cancel with `UNAVAILABLE`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ::tonic::Status;
use futures_util::Stream;

use crate::Shutdown;

/// Ends `stream` at the cancel (the end of the drain delay) with `UNAVAILABLE`, the status a
/// gRPC client retries on another server: for a server stream that would otherwise run past
/// the drain (a watch, a feed) and be cut at the deadline. The message already on its way is
/// not cut in half: the stream ends between two.
///
/// ```
/// use futures_util::StreamExt;
///
/// # graceful::Config::new().run(|shutdown| async move {
/// let ticks = futures_util::stream::repeat(Ok::<u32, tonic::Status>(1));
/// let mut feed = graceful::tonic::until_cancelled(&shutdown, ticks);
/// shutdown.trigger("deploy");
/// # tokio::time::sleep(std::time::Duration::from_millis(1)).await;
/// // … once the drain delay is over:
/// # while feed.next().await.is_some_and(|tick| tick.is_ok()) {}
/// assert!(feed.next().await.is_none());
/// # });
/// ```
pub fn until_cancelled<S, T>(shutdown: &Shutdown, stream: S) -> UntilCancelled<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    UntilCancelled {
        stream,
        shutdown: shutdown.clone(),
        cancelled: None,
        waker: None,
        ended: false,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`until_cancelled`] returns.
    ///
    /// Each poll reads the cancel's flag (an atomic load). The wait for the cancel, shared by
    /// every stream of the process, is registered the first time the stream waits and again
    /// only when its task changes: a stream that waits for each message does not lock the
    /// shared waiter list each time (the contention of tokio-rs/axum#3867).
    pub struct UntilCancelled<S> {
        #[pin]
        stream: S,
        shutdown: Shutdown,
        cancelled: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
        // The waker `cancelled` was last polled with.
        waker: Option<Waker>,
        ended: bool,
    }
}

impl<S, T> Stream for UntilCancelled<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if this.shutdown.is_cancelled() {
            *this.ended = true;
            return Poll::Ready(Some(Err(Status::unavailable(
                "the server is shutting down; retry on another server",
            ))));
        }
        let next = this.stream.poll_next(cx);
        match next {
            Poll::Ready(None) => *this.ended = true,
            Poll::Ready(Some(_)) => {}
            Poll::Pending => {
                let same_task = this
                    .waker
                    .as_ref()
                    .is_some_and(|waker| waker.will_wake(cx.waker()));
                if !same_task {
                    let shutdown = &*this.shutdown;
                    let cancelled = this
                        .cancelled
                        .get_or_insert_with(|| Box::pin(shutdown.cancelled()));
                    *this.waker = Some(cx.waker().clone());
                    if cancelled.as_mut().poll(cx).is_ready() {
                        // Cancelled since the check above: end on the next poll.
                        cx.waker().wake_by_ref();
                    }
                }
            }
        }
        next
    }
}

impl<S> std::fmt::Debug for UntilCancelled<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UntilCancelled")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
