//! One struct per command, holding its arguments, and its `Command` impl.

use proc_macro2::TokenStream;
use qapi_parser::model::{Command, EntityId, EntityKind};
use quote::{format_ident, quote};

use super::{From, Gen};

/// The module that holds the command structs, and its documentation.
pub(crate) const MODULE: (&str, &[&str]) = (
    "commands",
    &[
        "One struct per command: its value is the command's arguments, and its",
        "[`Command`](::qapi_runtime::Command) impl gives the return type and the",
        "command's description.",
    ],
);

/// The arguments of a command or event as a struct with its serde
/// impls: inline members as fields, a named type as the one field of a
/// newtype, or nothing (`{}` on the wire).
pub(super) fn args_struct(
    g: &Gen<'_>,
    id: EntityId,
    name: &proc_macro2::Ident,
    arg_type: Option<EntityId>,
    head: TokenStream,
    cfg: &TokenStream,
    open: bool,
) -> Result<TokenStream, String> {
    let serde = &g.paths.serde;
    let rt = &g.paths.rt;
    let serde_json = &g.paths.serde_json;
    let mut member_features = TokenStream::new();
    let fields = match arg_type {
        Some(arg) if g.entity(arg).is_implicit() && g.entity(arg).name != "q_empty" => {
            let members = g.schema.members(arg);
            member_features = g.member_features(name, cfg, &members)?;
            g.fields(arg, &members, id, From::Module)?
        }
        Some(arg) => {
            let ty = g.rust_type(arg, From::Module);
            return Ok(quote! {
                #head
                #[derive(Clone, Debug, PartialEq)]
                pub struct #name(pub #ty);

                #cfg
                #[allow(deprecated)]
                impl #serde::Serialize for #name {
                    fn serialize<S: #serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                        #serde::Serialize::serialize(&self.0, serializer)
                    }
                }

                #cfg
                #[allow(deprecated)]
                impl #rt::de::Decode for #name {
                    fn decode_as(value: #serde_json::Value, mode: #rt::de::Mode) -> ::std::result::Result<Self, #rt::de::DecodeError> {
                        <#ty as #rt::de::Decode>::decode_as(value, mode).map(Self)
                    }
                }

                #cfg
                #rt::impl_deserialize!(#name);
            });
        }
        None => Vec::new(),
    };
    let fields = if open {
        g.with_extra_members(fields)?
    } else {
        fields
    };
    let decls = fields.iter().map(|f| &f.decl);
    let impls = g.object_impls(name, cfg, &fields);
    let constructor = g.constructor(name, cfg, &fields);
    let derives = g.struct_derives(&fields);
    Ok(quote! {
        #head
        #derives
        pub struct #name {
            #(#decls,)*
        }

        #constructor
        #impls
        #member_features
    })
}

/// The struct and `Command` impl of one command.
pub(super) fn command(g: &Gen<'_>, id: EntityId) -> Result<TokenStream, String> {
    let e = g.entity(id);
    let EntityKind::Command(c) = &e.kind else {
        return Err(format!("{} is not a command", e.name));
    };
    let name = format_ident!("{}", g.command_names[&id]);
    let rt = &g.paths.rt;
    let mut lines = g.entity_doc_lines(id, &format!("The QAPI command `{}`.", e.name));
    lines.push(String::new());
    lines.push(format!("Wire name: `{}`.", e.name));
    lines.extend(g.feature_lines(id, &e.features, "super::Feature"));
    let docs = g.doc_attrs(&lines);
    let cfg = g.cfg_attr(&e.ifcond)?;
    let deprecated = g.deprecated_attr(&e.features);
    let head = quote!(#docs #cfg #deprecated);
    // QEMU hands the arguments of a `'gen': false` command to a handler
    // written by hand, which may take more members than the schema lists.
    let item = args_struct(g, id, &name, c.arg_type, head, &cfg, !c.gen)?;
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
