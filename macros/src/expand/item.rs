//! `#[graceful::resource(order = N)]` on an `async fn`: the function stays as written, and a
//! registration is submitted to `inventory` next to it. The registration says what the
//! function provides and takes (for the startup check) and how to open it: call it with its
//! parameters resolved by type, then hand the value to the runtime for the teardown.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, PatType, ReturnType, Type};

use super::{crate_path, dependencies, timeout};
use crate::args::{ResourceArgs, parse_resource_args};
use crate::errors::Errors;
use crate::parse::Function;
use crate::validate;

/// `#[graceful::resource]` on an item. On error, the function is still emitted with every
/// error, but not its registration (which would only repeat them).
pub(crate) fn resource(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: Function = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |token| token.span());
            let message = "`#[graceful::resource]` goes on an `async fn` that returns the resource, \
                           or on a `let` at the top of a `#[graceful::main]` function's body";
            let mut tokens = item;
            tokens.extend(syn::Error::new(span, message).into_compile_error());
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let args = parse_resource_args(args, &mut errors);
    let params = validate::resource_signature(&function.sig, &args, Span::call_site(), &mut errors);

    // The attribute requires `async`, even for a constructor that awaits nothing.
    let mut tokens = quote!(#[allow(clippy::unused_async)]);
    tokens.extend(item);
    match (&function.sig.output, args.order) {
        (ReturnType::Type(_, output), Some(order)) if errors.is_empty() => {
            tokens.extend(registration(&args, order, &function, output, &params));
        }
        _ => tokens.extend(errors.into_compile_errors()),
    }
    tokens
}

fn registration(
    args: &ResourceArgs,
    order: i64,
    function: &Function,
    output: &Type,
    params: &[&PatType],
) -> TokenStream {
    let krate = crate_path(args.krate.as_ref());
    let private = quote!(#krate::__private);
    let ident = &function.sig.ident;
    let name = args
        .name
        .as_ref()
        .map_or_else(|| ident.unraw().to_string(), |name| name.value());
    let path = ident.unraw().to_string();
    let order = Literal::i64_suffixed(order);
    let timeout = timeout(args.timeout_ms);
    let telemetry = args.telemetry;
    let needs = dependencies(&private, params);

    let opening = Ident::new("__graceful_opening", Span::mixed_site());
    let value = Ident::new("__graceful_value", Span::mixed_site());
    let arguments = params
        .iter()
        .map(|PatType { ty, .. }| quote_spanned!(ty.span()=> #opening.inject::<#ty>()));
    let call = quote!(#ident(#(#arguments),*).await);
    // `-> Result<T, E>` (any type named `Result`, such as `io::Result<T>`) provides `T`.
    let (value_ty, opened) = if returns_result(output) {
        (
            quote_spanned!(output.span()=> <#output as #private::Fallible>::Value),
            quote_spanned!(output.span()=> <#output as #private::Fallible>::into_value(#call)?),
        )
    } else {
        (quote!(#output), call)
    };
    let provide = match &args.close {
        Some(close) => {
            let shared = Ident::new("__graceful_resource", Span::mixed_site());
            let close_call = quote_spanned!(close.span()=> #close(&*#shared).await);
            quote!(#opening.provide::<#value_ty, _, _>(#value, |#shared| async move { #close_call }))
        }
        None => quote_spanned!(output.span()=> #opening.provide_closeable::<#value_ty>(#value)),
    };

    quote! {
        #private::inventory::submit! {
            #private::ItemResource {
                name: #name,
                path: ::core::concat!(::core::module_path!(), "::", #path),
                location: (::core::file!(), ::core::line!(), ::core::column!()),
                order: #order,
                timeout: #timeout,
                telemetry: #telemetry,
                provides: #private::Provides::of::<#value_ty>(),
                needs: &[#(#needs),*],
                open: |#opening| #private::open(async move {
                    let #value = #opened;
                    #provide;
                    ::core::result::Result::Ok(())
                }),
            }
        }
    }
}

fn returns_result(output: &Type) -> bool {
    match output {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result"),
        Type::Group(group) => returns_result(&group.elem),
        Type::Paren(paren) => returns_result(&paren.elem),
        _ => false,
    }
}
