//! The error type that tasks, resources and `main` can fail with.

/// A boxed error that can cross tasks and threads.
///
/// Anything that converts into it (every `std::error::Error + Send + Sync`, `String`, `&str`,
/// `anyhow::Error`) can be returned with `?` from a task, a close function or `main`.
///
/// ```
/// fn parse(port: &str) -> Result<u16, graceful::BoxError> {
///     Ok(port.parse()?)
/// }
/// assert!(parse("x").is_err());
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error's `Display`, followed by each of its sources that the message does not already
/// contain, so "connect to db" keeps its "connection refused".
pub(crate) fn render(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// [`render`] for an error of the user's, consumed: its `Display`, its sources and its `Drop`
/// are the user's code and run under the catcher, so one that panics is still a failure that
/// the report can name.
pub(crate) fn render_caught(error: BoxError) -> String {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || render(&*error)))
        .unwrap_or_else(|panic| unrenderable(panic.as_ref()))
}

/// What is reported for an error that panicked while being rendered.
pub(crate) fn unrenderable(panic: &(dyn std::any::Any + Send)) -> String {
    format!(
        "an error that panicked while being rendered: {}",
        crate::catch_unwind::panic_message(panic)
    )
}

#[cfg(test)]
mod tests {
    use std::fmt;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connect to db")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn render_keeps_the_root_cause() {
        let error = Outer(std::io::Error::other("connection refused"));
        assert_eq!(super::render(&error), "connect to db: connection refused");
    }
}
