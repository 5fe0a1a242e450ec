//! Enums, structs, unions and alternates.

use proc_macro2::TokenStream;
use qapi_parser::model::{AlternateType, EntityId, EntityKind, EnumType, ObjectType, Union};
use quote::{format_ident, quote};

use super::{From, Gen};
use crate::names::{camel, snake, Scope};

/// The item for type `id`.
pub(super) fn type_item(g: &Gen<'_>, id: EntityId) -> Result<TokenStream, String> {
    let e = g.entity(id);
    match &e.kind {
        EntityKind::Enum(en) => enum_item(g, id, en),
        EntityKind::Object(o) if o.union.is_some() => union_item(g, id, o),
        EntityKind::Object(_) => struct_item(g, id),
        EntityKind::Alternate(a) => alternate_item(g, id, a),
        _ => Ok(TokenStream::new()),
    }
}

/// Docs, cfg and deprecation shared by every type item.
fn preamble(g: &Gen<'_>, id: EntityId, what: &str) -> Result<TokenStream, String> {
    let e = g.entity(id);
    let mut lines = g.entity_doc_lines(id, &format!("The QAPI {what} `{}`.", e.name));
    if e.features.iter().any(|f| !f.is_special()) {
        let names: Vec<String> = e.features.iter().map(|f| format!("`{}`", f.name)).collect();
        lines.push(String::new());
        lines.push(format!("**Features:** {}", names.join(", ")));
    }
    let docs = g.doc_attrs(&lines);
    let cfg = g.cfg_attr(&e.ifcond)?;
    Ok(quote!(#docs #cfg))
}

fn enum_item(g: &Gen<'_>, id: EntityId, en: &EnumType) -> Result<TokenStream, String> {
    let name = g.type_ident(id);
    let preamble = preamble(g, id, "enum")?;
    let serde = &g.paths.serde;
    let serde_crate = &g.paths.serde_crate;
    let doc = g.schema.doc(id);
    let mut scope = Scope::default();
    let mut variants = Vec::new();
    let mut all = Vec::new();
    let mut as_str = Vec::new();
    let mut features = Vec::new();
    for v in &en.values {
        let ident = format_ident!("{}", scope.claim(camel(&v.name)));
        let wire = &v.name;
        let cfg = g.cfg_attr(&v.ifcond)?;
        let deprecated = g.deprecated_attr(&v.features);
        let lines = doc
            .and_then(|d| d.arg(wire))
            .map(|s| crate::docs::markdown(&s.text))
            .filter(|l| l.iter().any(|l| !l.is_empty()))
            .unwrap_or_else(|| vec![format!("`{wire}`")]);
        let docs = g.doc_attrs(&lines);
        variants.push(quote! {
            #docs
            #cfg
            #deprecated
            #[serde(rename = #wire)]
            #ident
        });
        all.push(quote!(#cfg Self::#ident));
        as_str.push(quote!(#cfg Self::#ident => #wire));
        let set = g.feature_set(&v.features);
        features.push(quote!(#cfg Self::#ident => #set));
    }
    let rt = &g.paths.rt;
    let cfg = g.cfg_attr(&g.entity(id).ifcond)?;
    Ok(quote! {
        #preamble
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, #serde::Serialize, #serde::Deserialize)]
        #[serde(crate = #serde_crate)]
        pub enum #name {
            #(#variants,)*
        }

        #cfg
        #[allow(deprecated)]
        impl #name {
            /// Every value, in schema order.
            pub const ALL: &'static [Self] = &[#(#all),*];

            /// The value as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(#as_str,)*
                }
            }

            /// The value's features.
            pub const fn features(self) -> #rt::FeatureSet {
                match self {
                    #(#features,)*
                }
            }
        }

        #cfg
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    })
}

fn struct_item(g: &Gen<'_>, id: EntityId) -> Result<TokenStream, String> {
    let name = g.type_ident(id);
    let preamble = preamble(g, id, "struct")?;
    let members = g.schema.members(id);
    let fields = g.fields(id, &members, id, From::Root)?;
    let serde = &g.paths.serde;
    let serde_crate = &g.paths.serde_crate;
    Ok(quote! {
        #preamble
        #[derive(Clone, Debug, PartialEq, #serde::Serialize, #serde::Deserialize)]
        #[serde(crate = #serde_crate, deny_unknown_fields)]
        pub struct #name {
            #(#fields,)*
        }
    })
}

/// A union: the base members other than the discriminator as fields, and
/// the branch as an enum tagged by the discriminator, flattened in.
fn union_item(g: &Gen<'_>, id: EntityId, o: &ObjectType) -> Result<TokenStream, String> {
    let u: &Union = o.union.as_ref().expect("a union");
    let name = g.type_ident(id);
    let preamble = preamble(g, id, "union")?;
    let serde = &g.paths.serde;
    let serde_json = &g.paths.serde_json;
    let serde_crate = &g.paths.serde_crate;
    let rt = &g.paths.rt;
    let all_members = g.schema.members(id);
    let tag_member = all_members
        .iter()
        .find(|m| m.name == u.discriminator)
        .ok_or_else(|| format!("union {}: no discriminator member", g.entity(id).name))?;
    let base: Vec<_> = all_members
        .iter()
        .copied()
        .filter(|m| m.name != u.discriminator)
        .collect();
    let fields = g.fields(id, &base, id, From::Root)?;
    let tag_wire = &u.discriminator;
    let mut field_scope = Scope::default();
    let field_idents: Vec<proc_macro2::Ident> = base
        .iter()
        .map(|m| syn::parse_str(&field_scope.claim(snake(&m.name))).map_err(|e| format!("{e}")))
        .collect::<Result<_, _>>()?;
    let branch_field: proc_macro2::Ident =
        syn::parse_str(&field_scope.claim(snake(&u.discriminator))).map_err(|e| format!("{e}"))?;
    let branch_enum = format_ident!("{}", g.branch_names[&id]);
    let tag_type = g.rust_type(tag_member.ty, From::Root);
    let EntityKind::Enum(tag_enum) = &g.entity(tag_member.ty).kind else {
        return Err("discriminator is not an enum".into());
    };
    let mut value_scope = Scope::default();
    let value_idents: Vec<_> = tag_enum
        .values
        .iter()
        .map(|v| (v, format_ident!("{}", value_scope.claim(camel(&v.name)))))
        .collect();
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    for b in &u.branches {
        let (value, ident) = value_idents
            .iter()
            .find(|(v, _)| v.name == b.name)
            .ok_or_else(|| format!("branch {} has no enum value", b.name))?;
        let wire = &b.name;
        let cfg = g.cfg_attr(&b.ifcond)?;
        let value_cfg = g.cfg_predicate(&value.ifcond)?;
        let branch_cfg = g.cfg_predicate(&b.ifcond)?;
        let empty = g.entity(b.ty).name == "q_empty";
        let doc = format!(" The `{wire}` branch.");
        if empty {
            variants.push(quote!(#[doc = #doc] #cfg #[serde(rename = #wire)] #ident));
            arms.push(quote! {
                #[cfg(all(#value_cfg, #branch_cfg))]
                #tag_type::#ident => {
                    #rt::de::no_rest(map)?;
                    #branch_enum::#ident
                }
            });
        } else {
            let mut ty = g.rust_type(b.ty, From::Root);
            let boxed = g.needs_box(id, b.ty);
            if boxed {
                ty = quote!(::std::boxed::Box<#ty>);
            }
            variants.push(quote!(#[doc = #doc] #cfg #[serde(rename = #wire)] #ident(#ty)));
            arms.push(quote! {
                #[cfg(all(#value_cfg, #branch_cfg))]
                #tag_type::#ident => #branch_enum::#ident(#rt::de::rest(map)?),
            });
        }
        if b.ifcond.is_some() {
            let message = format!(
                "the '{wire}' branch of '{}' is not available",
                g.entity(id).name
            );
            arms.push(quote! {
                #[cfg(all(#value_cfg, not(#branch_cfg)))]
                #tag_type::#ident => return ::std::result::Result::Err(
                    <D::Error as #serde::de::Error>::custom(#message)),
            });
        }
    }
    let takes = base.iter().zip(&field_idents).map(|(m, f)| {
        let wire = &m.name;
        let cfg = g.cfg_attr(&m.ifcond).unwrap_or_default();
        let boxed = g.needs_box(id, m.ty);
        let value = if m.optional {
            quote!(#rt::de::take_optional(&mut map, #wire)?)
        } else {
            quote!(#rt::de::take(&mut map, #wire)?)
        };
        let value = match (boxed, m.optional) {
            (true, true) => quote!(#value.map(::std::boxed::Box::new)),
            (true, false) => quote!(::std::boxed::Box::new(#value)),
            _ => value,
        };
        quote!(#cfg let #f = #value;)
    });
    let inits = base.iter().zip(&field_idents).map(|(m, f)| {
        let cfg = g.cfg_attr(&m.ifcond).unwrap_or_default();
        quote!(#cfg #f)
    });
    let cfg = g.cfg_attr(&g.entity(id).ifcond)?;
    let enum_doc = format!(" The branch of [`{name}`], chosen by its `{tag_wire}` member.");
    let field_doc = format!(" The branch, chosen by `{tag_wire}`.");
    Ok(quote! {
        #preamble
        #[derive(Clone, Debug, PartialEq, #serde::Serialize)]
        #[serde(crate = #serde_crate)]
        pub struct #name {
            #(#fields,)*
            #[doc = #field_doc]
            #[serde(flatten)]
            pub #branch_field: #branch_enum,
        }

        #[doc = #enum_doc]
        #cfg
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, #serde::Serialize)]
        #[serde(crate = #serde_crate, tag = #tag_wire)]
        pub enum #branch_enum {
            #(#variants,)*
        }

        #cfg
        #[allow(deprecated)]
        impl<'de> #serde::Deserialize<'de> for #name {
            fn deserialize<D: #serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let mut map = <#serde_json::Map<::std::string::String, #serde_json::Value>
                    as #serde::Deserialize>::deserialize(deserializer)?;
                let tag: #tag_type = #rt::de::take(&mut map, #tag_wire)?;
                #(#takes)*
                let #branch_field = match tag {
                    #(#arms)*
                };
                ::std::result::Result::Ok(Self { #(#inits,)* #branch_field })
            }
        }
    })
}

/// An alternate: an untagged enum whose branch is chosen by the JSON type
/// of the value.
fn alternate_item(g: &Gen<'_>, id: EntityId, a: &AlternateType) -> Result<TokenStream, String> {
    let name = g.type_ident(id);
    let preamble = preamble(g, id, "alternate")?;
    let serde = &g.paths.serde;
    let serde_json = &g.paths.serde_json;
    let serde_crate = &g.paths.serde_crate;
    let rt = &g.paths.rt;
    let doc = g.schema.doc(id);
    let mut scope = Scope::default();
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut expected = Vec::new();
    for b in &a.branches {
        let ident = format_ident!("{}", scope.claim(camel(&b.name)));
        let mut ty = g.rust_type(b.ty, From::Root);
        if g.needs_box(id, b.ty) {
            ty = quote!(::std::boxed::Box<#ty>);
        }
        let cfg = g.cfg_attr(&b.ifcond)?;
        let lines = doc
            .and_then(|d| d.arg(&b.name))
            .map(|s| crate::docs::markdown(&s.text))
            .filter(|l| l.iter().any(|l| !l.is_empty()))
            .unwrap_or_else(|| vec![format!("`{}`", b.name)]);
        let docs = g.doc_attrs(&lines);
        variants.push(quote!(#docs #cfg #ident(#ty)));
        let (pattern, kind) = match json_kind(g, b.ty) {
            JsonKind::String => (quote!(#serde_json::Value::String(_)), "string"),
            JsonKind::Number => (quote!(#serde_json::Value::Number(_)), "number"),
            JsonKind::Bool => (quote!(#serde_json::Value::Bool(_)), "boolean"),
            JsonKind::Null => (quote!(#serde_json::Value::Null), "null"),
            JsonKind::Array => (quote!(#serde_json::Value::Array(_)), "array"),
            JsonKind::Object => (quote!(#serde_json::Value::Object(_)), "object"),
        };
        expected.push(kind);
        arms.push(quote!(#cfg #pattern => #rt::de::branch(value).map(Self::#ident),));
    }
    let message = format!(
        "expected {} for '{}', found ",
        expected.join(" or "),
        g.entity(id).name
    );
    let cfg = g.cfg_attr(&g.entity(id).ifcond)?;
    Ok(quote! {
        #preamble
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, #serde::Serialize)]
        #[serde(crate = #serde_crate, untagged)]
        pub enum #name {
            #(#variants,)*
        }

        #cfg
        impl<'de> #serde::Deserialize<'de> for #name {
            fn deserialize<D: #serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <#serde_json::Value as #serde::Deserialize>::deserialize(deserializer)?;
                #[allow(unreachable_patterns)]
                match value {
                    #(#arms)*
                    other => ::std::result::Result::Err(<D::Error as #serde::de::Error>::custom(
                        ::std::format_args!("{}{}", #message, #rt::de::json_type(&other)))),
                }
            }
        }
    })
}

enum JsonKind {
    String,
    Number,
    Bool,
    Null,
    Array,
    Object,
}

fn json_kind(g: &Gen<'_>, ty: EntityId) -> JsonKind {
    let e = g.entity(ty);
    match &e.kind {
        EntityKind::Builtin(b) => match b.json_type {
            "string" => JsonKind::String,
            "number" | "int" => JsonKind::Number,
            "boolean" => JsonKind::Bool,
            _ => JsonKind::Null,
        },
        EntityKind::Enum(_) => JsonKind::String,
        EntityKind::Array(_) => JsonKind::Array,
        _ => JsonKind::Object,
    }
}
