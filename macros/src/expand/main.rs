//! `#[graceful::main]`: the generated `fn main` runs the body as a service, with its
//! parameters resolved by type and its `#[resource] let`s registered for the teardown.

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, PatType, ReturnType};

use super::{crate_path, crate_segments, dependencies, optional, respan, timeout};
use crate::args::{Flavor, MainArgs, parse_main_args};
use crate::body::{Body, Piece, ResourceLet, scan};
use crate::errors::Errors;
use crate::parse::Function;
use crate::tail::{self, Tail};
use crate::validate;

/// `#[graceful::main]`: on error, the function is still emitted (so IDEs keep working) along
/// with every error found.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match Function::parse_or_emit(item) {
        Ok(function) => function,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let args = parse_main_args(args, &mut errors);
    let params = validate::main_signature(&function.sig, &mut errors);
    let krate_segments = crate_segments(args.krate.as_ref());
    let body = scan(
        function.body.clone(),
        &krate_segments,
        "graceful::main",
        &mut errors,
    );
    validate::ordering(&body, &mut errors);

    let mut tokens = expand_main(&args, &function, &params, body);
    tokens.extend(errors.into_compile_errors());
    tokens
}

fn expand_main(
    args: &MainArgs,
    function: &Function,
    params: &[&PatType],
    body: Body,
) -> TokenStream {
    let krate = crate_path(args.krate.as_ref());
    let private = quote!(#krate::__private);
    let handle = Ident::new("__graceful_shutdown", Span::mixed_site());

    let timeout = optional(args.timeout_ms.map(Literal::u64_suffixed));
    let drain_delay = optional(args.drain_delay.map(|(ms, _)| Literal::u64_suffixed(ms)));
    let worker_threads = optional(args.worker_threads.map(|(n, _)| Literal::usize_suffixed(n)));
    let flavor = match args.flavor.map(|(flavor, _)| flavor) {
        Some(Flavor::CurrentThread) => quote!(#private::Flavor::CurrentThread),
        _ => quote!(#private::Flavor::MultiThread),
    };

    // Each parameter is resolved by type: the `Shutdown` handle, or an item resource.
    let bindings = params.iter().map(|PatType { attrs, pat, ty, .. }| {
        let inject = quote_spanned!(ty.span()=> #private::inject::<#ty>(&#handle));
        quote!(#(#attrs)* let #pat: #ty = #inject;)
    });
    let needs = dependencies(&private, params);

    let output = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let Body {
        inner_attrs,
        mut pieces,
    } = body;
    let kept = tail::kept(&pieces);
    let tail = tail::split(&mut pieces);
    let statements = pieces.iter().map(|piece| match piece {
        Piece::Tokens(tokens) => tokens.clone(),
        Piece::Resource(resource) => expand_resource(resource, &krate, &handle),
    });
    let at_output = Span::mixed_site().located_at(output.span());
    let result = Ident::new("__graceful_output", at_output);
    let slot = Ident::new("__graceful_kept", Span::mixed_site());
    let into_slot = Ident::new("__graceful_keep", Span::mixed_site());
    // The value the body ends with, in an `async` block of its own (so that one that diverges,
    // a serving `loop` or `std::process::exit(0);`, gives the body's type and leaves no
    // unreachable code behind); then the `_`-named bindings are handed over, to be dropped
    // after the report.
    let value = Ident::new("__graceful_value", at_output);
    let keep = (!kept.is_empty()).then(|| quote!(#into_slot.keep((#(#kept,)*));));
    let ending = match tail {
        Tail::Value(tail) => quote! {
            let #value = #private::typed::<#output, _>(async { #tail }).await;
            #keep
            #value
        },
        Tail::Unit(span) => {
            let unit = quote_spanned!(span=> <#output as #private::EndsWithStatement>::value());
            quote! {
                let #value = #unit;
                #keep
                #value
            }
        }
        Tail::Unknown => TokenStream::new(),
    };
    let slot_init = (!kept.is_empty()).then(|| {
        quote! {
            let mut #slot = #private::Kept::none();
            let #into_slot = &mut #slot;
        }
    });
    let slot_value = match kept.is_empty() {
        true => quote!(#private::Kept::none()),
        false => quote!(#slot),
    };
    // Rendered where the type is known (see `__private::MainResult`), every token on the
    // return type's span: a wrong return type is one error, there. The body's own `async`
    // block carries that span too, so that rustc's "this returns `Result`" points at it.
    let new = respan(quote!(#private::MainResult::<#output>::new), output.span());
    let main_result = respan(quote!(.main_result()), output.span());
    let rendered = quote_spanned! {output.span()=> (&#new(#result))#main_result };
    let typed = respan(quote!(#private::typed::<#output, _>), output.span());
    let body_block = quote_spanned! {output.span()=>
        async move {
            #(#bindings)*
            #(#statements)*
            #ending
        }
    };
    let typed_body = quote! {
        #private::body(async move {
            #[allow(unused_imports)]
            use #private::RenderError as _;
            #slot_init
            let #result = #typed(#body_block).await;
            #private::end(#rendered, #slot_value)
        })
    };

    let attrs = &function.attrs;
    let inner_attrs = outer(&inner_attrs);
    let vis = &function.vis;
    let fn_token = function.sig.fn_token;
    let ident = &function.sig.ident;
    let mut block = TokenStream::new();
    function.brace_token.surround(&mut block, |block| {
        block.extend(quote! {
            #private::main(
                #private::config(#timeout, #drain_delay, #flavor, #worker_threads),
                const { &[#(#needs),*] },
                |#handle: #krate::Shutdown| #typed_body,
            )
        });
    });
    quote! {
        #(#attrs)*
        #inner_attrs
        #vis #fn_token #ident() #block
    }
}

/// `#[resource] let name = init;` as a registration with the handle `handle`.
pub(super) fn expand_resource(
    resource: &ResourceLet,
    krate: &TokenStream,
    handle: &Ident,
) -> TokenStream {
    let ResourceLet {
        args,
        other_attrs,
        let_token,
        mutability,
        ident,
        ty,
        init,
        semi_token,
        ..
    } = resource;
    let private = quote!(#krate::__private);
    let name = args
        .name
        .as_ref()
        .map_or_else(|| ident.to_string(), |name| name.value());
    let order = optional(args.order.map(Literal::i64_suffixed));
    let timeout = timeout(args.timeout_ms);
    let telemetry = args.telemetry;
    let spec = quote! {
        #private::ResourceSpec {
            name: #name,
            order: #order,
            timeout: #timeout,
            stage: #private::Stage::Body,
            telemetry: #telemetry,
        }
    };
    let call = match &args.close {
        Some(close) => {
            let value = Ident::new("__graceful_resource", Span::mixed_site());
            let turbofish = ty.as_ref().map(|ty| quote!(::<#ty, _, _>));
            let close_call = quote_spanned!(close.span()=> #close(&*#value).await);
            quote! {
                #private::register_with #turbofish(&#handle, #spec, #init, |#value| async move { #close_call })
            }
        }
        None => {
            let turbofish = ty.as_ref().map(|ty| quote!(::<#ty>));
            let register = quote_spanned!(init.span()=> #private::register #turbofish);
            quote!(#register(&#handle, #spec, #init))
        }
    };
    let annotation = ty.as_ref().map(|ty| quote!(: #krate::Resource<#ty>));
    quote! {
        #(#other_attrs)*
        #let_token #mutability #ident #annotation = #call #semi_token
    }
}

/// `#![attr]` tokens turned into `#[attr]`.
fn outer(inner_attrs: &TokenStream) -> TokenStream {
    inner_attrs
        .clone()
        .into_iter()
        .filter(|token| !matches!(token, TokenTree::Punct(punct) if punct.as_char() == '!'))
        .collect()
}
