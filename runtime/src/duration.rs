//! The one duration syntax used by the attributes and the environment overrides.

use std::time::Duration;

/// Parses `"25s"`, `"1500ms"`, `"1m 30s"` (the `humantime` syntax).
///
/// The error says what was expected, so it can be shown as is to the person who wrote the value.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(graceful::parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
/// assert!(graceful::parse_duration("soon").unwrap_err().contains("not a duration"));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|error| {
        format!(
            "`{text}` is not a duration ({error}); write it like \"25s\", \"1500ms\" or \"1m 30s\""
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("25s"), Ok(Duration::from_secs(25)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_a_bare_number_with_a_hint() {
        let error = parse_duration("30").unwrap_err();
        assert!(error.contains("\"25s\""), "{error}");
    }
}
