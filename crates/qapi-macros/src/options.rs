//! The arguments of `#[handlers(...)]`.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Path, Type};

/// What the attribute says.
pub struct Options {
    /// `schema = "STEM"`: the generated schema, by the stem of its file.
    pub schema: LitStr,
    /// `types = path`: the module the generated code is included in
    /// (default `crate::STEM`).
    pub types: Option<Path>,
    /// `state = Type`: the dispatcher's state type (default: the type the
    /// first handler with a state parameter takes).
    pub state: Option<Type>,
    /// The opt-in check that commands have handlers.
    pub require: Option<Require>,
}

/// Which commands must have a handler.
pub enum Require {
    /// `require_all`: every command the schema generates (except
    /// `'gen': false` ones).
    All(Span),
    /// `require = ["a", "b"]`: these.
    Only(Vec<LitStr>),
}

impl Options {
    /// Parses the attribute's arguments.
    pub fn parse(args: proc_macro2::TokenStream) -> syn::Result<Options> {
        let mut schema = None;
        let mut types = None;
        let mut state = None;
        let mut require = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("schema") {
                schema = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.path.is_ident("types") {
                types = Some(meta.value()?.parse::<Path>()?);
            } else if meta.path.is_ident("state") {
                state = Some(meta.value()?.parse::<Type>()?);
            } else if meta.path.is_ident("require_all") {
                require = Some(Require::All(meta.path.span()));
            } else if meta.path.is_ident("require") {
                let list = meta.value()?.parse::<syn::ExprArray>()?;
                let names = list
                    .elems
                    .into_iter()
                    .map(|e| match e {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => Ok(s),
                        other => Err(syn::Error::new(
                            other.span(),
                            "expected a command name in quotes",
                        )),
                    })
                    .collect::<syn::Result<Vec<_>>>()?;
                require = Some(Require::Only(names));
            } else {
                return Err(meta.error(
                    "unknown option; expected `schema`, `types`, `state`, `require_all` or `require`",
                ));
            }
            Ok(())
        });
        parser.parse2(args.clone())?;
        let schema = schema.ok_or_else(|| {
            syn::Error::new(
                args.span(),
                "missing `schema = \"STEM\"`: the stem of the schema file given to qapi_codegen::Builder",
            )
        })?;
        Ok(Options {
            schema,
            types,
            state,
            require,
        })
    }
}
