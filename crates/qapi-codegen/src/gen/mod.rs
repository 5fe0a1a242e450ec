//! The generator: a checked [`Schema`] in, Rust tokens out.
//!
//! [`Gen`] holds what every part needs: the chosen names, which types to
//! emit, which members must be boxed, and how conditions become cfgs.  The
//! parts each emit one kind of item: [`types`] (structs, enums, unions,
//! alternates), [`commands`], [`events`], [`features`] and [`dispatch`].

mod commands;
mod dispatch;
mod events;
mod features;
mod handlers;
mod introspect;
mod types;
mod unmapped;

pub use unmapped::Hidden;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use proc_macro2::{Ident, Literal, TokenStream};
use qapi_parser::model::Entity;
use qapi_parser::model::{EntityId, EntityKind, Feature, IfCond, Member, Schema};
use quote::{format_ident, quote};

use crate::cfg::CfgMap;
use crate::docs::markdown;
use crate::names::{camel, snake, Scope};

/// What to generate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every command, event and type.
    #[default]
    All,
    /// These commands and events, and exactly the types they reach.
    Only {
        /// Command names as on the wire.
        commands: Vec<String>,
        /// Event names as on the wire.
        events: Vec<String>,
    },
}

/// A struct field and its parts of the serde impls.
pub(crate) struct Field {
    /// The field's Rust name.
    pub name: String,
    /// The declaration, with docs and attributes.
    pub decl: TokenStream,
    /// Writes the member into `map`.
    pub ser: TokenStream,
    /// The field's identifier.
    pub ident: Ident,
    /// The field's `#[cfg]`, if any.
    pub cfg: TokenStream,
    /// The expression that takes the field's value out of `members`.
    pub take: TokenStream,
    /// The field's type.
    pub ty: TokenStream,
    /// Whether the member is optional (the field an `Option`).
    pub optional: bool,
}

impl Field {
    /// The field in a struct expression, its value taken from `members`.
    pub fn init(&self) -> TokenStream {
        let Field {
            cfg, ident, take, ..
        } = self;
        quote!(#cfg #ident: #take)
    }
}

/// Names the generated code uses for the runtime crate.
pub(crate) struct Paths {
    pub rt: TokenStream,
    pub serde: TokenStream,
    pub serde_json: TokenStream,
}

impl Paths {
    fn new() -> Self {
        Paths {
            rt: quote!(::qapi_runtime),
            serde: quote!(::qapi_runtime::__private::serde),
            serde_json: quote!(::qapi_runtime::__private::serde_json),
        }
    }
}

/// A piece of the generated file that is generated (and formatted) on
/// its own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unit {
    Features,
    Type(EntityId),
    Command(EntityId),
    Event(EntityId),
    EventEnum,
    Dispatch,
    Introspection,
}

/// Units at the top level, or inside a module: (name, doc lines).
pub(crate) struct Section {
    pub module: Option<(&'static str, &'static [&'static str])>,
    pub units: Vec<Unit>,
}

/// Where a type is referred to from: the generated file's top level, or
/// one of its modules (`commands`, `events`), which reach types through
/// `super::`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    Root,
    Module,
}

pub(crate) struct Gen<'s> {
    pub schema: &'s Schema,
    pub cfg: &'s CfgMap,
    pub paths: Paths,
    /// Custom cfg names met so far (units are generated on several
    /// threads).
    pub custom_cfgs: Mutex<BTreeSet<String>>,
    /// Rust names of the types, commands and events to emit.
    pub type_names: HashMap<EntityId, String>,
    /// Rust names of the branch enums of unions.
    pub branch_names: HashMap<EntityId, String>,
    pub command_names: HashMap<EntityId, String>,
    pub event_names: HashMap<EntityId, String>,
    /// Types to emit, in schema order.
    pub types: Vec<EntityId>,
    /// Commands and events to emit, in schema order.
    pub commands: Vec<EntityId>,
    pub events: Vec<EntityId>,
    /// The strongly connected component of each object type in the graph
    /// of inline containment: a member whose type shares its owner's
    /// component must be boxed.
    component: HashMap<EntityId, usize>,
    /// The types a client receives (reachable from a command's return
    /// type or an event's data): their enums are open.
    received: HashSet<EntityId>,
    /// The user's attributes by type, and by (type, member name).
    type_attrs: HashMap<EntityId, TokenStream>,
    field_attrs: HashMap<(EntityId, String), TokenStream>,
}

