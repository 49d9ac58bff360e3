//! The arguments of `#[graceful::main(...)]` and `#[resource(...)]`: `name = value` pairs,
//! each checked on its own span. Unknown and duplicate names are errors that list the valid
//! ones; every error is collected, and the valid arguments are kept so that expansion goes on.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitInt, LitStr, Meta, MetaNameValue, Path, Token};

use crate::duration::parse_millis;
use crate::errors::Errors;

/// `#[graceful::main(...)]`.
#[derive(Default)]
pub(crate) struct MainArgs {
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) drain_delay: Option<(u64, Span)>,
    pub(crate) flavor: Option<(Flavor, Span)>,
    pub(crate) worker_threads: Option<(usize, Span)>,
    pub(crate) krate: Option<Path>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MultiThread,
    CurrentThread,
}

/// The most `worker_threads` accepted, as the runtime's `MAX_WORKER_THREADS`.
const MAX_WORKER_THREADS: usize = 4096;

/// The runtime's default `timeout`, to check `drain_delay` against when none is given.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;

const MAIN_ARGS: &str = "`timeout`, `drain_delay`, `flavor`, `worker_threads`, `crate`";

/// `#[resource(...)]`.
#[derive(Default)]
pub(crate) struct ResourceArgs {
    pub(crate) order: Option<i64>,
    /// Whether `order` was written, valid or not (a missing one is an error on items).
    pub(crate) order_written: bool,
    pub(crate) close: Option<Path>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) name: Option<LitStr>,
    /// Where `graceful` is, if renamed: on a function only (a `let` takes `main`'s).
    pub(crate) krate: Option<Path>,
    /// `telemetry`: closes last, after the report is logged.
    pub(crate) telemetry: bool,
}

const RESOURCE_ARGS: &str = "`order`, `close`, `timeout`, `name`, `telemetry`, `crate`";

pub(crate) fn parse_main_args(tokens: TokenStream, errors: &mut Errors) -> MainArgs {
    let mut args = MainArgs::default();
    for_each_pair(
        tokens,
        "graceful::main",
        MAIN_ARGS,
        errors,
        |key, value, errors| {
            match key {
            "timeout" => {
                args.timeout_ms = string(value, key, "\"30s\"")
                    .and_then(|lit| nonzero_duration(&lit, key))
                    .map_err(|e| errors.push(e))
                    .ok()
            }
            "drain_delay" => {
                args.drain_delay = string(value, key, "\"5s\"")
                    .and_then(|lit| parse_millis(&lit).map(|ms| (ms, lit.span())))
                    .map_err(|e| errors.push(e))
                    .ok()
            }
            "flavor" => {
                args.flavor = string(value, key, "\"multi_thread\"")
                    .and_then(|lit| match lit.value().as_str() {
                        "multi_thread" => Ok((Flavor::MultiThread, lit.span())),
                        "current_thread" => Ok((Flavor::CurrentThread, lit.span())),
                        other => Err(syn::Error::new(
                            lit.span(),
                            format!("no runtime flavor `{other}`; use \"multi_thread\" or \"current_thread\""),
                        )),
                    })
                    .map_err(|e| errors.push(e))
                    .ok()
            }
            "worker_threads" => {
                args.worker_threads = integer::<usize>(value, key, "4")
                    .and_then(|(n, span)| match n {
                        0 => Err(syn::Error::new(span, "`worker_threads` must be at least 1")),
                        n if n > MAX_WORKER_THREADS => Err(syn::Error::new(
                            span,
                            format!("`worker_threads` must be at most {MAX_WORKER_THREADS}"),
                        )),
                        n => Ok((n, span)),
                    })
                    .map_err(|e| errors.push(e))
                    .ok()
            }
            "crate" => args.krate = crate_path(value, key, errors),
            _ => return false,
        }
            true
        },
    );
    let timeout_ms = args.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if let Some((_, span)) = args.drain_delay.filter(|(ms, _)| *ms >= timeout_ms) {
        errors.push(syn::Error::new(
            span,
            "`drain_delay` must be shorter than `timeout` (30s unless given), which bounds the whole shutdown",
        ));
    }
    if let (Some((Flavor::CurrentThread, _)), Some((_, span))) = (args.flavor, args.worker_threads)
    {
        errors.push(syn::Error::new(
            span,
            "`worker_threads` needs the multi-thread runtime; remove it or use `flavor = \"multi_thread\"`",
        ));
    }
    args
}

/// `#[graceful::service(...)]`: only where graceful is.
#[derive(Default)]
pub(crate) struct ServiceArgs {
    pub(crate) krate: Option<Path>,
}

pub(crate) fn parse_service_args(tokens: TokenStream, errors: &mut Errors) -> ServiceArgs {
    let mut args = ServiceArgs::default();
    for_each_pair(
        tokens,
        "graceful::service",
        "`crate`",
        errors,
        |key, value, errors| {
            match key {
                "crate" => args.krate = crate_path(value, key, errors),
                _ => return false,
            }
            true
        },
    );
    args
}

