//! Finding the `#[resource]` statements of `main`'s body.
//!
//! The body stays tokens (as tokio-macros keeps it): only the statements that carry
//! `#[resource]` at the top level are parsed, since those are the only ones rewritten.
//! An attribute on a `let` is unstable on its own, so every `#[resource]` must be removed
//! here: one that cannot be honoured (inside a block, a closure, a macro call) is reported
//! with a fix and stripped, so rustc does not add its own E0658 to ours.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Meta, Pat, Stmt, Token, Type};

use crate::args::{ResourceArgs, parse_resource_args};
use crate::errors::Errors;

/// `main`'s body: untouched tokens with the resource statements in between.
pub(crate) struct Body {
    pub(crate) inner_attrs: TokenStream,
    pub(crate) pieces: Vec<Piece>,
}

pub(crate) enum Piece {
    Tokens(TokenStream),
    Resource(Box<ResourceLet>),
}

/// `#[resource(...)] let name: Type = init;`
pub(crate) struct ResourceLet {
    pub(crate) attr: Attribute,
    pub(crate) args: ResourceArgs,
    pub(crate) other_attrs: Vec<Attribute>,
    pub(crate) let_token: Token![let],
    pub(crate) mutability: Option<Token![mut]>,
    pub(crate) ident: Ident,
    pub(crate) ty: Option<Type>,
    pub(crate) init: Expr,
    pub(crate) semi_token: Token![;],
}

/// Scans the body of the function under `#[host]` (`graceful::main`, `graceful::service`).
pub(crate) fn scan(body: TokenStream, krate: &[String], host: &str, errors: &mut Errors) -> Body {
    let tokens: Vec<TokenTree> = body.into_iter().collect();
    let mut inner_attrs = TokenStream::new();
    let mut pieces = Vec::new();
    let mut plain = TokenStream::new();
    let mut i = 0;

    // Inner attributes (`#![allow(...)]`) cannot stay on an async block; they go on the fn.
    while is_punct(tokens.get(i), '#')
        && is_punct(tokens.get(i + 1), '!')
        && is_bracket(tokens.get(i + 2))
    {
        inner_attrs.extend(tokens[i..i + 3].iter().cloned());
        i += 3;
    }

    while i < tokens.len() {
        // A run of outer attributes: if one is `#[resource]`, the run starts a resource
        // statement that ends at the next top-level `;`.
        let run_end = attribute_run_end(&tokens, i);
        let resource_at = (i..run_end)
            .step_by(2)
            .find_map(|at| resource_attribute(&tokens[at + 1], krate));
        if let Some(span) = resource_at
            && !matches!(tokens.get(run_end), Some(TokenTree::Ident(ident)) if ident == "let")
        {
            // Not a `let`: report it and keep the statement as written, without the attribute.
            errors.push(syn::Error::new(
                span,
                "`#[resource]` goes on a `let` statement: `#[resource] let name = open().await?;` \
                 (a resource function, `#[graceful::resource(order = N)] async fn`, goes outside `main`)",
            ));
            let run: TokenStream = tokens[i..run_end].iter().cloned().collect();
            plain.extend(without_resource_attributes(run, krate));
            i = run_end;
            continue;
        }
        if resource_at.is_some() {
            let end = tokens[run_end..]
                .iter()
                .position(|token| is_punct(Some(token), ';'))
                .map_or(tokens.len(), |offset| run_end + offset + 1);
            let statement: TokenStream = tokens[i..end]
                .iter()
                .map(|token| strip_nested(token, krate, host, errors))
                .collect();
            if !plain.is_empty() {
                pieces.push(Piece::Tokens(std::mem::take(&mut plain)));
            }
            pieces.push(parse_resource_statement(statement, krate, host, errors));
            i = end;
            continue;
        }
        plain.extend([strip_nested(&tokens[i], krate, host, errors)]);
        i += 1;
    }
    if !plain.is_empty() {
        pieces.push(Piece::Tokens(plain));
    }
    Body {
        inner_attrs,
        pieces,
    }
}

/// The index just past the outer attributes starting at `start` (`start` if there are none).
fn attribute_run_end(tokens: &[TokenTree], start: usize) -> usize {
    let mut at = start;
    while is_punct(tokens.get(at), '#') && is_bracket(tokens.get(at + 1)) {
        at += 2;
    }
    at
}

