//! `#[graceful::service]`: a service's body outside `main` (for a test to run, or shared by
//! several binaries). The function stays as written; its `#[resource] let`s register with the
//! `Shutdown` handle it takes.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::crate_path;
use super::main::expand_resource;
use crate::args::parse_service_args;
use crate::body::{Piece, scan};
use crate::errors::Errors;
use crate::parse::Function;
use crate::validate;

/// On error, the function is still emitted, with every error found.
pub(crate) fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match Function::parse_or_emit(item) {
        Ok(function) => function,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let args = parse_service_args(args, &mut errors);
    let krate_segments = super::crate_segments(args.krate.as_ref());
    let body = scan(
        function.body.clone(),
        &krate_segments,
        "graceful::service",
        &mut errors,
    );
    validate::ordering(&body, &mut errors);
    let has_resources = body
        .pieces
        .iter()
        .any(|piece| matches!(piece, Piece::Resource(_)));
    let parameter =
        validate::service_signature(&function.sig, &krate_segments, has_resources, &mut errors);

    let krate = crate_path(args.krate.as_ref());
    // The resources register with a clone of the handle taken as the body starts: the body
    // may shadow the parameter's name, or move it, after.
    let handle = Ident::new("__graceful_shutdown", Span::mixed_site());
    let alias = match (&parameter, has_resources) {
        (Some((ident, ty)), true) => quote_spanned! {ty.span()=>
            let #handle: #krate::Shutdown = ::core::clone::Clone::clone(
                <_ as ::core::borrow::Borrow<#krate::Shutdown>>::borrow(&#ident),
            );
        },
        _ => TokenStream::new(),
    };
    let statements = body.pieces.iter().map(|piece| match (piece, &parameter) {
        (Piece::Tokens(tokens), _) => tokens.clone(),
        (Piece::Resource(resource), Some(_)) => expand_resource(resource, &krate, &handle),
        // The error is reported; the statement stays a plain `let`.
        (Piece::Resource(resource), None) => plain_let(resource),
    });
    let inner_attrs = &body.inner_attrs;
    let Function {
        attrs,
        vis,
        sig,
        brace_token,
        ..
    } = &function;
    let mut block = TokenStream::new();
    brace_token.surround(&mut block, |block| {
        block.extend(quote!(#inner_attrs #alias #(#statements)*));
    });
    let mut tokens = quote!(#(#attrs)* #vis #sig #block);
    tokens.extend(errors.into_compile_errors());
    tokens
}

/// `let name = init;`, the attribute removed.
fn plain_let(resource: &crate::body::ResourceLet) -> TokenStream {
    let crate::body::ResourceLet {
        other_attrs,
        let_token,
        mutability,
        ident,
        ty,
        init,
        semi_token,
        ..
    } = resource;
    let annotation = ty.as_ref().map(|ty| quote!(: #ty));
    quote!(#(#other_attrs)* #let_token #mutability #ident #annotation = #init #semi_token)
}