pub(crate) fn parse_resource_args(tokens: TokenStream, errors: &mut Errors) -> ResourceArgs {
    let mut args = ResourceArgs::default();
    for_each_pair(
        tokens,
        "resource",
        RESOURCE_ARGS,
        errors,
        |key, value, errors| {
            match key {
                "order" => {
                    args.order_written = true;
                    args.order = integer::<i64>(value, key, "10")
                        .map(|(n, _)| n)
                        .map_err(|e| errors.push(e))
                        .ok()
                }
                "close" => {
                    args.close = match value {
                        Expr::Path(path) if path.qself.is_none() => Some(path.path.clone()),
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(lit), ..
                        }) => {
                            errors.spanned(lit, format!("write the close function as a path, without quotes: `close = {}`", lit.value()));
                            None
                        }
                        other => {
                            errors.spanned(other, "`close` takes the path of a function or method taking `&T`, such as `close = sqlx::SqlitePool::close`");
                            None
                        }
                    }
                }
                "timeout" => {
                    args.timeout_ms = string(value, key, "\"5s\"")
                        .and_then(|lit| nonzero_duration(&lit, key))
                        .map_err(|e| errors.push(e))
                        .ok()
                }
                "crate" => args.krate = crate_path(value, key, errors),
                "telemetry" => {
                    args.telemetry = match value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Bool(flag),
                            ..
                        }) => flag.value,
                        other => {
                            errors.spanned(other, "`telemetry` is a flag: write `telemetry` alone");
                            false
                        }
                    }
                }
                "name" => {
                    args.name = string(value, key, "\"db\"")
                        .and_then(|lit| match lit.value().trim().is_empty() {
                            true => Err(syn::Error::new(lit.span(), "`name` must not be empty")),
                            false => Ok(lit),
                        })
                        .map_err(|e| errors.push(e))
                        .ok()
                }
                _ => return false,
            }
            true
        },
    );
    args
}

/// `crate = "::g"`: the path the generated code names graceful by.
fn crate_path(value: &Expr, key: &str, errors: &mut Errors) -> Option<Path> {
    string(value, key, "\"::graceful\"")
        .and_then(|lit| {
            lit.parse::<Path>().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    "`crate` must name a path, such as \"::graceful\"",
                )
            })
        })
        .map_err(|e| errors.push(e))
        .ok()
}

/// The arguments written alone, without `= value`.
const FLAGS: &[&str] = &["telemetry"];

/// Parses `key = value, ...`, rejecting other shapes, unknown keys (via `apply` returning
/// `false`) and duplicates, each on its own span.
fn for_each_pair(
    tokens: TokenStream,
    attribute: &str,
    valid: &str,
    errors: &mut Errors,
    mut apply: impl FnMut(&str, &Expr, &mut Errors) -> bool,
) {
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(syn::Error::new(
                error.span(),
                format!("{error}; `#[{attribute}(...)]` takes `name = value` pairs: {valid}"),
            ));
            return;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let MetaNameValue { path, value, .. } = match meta {
            Meta::NameValue(pair) => pair,
            // A flag: `telemetry` alone means `telemetry = true`.
            Meta::Path(path) if FLAGS.contains(&path_name(&path).as_str()) => MetaNameValue {
                value: syn::parse_quote_spanned!(path.span()=> true),
                eq_token: Token![=](path.span()),
                path,
            },
            Meta::Path(path) => {
                let name = path_name(&path);
                errors.spanned(
                    &path,
                    format!("`{name}` needs a value: `{name} = ...`; valid arguments: {valid}"),
                );
                continue;
            }
            Meta::List(list) => {
                let name = path_name(&list.path);
                errors.spanned(&list, format!("`{name}(...)` is not an argument of `#[{attribute}]`; write `name = value`: {valid}"));
                continue;
            }
        };
        let key = path_name(&path);
        if seen.contains(&key) {
            errors.spanned(&path, format!("duplicate argument `{key}`; give it once"));
            continue;
        }
        if !apply(&key, &value, errors) {
            errors.spanned(
                &path,
                format!("unknown argument `{key}` of `#[{attribute}]`; valid arguments: {valid}"),
            );
            continue;
        }
        seen.push(key);
    }
}

fn path_name(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn string(value: &Expr, key: &str, example: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string literal, such as `{key} = {example}`"),
        )),
    }
}

fn integer<N>(value: &Expr, key: &str, example: &str) -> syn::Result<(N, Span)>
where
    N: std::str::FromStr,
    N::Err: std::fmt::Display,
{
    let (lit, negative): (&LitInt, bool) = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => (lit, false),
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => match &*unary.expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) => (lit, true),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!("`{key}` takes an integer literal, such as `{key} = {example}`"),
                ));
            }
        },
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("`{key}` takes an integer literal, such as `{key} = {example}`"),
            ));
        }
    };
    let digits = if negative {
        format!("-{}", lit.base10_digits())
    } else {
        lit.base10_digits().to_owned()
    };
    digits
        .parse::<N>()
        .map(|n| (n, value.span()))
        .map_err(|error| syn::Error::new_spanned(value, format!("invalid `{key}`: {error}")))
}

/// The longest `timeout` accepted, as the runtime's `MAX_TIMEOUT`: a day.
const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

fn nonzero_duration(literal: &LitStr, key: &str) -> syn::Result<u64> {
    match parse_millis(literal)? {
        0 => Err(syn::Error::new(
            literal.span(),
            format!("`{key}` must be longer than zero"),
        )),
        ms if ms > MAX_TIMEOUT_MS => Err(syn::Error::new(
            literal.span(),
            format!("`{key}` must be at most 24h: a longer one is a mistake (a unit typo?)"),
        )),
        ms => Ok(ms),
    }
}