fn parse_resource_statement(
    statement: TokenStream,
    krate: &[String],
    host: &str,
    errors: &mut Errors,
) -> Piece {
    // `scan` only sends statements that start with `let`: anything else it reports itself.
    let local = match syn::parse2::<Stmt>(statement.clone()) {
        Ok(Stmt::Local(local)) => local,
        Ok(_) => unreachable!("`scan` checked that the statement starts with `let`"),
        Err(error) => {
            errors.push(error);
            return Piece::Tokens(without_resource_attributes(statement, krate));
        }
    };

    let mut ok = true;
    let mut resource_attr: Option<Attribute> = None;
    let mut other_attrs = Vec::new();
    for attr in local.attrs {
        if !is_resource_path(attr.path(), krate) {
            other_attrs.push(attr);
        } else if resource_attr.is_some() {
            errors.spanned(
                &attr,
                "duplicate `#[resource]` on one `let`; merge the arguments into one attribute",
            );
            ok = false;
        } else {
            resource_attr = Some(attr);
        }
    }
    let attr = resource_attr.expect("the statement was selected for its #[resource]");
    let mut arg_errors = Errors::default();
    let args = match &attr.meta {
        Meta::Path(_) => ResourceArgs::default(),
        Meta::List(list) => parse_resource_args(list.tokens.clone(), &mut arg_errors),
        Meta::NameValue(pair) => {
            arg_errors.spanned(
                pair,
                "write the arguments in parentheses: `#[resource(order = 1, close = path)]`",
            );
            ResourceArgs::default()
        }
    };
    if let Some(path) = &args.krate {
        arg_errors.spanned(
            path,
            format!(
                "a `#[resource] let` names graceful as its function does: write \
                 `crate = \"...\"` on `#[{host}(...)]` instead"
            ),
        );
    }
    // A resource with a wrong argument is left a plain `let`: expanding it anyway would add
    // errors about what the user did not write (a missing `Close` when `close` was misspelt).
    ok &= arg_errors.is_empty();
    errors.extend(arg_errors);

    let (pat, ty) = match local.pat {
        Pat::Type(typed) => (*typed.pat, Some(*typed.ty)),
        other => (other, None),
    };
    let (mutability, ident) = match pat {
        Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
            (binding.mutability, binding.ident)
        }
        other => {
            errors.spanned(
                &other,
                "a resource binds a single name, such as `let db = ...`; destructure the resource after it is declared",
            );
            ok = false;
            (None, Ident::new("_", other.span()))
        }
    };
    let init = match local.init {
        Some(init) => {
            if let Some((else_token, _)) = &init.diverge {
                errors.spanned(else_token, "a resource cannot be declared with `let ... else`; open it with `?` or `match` instead");
                ok = false;
            }
            Some(*init.expr)
        }
        None => {
            errors.spanned(
                &ident,
                format!("a resource needs a value: `let {ident} = open().await?;`"),
            );
            None
        }
    };
    match init {
        Some(init) if ok => Piece::Resource(Box::new(ResourceLet {
            attr,
            args,
            other_attrs,
            let_token: local.let_token,
            mutability,
            ident,
            ty,
            init,
            semi_token: local.semi_token,
        })),
        _ => Piece::Tokens(without_resource_attributes(statement, krate)),
    }
}

/// The tokens of a statement whose `#[resource]` could not be honoured, without it, so the
/// statement still compiles as written and only our error is reported.
fn without_resource_attributes(statement: TokenStream, krate: &[String]) -> TokenStream {
    let tokens: Vec<TokenTree> = statement.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_punct(tokens.get(i), '#')
            && tokens
                .get(i + 1)
                .is_some_and(|t| resource_attribute(t, krate).is_some())
        {
            i += 2;
            continue;
        }
        out.extend([tokens[i].clone()]);
        i += 1;
    }
    out
}

/// Reports and removes `#[resource]` inside a group (a block, a closure, a macro call).
fn strip_nested(token: &TokenTree, krate: &[String], host: &str, errors: &mut Errors) -> TokenTree {
    let TokenTree::Group(group) = token else {
        return token.clone();
    };
    let inner: Vec<TokenTree> = group.stream().into_iter().collect();
    let mut stream = TokenStream::new();
    let mut i = 0;
    while i < inner.len() {
        if is_punct(inner.get(i), '#')
            && let Some(span) = inner.get(i + 1).and_then(|t| resource_attribute(t, krate))
        {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`#[resource]` only works on a `let` at the top level of the `#[{host}]` \
                     function, not inside a block, closure or macro call; move this `let` to the \
                     top level of the function"
                ),
            ));
            i += 2;
            continue;
        }
        stream.extend([strip_nested(&inner[i], krate, host, errors)]);
        i += 1;
    }
    let mut rebuilt = Group::new(group.delimiter(), stream);
    rebuilt.set_span(group.span());
    TokenTree::Group(rebuilt)
}

/// If `token` is the `[...]` of a `#[resource]` attribute, the span to report it on.
fn resource_attribute(token: &TokenTree, krate: &[String]) -> Option<Span> {
    let TokenTree::Group(group) = token else {
        return None;
    };
    if group.delimiter() != Delimiter::Bracket {
        return None;
    }
    let meta = syn::parse2::<Meta>(group.stream()).ok()?;
    is_resource_path(meta.path(), krate).then(|| group.span())
}

/// `resource`, or `resource` under the crate's path: `graceful::resource` and
/// `::graceful::resource` by default, `g::resource` with `crate = "::g"` (and then not
/// `graceful::resource`). Another crate's attribute that happens to be called `resource` under
/// its own path is left alone.
fn is_resource_path(path: &syn::Path, krate: &[String]) -> bool {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    match segments.split_last() {
        Some((last, prefix)) => last == "resource" && (prefix.is_empty() || prefix == krate),
        None => false,
    }
}

fn is_punct(token: Option<&TokenTree>, ch: char) -> bool {
    matches!(token, Some(TokenTree::Punct(punct)) if punct.as_char() == ch)
}

fn is_bracket(token: Option<&TokenTree>) -> bool {
    matches!(token, Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket)
}
