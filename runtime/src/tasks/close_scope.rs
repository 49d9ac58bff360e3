//! Whether code runs on behalf of a resource's close: once the drain has ended, the group takes
//! only the tasks a close spawns (a flush it waits for), and what those spawn in turn.

use std::future::Future;

tokio::task_local! {
    static CLOSING: ();
}

/// Runs `future` as part of a close: what it spawns is taken while resources close.
pub(crate) fn enter<F: Future>(future: F) -> impl Future<Output = F::Output> {
    CLOSING.scope((), future)
}

/// Whether the caller runs inside [`enter`].
pub(super) fn is_current() -> bool {
    CLOSING.try_with(|()| ()).is_ok()
}
