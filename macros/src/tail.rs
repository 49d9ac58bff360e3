//! The value `main`'s body ends with. The generated body hands it over there and waits, so that
//! `main`'s locals live until the end of the shutdown, as the locals of a `#[tokio::main]`
//! function live until the program ends. A body that leaves earlier (`return`, `?`) drops them
//! then, as any function does.
//!
//! Only the last run of plain tokens is parsed; the rest of the body stays tokens. If that run
//! does not parse as statements (a syntax error, which rustc reports on its own), no tail is
//! split off and the body keeps its shape: its locals then drop when it returns.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::{Block, Expr, Stmt};

use crate::body::Piece;

/// How `main`'s body ends.
pub(crate) enum Tail {
    /// With this expression (or `return` of it), evaluated where the body ended.
    Value(TokenStream),
    /// With a statement: its value is `()`.
    Unit,
    /// Unknown (the last tokens do not parse): the body is left as written.
    Unknown,
}

/// Takes the tail off the last piece of `pieces`.
pub(crate) fn split(pieces: &mut [Piece]) -> Tail {
    let Some(Piece::Tokens(tokens)) = pieces.last_mut() else {
        // Ends with a `#[resource] let`.
        return Tail::Unit;
    };
    let Ok(mut statements) = Block::parse_within.parse2(tokens.clone()) else {
        return Tail::Unknown;
    };
    let tail = match statements.last() {
        Some(Stmt::Expr(Expr::Return(ret), _)) => Tail::Value(ret.expr.as_ref().map_or_else(
            || quote::quote_spanned!(ret.return_token.span=> ()),
            ToTokens::to_token_stream,
        )),
        Some(Stmt::Expr(expr, None)) => Tail::Value(expr.to_token_stream()),
        Some(Stmt::Macro(mac)) if mac.semi_token.is_none() => Tail::Value(mac.to_token_stream()),
        _ => return Tail::Unit,
    };
    statements.pop();
    *tokens = statements.iter().map(ToTokens::to_token_stream).collect();
    tail
}
