//! Durations in attribute arguments, checked at compile time.

use syn::LitStr;

/// Milliseconds in a duration literal such as `"25s"`, or an error on the literal's span.
pub(crate) fn parse_millis(literal: &LitStr) -> syn::Result<u64> {
    let text = literal.value();
    let duration = humantime::parse_duration(text.trim()).map_err(|error| {
        syn::Error::new(
            literal.span(),
            format!("`{text}` is not a duration ({error}); write it like \"25s\", \"1500ms\" or \"1m 30s\""),
        )
    })?;
    u64::try_from(duration.as_millis())
        .map_err(|_| syn::Error::new(literal.span(), format!("`{text}` is too long a duration")))
}
