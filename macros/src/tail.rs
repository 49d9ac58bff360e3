//! How `main`'s body ends, and what it keeps until the very end.
//!
//! A binding whose name starts with `_` (`let _guard = …;`, `let (writer, _guard) = …;`) is the
//! Rust idiom for a value kept for its `Drop`: a log writer's guard, a tracer's. When the body
//! reaches its end, the generated code hands those bindings to graceful, which drops them after
//! the report is written, so that a guard flushes graceful's own last lines too. Every other
//! local drops when the body returns, as in any function: a channel's sender then closes the
//! channel, and a worker reading it ends. A body that leaves earlier (`return`, `?`) drops
//! everything then.
//!
//! The body stays tokens; only its top-level statements are parsed, run by run (between the
//! `#[resource] let`s). If the last run does not parse (a syntax error, which rustc reports on
//! its own), the body is left as written and keeps nothing.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Block, Expr, Pat, Stmt};

use crate::body::Piece;

/// How `main`'s body ends.
pub(crate) enum Tail {
    /// With this expression (or a final `return` of it), or this final statement (one that
    /// diverges, such as `std::process::exit(0);`, or one that gives `()`).
    Value(TokenStream),
    /// With a `let` or an item, or a `#[resource] let`: its value is `()`, at this span.
    Unit(Span),
    /// Unknown (the last tokens do not parse): the body is left as written.
    Unknown,
}

/// Takes the tail off the last piece of `pieces`.
pub(crate) fn split(pieces: &mut [Piece]) -> Tail {
    let end = pieces
        .last()
        .map_or_else(Span::call_site, |piece| match piece {
            Piece::Tokens(tokens) => tokens.span(),
            Piece::Resource(resource) => resource.semi_token.span,
        });
    let Some(Piece::Tokens(tokens)) = pieces.last_mut() else {
        return Tail::Unit(end);
    };
    let Ok(mut statements) = Block::parse_within.parse2(tokens.clone()) else {
        return Tail::Unknown;
    };
    let tail = match statements.last() {
        Some(Stmt::Expr(Expr::Return(ret), _)) => Tail::Value(ret.expr.as_ref().map_or_else(
            || quote_spanned!(ret.return_token.span=> ()),
            ToTokens::to_token_stream,
        )),
        // An expression, or a statement ending the body: evaluated in a block of its own, so
        // that one that diverges gives the body's type and leaves no unreachable code behind.
        Some(statement @ (Stmt::Expr(..) | Stmt::Macro(_))) => {
            Tail::Value(statement.to_token_stream())
        }
        Some(statement) => return Tail::Unit(statement.span()),
        None => return Tail::Unit(end),
    };
    statements.pop();
    *tokens = statements.iter().map(ToTokens::to_token_stream).collect();
    tail
}

/// The `_`-named bindings of the body's top-level `let`s that the body never names again:
/// those are only kept for their `Drop`. One that is named again may have been moved away, so
/// it is left to drop when the body returns, rather than moved out of a place it has left.
/// Runs of tokens that do not parse are skipped.
pub(crate) fn kept(pieces: &[Piece]) -> Vec<Ident> {
    let mut names = bound(pieces);
    let mut body = TokenStream::new();
    for piece in pieces {
        match piece {
            Piece::Tokens(tokens) => body.extend(tokens.clone()),
            Piece::Resource(resource) => body.extend(resource.init.to_token_stream()),
        }
    }
    names.retain(|name| mentions(body.clone(), name) == 1);
    names
}

/// How many times `name` appears in `tokens`, groups (and macro calls) included.
fn mentions(tokens: TokenStream, name: &Ident) -> usize {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Ident(ident) => usize::from(ident == *name),
            TokenTree::Group(group) => mentions(group.stream(), name),
            _ => 0,
        })
        .sum()
}

fn bound(pieces: &[Piece]) -> Vec<Ident> {
    let mut names: Vec<Ident> = Vec::new();
    for piece in pieces {
        let Piece::Tokens(tokens) = piece else {
            continue;
        };
        let Ok(statements) = Block::parse_within.parse2(tokens.clone()) else {
            continue;
        };
        for statement in statements {
            // A `let` under `#[cfg]` may not exist: naming its bindings would not compile.
            if let Stmt::Local(local) = statement
                && !local.attrs.iter().any(|attr| attr.path().is_ident("cfg"))
            {
                underscored(&local.pat, &mut names);
            }
        }
    }
    names
}

/// The bindings of `pat` named `_something` (not `_` alone, which binds nothing, nor `ref`
/// ones, which borrow).
fn underscored(pat: &Pat, names: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(binding) => {
            let name = binding.ident.to_string();
            if name.len() > 1 && name.starts_with('_') && binding.by_ref.is_none() {
                names.retain(|kept| *kept != binding.ident);
                names.push(binding.ident.clone());
            }
            if let Some((_, sub)) = &binding.subpat {
                underscored(sub, names);
            }
        }
        Pat::Tuple(tuple) => tuple.elems.iter().for_each(|pat| underscored(pat, names)),
        Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|pat| underscored(pat, names)),
        Pat::Struct(strukt) => strukt
            .fields
            .iter()
            .for_each(|field| underscored(&field.pat, names)),
        Pat::Slice(slice) => slice.elems.iter().for_each(|pat| underscored(pat, names)),
        Pat::Type(typed) => underscored(&typed.pat, names),
        Pat::Paren(paren) => underscored(&paren.pat, names),
        // A reference pattern binds through a borrow; an or-pattern's bindings may differ.
        _ => {}
    }
}
