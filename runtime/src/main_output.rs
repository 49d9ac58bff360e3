//! What `main` may return.

use std::fmt::Display;

/// The return type of a `#[graceful::main]` function or of the closure given to
/// [`Config::run`](crate::Config::run): `()`, or `Result<(), E>` where `E: Display` (printed
/// with `Display`, not `Debug`).
///
/// ```
/// use graceful_runtime::MainOutput;
///
/// assert_eq!(Err::<(), _>("no database").into_main_result(), Err("no database".to_owned()));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a return type graceful's `main` supports",
    note = "return `()` or `Result<(), E>` where `E: Display`, such as `Result<(), graceful::BoxError>`"
)]
pub trait MainOutput {
    /// Success, or the error's `Display`.
    fn into_main_result(self) -> Result<(), String>;
}

impl MainOutput for () {
    fn into_main_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display> MainOutput for Result<(), E> {
    fn into_main_result(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}
