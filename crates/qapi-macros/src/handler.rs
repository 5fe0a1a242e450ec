//! Handler functions as the attribute finds them: the `#[command]` mark,
//! and what each parameter is.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Type};

/// A function marked `#[command]`, `#[command("name")]`,
/// `#[command(blocking)]` or `#[command("name", blocking)]`.
pub struct Handler {
    /// The function, its `#[command]` and `#[args]` marks removed.
    pub func: ItemFn,
    /// The command named in the mark, if any.
    pub name: Option<LitStr>,
    /// Marked `blocking`: runs on a thread of its own.
    pub blocking: bool,
    /// What each parameter is, in order.
    pub params: Vec<Param>,
    /// The return type (the future's output for an `async fn`).
    pub output: Option<Type>,
}

/// One parameter of a handler.
pub struct Param {
    /// Its name.
    pub ident: Ident,
    /// Its type as written.
    pub ty: Type,
    /// What it receives.
    pub kind: ParamKind,
}

/// What a parameter receives.
pub enum ParamKind {
    /// The dispatcher's state, borrowed (`&T`, sync handlers).
    StateRef(Type),
    /// The dispatcher's state, shared (`Arc<T>`, async handlers).
    StateArc(Type),
    /// The command's whole argument struct (marked `#[args]`).
    Args,
    /// One member, matched by name.
    Member,
}

impl Handler {
    /// The handler in `func` if it carries `#[command]`; the mark is
    /// removed from `func` either way.
    pub fn take(func: &mut ItemFn) -> syn::Result<Option<Handler>> {
        let Some(pos) = func.attrs.iter().position(is_command_mark) else {
            return Ok(None);
        };
        let mark = func.attrs.remove(pos);
        let (name, blocking) = match &mark.meta {
            syn::Meta::Path(_) => (None, false),
            _ => mark.parse_args_with(parse_mark).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `#[command]`, `#[command(\"command-name\")]`, \
                     `#[command(blocking)]` or `#[command(\"command-name\", blocking)]`",
                )
            })?,
        };
        let sig = &func.sig;
        if blocking && sig.asyncness.is_some() {
            return Err(syn::Error::new(
                sig.asyncness.span(),
                "an async handler cannot be `blocking`: it is a future already",
            ));
        }
        if !sig.generics.params.is_empty() {
            return Err(syn::Error::new(
                sig.generics.span(),
                "handler functions cannot be generic",
            ));
        }
        let mut params = Vec::new();
        for input in func.sig.inputs.iter_mut() {
            params.push(Param::take(input)?);
        }
        let output = match &func.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        Ok(Some(Handler {
            func: func.clone(),
            name,
            blocking,
            params,
            output,
        }))
    }

    /// Whether the function is `async`.
    pub fn is_async(&self) -> bool {
        self.func.sig.asyncness.is_some()
    }

    /// Where to point at the command: the name in the mark, or the
    /// function's name.
    pub fn name_span(&self) -> Span {
        self.name
            .as_ref()
            .map_or_else(|| self.func.sig.ident.span(), LitStr::span)
    }
}

/// The inside of `#[command(...)]`: a command name, `blocking`, or both.
fn parse_mark(input: syn::parse::ParseStream<'_>) -> syn::Result<(Option<LitStr>, bool)> {
    let name = if input.peek(LitStr) {
        Some(input.parse::<LitStr>()?)
    } else {
        None
    };
    if name.is_some() && !input.is_empty() {
        input.parse::<syn::Token![,]>()?;
    }
    let blocking = if input.is_empty() {
        false
    } else {
        let word: Ident = input.parse()?;
        if word != "blocking" {
            return Err(syn::Error::new(word.span(), "expected `blocking`"));
        }
        true
    };
    if !input.is_empty() {
        return Err(input.error("unexpected tokens"));
    }
    Ok((name, blocking))
}

fn is_command_mark(attr: &Attribute) -> bool {
    attr.path().is_ident("command")
}

impl Param {
    fn take(input: &mut FnArg) -> syn::Result<Param> {
        let FnArg::Typed(arg) = input else {
            return Err(syn::Error::new(
                input.span(),
                "handlers are free functions: the state comes as a `&T` or `Arc<T>` parameter",
            ));
        };
        let marked = arg.attrs.iter().position(|a| a.path().is_ident("args"));
        if let Some(i) = marked {
            arg.attrs.remove(i);
        }
        let ident = match &*arg.pat {
            Pat::Ident(p) if p.subpat.is_none() => p.ident.clone(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "handler parameters must be plain names: members are matched by name",
                ))
            }
        };
        let ty = (*arg.ty).clone();
        let kind = if marked.is_some() {
            ParamKind::Args
        } else if let Type::Reference(r) = &ty {
            ParamKind::StateRef((*r.elem).clone())
        } else if let Some(inner) = arc_inner(&ty) {
            ParamKind::StateArc(inner)
        } else {
            ParamKind::Member
        };
        Ok(Param { ident, ty, kind })
    }

    /// The member name this parameter asks for: its name without a
    /// leading `_` or `r#`.
    pub fn member_name(&self) -> String {
        let name = self.ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name);
        name.strip_prefix('_').unwrap_or(name).to_owned()
    }
}

/// `T` for `Arc<T>` (any path ending in `Arc`).
fn arc_inner(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Arc" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}
