//! Enums, structs, unions and alternates, with their serde impls.

use proc_macro2::TokenStream;
use qapi_parser::model::{AlternateType, EntityId, EntityKind, EnumType, ObjectType, Union};
use quote::{format_ident, quote};

use super::{Field, From, Gen};
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

/// Docs (and the dead-code allowance) and cfg shared by every type item.
fn preamble(g: &Gen<'_>, id: EntityId, what: &str) -> Result<(TokenStream, TokenStream), String> {
    let e = g.entity(id);
    let mut lines = g.entity_doc_lines(id, &format!("The QAPI {what} `{}`.", e.name));
    lines.extend(g.feature_lines(id, &e.features, "Feature"));
    let docs = g.doc_attrs(&lines);
    let unused = super::may_be_unused();
    let user = g.type_attributes(id);
    Ok((quote!(#docs #unused #user), g.cfg_attr(&e.ifcond)?))
}

/// The documentation of a value or branch: its description in `id`'s doc
/// block, or its name.
fn item_docs(g: &Gen<'_>, id: EntityId, name: &str) -> TokenStream {
    let lines = g
        .schema
        .doc(id)
        .and_then(|d| d.arg(name))
        .map(|s| crate::docs::markdown(&s.text))
        .filter(|l| l.iter().any(|l| !l.is_empty()))
        .unwrap_or_else(|| vec![format!("`{name}`")]);
    g.doc_attrs(&lines)
}

fn enum_item(g: &Gen<'_>, id: EntityId, en: &EnumType) -> Result<TokenStream, String> {
    let name = g.type_ident(id);
    let (docs, cfg) = preamble(g, id, "enum")?;
    let rt = &g.paths.rt;
    let idents = g.enum_idents(id);
    let mut variants = Vec::new();
    let mut all = Vec::new();
    let mut names = Vec::new();
    let mut as_str = Vec::new();
    let mut parse = Vec::new();
    let mut features = Vec::new();
    for (v, ident) in en.values.iter().zip(&idents.values) {
        let wire = &v.name;
        let vcfg = g.cfg_attr(&v.ifcond)?;
        let deprecated = g.deprecated_attr(&v.features);
        let vdocs = item_docs(g, id, wire);
        variants.push(quote!(#vdocs #vcfg #deprecated #ident));
        all.push(quote!(#vcfg Self::#ident));
        names.push(quote!(#vcfg #wire));
        as_str.push(quote!(#vcfg Self::#ident => #wire));
        parse.push(quote!(#vcfg #wire => ::std::option::Option::Some(Self::#ident)));
        if !v.features.is_empty() {
            let set = g.feature_set(&v.features);
            features.push(quote!(#vcfg Self::#ident => #set));
        }
    }
    let from_name_body = if parse.is_empty() {
        quote! {
            let _ = name;
            ::std::option::Option::None
        }
    } else {
        quote! {
            match name {
                #(#parse,)*
                _ => ::std::option::Option::None,
            }
        }
    };
    let features_body = if features.is_empty() {
        quote!(#rt::FeatureSet::EMPTY)
    } else {
        quote! {
            #[allow(unreachable_patterns)]
            match self {
                #(#features,)*
                _ => #rt::FeatureSet::EMPTY,
            }
        }
    };
    // An open enum (one a client receives) keeps values it does not know:
    // it cannot be `Copy`, and `as_str` borrows.
    let (derives, receiver, constness, string_impls) = match &idents.unrecognized {
        Some(unrecognized) => {
            variants.push(quote! {
                /// A value this schema does not know, from a peer of another
                /// release (read tolerantly); it is written back as it came.
                #unrecognized(::std::string::String)
            });
            as_str.push(quote!(Self::#unrecognized(name) => name));
            (
                quote!(#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]),
                quote!(&self),
                TokenStream::new(),
                quote!(#rt::impl_enum_string!(#name, #unrecognized);),
            )
        }
        None => (
            quote!(#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]),
            quote!(self),
            quote!(const),
            quote!(#rt::impl_enum_string!(#name);),
        ),
    };
    let str_lifetime = if idents.unrecognized.is_some() {
        TokenStream::new()
    } else {
        quote!('static)
    };
    Ok(quote! {
        #docs
        #cfg
        #derives
        pub enum #name {
            #(#variants,)*
        }

        #cfg
        #[allow(deprecated, dead_code)]
        impl #name {
            /// Every value of the schema, in schema order.
            pub const ALL: &'static [Self] = &[#(#all),*];

            /// Every value's wire name, in schema order.
            pub const NAMES: &'static [&'static str] = &[#(#names),*];

            /// The value as it appears on the wire.
            pub #constness fn as_str(#receiver) -> &#str_lifetime str {
                match self {
                    #(#as_str,)*
                }
            }

            /// The value of the schema with wire name `name`.
            pub fn from_name(name: &str) -> ::std::option::Option<Self> {
                #from_name_body
            }

            /// The value's features.
            pub #constness fn features(#receiver) -> #rt::FeatureSet {
                #features_body
            }
        }

        #cfg
        #string_impls
    })
}

fn struct_item(g: &Gen<'_>, id: EntityId) -> Result<TokenStream, String> {
    let name = g.type_ident(id);
    let (docs, cfg) = preamble(g, id, "struct")?;
    let members = g.schema.members(id);
    let fields = g.fields(id, &members, id, From::Root)?;
    let decls = fields.iter().map(|f| &f.decl);
    let impls = g.object_impls(&name, &cfg, &fields);
    let constructor = g.constructor(&name, &cfg, &fields);
    let derives = g.struct_derives(&fields);
    let member_features = g.member_features(&name, &cfg, &members)?;
    Ok(quote! {
        #docs
        #cfg
        #derives
        pub struct #name {
            #(#decls,)*
        }

        #constructor
        #impls
        #member_features
    })
}

/// A union: the base members other than the discriminator as fields, and
/// the branch as an enum; the discriminator is the branch's
/// [`kind`](#method.kind).
fn union_item(g: &Gen<'_>, id: EntityId, o: &ObjectType) -> Result<TokenStream, String> {
    let u: &Union = o.union.as_ref().expect("a union");
    let name = g.type_ident(id);
    let (docs, cfg) = preamble(g, id, "union")?;
    let rt = &g.paths.rt;
    let serde = &g.paths.serde;
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
    let member_features = g.member_features(&name, &cfg, &all_members)?;
    let decls = fields.iter().map(|f| &f.decl);
    let sers = fields.iter().map(|f| &f.ser);
    let tag_wire = &u.discriminator;
    let tag_type = g.rust_type(tag_member.ty, From::Root);
    // Members are taken in schema order, the discriminator among them, as
    // QEMU visits them: the first one missing is the one reported.
    let mut rest = fields.iter();
    let binds: Vec<TokenStream> = all_members
        .iter()
        .filter_map(|m| {
            if m.name == u.discriminator {
                return Some(quote!(let tag: #tag_type = members.take(#tag_wire)?;));
            }
            let Field {
                cfg, ident, take, ..
            } = rest.next()?;
            Some(quote!(#cfg let #ident = #take;))
        })
        .collect();
    let shorthands = fields
        .iter()
        .map(|Field { cfg, ident, .. }| quote!(#cfg #ident));
    let mut field_scope = Scope::default();
    for m in &base {
        field_scope.claim(snake(&m.name));
    }
    let branch_field = super::ident(&field_scope.claim(snake(&u.discriminator)));
    let branch_enum = format_ident!("{}", g.branch_names[&id]);
    let EntityKind::Enum(tag_enum) = &g.entity(tag_member.ty).kind else {
        return Err("discriminator is not an enum".into());
    };
    let tag_idents = g.enum_idents(tag_member.ty);
    let value_idents: Vec<_> = tag_enum.values.iter().zip(&tag_idents.values).collect();
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut kinds = Vec::new();
    let mut branch_sers = Vec::new();
    for b in &u.branches {
        let (value, ident) = value_idents
            .iter()
            .find(|(v, _)| v.name == b.name)
            .copied()
            .ok_or_else(|| format!("branch {} has no enum value", b.name))?;
        let wire = &b.name;
        let bcfg = g.cfg_attr(&b.ifcond)?;
        let arm_cfg = g.cfg_attr_all(&[&value.ifcond, &b.ifcond])?;
        let doc = format!(" The `{wire}` branch.");
        if g.entity(b.ty).name == "q_empty" {
            variants.push(quote!(#[doc = #doc] #bcfg #ident));
            kinds.push(quote!(#bcfg Self::#ident => #tag_type::#ident));
            branch_sers.push(quote!(#bcfg #branch_enum::#ident => {}));
            arms.push(quote! {
                #arm_cfg
                #tag_type::#ident => #branch_enum::#ident,
            });
        } else {
            let plain = g.rust_type(b.ty, From::Root);
            let mut ty = plain.clone();
            let mut decoded = quote!(<#plain as #rt::de::DecodeMembers>::decode_members(members)?);
            if g.needs_box(id, b.ty) {
                ty = quote!(::std::boxed::Box<#ty>);
                decoded = quote!(::std::boxed::Box::new(#decoded));
            }
            variants.push(quote!(#[doc = #doc] #bcfg #ident(#ty)));
            kinds.push(quote!(#bcfg Self::#ident(_) => #tag_type::#ident));
            branch_sers.push(quote!(#bcfg #branch_enum::#ident(value) => #rt::ser::SerializeFields::serialize_fields(value, map)?));
            arms.push(quote! {
                #arm_cfg
                #tag_type::#ident => #branch_enum::#ident(#decoded),
            });
        }
        // A value whose branch is compiled out is refused.
        if g.live_condition(&b.ifcond).is_some() {
            let value_cfg = g.cfg_predicate(&value.ifcond)?;
            let branch_cfg = g.cfg_predicate(&b.ifcond)?;
            arms.push(quote! {
                #[cfg(all(#value_cfg, not(#branch_cfg)))]
                #tag_type::#ident => return ::std::result::Result::Err(
                    #rt::de::DecodeError::bad_value(#wire).in_member(#tag_wire)),
            });
        }
    }
    // With an open discriminator, a branch the schema does not know keeps
    // its members.
    if let Some(unrecognized) = &tag_idents.unrecognized {
        variants.push(quote! {
            /// A branch this schema does not know, from a peer of another
            /// release (read tolerantly), with its members as they came.
            #unrecognized(#rt::de::Unrecognized)
        });
        kinds.push(
            quote!(Self::#unrecognized(branch) => #tag_type::#unrecognized(branch.tag.clone())),
        );
        branch_sers.push(quote!(#branch_enum::#unrecognized(value) => #rt::ser::SerializeFields::serialize_fields(value, map)?));
        arms.push(quote! {
            #tag_type::#unrecognized(tag) => #branch_enum::#unrecognized(#rt::de::Unrecognized::take(tag, members)),
        });
    }
    let enum_doc = format!(" The branch of [`{name}`], chosen by its `{tag_wire}` member.");
    let field_doc = format!(" The branch, chosen by `{tag_wire}`.");
    Ok(quote! {
        #docs
        #cfg
        #[derive(Clone, Debug, PartialEq)]
        pub struct #name {
            #(#decls,)*
            #[doc = #field_doc]
            pub #branch_field: #branch_enum,
        }

        #[doc = #enum_doc]
        #cfg
        #[allow(clippy::large_enum_variant, dead_code)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum #branch_enum {
            #(#variants,)*
        }

        #cfg
        #[allow(deprecated, dead_code)]
        impl #branch_enum {
            /// The discriminator value that selects this branch.
            pub fn kind(&self) -> #tag_type {
                match self {
                    #(#kinds,)*
                }
            }
        }

        #cfg
        #[allow(deprecated)]
        impl #rt::ser::SerializeFields for #name {
            fn serialize_fields<M: #serde::ser::SerializeMap>(&self, map: &mut M) -> ::std::result::Result<(), M::Error> {
                map.serialize_entry(#tag_wire, &self.#branch_field.kind())?;
                #(#sers)*
                match &self.#branch_field {
                    #(#branch_sers,)*
                }
                ::std::result::Result::Ok(())
            }
        }

        #member_features

        #cfg
        #[allow(deprecated)]
        impl #rt::de::DecodeMembers for #name {
            fn decode_members(members: &mut #rt::de::Members) -> ::std::result::Result<Self, #rt::de::DecodeError> {
                #(#binds)*
                ::std::result::Result::Ok(Self {
                    #(#shorthands,)*
                    #branch_field: match tag {
                        #(#arms)*
                    },
                })
            }
        }

        #cfg
        #rt::impl_object!(#name);
    })
}

/// An alternate: an enum whose branch is chosen by the JSON type of the
/// value.
fn alternate_item(g: &Gen<'_>, id: EntityId, a: &AlternateType) -> Result<TokenStream, String> {
    let name = g.type_ident(id);
    let (docs, cfg) = preamble(g, id, "alternate")?;
    let serde = &g.paths.serde;
    let serde_json = &g.paths.serde_json;
    let rt = &g.paths.rt;
    let mut scope = Scope::default();
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut sers = Vec::new();
    for b in &a.branches {
        let ident = format_ident!("{}", scope.claim(camel(&b.name)));
        let mut ty = g.rust_type(b.ty, From::Root);
        if g.needs_box(id, b.ty) {
            ty = quote!(::std::boxed::Box<#ty>);
        }
        let bcfg = g.cfg_attr(&b.ifcond)?;
        let bdocs = item_docs(g, id, &b.name);
        variants.push(quote!(#bdocs #bcfg #ident(#ty)));
        let pattern = match json_kind(g, b.ty) {
            JsonKind::String => quote!(#serde_json::Value::String(_)),
            JsonKind::Number => quote!(#serde_json::Value::Number(_)),
            JsonKind::Bool => quote!(#serde_json::Value::Bool(_)),
            JsonKind::Null => quote!(#serde_json::Value::Null),
            JsonKind::Array => quote!(#serde_json::Value::Array(_)),
            JsonKind::Object => quote!(#serde_json::Value::Object(_)),
        };
        arms.push(
            quote!(#bcfg #pattern => #rt::de::Decode::decode_as(value, mode).map(Self::#ident),),
        );
        sers.push(
            quote!(#bcfg Self::#ident(value) => #serde::Serialize::serialize(value, serializer)),
        );
    }
    let wire_name = &g.entity(id).name;
    Ok(quote! {
        #docs
        #cfg
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum #name {
            #(#variants,)*
        }

        #cfg
        #[allow(deprecated)]
        impl #serde::Serialize for #name {
            fn serialize<S: #serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self {
                    #(#sers,)*
                }
            }
        }

        #cfg
        #[allow(deprecated)]
        impl #rt::de::Decode for #name {
            fn decode_as(value: #serde_json::Value, mode: #rt::de::Mode) -> ::std::result::Result<Self, #rt::de::DecodeError> {
                #[allow(unreachable_patterns)]
                match value {
                    #(#arms)*
                    _ => ::std::result::Result::Err(#rt::de::DecodeError::alternate_mismatch(#wire_name)),
                }
            }
        }

        #cfg
        #rt::impl_deserialize!(#name);
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
