//! The error type that tasks, resources and `main` can fail with.

/// A boxed error that can cross tasks and threads.
///
/// Anything that converts into it (every `std::error::Error + Send + Sync`, `String`, `&str`,
/// `anyhow::Error`) can be returned with `?` from a task, a close function or `main`.
///
/// ```
/// fn parse(port: &str) -> Result<u16, graceful_runtime::BoxError> {
///     Ok(port.parse()?)
/// }
/// assert!(parse("x").is_err());
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
