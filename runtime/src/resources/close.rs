//! How a resource closes.

use std::future::Future;

use crate::BoxError;

/// A resource that knows how to close itself: flush what it buffers, then release what it holds.
///
/// Implement it for your own types; for a foreign type (a `sqlx::SqlitePool`, say) that you
/// cannot implement it for, name its close function instead with
/// `#[resource(close = sqlx::SqlitePool::close)]`.
///
/// `close` runs once, after every task has drained, in descending `order`. It should not
/// assume it runs to the end: the resource's own `timeout` or the shutdown deadline may cut it.
///
/// A value with nothing to close (a configuration that other resources take as a parameter)
/// implements it with an empty body: `impl Close for Settings {}`.
///
/// ```
/// use graceful::{BoxError, Close};
///
/// struct Publisher { /* a buffer and a connection */ }
///
/// impl Close for Publisher {
///     async fn close(&self) -> Result<(), BoxError> {
///         // flush the buffer, then close the connection
///         Ok(())
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be closed by graceful",
    label = "this resource's type does not implement `graceful::Close`",
    note = "implement `graceful::Close` for `{Self}` (`impl Close for {Self} {{}}` if it has nothing to close; for a type of another crate, wrap it in a newtype), or name its close function: `#[resource(close = path::to::close)]` (a function or method taking `&{Self}`)"
)]
pub trait Close: Send + Sync + 'static {
    /// Flushes and releases the resource. An error is logged and reported; the next resource
    /// still closes. The default does nothing.
    fn close(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }

    /// For a resource declared with `telemetry`, when the process must end at once (a second
    /// signal, or the deadline passed with a thread blocked) instead of closing: flush what it
    /// buffers, synchronously, without the runtime (which may be blocked), such as an
    /// OpenTelemetry provider's `force_flush`, or dropping a `tracing-appender` guard. It runs
    /// on a thread of graceful's, after graceful's own last lines are written, and the process
    /// ends 0.2 s later whether or not it has returned. The default does nothing.
    ///
    /// ```
    /// use std::sync::Mutex;
    ///
    /// use graceful::{BoxError, Close};
    ///
    /// /// A log writer's guard: dropping it writes out what is queued.
    /// struct Logs(Mutex<Option<Guard>>);
    /// # struct Guard;
    ///
    /// impl Close for Logs {
    ///     async fn close(&self) -> Result<(), BoxError> {
    ///         self.flush_now();
    ///         Ok(())
    ///     }
    ///
    ///     fn flush_now(&self) {
    ///         drop(self.0.lock().unwrap().take());
    ///     }
    /// }
    /// // Declared with `#[graceful::resource(order = 0, telemetry)]`, or
    /// // `#[resource(telemetry)] let logs = Logs(..);` in `main`.
    /// # Logs(Mutex::new(Some(Guard))).flush_now();
    /// ```
    fn flush_now(&self) {}
}

/// Closes a shared resource through its [`Close`] impl: the teardown's closure for every
/// resource registered without `close = path`.
pub(crate) async fn close_shared<T: Close>(value: std::sync::Arc<T>) -> Result<(), BoxError> {
    value.close().await
}