/// The Rust names of an enum's values, and of the variant that keeps a
/// value the schema does not know (for open enums).
pub(crate) struct EnumIdents {
    pub values: Vec<Ident>,
    pub unrecognized: Option<Ident>,
}

/// Names the generated items take at the top level.
const RESERVED: &[&str] = &[
    "Feature",
    "Event",
    "COMMANDS",
    "EVENTS",
    "command_info",
    "commands",
    "events",
];

impl<'s> Gen<'s> {
    pub fn new(
        schema: &'s Schema,
        cfg: &'s CfgMap,
        selection: &Selection,
        attributes: &crate::Attributes,
    ) -> Result<Self, String> {
        let (commands, events) = select(schema, selection)?;
        let types = reachable_types(schema, &commands, &events);
        let (type_attrs, field_attrs) = user_attributes(schema, &types, attributes)?;
        let mut root = Scope::with_reserved(RESERVED);
        let type_names: HashMap<EntityId, String> = types
            .iter()
            .map(|&id| {
                (
                    id,
                    root.claim(camel(&rust_type_base_name(schema.entity(id)))),
                )
            })
            .collect();
        let branch_names = types
            .iter()
            .filter(|id| matches!(&schema.entity(**id).kind, EntityKind::Object(o) if o.union.is_some()))
            .map(|id| (*id, root.claim(format!("{}Branch", type_names[id]))))
            .collect();
        let mut command_scope = Scope::default();
        let command_names = commands
            .iter()
            .map(|&id| (id, command_scope.claim(camel(&schema.entity(id).name))))
            .collect();
        let mut event_scope = Scope::default();
        let event_names = events
            .iter()
            .map(|&id| (id, event_scope.claim(camel(&schema.entity(id).name))))
            .collect();
        let component = components(schema, &types);
        let received = received_types(schema, &commands, &events);
        Ok(Gen {
            schema,
            cfg,
            paths: Paths::new(),
            custom_cfgs: Mutex::new(BTreeSet::new()),
            type_names,
            branch_names,
            command_names,
            event_names,
            types,
            commands,
            events,
            component,
            received,
            type_attrs,
            field_attrs,
        })
    }

    /// The user's attributes for type `id`.
    pub fn type_attributes(&self, id: EntityId) -> TokenStream {
        self.type_attrs.get(&id).cloned().unwrap_or_default()
    }

    /// Whether enum `id` keeps values it does not know: it is part of
    /// what a client receives from a peer that may be of another release.
    pub fn is_open_enum(&self, id: EntityId) -> bool {
        self.received.contains(&id)
    }

    /// The Rust names of enum `id`'s values and, if it is open, of its
    /// `Unrecognized` variant (renamed if a value took the name).
    pub fn enum_idents(&self, id: EntityId) -> EnumIdents {
        let EntityKind::Enum(en) = &self.entity(id).kind else {
            return EnumIdents {
                values: Vec::new(),
                unrecognized: None,
            };
        };
        let mut scope = Scope::default();
        let values = en
            .values
            .iter()
            .map(|v| format_ident!("{}", scope.claim(camel(&v.name))))
            .collect();
        let unrecognized = self
            .is_open_enum(id)
            .then(|| format_ident!("{}", scope.claim("Unrecognized".to_owned())));
        EnumIdents {
            values,
            unrecognized,
        }
    }

    /// The generated file as sections of units, in order.
    pub fn sections(&self) -> Vec<Section> {
        let mut root = vec![Unit::Features];
        root.extend(self.types.iter().map(|&id| Unit::Type(id)));
        vec![
            Section {
                module: None,
                units: root,
            },
            Section {
                module: Some(commands::MODULE),
                units: self.commands.iter().map(|&id| Unit::Command(id)).collect(),
            },
            Section {
                module: Some(events::MODULE),
                units: self.events.iter().map(|&id| Unit::Event(id)).collect(),
            },
            Section {
                module: None,
                units: vec![Unit::EventEnum, Unit::Dispatch, Unit::Introspection],
            },
        ]
    }

