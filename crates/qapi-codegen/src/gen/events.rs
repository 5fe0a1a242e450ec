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
    lines.extend(g.feature_lines(id, &e.features, "super::Feature"));
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

/// The `Event` enum of every event, which a client reads events into.
pub(super) fn event_enum(g: &Gen<'_>) -> Result<TokenStream, String> {
    let rt = &g.paths.rt;
    let serde_json = &g.paths.serde_json;
    let mut scope = crate::names::Scope::default();
    let mut variants = Vec::new();
    let mut names = Vec::new();
    let mut decodes = Vec::new();
    let mut datas = Vec::new();
    for &id in &g.events {
        let e = g.entity(id);
        let name = format_ident!("{}", g.event_names[&id]);
        scope.claim(name.to_string());
        let cfg = g.cfg_attr(&e.ifcond)?;
        let deprecated = g.deprecated_attr(&e.features);
        let wire = &e.name;
        let doc = format!(" `{wire}`");
        variants.push(quote!(#[doc = #doc] #cfg #deprecated #name(events::#name)));
        names.push(quote!(#cfg Self::#name(_) => #wire));
        decodes.push(quote!(#cfg #wire => <events::#name as #rt::Event>::from_data(data, mode).map(Self::#name)));
        datas.push(quote!(#cfg Self::#name(e) => #serde_json::to_value(e)));
    }
    let unrecognized = format_ident!("{}", scope.claim("Unrecognized".to_owned()));
    let unknown = quote! {
        ::std::result::Result::Ok(Self::#unrecognized(#rt::UnrecognizedEvent {
            name: name.to_owned(),
            data,
        }))
    };
    // A schema without events has nothing to match but the unknown.
    let (mode, decode_body) = if decodes.is_empty() {
        (format_ident!("_mode"), unknown)
    } else {
        (
            format_ident!("mode"),
            quote! {
                match name {
                    #(#decodes,)*
                    _ => #unknown,
                }
            },
        )
    };
    Ok(quote! {
        /// Any event of the schema, or one it does not know.
        #[allow(deprecated, dead_code)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum Event {
            #(#variants,)*
            /// An event this schema does not know, from a peer of another
            /// release, as it came.
            #unrecognized(#rt::UnrecognizedEvent),
        }

        #[allow(deprecated)]
        impl #rt::Events for Event {
            fn decode_event(
                name: &str,
                data: ::std::option::Option<#serde_json::Value>,
                #mode: #rt::de::Mode,
            ) -> ::std::result::Result<Self, #rt::de::DecodeError> {
                #decode_body
            }

            fn name(&self) -> &str {
                match self {
                    #(#names,)*
                    Self::#unrecognized(e) => &e.name,
                }
            }
        }

        #[allow(deprecated, dead_code)]
        impl Event {
            /// The event's data as JSON (`{}` for an event without data).
            pub fn data(&self) -> ::std::result::Result<#serde_json::Value, #serde_json::Error> {
                match self {
                    #(#datas,)*
                    Self::#unrecognized(e) => ::std::result::Result::Ok(
                        e.data.clone().unwrap_or_else(|| #serde_json::Value::Object(::std::default::Default::default())),
                    ),
                }
            }
        }
    })
}
