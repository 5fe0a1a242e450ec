//! The module `#[handlers]` puts out: the handler functions as written
//! (with a link to their command's docs), `register` and `COMMANDS`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Item, ItemMod, Path, Type};

use crate::bind::{bind, check_required, Bound, Errors};
use crate::handler::{Handler, ParamKind};
use crate::manifest::{Arguments, Manifest};
use crate::options::Options;

/// Expands `#[handlers(options)] mod m { ... }`.
pub fn expand(options: Options, mut module: ItemMod) -> syn::Result<TokenStream> {
    let Some((_, items)) = &mut module.content else {
        return Err(syn::Error::new(
            module.span(),
            "`#[handlers]` needs the module's body here: `mod name { ... }`",
        ));
    };
    let manifest = Manifest::load(&options.schema)?;
    let types: Path = match &options.types {
        Some(p) => p.clone(),
        None => {
            let stem = format_ident!("{}", options.schema.value().replace(['-', '.'], "_"));
            syn::parse_quote!(crate::#stem)
        }
    };
    let mut errors = Errors::default();
    let mut handlers = Vec::new();
    let mut positions = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        if let Item::Fn(func) = item {
            match Handler::take(func) {
                Ok(Some(h)) => {
                    handlers.push(h);
                    positions.push(i);
                }
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
    }
    let types_text = path_text(&types);
    let bound = bind(&manifest, &types_text, &handlers, &mut errors);
    let cfg_checks = match &options.require {
        Some(require) => check_required(&manifest, &bound, require, &mut errors),
        None => TokenStream::new(),
    };
    if let Some(e) = errors.into_error() {
        // The module as written (marks removed) and the items callers
        // use, so that the only errors are the ones above.
        items.push(syn::parse_quote! {
            #[allow(missing_docs)]
            pub fn register<S: ::core::marker::Send + ::core::marker::Sync + 'static>(
                builder: ::qapi_runtime::server::dispatch::DispatcherBuilder<S>,
            ) -> ::qapi_runtime::server::dispatch::DispatcherBuilder<S> {
                builder
            }
        });
        items.push(syn::parse_quote! {
            #[allow(missing_docs)]
            pub const COMMANDS: &[&str] = &[];
        });
        let errors = e.to_compile_error();
        return Ok(quote!(#errors #module));
    }
    for b in &bound {
        let i = positions[b.index];
        if let Item::Fn(func) = &mut items[i] {
            let has_docs = func.attrs.iter().any(|a| a.path().is_ident("doc"));
            let line = format!(
                " Handles [`{}`]({types_text}::{}).",
                b.command.name, b.command.path
            );
            if has_docs {
                func.attrs.push(syn::parse_quote!(#[doc = ""]));
            }
            func.attrs.push(syn::parse_quote!(#[doc = #line]));
        }
    }
    let state = options
        .state
        .clone()
        .or_else(|| first_state_type(&handlers));
    let (generics, state) = match state {
        Some(t) => (TokenStream::new(), t.into_token_stream()),
        None => (
            quote!(<S: ::core::marker::Send + ::core::marker::Sync + 'static>),
            quote!(S),
        ),
    };
    let registrations = bound.iter().map(|b| registration(b, &types, &state));
    let names = bound.iter().map(|b| &b.command.name);
    let links: Vec<String> = bound
        .iter()
        .map(|b| {
            format!(
                " - [`{}`]({types_text}::{}): [`{}`]",
                b.command.name, b.command.path, b.handler.func.sig.ident
            )
        })
        .collect();
    let register_doc = format!(
        " Registers this module's handlers with `builder`, for {} commands of {}:",
        bound.len(),
        manifest.schema
    );
    items.push(syn::parse_quote! {
        #[doc = #register_doc]
        #[doc = ""]
        #(#[doc = #links])*
        #[allow(deprecated)]
        pub fn register #generics (
            builder: ::qapi_runtime::server::dispatch::DispatcherBuilder<#state>,
        ) -> ::qapi_runtime::server::dispatch::DispatcherBuilder<#state> {
            #(#registrations)*
            builder
        }
    });
    items.push(syn::parse_quote! {
        /// The commands this module handles, in the order written.
        pub const COMMANDS: &[&str] = &[#(#names),*];
    });
    Ok(quote!(#cfg_checks #module))
}

/// `crate::agent`, as text for an intra-doc link.
fn path_text(path: &Path) -> String {
    path.to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn first_state_type(handlers: &[Handler]) -> Option<Type> {
    handlers
        .iter()
        .flat_map(|h| &h.params)
        .find_map(|p| match &p.kind {
            ParamKind::StateRef(t) | ParamKind::StateArc(t) => Some(t.clone()),
            _ => None,
        })
}

/// `let builder = builder.handle::<C, _>(...)` for one handler.  Each
/// parameter gets a `let` spanned on its type, so a wrong type is
/// reported there; the result goes through `HandlerReturn`, spanned on
/// the return type.
fn registration(b: &Bound<'_>, types: &Path, state: &TokenStream) -> TokenStream {
    let handler = b.handler;
    let command: Path = syn::parse_str(&b.command.path).expect("the manifest's paths are paths");
    let command = quote!(#types::#command);
    let lets = handler.params.iter().zip(&b.members).map(|(p, member)| {
        let (ident, ty) = (&p.ident, &p.ty);
        let span = Span::call_site().located_at(ty.span());
        let value = match (&p.kind, member) {
            (ParamKind::StateRef(_) | ParamKind::StateArc(_), _) => quote!(__qapi_state),
            (ParamKind::Args, _) => quote!(__qapi_args),
            (ParamKind::Member, Some(m)) => {
                let field = format_ident!("{}", m.field);
                let member = if b.command.arguments == Arguments::Newtype {
                    quote!(__qapi_args.0.#field)
                } else {
                    quote!(__qapi_args.#field)
                };
                // Through a trait, so that a wrong type is reported on the
                // parameter's type with the member's type named.
                let check = quote_spanned! {span=>
                    <_ as ::qapi_runtime::handler::IntoParam<#ty>>::into_param
                };
                quote!(#check(#member))
            }
            (ParamKind::Member, None) => unreachable!("bound members have an entry"),
        };
        quote_spanned!(span=> let #ident: #ty = #value;)
    });
    let idents = handler.params.iter().map(|p| &p.ident);
    let call = {
        let func = &handler.func.sig.ident;
        quote!(#func(#(#idents),*))
    };
    let output = handler
        .output
        .as_ref()
        .expect("bound handlers have a return type");
    let into_reply = quote_spanned! {Span::call_site().located_at(output.span())=>
        <#output as ::qapi_runtime::handler::HandlerReturn<<#command as ::qapi_runtime::Command>::Returns>>::into_reply
    };
    let cfgs = handler
        .func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"));
    if handler.is_async() {
        quote! {
            #(#cfgs)*
            let builder = builder.handle_async::<#command, _, _>(
                |__qapi_state: ::std::sync::Arc<#state>, __qapi_args: #command| {
                    #(#lets)*
                    let __qapi_future = #call;
                    async move { #into_reply(__qapi_future.await) }
                },
            );
        }
    } else {
        let register = if handler.blocking {
            quote!(handle_blocking)
        } else {
            quote!(handle)
        };
        quote! {
            #(#cfgs)*
            let builder = builder.#register::<#command, _>(
                |__qapi_state: &#state, __qapi_args: #command| {
                    #(#lets)*
                    #into_reply(#call)
                },
            );
        }
    }
}
