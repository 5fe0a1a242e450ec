//! One struct per command, holding its arguments, and its `Command` impl.

use proc_macro2::TokenStream;
use qapi_parser::model::{Command, EntityId, EntityKind};
use quote::{format_ident, quote};

use super::{From, Gen};

/// The `commands` module.
pub(super) fn commands(g: &Gen<'_>) -> Result<TokenStream, String> {
    let items = g
        .commands
        .iter()
        .map(|&id| command(g, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quote! {
        /// One struct per command: its value is the command's arguments,
        /// and its [`Command`](::qapi_runtime::Command) impl gives the
        /// return type and the command's description.
        pub mod commands {
            #(#items)*
        }
    })
}

/// The arguments of a command or event, as the body of a struct: inline
/// members as fields, a named type as one field, or nothing.
pub(super) fn args_struct(
    g: &Gen<'_>,
    id: EntityId,
    name: &proc_macro2::Ident,
    arg_type: Option<EntityId>,
    head: TokenStream,
) -> Result<TokenStream, String> {
    let serde = &g.paths.serde;
    let serde_crate = &g.paths.serde_crate;
    let derives =
        quote!(#[derive(Clone, Debug, PartialEq, #serde::Serialize, #serde::Deserialize)]);
    Ok(match arg_type {
        Some(arg) if g.entity(arg).is_implicit() && g.entity(arg).name != "q_empty" => {
            let members = g.schema.members(arg);
            let fields = g.fields(arg, &members, id, From::Module)?;
            quote! {
                #head
                #derives
                #[serde(crate = #serde_crate, deny_unknown_fields)]
                pub struct #name {
                    #(#fields,)*
                }
            }
        }
        Some(arg) => {
            let ty = g.rust_type(arg, From::Module);
            quote! {
                #head
                #derives
                #[serde(crate = #serde_crate, transparent)]
                pub struct #name(pub #ty);
            }
        }
        None => quote! {
            #head
            #derives
            #[serde(crate = #serde_crate, deny_unknown_fields)]
            pub struct #name {}
        },
    })
}

fn command(g: &Gen<'_>, id: EntityId) -> Result<TokenStream, String> {
    let e = g.entity(id);
    let EntityKind::Command(c) = &e.kind else {
        return Err(format!("{} is not a command", e.name));
    };
    let name = format_ident!("{}", g.command_names[&id]);
    let rt = &g.paths.rt;
    let mut lines = g.entity_doc_lines(id, &format!("The QAPI command `{}`.", e.name));
    lines.push(String::new());
    lines.push(format!("Wire name: `{}`.", e.name));
    let groups = g.group_names(&e.features);
    if !groups.is_empty() {
        let links: Vec<String> = groups
            .iter()
            .map(|gname| {
                format!(
                    "[`{gname}`](super::Feature::{})",
                    crate::names::camel(gname)
                )
            })
            .collect();
        lines.push(String::new());
        lines.push(format!("**Feature groups:** {}", links.join(", ")));
    }
    let docs = g.doc_attrs(&lines);
    let cfg = g.cfg_attr(&e.ifcond)?;
    let deprecated = g.deprecated_attr(&e.features);
    let head = quote!(#docs #cfg #deprecated);
    let item = args_struct(g, id, &name, c.arg_type, head)?;
    let returns = match c.ret_type {
        Some(r) => g.rust_type(r, From::Module),
        None => quote!(#rt::Empty),
    };
    let info = command_info(g, id, c)?;
    Ok(quote! {
        #item

        #cfg
        #[allow(deprecated)]
        impl #rt::Command for #name {
            type Returns = #returns;
            const INFO: #rt::CommandInfo = #info;
        }
    })
}

fn command_info(g: &Gen<'_>, id: EntityId, c: &Command) -> Result<TokenStream, String> {
    let e = g.entity(id);
    let rt = &g.paths.rt;
    let wire = &e.name;
    let features = g.feature_set(&e.features);
    let Command {
        success_response,
        allow_oob,
        allow_preconfig,
        coroutine,
        boxed,
        gen,
        ..
    } = c;
    Ok(quote! {
        #rt::CommandInfo {
            name: #wire,
            features: #features,
            success_response: #success_response,
            allow_oob: #allow_oob,
            allow_preconfig: #allow_preconfig,
            coroutine: #coroutine,
            boxed: #boxed,
            gen: #gen,
        }
    })
}
