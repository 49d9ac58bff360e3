//! What a task or a close function may return.

use crate::BoxError;

/// The return type of a task given to [`Shutdown::spawn`](crate::Shutdown::spawn) or of a close
/// function: `()` (always a success) or `Result<(), E>` where `E` converts into [`BoxError`].
///
/// ```
/// use graceful_runtime::Outcome;
///
/// assert!(().into_result().is_ok());
/// assert!(Err::<(), _>("disk full").into_result().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task or close result graceful understands",
    label = "this returns `{Self}`",
    note = "return `()` or `Result<(), E>` where `E` converts into `graceful::BoxError` (any `std::error::Error + Send + Sync`, `String`, `anyhow::Error`)"
)]
pub trait Outcome {
    /// Converts the value into success or an error for the shutdown report.
    fn into_result(self) -> Result<(), BoxError>;
}

impl Outcome for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> Outcome for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}
