//! Opening the item resources, group by group, as the start of `main`'s body.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use super::{ItemResource, Opening};
use crate::catch_unwind::CatchUnwind;
use crate::{Cause, Shutdown};

/// Opens the items group by group. Returns whether `main` should run: not if a constructor
/// failed (shutdown has then begun with [`Cause::Startup`]), nor if shutdown began meanwhile.
///
/// A constructor is never interrupted by shutdown, like `main`'s body; the lifecycle bounds
/// the whole of it by the drain deadline.
pub(crate) async fn open_all(shutdown: &Shutdown, items: &[&'static ItemResource]) -> bool {
    let state = shutdown.state();
    let stopped = || {
        let stopped = state.trigger().is_triggered();
        if stopped {
            state.log().event(|| {
                tracing::info!(
                    target: "graceful",
                    "shutdown began during startup: the remaining resources are not opened and `main` does not run"
                );
            });
        }
        stopped
    };
    for group in items.chunk_by(|a, b| a.order == b.order) {
        if stopped() {
            return false;
        }
        // A failure has started shutdown already, with the first as its cause.
        if !open_group(shutdown, group).await.is_empty() {
            return false;
        }
    }
    items.is_empty() || !stopped()
}

/// Opens a group of equal order concurrently; returns its failures. The first one starts
/// shutdown as soon as it happens.
///
/// The constructors are polled here, inside `main`'s body, rather than spawned: when the
/// deadline drops the body, they are dropped with it, and none can register a resource after
/// the teardown has begun.
async fn open_group(shutdown: &Shutdown, group: &[&'static ItemResource]) -> Vec<String> {
    let state = shutdown.state();
    state
        .provided()
        .set_opening(group.iter().map(|item| item.name).collect());
    let mut opening: Vec<_> = group
        .iter()
        .map(|&item| {
            let context = Opening::new(shutdown.clone(), item);
            Some((item, CatchUnwind::new((item.open)(context))))
        })
        .collect();
    let mut failures = Vec::new();
    std::future::poll_fn(|cx| {
        for slot in &mut opening {
            let Some((item, future)) = slot else { continue };
            let Poll::Ready(outcome) = Pin::new(future).poll(cx) else {
                continue;
            };
            state.provided().opened(item.name);
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(format!(
                    "resource `{}` failed to open: {}",
                    item.name,
                    crate::error::render_caught(error)
                )),
                Err(message) => Some(format!(
                    "resource `{}` panicked while opening: {message}",
                    item.name
                )),
            };
            if let Some(failure) = failure {
                // At once, whatever its siblings still do: the deadline then bounds them.
                state.trigger().begin(Cause::Startup(failure.clone()));
                let (name, line) = (item.name, failure.clone());
                state.log().event(move || {
                    tracing::error!(target: "graceful", resource = name, "{line}");
                });
                failures.push(failure);
            }
            *slot = None;
        }
        match opening.iter().all(Option::is_none) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        }
    })
    .await;
    failures
}