    /// The items of one unit.
    pub fn unit(&self, unit: &Unit) -> Result<TokenStream, String> {
        match *unit {
            Unit::Features => features::features(self),
            Unit::Type(id) => types::type_item(self, id),
            Unit::Command(id) => commands::command(self, id),
            Unit::Event(id) => events::event(self, id),
            Unit::EventEnum => events::event_enum(self),
            Unit::Dispatch => dispatch::dispatch(self),
            Unit::Introspection => introspect::introspection(self),
        }
    }

    /// The handler manifest for `qapi-macros` (see [`handlers`]).
    pub fn handler_manifest(&self) -> Result<String, String> {
        handlers::manifest(self)
    }

    pub fn entity(&self, id: EntityId) -> &'s Entity {
        self.schema.entity(id)
    }

    /// The condition, unless there is none or the mapping makes it
    /// always true: what needs a `#[cfg]`.
    pub fn live_condition<'c>(&self, cond: &'c Option<IfCond>) -> Option<&'c IfCond> {
        cond.as_ref().filter(|c| self.cfg.constant(c) != Some(true))
    }

    /// `#[cfg(...)]` for a condition, if it is live
    /// ([`Gen::live_condition`]).
    pub fn cfg_attr(&self, cond: &Option<IfCond>) -> Result<TokenStream, String> {
        match self.live_condition(cond) {
            None => Ok(TokenStream::new()),
            Some(c) => {
                let p = self
                    .cfg
                    .predicate(c, &mut self.custom_cfgs.lock().expect("not poisoned"))?;
                Ok(quote!(#[cfg(#p)]))
            }
        }
    }

    /// `#[cfg(...)]` for an item under several conditions (`all` of the
    /// live ones), if any.
    pub fn cfg_attr_all(&self, conds: &[&Option<IfCond>]) -> Result<TokenStream, String> {
        let live: Vec<&&Option<IfCond>> = conds
            .iter()
            .filter(|c| self.live_condition(c).is_some())
            .collect();
        match live.as_slice() {
            [] => Ok(TokenStream::new()),
            [one] => self.cfg_attr(one),
            _ => {
                let ps = live
                    .iter()
                    .map(|c| self.cfg_predicate(c))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(quote!(#[cfg(all(#(#ps),*))]))
            }
        }
    }

    /// The cfg predicate for a condition (`all()` when there is none).
    pub fn cfg_predicate(&self, cond: &Option<IfCond>) -> Result<TokenStream, String> {
        match cond {
            None => Ok(quote!(all())),
            Some(c) => self
                .cfg
                .predicate(c, &mut self.custom_cfgs.lock().expect("not poisoned")),
        }
    }

    /// `#[deprecated]` if the features include `deprecated`.
    pub fn deprecated_attr(&self, features: &[Feature]) -> TokenStream {
        if features.iter().any(|f| f.name == "deprecated") {
            quote!(#[deprecated])
        } else {
            TokenStream::new()
        }
    }

    pub fn type_ident(&self, id: EntityId) -> Ident {
        format_ident!("{}", self.type_names[&id])
    }

    /// The Rust type for schema type `id`.
    pub fn rust_type(&self, id: EntityId, from: From) -> TokenStream {
        let e = self.entity(id);
        let Paths { serde_json, rt, .. } = &self.paths;
        match &e.kind {
            EntityKind::Builtin(_) => match e.name.as_str() {
                "str" => quote!(::std::string::String),
                "number" => quote!(f64),
                "int" | "int64" => quote!(i64),
                "int8" => quote!(i8),
                "int16" => quote!(i16),
                "int32" => quote!(i32),
                "uint8" => quote!(u8),
                "uint16" => quote!(u16),
                "uint32" => quote!(u32),
                "uint64" | "size" => quote!(u64),
                "bool" => quote!(bool),
                "any" => quote!(#serde_json::Value),
                _ => quote!(()),
            },
            EntityKind::Array(a) => {
                let inner = self.rust_type(a.element, from);
                quote!(::std::vec::Vec<#inner>)
            }
            EntityKind::Object(_) if e.name == "q_empty" => quote!(#rt::Empty),
            _ => {
                let ident = self.type_ident(id);
                match from {
                    From::Root => quote!(#ident),
                    From::Module => quote!(super::#ident),
                }
            }
        }
    }

    /// Whether a member of `owner` of type `ty` must be boxed to keep the
    /// type finite.
    pub fn needs_box(&self, owner: EntityId, ty: EntityId) -> bool {
        match (self.component.get(&owner), self.component.get(&ty)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// The field type of member `m` of `owner`: boxed if recursive,
    /// `Option` if optional.
    pub fn member_type(&self, owner: EntityId, m: &Member, from: From) -> TokenStream {
        let mut ty = self.rust_type(m.ty, from);
        if self.needs_box(owner, m.ty) {
            ty = quote!(::std::boxed::Box<#ty>);
        }
        if m.optional {
            ty = quote!(::std::option::Option<#ty>);
        }
        ty
    }

    /// One struct field per member: its declaration, and its parts of the
    /// serde impls.
    pub fn fields(
        &self,
        owner: EntityId,
        members: &[&Member],
        doc_owner: EntityId,
        from: From,
    ) -> Result<Vec<Field>, String> {
        let mut scope = Scope::default();
        members
            .iter()
            .map(|m| {
                let name = scope.claim(snake(&m.name));
                let ident = ident(&name);
                let wire = &m.name;
                let ty = self.member_type(owner, m, from);
                let cfg = self.cfg_attr(&m.ifcond)?;
                let deprecated = self.deprecated_attr(&m.features);
                let docs = self.member_docs(m, doc_owner);
                let user = self
                    .field_attrs
                    .get(&(owner, m.name.clone()))
                    .cloned()
                    .unwrap_or_default();
                let (ser, take) = if m.optional {
                    (
                        quote! {
                            #cfg
                            if let ::std::option::Option::Some(value) = &self.#ident {
                                map.serialize_entry(#wire, value)?;
                            }
                        },
                        quote!(members.take_optional(#wire)?),
                    )
                } else {
                    (
                        quote!(#cfg map.serialize_entry(#wire, &self.#ident)?;),
                        quote!(members.take(#wire)?),
                    )
                };
                Ok(Field {
                    name: name.clone(),
                    decl: quote! {
                        #docs
                        #cfg
                        #deprecated
                        #user
                        pub #ident: #ty
                    },
                    ser,
                    ident,
                    cfg,
                    take,
                    ty,
                    optional: m.optional,
                })
            })
            .collect()
    }

    /// `MEMBER_FEATURES` for a type whose members have features: each
    /// such member's wire name and feature set.
    pub fn member_features(
        &self,
        name: &Ident,
        cfg: &TokenStream,
        members: &[&Member],
    ) -> Result<TokenStream, String> {
        let rt = &self.paths.rt;
        let entries = members
            .iter()
            .filter(|m| !m.features.is_empty())
            .map(|m| {
                let mcfg = self.cfg_attr(&m.ifcond)?;
                let wire = &m.name;
                let set = self.feature_set(&m.features);
                Ok(quote!(#mcfg (#wire, #set)))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if entries.is_empty() {
            return Ok(TokenStream::new());
        }
        let unused = may_be_unused();
        Ok(quote! {
            #cfg
            #unused
            impl #name {
                /// The members that have features, with their feature sets.
                pub const MEMBER_FEATURES: &'static [(&'static str, #rt::FeatureSet)] = &[#(#entries),*];
            }
        })
    }

    /// `fields` and one more, `extra`, that keeps the members the schema
    /// does not list.  It must come last: it takes what is left of the map.
    pub fn with_extra_members(&self, mut fields: Vec<Field>) -> Result<Vec<Field>, String> {
        let serde_json = &self.paths.serde_json;
        let mut scope = Scope::default();
        for f in &fields {
            scope.claim(f.name.clone());
        }
        let ident = ident(&scope.claim("extra".to_owned()));
        fields.push(Field {
            name: ident.to_string(),
            decl: quote! {
                /// Members the schema does not list, passed through as they are.
                pub #ident: #serde_json::Map<::std::string::String, #serde_json::Value>
            },
            ser: quote! {
                for (key, value) in &self.#ident {
                    map.serialize_entry(key, value)?;
                }
            },
            take: quote!(members.take_rest()),
            ident,
            cfg: TokenStream::new(),
            ty: quote!(#serde_json::Map<::std::string::String, #serde_json::Value>),
            optional: true,
        });
        Ok(fields)
    }

    /// `SerializeFields`, `DecodeMembers` and (through `impl_object!`)
    /// `Serialize`, `Decode` and `Deserialize` for an object type whose
    /// members are `fields`.
    pub fn object_impls(&self, name: &Ident, cfg: &TokenStream, fields: &[Field]) -> TokenStream {
        let Paths { rt, serde, .. } = &self.paths;
        let ser = fields.iter().map(|f| &f.ser);
        let init = fields.iter().map(Field::init);
        let members = if fields.is_empty() {
            quote!(_members)
        } else {
            quote!(members)
        };
        quote! {
            #cfg
            #[allow(deprecated)]
            impl #rt::ser::SerializeFields for #name {
                fn serialize_fields<M: #serde::ser::SerializeMap>(&self, map: &mut M) -> ::std::result::Result<(), M::Error> {
                    #(#ser)*
                    let _ = map;
                    ::std::result::Result::Ok(())
                }
            }

            #cfg
            #[allow(deprecated)]
            impl #rt::de::DecodeMembers for #name {
                fn decode_members(#members: &mut #rt::de::Members) -> ::std::result::Result<Self, #rt::de::DecodeError> {
                    ::std::result::Result::Ok(Self { #(#init,)* })
                }
            }

            #cfg
            #rt::impl_object!(#name);
        }
    }

    /// The derives of a struct with these fields: `Default` too when
    /// every member is optional.
    pub fn struct_derives(&self, fields: &[Field]) -> TokenStream {
        if !fields.is_empty() && fields.iter().all(|f| f.optional) {
            quote!(#[derive(Clone, Debug, Default, PartialEq)])
        } else {
            quote!(#[derive(Clone, Debug, PartialEq)])
        }
    }

    /// A short way to build a struct with required and optional members:
    /// `new` taking the required ones (in member order) with every
    /// optional one `None`, for `T { x: Some(1), ..T::new(a, b) }`.
    /// Nothing for a struct without optional members, whose literal is as
    /// short, or without required ones, which has `Default`.
    pub fn constructor(&self, name: &Ident, cfg: &TokenStream, fields: &[Field]) -> TokenStream {
        let required: Vec<&Field> = fields.iter().filter(|f| !f.optional).collect();
        if required.is_empty() || required.len() == fields.len() {
            return TokenStream::new();
        }
        let init = fields.iter().map(|f| {
            let Field { cfg, ident, .. } = f;
            if f.optional {
                quote!(#cfg #ident: ::std::default::Default::default())
            } else {
                quote!(#cfg #ident)
            }
        });
        let params = required.iter().map(|f| {
            let Field { cfg, ident, ty, .. } = f;
            quote!(#cfg #ident: #ty)
        });
        let lint = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
        quote! {
            #cfg
            // Parameters are named after members, whatever their names.
            #[allow(deprecated, dead_code, clippy::disallowed_names)]
            impl #name {
                /// The value with these required members and every optional
                /// member absent.
                #lint
                pub fn new(#(#params),*) -> Self {
                    Self { #(#init,)* }
                }
            }
        }
    }

    /// One doc attribute holding documentation lines, each as `///`
    /// writes it (` text`, or empty), as a raw string: cheaper to make
    /// than an escaped literal per line, and the printer writes it back
    /// as a `///` comment per line.  Nothing when there are no lines.
    pub fn doc_attrs(&self, lines: &[String]) -> TokenStream {
        if lines.is_empty() {
            return TokenStream::new();
        }
        let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            if !line.is_empty() {
                text.push(' ');
                text.push_str(line);
            }
        }
        let text = raw_string(&text);
        quote!(#[doc = #text])
    }

    /// The documentation of entity `id`: its body and its `Since:`,
    /// `Returns:` and `Errors:` sections and further paragraphs; a
    /// fallback line when there is none.
    pub fn entity_doc_lines(&self, id: EntityId, fallback: &str) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(doc) = self.schema.doc(id) {
            lines.extend(markdown(&doc.body().text));
            for section in doc.sections() {
                use qapi_parser::doc::SectionKind::*;
                let title = match section.kind {
                    Returns => Some("Returns"),
                    Errors => Some("Errors"),
                    Since => Some("Since"),
                    Todo => None,
                    _ => Some(""),
                };
                let Some(title) = title else { continue };
                if !lines.is_empty() {
                    lines.push(String::new());
                }
                let text = markdown(&section.text);
                if title.is_empty() {
                    lines.extend(text);
                } else if text.len() == 1 {
                    lines.push(format!("**{title}:** {}", text[0]));
                } else {
                    lines.push(format!("**{title}:**"));
                    lines.push(String::new());
                    lines.extend(text);
                }
            }
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        if lines.iter().all(|l| l.is_empty()) {
            lines = vec![fallback.to_owned()];
        }
        lines
    }

    /// The documentation of member `m`: from the definition that declares
    /// it, or for implicit types from `doc_owner`.
    fn member_docs(&self, m: &Member, doc_owner: EntityId) -> TokenStream {
        let text = [m.defined_in, doc_owner]
            .iter()
            .filter_map(|&id| self.schema.doc(id))
            .find_map(|doc| doc.arg(&m.name).map(|s| s.text.clone()))
            .filter(|t| !t.trim().is_empty());
        let lines = match text {
            Some(t) => markdown(&t),
            None => vec![format!("`{}`", m.name)],
        };
        self.doc_attrs(&lines)
    }

    /// A "Features" paragraph for the documentation of `id`: each of
    /// `features` with its description from the doc block's `Features:`
    /// section, a feature group linked to its `Feature` value (written
    /// from `feature_path`, e.g. `super::Feature`).  Empty without
    /// features.
    pub fn feature_lines(
        &self,
        id: EntityId,
        features: &[Feature],
        feature_path: &str,
    ) -> Vec<String> {
        if features.is_empty() {
            return Vec::new();
        }
        let doc = self.schema.doc(id);
        let mut lines = vec![String::new(), "**Features:**".to_owned(), String::new()];
        for f in features {
            let name = if self.schema.is_command_feature_group(&f.name) {
                format!(
                    "[`{}`]({feature_path}::{}) (group)",
                    f.name,
                    crate::names::camel(&f.name)
                )
            } else {
                format!("`{}`", f.name)
            };
            let text = doc
                .and_then(|d| d.feature(&f.name))
                .map(|s| markdown(&s.text).join(" "))
                .filter(|t| !t.trim().is_empty());
            lines.push(match text {
                Some(t) => format!("- {name}: {t}"),
                None => format!("- {name}"),
            });
        }
        lines
    }

    /// `FeatureSet::from_bits(...)` for some features.
    pub fn feature_set(&self, features: &[Feature]) -> TokenStream {
        let rt = &self.paths.rt;
        let bits = self.schema.feature_mask(features);
        if bits == 0 {
            return quote!(#rt::FeatureSet::EMPTY);
        }
        let bits = proc_macro2::Literal::u64_unsuffixed(bits);
        quote!(#rt::FeatureSet::from_bits(#bits))
    }
}

/// The attribute on every generated item a program may leave unused: a
/// binary crate that includes the generated code gets no dead-code
/// warning for what it does not call.
pub(crate) fn may_be_unused() -> TokenStream {
    quote!(#[allow(dead_code)])
}

/// `text` as a raw string literal (`r#"..."#`, with as many `#` as it
/// takes): it reads better than one with escapes, and making it is much
/// cheaper than escaping every character.  A text a raw string cannot
/// hold (a carriage return) gets an escaped literal.
pub(crate) fn raw_string(text: &str) -> Literal {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .unwrap_or_else(|_| Literal::string(text))
}

/// An identifier, raw (`r#type`) where the name says so.
pub(crate) fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => Ident::new(name, proc_macro2::Span::call_site()),
    }
}

/// The name a type's Rust name is made from: implicit wrapper types of
/// old simple unions (`q_obj_T-wrapper`) become `TWrapper`.
fn rust_type_base_name(e: &Entity) -> String {
    e.name
        .strip_prefix("q_obj_")
        .map_or_else(|| e.name.clone(), |rest| rest.to_owned())
}

/// Parses attribute text (one or more outer attributes).
fn parse_attributes(text: &str, whose: &str) -> Result<TokenStream, String> {
    use syn::parse::Parser;
    let attrs = syn::Attribute::parse_outer
        .parse_str(text)
        .map_err(|e| format!("the attribute for {whose} does not parse ({e}): {text}"))?;
    Ok(quote!(#(#attrs)*))
}

/// The user's attributes, checked: each names a type generated here (or
/// `*`) and, for a field, one of its members.
#[allow(clippy::type_complexity)]
fn user_attributes(
    schema: &Schema,
    types: &[EntityId],
    attributes: &crate::Attributes,
) -> Result<
    (
        HashMap<EntityId, TokenStream>,
        HashMap<(EntityId, String), TokenStream>,
    ),
    String,
> {
    let find = |name: &str| -> Result<EntityId, String> {
        types
            .iter()
            .copied()
            .find(|&id| schema.entity(id).name == name)
            .ok_or_else(|| {
                format!(
                    "no generated type is named '{name}'{}",
                    crate::names::did_you_mean(
                        types.iter().map(|&id| schema.entity(id).name.as_str()),
                        name
                    )
                )
            })
    };
    let mut by_type: HashMap<EntityId, TokenStream> = HashMap::new();
    for (name, text) in &attributes.types {
        let attrs = parse_attributes(text, &format!("type '{name}'"))?;
        let ids = if name == "*" {
            types.to_vec()
        } else {
            vec![find(name)?]
        };
        for id in ids {
            by_type.entry(id).or_default().extend(attrs.clone());
        }
    }
    let mut by_field: HashMap<(EntityId, String), TokenStream> = HashMap::new();
    for (path, text) in &attributes.fields {
        let (type_name, member) = path
            .split_once('.')
            .ok_or_else(|| format!("a field is named 'Type.member', not '{path}'"))?;
        let id = find(type_name)?;
        let members: Vec<&str> = match &schema.entity(id).kind {
            EntityKind::Object(_) => schema.members(id).iter().map(|m| m.name.as_str()).collect(),
            _ => Vec::new(),
        };
        if !members.contains(&member) {
            return Err(format!(
                "type '{type_name}' has no member '{member}'{}",
                crate::names::did_you_mean(members.iter().copied(), member)
            ));
        }
        let attrs = parse_attributes(text, &format!("field '{path}'"))?;
        by_field
            .entry((id, member.to_owned()))
            .or_default()
            .extend(attrs);
    }
    Ok((by_type, by_field))
}

/// The commands and events selected, in schema order.
fn select(
    schema: &Schema,
    selection: &Selection,
) -> Result<(Vec<EntityId>, Vec<EntityId>), String> {
    let commands: Vec<EntityId> = schema.commands().map(|(id, _, _)| id).collect();
    let events: Vec<EntityId> = schema.events().map(|(id, _, _)| id).collect();
    match selection {
        Selection::All => Ok((commands, events)),
        Selection::Only {
            commands: want_c,
            events: want_e,
        } => {
            let pick =
                |all: &[EntityId], want: &[String], what: &str| -> Result<Vec<EntityId>, String> {
                    for w in want {
                        if !all.iter().any(|&id| schema.entity(id).name == *w) {
                            let names = all.iter().map(|&id| schema.entity(id).name.as_str());
                            return Err(format!(
                                "the schema has no {what} '{w}'{}",
                                crate::names::did_you_mean(names, w)
                            ));
                        }
                    }
                    Ok(all
                        .iter()
                        .copied()
                        .filter(|&id| want.contains(&schema.entity(id).name))
                        .collect())
                };
            Ok((
                pick(&commands, want_c, "command")?,
                pick(&events, want_e, "event")?,
            ))
        }
    }
}

/// The types the selected commands and events reach, in schema order.
/// Implicit argument and base types are not emitted: their members are
/// inlined.  Built-in types and arrays are Rust types already.
fn reachable_types(schema: &Schema, commands: &[EntityId], events: &[EntityId]) -> Vec<EntityId> {
    let roots = commands
        .iter()
        .chain(events)
        .flat_map(|&id| match &schema.entity(id).kind {
            EntityKind::Command(c) => c.arg_type.iter().chain(&c.ret_type).copied().collect(),
            EntityKind::Event(e) => e.arg_type.into_iter().collect(),
            _ => Vec::new(),
        });
    let seen = closure(schema, roots);
    schema
        .entities()
        .map(|(id, _)| id)
        .filter(|id| seen.contains(id) && emits_type(schema, *id))
        .collect()
}

/// The types reachable from the selected commands' return types and
/// events' data: what a client receives.
fn received_types(
    schema: &Schema,
    commands: &[EntityId],
    events: &[EntityId],
) -> HashSet<EntityId> {
    let roots = commands
        .iter()
        .chain(events)
        .filter_map(|&id| match &schema.entity(id).kind {
            EntityKind::Command(c) => c.ret_type,
            EntityKind::Event(e) => e.arg_type,
            _ => None,
        });
    closure(schema, roots)
}

/// `roots` and every type their values hold, transitively.
fn closure(schema: &Schema, roots: impl IntoIterator<Item = EntityId>) -> HashSet<EntityId> {
    let mut seen: HashSet<EntityId> = HashSet::new();
    let mut stack: Vec<EntityId> = roots.into_iter().collect();
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(contained_types(schema, id));
        }
    }
    seen
}

/// The types a value of type `id` holds directly: element, members,
/// branches.
fn contained_types(schema: &Schema, id: EntityId) -> Vec<EntityId> {
    match &schema.entity(id).kind {
        EntityKind::Array(a) => vec![a.element],
        EntityKind::Object(o) => {
            let mut out: Vec<EntityId> = schema.members(id).iter().map(|m| m.ty).collect();
            if let Some(u) = &o.union {
                out.extend(u.branches.iter().map(|b| b.ty));
            }
            out
        }
        EntityKind::Alternate(a) => a.branches.iter().map(|b| b.ty).collect(),
        _ => Vec::new(),
    }
}

/// Whether type `id` becomes a Rust item of its own.
fn emits_type(schema: &Schema, id: EntityId) -> bool {
    let e = schema.entity(id);
    match &e.kind {
        EntityKind::Enum(_) | EntityKind::Alternate(_) => true,
        EntityKind::Object(_) => {
            e.name != "q_empty"
                && !(e.name.starts_with("q_obj_")
                    && (e.name.ends_with("-arg") || e.name.ends_with("-base")))
        }
        _ => false,
    }
}

/// Strongly connected components of the inline-containment graph among
/// object and alternate types (arrays break containment: a `Vec` is
/// already indirect).  Tarjan's algorithm, iterative.
fn components(schema: &Schema, types: &[EntityId]) -> HashMap<EntityId, usize> {
    let edges = |id: EntityId| -> Vec<EntityId> {
        let mut out = match schema.entity(id).kind {
            EntityKind::Array(_) => Vec::new(),
            _ => contained_types(schema, id),
        };
        out.retain(|t| {
            matches!(
                schema.entity(*t).kind,
                EntityKind::Object(_) | EntityKind::Alternate(_)
            )
        });
        out
    };
    let mut index: HashMap<EntityId, usize> = HashMap::new();
    let mut low: HashMap<EntityId, usize> = HashMap::new();
    let mut on_stack: HashSet<EntityId> = HashSet::new();
    let mut stack: Vec<EntityId> = Vec::new();
    let mut component: HashMap<EntityId, usize> = HashMap::new();
    let mut next = 0usize;
    let mut count = 0usize;
    for &root in types {
        if index.contains_key(&root) {
            continue;
        }
        // (node, its edges, position in them)
        let mut work: Vec<(EntityId, Vec<EntityId>, usize)> = vec![(root, edges(root), 0)];
        index.insert(root, next);
        low.insert(root, next);
        next += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some((node, succ, pos)) = work.last_mut() {
            let node = *node;
            if let Some(&w) = succ.get(*pos) {
                *pos += 1;
                if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(w) {
                    slot.insert(next);
                    low.insert(w, next);
                    next += 1;
                    stack.push(w);
                    on_stack.insert(w);
                    let e = edges(w);
                    work.push((w, e, 0));
                } else if on_stack.contains(&w) {
                    let l = low[&node].min(index[&w]);
                    low.insert(node, l);
                }
                continue;
            }
            work.pop();
            if let Some((parent, _, _)) = work.last() {
                let l = low[parent].min(low[&node]);
                low.insert(*parent, l);
            }
            if low[&node] == index[&node] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack.remove(&w);
                    members.push(w);
                    if w == node {
                        break;
                    }
                }
                // A single type is only recursive if it contains itself.
                if members.len() > 1 || edges(node).contains(&node) {
                    for m in members {
                        component.insert(m, count);
                    }
                    count += 1;
                }
            }
        }
    }
    component
}
