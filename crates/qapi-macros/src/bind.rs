//! Binding handlers to commands: every check against the manifest, each
//! failure a `syn::Error` on the token at fault.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use syn::spanned::Spanned;

use crate::handler::{Handler, Param, ParamKind};
use crate::manifest::{CommandEntry, Manifest, MemberEntry};
use crate::options::Require;

/// A handler bound to its command, each parameter to what it receives.
pub struct Bound<'a> {
    /// The handler's place in the list given to [`bind`].
    pub index: usize,
    /// The handler.
    pub handler: &'a Handler,
    /// Its command.
    pub command: &'a CommandEntry,
    /// Per parameter, the member it takes (`None` for state and `#[args]`).
    pub members: Vec<Option<&'a MemberEntry>>,
}

/// Errors collected while binding, reported together.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds one.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The errors, if any.
    pub fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

/// Binds every handler, checking names, duplicates, `'gen': false` and
/// parameters.
pub fn bind<'a>(
    manifest: &'a Manifest,
    types: &str,
    handlers: &'a [Handler],
    errors: &mut Errors,
) -> Vec<Bound<'a>> {
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    let mut bound = Vec::new();
    for (index, handler) in handlers.iter().enumerate() {
        let command = match find_command(manifest, handler) {
            Ok(c) => c,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if !command.gen {
            errors.push(syn::Error::new(
                handler.name_span(),
                format!(
                    "`{}` is declared with `'gen': false`: the schema leaves its handler to be written by hand; register it with `DispatcherBuilder::handle_raw`",
                    command.name
                ),
            ));
            continue;
        }
        if let Some(first) = seen.insert(&command.name, &handler.func.sig.ident) {
            errors.push(syn::Error::new(
                handler.name_span(),
                format!("`{}` already has a handler: `{first}`", command.name),
            ));
            continue;
        }
        match bind_params(manifest, types, handler, command) {
            Ok(members) => bound.push(Bound {
                index,
                handler,
                command,
                members,
            }),
            Err(e) => errors.push(e),
        }
    }
    bound
}

fn find_command<'a>(manifest: &'a Manifest, handler: &Handler) -> syn::Result<&'a CommandEntry> {
    let schema = &manifest.schema;
    if let Some(name) = &handler.name {
        let name = name.value();
        return manifest.command(&name).ok_or_else(|| {
            syn::Error::new(
                handler.name_span(),
                format!(
                    "{schema} has no command `{name}`{}",
                    suggestion(manifest, &name)
                ),
            )
        });
    }
    let ident = handler.func.sig.ident.to_string();
    let ident = ident.strip_prefix("r#").unwrap_or(&ident);
    let wanted = ident.replace('_', "-");
    manifest
        .commands
        .iter()
        .find(|c| c.name.replace(['-', '.'], "_") == ident)
        .ok_or_else(|| {
            syn::Error::new(
                handler.name_span(),
                format!(
                    "{schema} has no command `{wanted}` (named after the function; write `#[command(\"name\")]` for another name){}",
                    suggestion(manifest, &wanted)
                ),
            )
        })
}

/// `; did you mean `x`?` for the closest command name, if one is close.
fn suggestion(manifest: &Manifest, name: &str) -> String {
    manifest
        .commands
        .iter()
        .map(|c| (strsim::levenshtein(&c.name, name), &c.name))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

fn bind_params<'a>(
    manifest: &Manifest,
    types: &str,
    handler: &Handler,
    command: &'a CommandEntry,
) -> syn::Result<Vec<Option<&'a MemberEntry>>> {
    let name = &command.name;
    let sig = &handler.func.sig;
    if handler.output.is_none() {
        return Err(syn::Error::new(
            sig.ident.span(),
            format!("the handler of `{name}` must return `Result<T, E>` with `E: Into<qapi_runtime::Error>`"),
        ));
    }
    let mut errors = Errors::default();
    let mut members = Vec::new();
    let mut state = None;
    let mut whole = None;
    for param in &handler.params {
        members.push(None);
        match &param.kind {
            ParamKind::StateRef(_) | ParamKind::StateArc(_) => {
                if let Some(first) = state.replace(param) {
                    errors.push(syn::Error::new(
                        param.ty.span(),
                        format!(
                            "a handler takes the state once; `{}` already takes it",
                            first.ident
                        ),
                    ));
                } else if let Some(e) = state_mismatch(handler, param) {
                    errors.push(e);
                }
            }
            ParamKind::Args => whole = Some(param),
            ParamKind::Member => {
                if command.whole_only() {
                    return Err(syn::Error::new(
                        param.ident.span(),
                        format!(
                            "`{name}` has its arguments in one value ({}): take them as one parameter `#[args] arguments: {types}::{}`",
                            if command.boxed { "it is boxed" } else { "a union or alternate" },
                            command.path
                        ),
                    ));
                }
                match command
                    .members
                    .iter()
                    .find(|m| m.field == param.member_name())
                {
                    Some(m) => *members.last_mut().expect("pushed above") = Some(m),
                    None => errors.push(unknown_member(manifest, command, param)),
                }
            }
        }
    }
    let taken: Vec<&MemberEntry> = members.iter().flatten().copied().collect();
    if let (Some(whole), false) = (whole, taken.is_empty()) {
        errors.push(syn::Error::new(
            whole.ident.span(),
            "take either the whole arguments (`#[args]`) or members by name, not both",
        ));
    } else if whole.is_none() && command.whole_only() {
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "the handler of `{name}` lacks its arguments: add `#[args] arguments: {types}::{}`",
                command.path
            ),
        ));
    } else if whole.is_none() {
        let missing: Vec<String> = command
            .members
            .iter()
            .filter(|m| !taken.iter().any(|t| t.field == m.field))
            .map(|m| format!("`{}: {}`", m.field, m.ty))
            .collect();
        if !missing.is_empty() {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                format!(
                    "the handler of `{name}` lacks a parameter for {} {}",
                    if missing.len() == 1 {
                        "member"
                    } else {
                        "members"
                    },
                    missing.join(", ")
                ),
            ));
        }
    }
    match errors.into_error() {
        Some(e) => Err(e),
        None => Ok(members),
    }
}

