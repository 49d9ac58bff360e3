//! Code generation. Every path is absolute (`::graceful::__private::...`, `::core::...`), and
//! the names we introduce have mixed-site hygiene so they cannot clash with the user's.

mod item;
mod main;
mod service;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::PatType;
use syn::spanned::Spanned;

pub(crate) use item::resource;
pub(crate) use main::main;
pub(crate) use service::service;

/// Where the generated code finds graceful: `::graceful`, or the attribute's `crate = "..."`.
fn crate_path(krate: Option<&syn::Path>) -> TokenStream {
    krate.map_or_else(|| quote!(::graceful), ToTokens::to_token_stream)
}

/// The segments of that path, to recognise `#[graceful::resource]` under it.
fn crate_segments(krate: Option<&syn::Path>) -> Vec<String> {
    krate.map_or_else(
        || vec!["graceful".to_owned()],
        |path| {
            path.segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect()
        },
    )
}

fn optional(value: Option<impl ToTokens>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

fn timeout(timeout_ms: Option<u64>) -> TokenStream {
    optional(timeout_ms.map(|ms| quote!(::core::time::Duration::from_millis(#ms))))
}

/// The same tokens, all on `span` (so that an error on them is reported there).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// `Dependency::of::<T>("T", "name")` for each parameter: what the startup check reads.
fn dependencies<'a>(
    private: &'a TokenStream,
    params: &'a [&'a PatType],
) -> impl Iterator<Item = TokenStream> + 'a {
    params.iter().map(move |PatType { pat, ty, .. }| {
        let written = readable(ty);
        let parameter = readable(pat);
        quote_spanned!(ty.span()=> #private::Dependency::of::<#ty>(#written, #parameter))
    })
}

/// Tokens as a person writes them: `sqlx::SqlitePool`, `Resource<Db>`, not `sqlx :: SqlitePool`.
fn readable(tokens: impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" < ", "<"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::readable;
    use quote::quote;

    #[test]
    fn types_read_as_written() {
        assert_eq!(readable(quote!(sqlx::SqlitePool)), "sqlx::SqlitePool");
        assert_eq!(
            readable(quote!(::graceful::Resource<crate::db::Db>)),
            "::graceful::Resource<crate::db::Db>"
        );
        assert_eq!(
            readable(quote!(HashMap<String, Vec<u8> >)),
            "HashMap<String, Vec<u8>>"
        );
        assert_eq!(readable(quote!(mut db)), "mut db");
    }
}
