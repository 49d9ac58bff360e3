//! `main`'s body, driven by the lifecycle alongside each phase rather than spawned: it need not
//! be `Send`, and it may itself be the server that drains after the cancel.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};

use crate::Shutdown;
use crate::catch_unwind::panic_message;

/// `main` with its type erased: `Config::run` is generic, the lifecycle is not.
pub(crate) type MainFn<'a> = Box<dyn FnOnce(Shutdown) -> MainBody<'a> + 'a>;
/// `main`'s body, its output checked (`MainOutput`) and its type erased.
pub type MainBody<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// `main`'s body, polled alongside whatever the lifecycle awaits until it finishes.
pub(super) struct Body<F: Future> {
    running: Option<Pin<Box<F>>>,
    output: Option<F::Output>,
}

impl<F: Future<Output = Result<(), String>>> Body<F> {
    pub(super) fn new(future: F) -> Self {
        Body {
            running: Some(Box::pin(future)),
            output: None,
        }
    }

    pub(super) async fn alongside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = pin!(work);
        loop {
            let Some(running) = self.running.as_mut() else {
                return work.await;
            };
            tokio::select! {
                biased;
                value = work.as_mut() => return value,
                output = running.as_mut() => {
                    // Dropping the finished future releases its slot in the task tracker.
                    self.running = None;
                    self.output = Some(output);
                }
            }
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.running.is_none()
    }

    /// `main`'s error, if it returned one, and the panic of its `Drop` if it was still running
    /// (cut at the deadline) and its drop panicked.
    pub(super) fn finish(self) -> (Option<String>, Option<String>) {
        let Body { running, output } = self;
        let panic = running
            .and_then(|running| catch_unwind(AssertUnwindSafe(move || drop(running))).err())
            .map(|panic| {
                format!(
                    "main's body panicked when dropped at the deadline: {}",
                    panic_message(panic.as_ref())
                )
            });
        (output.and_then(Result::err), panic)
    }
}