fn state_mismatch(handler: &Handler, param: &Param) -> Option<syn::Error> {
    match (&param.kind, handler.is_async()) {
        (ParamKind::StateRef(t), true) => Some(syn::Error::new(
            param.ty.span(),
            format!(
                "an async handler outlives the request: take the state as `Arc<{}>`",
                quote::ToTokens::to_token_stream(t)
            ),
        )),
        (ParamKind::StateArc(t), false) => Some(syn::Error::new(
            param.ty.span(),
            format!(
                "a handler that is not async borrows the state: take it as `&{}`",
                quote::ToTokens::to_token_stream(t)
            ),
        )),
        _ => None,
    }
}

fn unknown_member(manifest: &Manifest, command: &CommandEntry, param: &Param) -> syn::Error {
    let list = if command.members.is_empty() {
        "it takes no arguments".to_owned()
    } else {
        let names: Vec<String> = command
            .members
            .iter()
            .map(|m| format!("`{}`", m.field))
            .collect();
        format!("its members are {}", names.join(", "))
    };
    syn::Error::new(
        param.ident.span(),
        format!(
            "`{}` in {} has no member `{}`; {list}",
            command.name,
            manifest.schema,
            param.member_name()
        ),
    )
}

/// The commands the runtime's dispatcher answers itself when no handler is
/// registered (`qapi_runtime::server::dispatch::Builtin`): `require_all`
/// does not ask for them.
const BUILTINS: [&str; 3] = ["qmp_capabilities", "query-commands", "query-qmp-schema"];

/// The opt-in check that the commands `require` names have handlers.  A
/// command under a condition is asked for only where it is compiled in:
/// its check is returned as a `compile_error!` under the command's cfg.
pub fn check_required(
    manifest: &Manifest,
    bound: &[Bound<'_>],
    require: &Require,
    errors: &mut Errors,
) -> TokenStream {
    let handled = |name: &str| bound.iter().any(|b| b.command.name == name);
    match require {
        Require::All(span) => {
            let missing: Vec<&CommandEntry> = manifest
                .commands
                .iter()
                .filter(|c| c.gen && !handled(&c.name) && !BUILTINS.contains(&c.name.as_str()))
                .collect();
            let always: Vec<String> = missing
                .iter()
                .filter(|c| c.cfg.is_none())
                .map(|c| format!("`{}`", c.name))
                .collect();
            if !always.is_empty() {
                errors.push(syn::Error::new(
                    *span,
                    format!("no handler for {}", always.join(", ")),
                ));
            }
            missing
                .iter()
                .filter_map(|c| {
                    let cfg: TokenStream = c.cfg.as_deref()?.parse().ok()?;
                    let message = format!(
                        "no handler for `{}`, which is compiled in where cfg({cfg}) holds: \
                         write one with `#[cfg({cfg})]` on the function",
                        c.name
                    );
                    Some(quote::quote_spanned! {*span=>
                        #[cfg(#cfg)]
                        ::core::compile_error!(#message);
                    })
                })
                .collect()
        }
        Require::Only(names) => {
            for lit in names {
                let name = lit.value();
                let message = match manifest.command(&name) {
                    None => format!("{} has no command `{name}`", manifest.schema),
                    Some(_) if !handled(&name) => format!("no handler for `{name}`"),
                    Some(_) => continue,
                };
                errors.push(syn::Error::new(lit.span(), message));
            }
            TokenStream::new()
        }
    }
}
