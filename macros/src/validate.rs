//! What the attributes accept beyond the grammar. `#[graceful::main]`: an `async fn`, not
//! generic, whose parameters are resolved by type; resources ordered all explicitly or all by
//! creation. `#[graceful::resource]` on a function: the same, plus a return value and an
//! `order`.

use proc_macro2::Span;
use syn::{FnArg, Ident, Pat, PatIdent, PatType, ReturnType, Safety, Signature, Type};

use crate::args::ResourceArgs;
use crate::body::{Body, Piece};
use crate::errors::Errors;

/// Checks `main`'s signature and returns its parameters.
pub(crate) fn main_signature<'a>(sig: &'a Signature, errors: &mut Errors) -> Vec<&'a PatType> {
    function(sig, "#[graceful::main]", errors);
    parameters(sig, "#[graceful::main]", errors)
}

/// Checks a service function's signature and returns its `Shutdown` parameter (name and type),
/// which its `#[resource] let`s register with. `has_resources`: whether it has any (without
/// them the handle is not needed). Of several parameters written `Shutdown`, the one written
/// with graceful's path (`krate`) wins.
pub(crate) fn service_signature<'a>(
    sig: &'a Signature,
    krate: &[String],
    has_resources: bool,
    errors: &mut Errors,
) -> Option<(Ident, &'a Type)> {
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "the `async` keyword is missing: `#[graceful::service]` goes on an `async fn`",
        );
    }
    let candidates: Vec<&PatType> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(param) if names_shutdown(&param.ty).is_some() => Some(param),
            _ => None,
        })
        .collect();
    let handle = candidates
        .iter()
        .find(|param| names_shutdown(&param.ty).is_some_and(|prefix| prefix == krate))
        .or(candidates.first());
    match handle {
        Some(param) => match &*param.pat {
            Pat::Ident(PatIdent {
                ident,
                subpat: None,
                ..
            }) => Some((ident.clone(), &*param.ty)),
            other => {
                if has_resources {
                    errors.spanned(
                        other,
                        "name the `Shutdown` parameter, such as `shutdown: Shutdown`: the \
                         function's `#[resource] let`s register with it",
                    );
                }
                None
            }
        },
        None => {
            if has_resources {
                errors.push(syn::Error::new(
                    sig.paren_token.span.join(),
                    "a `#[graceful::service]` function takes the `Shutdown` handle that its \
                     `#[resource] let`s register with: add a parameter `shutdown: graceful::Shutdown` \
                     (written `Shutdown`, with or without its path, or `&Shutdown`)",
                ));
            }
            None
        }
    }
}

/// If `ty` is written as `Shutdown` (`graceful::Shutdown`, `&Shutdown`), the segments before
/// it.
fn names_shutdown(ty: &Type) -> Option<Vec<String>> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let segments: Vec<_> = path.path.segments.iter().collect();
            let (last, prefix) = segments.split_last()?;
            (last.ident == "Shutdown" && last.arguments.is_none()).then(|| {
                prefix
                    .iter()
                    .map(|segment| segment.ident.to_string())
                    .collect()
            })
        }
        Type::Reference(reference) => names_shutdown(&reference.elem),
        Type::Paren(inner) => names_shutdown(&inner.elem),
        Type::Group(inner) => names_shutdown(&inner.elem),
        _ => None,
    }
}

/// Checks a resource constructor's signature and arguments; returns its parameters.
pub(crate) fn resource_signature<'a>(
    sig: &'a Signature,
    args: &ResourceArgs,
    attribute: Span,
    errors: &mut Errors,
) -> Vec<&'a PatType> {
    function(sig, "#[graceful::resource]", errors);
    match &sig.output {
        ReturnType::Default => errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            "a resource constructor returns the resource: add `-> T` or `-> Result<T, E>` after the parameters",
        )),
        ReturnType::Type(_, ty) if is_unit(ty) => errors.spanned(
            ty,
            "a resource constructor returns the resource, not `()`: return the value to close at shutdown",
        ),
        ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)) => errors.spanned(
            ty,
            "name the resource's type: it is what other resources and `main` take as a parameter, \
             so it cannot be `impl Trait`",
        ),
        ReturnType::Type(..) => {}
    }
    if !args.order_written {
        errors.push(syn::Error::new(
            attribute,
            "a resource function needs an `order`: `#[graceful::resource(order = 10)]`; resources \
             open in ascending order, after those they take as parameters, and close in reverse",
        ));
    }
    parameters(sig, "#[graceful::resource]", errors)
}

/// What both attributes require of the function itself.
fn function(sig: &Signature, attribute: &str, errors: &mut Errors) {
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!("the `async` keyword is missing: `{attribute}` goes on an `async fn`"),
        );
    }
    if let Some(constness) = &sig.constness {
        errors.spanned(
            constness,
            format!("`{attribute}` cannot be `const`; remove `const`"),
        );
    }
    match &sig.safety {
        Safety::Unsafe(token) => errors.spanned(
            token,
            format!("`{attribute}` cannot be `unsafe`; remove `unsafe`"),
        ),
        Safety::Safe(token) => errors.spanned(
            token,
            format!("remove `safe`: `{attribute}` takes a plain `async fn`"),
        ),
        Safety::Default => {}
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, format!("`{attribute}` cannot have an ABI; remove it"));
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            format!(
                "`{attribute}` cannot be generic: its parameters are found by their type; remove the generic parameters"
            ),
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(
            where_clause,
            format!("`{attribute}` cannot have a `where` clause; remove it"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, format!("`{attribute}` cannot be variadic"));
    }
}

/// Parameters are resolved by type, so each must name an owned type: the `Shutdown` handle, a
/// resource `T` (cloned) or `graceful::Resource<T>` (shared).
fn parameters<'a>(sig: &'a Signature, attribute: &str, errors: &mut Errors) -> Vec<&'a PatType> {
    let mut typed = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                format!("`{attribute}` goes on a free function, not a method taking `self`"),
            ),
            FnArg::Typed(param) => {
                if let Some(problem) = unowned(&param.ty) {
                    errors.spanned(&param.ty, problem);
                } else {
                    typed.push(param);
                }
            }
        }
    }
    typed
}

/// Why a parameter type cannot be resolved by type, if it cannot.
fn unowned(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Reference(_) => Some(
            "parameters are resolved by type and passed owned: take `T` (a clone of the resource) \
             or `graceful::Resource<T>` (the shared instance) instead of a reference",
        ),
        Type::ImplTrait(_) => Some(
            "parameters are resolved by type: name the type, such as `db: sqlx::SqlitePool`, not `impl Trait`",
        ),
        Type::Infer(_) => Some("parameters are resolved by type: write the type instead of `_`"),
        Type::Paren(inner) => unowned(&inner.elem),
        Type::Group(inner) => unowned(&inner.elem),
        _ => None,
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// Resources close in descending `order`, or in reverse creation when none has one; a mix
/// would leave the unordered ones' place ambiguous.
pub(crate) fn ordering(body: &Body, errors: &mut Errors) {
    let resources: Vec<_> = body
        .pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Resource(resource) => Some(resource),
            Piece::Tokens(_) => None,
        })
        .collect();
    if resources.iter().any(|r| r.args.order.is_some()) {
        for resource in resources.iter().filter(|r| r.args.order.is_none()) {
            errors.spanned(
                &resource.attr,
                format!(
                    "`{}` has no `order` but other resources do; give every resource an `order` \
                     (higher closes first), or none (they close in reverse creation order)",
                    resource.ident
                ),
            );
        }
    }
}
