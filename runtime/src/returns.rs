//! What user code returns to graceful: a task or a close ([`Outcome`]), `main` ([`MainOutput`])
//! and a resource constructor ([`Fallible`]). Each says, in its diagnostic, what it accepts.

use std::any::Any;
use std::error::Error;
use std::fmt::Display;

use crate::BoxError;
use crate::error::render;

/// The return type of a task given to [`Shutdown::spawn`](crate::Shutdown::spawn) or of a close
/// function: `()` (always a success) or `Result<(), E>` where `E` converts into [`BoxError`].
///
/// ```
/// use graceful::Outcome;
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

/// The return type of a `#[graceful::main]` function or of the closure given to
/// [`Config::run`](crate::Config::run): `()`, or `Result<(), E>` where `E: Display`.
///
/// The error is shown with its causes, on one line (where `fn main` would print its `Debug`):
/// a `Box<dyn Error>` (such as [`BoxError`]) with each of its sources, an `anyhow` or `eyre`
/// error with its chain (its alternate form, `{:#}`), anything else with its `Display`.
/// A `#[graceful::main]` function returning another `std::error::Error` gets its sources too.
///
/// ```
/// use graceful::MainOutput;
///
/// assert_eq!(Err::<(), _>("no database").into_main_result(), Err("no database".to_owned()));
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let error: graceful::BoxError = Box::new(Wrapped("connect to db", refused));
/// assert_eq!(
///     Err::<(), _>(error).into_main_result(),
///     Err("connect to db: connection refused".to_owned()),
/// );
/// # #[derive(Debug)]
/// # struct Wrapped(&'static str, std::io::Error);
/// # impl std::fmt::Display for Wrapped {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.0) }
/// # }
/// # impl std::error::Error for Wrapped {
/// #     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> { Some(&self.1) }
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a return type graceful's `main` supports",
    note = "return `()` or `Result<(), E>` where `E: Display`, such as `Result<(), graceful::BoxError>`"
)]
pub trait MainOutput {
    /// Success, or the error's `Display` with its causes.
    fn into_main_result(self) -> Result<(), String>;
}

impl MainOutput for () {
    fn into_main_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display + 'static> MainOutput for Result<(), E> {
    fn into_main_result(self) -> Result<(), String> {
        self.map_err(|error| with_causes(&error))
    }
}

/// A `Box<dyn Error>`'s `Display` and sources; any other error's alternate `Display`, which is
/// how `anyhow` and `eyre` print their chain (and plain `Display` for everything else).
fn with_causes<E: Display + 'static>(error: &E) -> String {
    let any: &dyn Any = error;
    if let Some(error) = any.downcast_ref::<BoxError>() {
        return render(&**error);
    }
    if let Some(error) = any.downcast_ref::<Box<dyn Error + Send>>() {
        return render(&**error);
    }
    if let Some(error) = any.downcast_ref::<Box<dyn Error>>() {
        return render(&**error);
    }
    format!("{error:#}")
}

/// The return type of a fallible resource constructor: `Result<T, E>`. Not a public API: the
/// code `#[graceful::resource]` generates names it, for its diagnostic.
#[diagnostic::on_unimplemented(
    message = "a resource constructor returning `{Self}` must return `Result<T, E>` with an error that converts into `graceful::BoxError`",
    label = "its error type does not convert into `graceful::BoxError`",
    note = "any `std::error::Error + Send + Sync + 'static` converts, and so do `String` and `&'static str`"
)]
pub trait Fallible {
    /// The resource, `T`.
    type Value;
    /// `Ok(T)`, or the error boxed.
    fn into_value(self) -> Result<Self::Value, BoxError>;
}

#[diagnostic::do_not_recommend]
impl<T, E: Into<BoxError>> Fallible for Result<T, E> {
    type Value = T;

    fn into_value(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}
