//! A function under one of the attributes: its signature parsed, its body kept as tokens.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility, braced};

pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace_token: syn::token::Brace,
    pub(crate) body: TokenStream,
}

impl Function {
    /// Parses `item`; if it is not a function, the item as it was with the parse error, to
    /// emit (so that the rest of the program still sees it).
    pub(crate) fn parse_or_emit(item: TokenStream) -> Result<Self, TokenStream> {
        syn::parse2(item.clone()).map_err(|error| {
            let mut tokens = item;
            tokens.extend(error.into_compile_error());
            tokens
        })
    }
}

impl Parse for Function {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace_token = braced!(content in input);
        let body = content.parse()?;
        Ok(Function {
            attrs,
            vis,
            sig,
            brace_token,
            body,
        })
    }
}
