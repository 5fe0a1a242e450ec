//! The dispatch table: every command's description in schema order, and
//! a lookup by wire name that searches a sorted table.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Gen;

pub(super) fn dispatch(g: &Gen<'_>) -> Result<TokenStream, String> {
    let rt = &g.paths.rt;
    let entry = |id: &qapi_parser::model::EntityId| -> Result<TokenStream, String> {
        let e = g.entity(*id);
        let cfg = g.cfg_attr(&e.ifcond)?;
        let name = format_ident!("{}", g.command_names[id]);
        Ok(quote!(#cfg &<commands::#name as #rt::Command>::INFO))
    };
    let in_order = g
        .commands
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>, _>>()?;
    let mut sorted: Vec<_> = g.commands.clone();
    sorted.sort_by(|a, b| g.entity(*a).name.cmp(&g.entity(*b).name));
    let by_name = sorted.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    let visits = g
        .commands
        .iter()
        .map(|id| {
            let e = g.entity(*id);
            let cfg = g.cfg_attr(&e.ifcond)?;
            let name = format_ident!("{}", g.command_names[id]);
            let wire = &e.name;
            Ok(quote!(#cfg #wire => ::std::option::Option::Some(visitor.visit::<commands::#name>())))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let visit_body = if visits.is_empty() {
        quote! {
            let _ = (name, visitor);
            ::std::option::Option::None
        }
    } else {
        quote! {
            match name {
                #(#visits,)*
                _ => ::std::option::Option::None,
            }
        }
    };
    let event_names = g.events.iter().map(|id| {
        let e = g.entity(*id);
        let cfg = g.cfg_attr(&e.ifcond).unwrap_or_default();
        let wire = &e.name;
        quote!(#cfg #wire)
    });
    let unused = super::may_be_unused();
    Ok(quote! {
        /// Every command of the schema, in schema order.
        #[allow(deprecated, dead_code)]
        pub static COMMANDS: &[&#rt::CommandInfo] = &[#(#in_order),*];

        /// The name of every event of the schema, in schema order.
        #unused
        pub static EVENTS: &[&str] = &[#(#event_names),*];

        /// The schema's commands, features and events in one value: what a
        /// `Dispatcher` of `qapi_runtime` is built from.
        #unused
        pub static SCHEMA: #rt::SchemaInfo = #rt::SchemaInfo {
            commands: COMMANDS,
            features: Feature::NAMES,
            events: EVENTS,
            introspection: &introspection::SCHEMA_INFO,
        };

        /// Calls `visitor` with the type of the command named `name`; `None`
        /// if the schema has no such command.
        #[allow(deprecated, dead_code)]
        pub fn visit_command<V: #rt::CommandVisitor>(name: &str, visitor: V) -> ::std::option::Option<V::Output> {
            #visit_body
        }

        /// The command named `name` on the wire.
        #[allow(deprecated, dead_code)]
        pub fn command_info(name: &str) -> ::std::option::Option<&'static #rt::CommandInfo> {
            static BY_NAME: &[&#rt::CommandInfo] = &[#(#by_name),*];
            BY_NAME
                .binary_search_by(|info| info.name.cmp(name))
                .ok()
                .map(|i| BY_NAME[i])
        }
    })
}
