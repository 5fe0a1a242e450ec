//! One struct per event, holding its data, and the `Event` enum of all.

use proc_macro2::TokenStream;
use qapi_parser::model::{EntityId, EntityKind};
use quote::{format_ident, quote};

use super::commands::args_struct;
use super::Gen;

/// The module that holds the event structs, and its documentation.
pub(crate) const MODULE: (&str, &[&str]) = (
    "events",
    &["One struct per event: its value is the event's data."],
);

/// The struct and `Event` impl of one event.
pub(super) fn event(g: &Gen<'_>, id: EntityId) -> Result<TokenStream, String> {
    let rt = &g.paths.rt;
    let e = g.entity(id);
    let EntityKind::Event(ev) = &e.kind else {
        return Err(format!("{} is not an event", e.name));
    };
    let name = format_ident!("{}", g.event_names[&id]);
    let mut lines = g.entity_doc_lines(id, &format!("The QAPI event `{}`.", e.name));
    lines.push(String::new());
    lines.push(format!("Wire name: `{}`.", e.name));
    let docs = g.doc_attrs(&lines);
    let cfg = g.cfg_attr(&e.ifcond)?;
    let deprecated = g.deprecated_attr(&e.features);
    let item = args_struct(
        g,
        id,
        &name,
        ev.arg_type,
        quote!(#docs #cfg #deprecated),
        &cfg,
        false,
    )?;
    let wire = &e.name;
    let features = g.feature_set(&e.features);
    Ok(quote! {
        #item

        #cfg
        #[allow(deprecated)]
        impl #rt::Event for #name {
            const NAME: &'static str = #wire;
            const FEATURES: #rt::FeatureSet = #features;
        }
    })
}

/// The `Event` enum of every event.
pub(super) fn event_enum(g: &Gen<'_>) -> Result<TokenStream, String> {
    let serde_json = &g.paths.serde_json;
    let mut variants = Vec::new();
    let mut names = Vec::new();
    let mut parses = Vec::new();
    let mut datas = Vec::new();
    for &id in &g.events {
        let e = g.entity(id);
        let name = format_ident!("{}", g.event_names[&id]);
        let cfg = g.cfg_attr(&e.ifcond)?;
        let deprecated = g.deprecated_attr(&e.features);
        let wire = &e.name;
        let doc = format!(" `{wire}`");
        variants.push(quote!(#[doc = #doc] #cfg #deprecated #name(events::#name)));
        names.push(quote!(#cfg Self::#name(_) => #wire));
        parses.push(quote!(#cfg #wire => #serde_json::from_value(data).map(Self::#name).map(::std::option::Option::Some)));
        datas.push(quote!(#cfg Self::#name(ref e) => #serde_json::to_value(e)));
    }
    let from_parts_body = if parses.is_empty() {
        quote! {
            let _ = (name, data);
            ::std::result::Result::Ok(::std::option::Option::None)
        }
    } else {
        quote! {
            match name {
                #(#parses,)*
                _ => ::std::result::Result::Ok(::std::option::Option::None),
            }
        }
    };
    Ok(quote! {
        /// Any event of the schema.
        #[allow(deprecated)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum Event {
            #(#variants,)*
        }

        #[allow(deprecated)]
        impl Event {
            /// The event's name on the wire.
            pub fn name(&self) -> &'static str {
                match *self {
                    #(#names,)*
                }
            }

            /// The event named `name` with data `data`; `None` if the schema
            /// has no such event.
            pub fn from_parts(
                name: &str,
                data: #serde_json::Value,
            ) -> ::std::result::Result<::std::option::Option<Self>, #serde_json::Error> {
                #from_parts_body
            }

            /// The event's data as JSON.
            pub fn data(&self) -> ::std::result::Result<#serde_json::Value, #serde_json::Error> {
                match *self {
                    #(#datas,)*
                }
            }
        }
    })
}
