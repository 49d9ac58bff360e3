//! What `#[graceful::main]` accepts beyond the grammar: an `async fn`, not generic, taking at
//! most the `Shutdown` handle; resources ordered all explicitly or all by creation.

use syn::{FnArg, PatType, Safety, Signature};

use crate::body::{Body, Piece};
use crate::errors::Errors;

/// Checks the signature and returns the `Shutdown` parameter if there is one.
pub(crate) fn signature(sig: &Signature, errors: &mut Errors) -> Option<PatType> {
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "the `async` keyword is missing: `#[graceful::main]` goes on an `async fn`",
        );
    }
    if let Some(constness) = &sig.constness {
        errors.spanned(
            constness,
            "`#[graceful::main]` cannot be `const`; remove `const`",
        );
    }
    match &sig.safety {
        Safety::Unsafe(token) => errors.spanned(
            token,
            "`#[graceful::main]` cannot be `unsafe`; remove `unsafe`",
        ),
        Safety::Safe(token) => errors.spanned(
            token,
            "remove `safe`: `#[graceful::main]` takes a plain `async fn`",
        ),
        Safety::Default => {}
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "`#[graceful::main]` cannot have an ABI; remove it");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "`#[graceful::main]` cannot be generic; remove the generic parameters",
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(
            where_clause,
            "`#[graceful::main]` cannot have a `where` clause; remove it",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "`#[graceful::main]` cannot be variadic");
    }

    let mut shutdown = None;
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                "`#[graceful::main]` goes on a free function, not a method taking `self`",
            ),
            FnArg::Typed(param) if index == 0 => shutdown = Some(param.clone()),
            FnArg::Typed(param) => errors.spanned(
                param,
                "`#[graceful::main]` takes at most one parameter, `shutdown: graceful::Shutdown`; \
                 declare resources with `#[resource]` on a `let` in the body",
            ),
        }
    }
    shutdown
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
