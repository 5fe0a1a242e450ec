//! The `query-qmp-schema` answer, built by QEMU's rules: commands and
//! events in schema order, then every type they use in order of first
//! use; type names other than built-ins are masked as numbers; every
//! integer type is `int`; conditions become `#[cfg]` on entries, members,
//! values, branches and features.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use qapi_parser::model::{EntityId, EntityKind, Feature, IfCond};
use quote::quote;

use super::Gen;

struct Introspector<'g, 's> {
    g: &'g Gen<'s>,
    used: Vec<EntityId>,
    names: HashMap<EntityId, String>,
    entries: Vec<TokenStream>,
}

pub(super) fn introspection(g: &Gen<'_>) -> Result<TokenStream, String> {
    let rt = &g.paths.rt;
    let mut i = Introspector {
        g,
        used: Vec::new(),
        names: HashMap::new(),
        entries: Vec::new(),
    };
    let entities: Vec<EntityId> = g
        .schema
        .entities()
        .map(|(id, _)| id)
        .filter(|id| g.commands.contains(id) || g.events.contains(id))
        .collect();
    for id in entities {
        i.visit(id)?;
    }
    let mut next = 0;
    while next < i.used.len() {
        let id = i.used[next];
        i.visit(id)?;
        next += 1;
    }
    let entries = &i.entries;
    let unused = super::may_be_unused();
    Ok(quote! {
        /// Introspection: what `query-qmp-schema` answers.
        #unused
        pub mod introspection {
            use #rt::introspect::Json;

            /// The answer to `query-qmp-schema` for the commands and events
            /// generated here, in QEMU's format: type names other than
            /// built-ins are masked as numbers, as QEMU masks them.
            pub static SCHEMA_INFO: Json = Json::Array(&[#(#entries),*]);
        }
    })
}

fn str_lit(s: &str) -> TokenStream {
    quote!(Json::Str(#s))
}

impl Introspector<'_, '_> {
    /// QEMU's `_use_type`: the name a reference to `id` shows, queuing the
    /// type for its own entry.
    fn use_type(&mut self, id: EntityId) -> String {
        let schema = self.g.schema;
        let e = schema.entity(id);
        let is_int = |id: EntityId| matches!(&schema.entity(id).kind, EntityKind::Builtin(b) if b.json_type == "int");
        let id = match &e.kind {
            _ if is_int(id) => schema.lookup("int").unwrap_or(id),
            EntityKind::Array(a) if is_int(a.element) => schema.lookup("intList").unwrap_or(id),
            _ => id,
        };
        if !self.used.contains(&id) {
            self.used.push(id);
        }
        let e = schema.entity(id);
        match &e.kind {
            EntityKind::Builtin(_) => e.name.clone(),
            EntityKind::Array(a) => format!("[{}]", self.use_type(a.element)),
            _ => self.masked(id),
        }
    }

    fn masked(&mut self, id: EntityId) -> String {
        let n = self.names.len();
        self.names
            .entry(id)
            .or_insert_with(|| n.to_string())
            .clone()
    }

    fn cfg(&self, cond: &Option<IfCond>) -> Result<TokenStream, String> {
        self.g.cfg_attr(cond)
    }

    fn features(&self, features: &[Feature]) -> Result<Option<TokenStream>, String> {
        if features.is_empty() {
            return Ok(None);
        }
        let items = features
            .iter()
            .map(|f| {
                let cfg = self.cfg(&f.ifcond)?;
                let name = str_lit(&f.name);
                Ok(quote!(#cfg #name))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Some(quote!(Json::Array(&[#(#items),*]))))
    }

    fn object(members: Vec<TokenStream>) -> TokenStream {
        quote!(Json::Object(&[#(#members),*]))
    }

    fn entry(
        &mut self,
        mut members: Vec<TokenStream>,
        name: String,
        meta: &str,
        cond: &Option<IfCond>,
        features: &[Feature],
    ) -> Result<(), String> {
        let name = str_lit(&name);
        let meta = str_lit(meta);
        members.push(quote!(("name", #name)));
        members.push(quote!(("meta-type", #meta)));
        if let Some(f) = self.features(features)? {
            members.push(quote!(("features", #f)));
        }
        let cfg = self.cfg(cond)?;
        let obj = Self::object(members);
        self.entries.push(quote!(#cfg #obj));
        Ok(())
    }

    fn visit(&mut self, id: EntityId) -> Result<(), String> {
        let schema = self.g.schema;
        let e = schema.entity(id);
        let empty = || schema.lookup("q_empty").expect("predefined");
        match &e.kind {
            EntityKind::Command(c) => {
                let arg = self.use_type(c.arg_type.unwrap_or_else(empty));
                let ret = self.use_type(c.ret_type.unwrap_or_else(empty));
                let mut members = vec![
                    quote!(("arg-type", Json::Str(#arg))),
                    quote!(("ret-type", Json::Str(#ret))),
                ];
                if c.allow_oob {
                    members.push(quote!(("allow-oob", Json::Bool(true))));
                }
                self.entry(members, e.name.clone(), "command", &e.ifcond, &e.features)
            }
            EntityKind::Event(ev) => {
                let arg = self.use_type(ev.arg_type.unwrap_or_else(empty));
                let members = vec![quote!(("arg-type", Json::Str(#arg)))];
                self.entry(members, e.name.clone(), "event", &e.ifcond, &e.features)
            }
            EntityKind::Builtin(b) => {
                let json = str_lit(b.json_type);
                self.entry(
                    vec![quote!(("json-type", #json))],
                    e.name.clone(),
                    "builtin",
                    &None,
                    &[],
                )
            }
            EntityKind::Array(a) => {
                let element = self.use_type(a.element);
                let ifcond = schema.entity(a.element).ifcond.clone();
                let lit = str_lit(&element);
                self.entry(
                    vec![quote!(("element-type", #lit))],
                    format!("[{element}]"),
                    "array",
                    &ifcond,
                    &[],
                )
            }
            EntityKind::Enum(en) => {
                let mut members = Vec::new();
                let mut values = Vec::new();
                for v in &en.values {
                    let cfg = self.cfg(&v.ifcond)?;
                    let name = str_lit(&v.name);
                    let mut fields = vec![quote!(("name", #name))];
                    if let Some(f) = self.features(&v.features)? {
                        fields.push(quote!(("features", #f)));
                    }
                    let obj = Self::object(fields);
                    members.push(quote!(#cfg #obj));
                    values.push(quote!(#cfg #name));
                }
                let name = self.masked(id);
                let members = vec![
                    quote!(("members", Json::Array(&[#(#members),*]))),
                    quote!(("values", Json::Array(&[#(#values),*]))),
                ];
                self.entry(members, name, "enum", &e.ifcond, &e.features)
            }
            EntityKind::Object(o) => {
                let mut members = Vec::new();
                for m in schema.members(id) {
                    let cfg = self.cfg(&m.ifcond)?;
                    let name = str_lit(&m.name);
                    let ty = str_lit(&self.use_type(m.ty));
                    let mut fields = vec![quote!(("name", #name)), quote!(("type", #ty))];
                    if m.optional {
                        fields.push(quote!(("default", Json::Null)));
                    }
                    if let Some(f) = self.features(&m.features)? {
                        fields.push(quote!(("features", #f)));
                    }
                    let obj = Self::object(fields);
                    members.push(quote!(#cfg #obj));
                }
                let mut out = vec![quote!(("members", Json::Array(&[#(#members),*])))];
                if let Some(u) = &o.union {
                    let tag = str_lit(&u.discriminator);
                    let mut variants = Vec::new();
                    for b in &u.branches {
                        let cfg = self.cfg(&b.ifcond)?;
                        let case = str_lit(&b.name);
                        let ty = str_lit(&self.use_type(b.ty));
                        let obj =
                            Self::object(vec![quote!(("case", #case)), quote!(("type", #ty))]);
                        variants.push(quote!(#cfg #obj));
                    }
                    out.push(quote!(("tag", #tag)));
                    out.push(quote!(("variants", Json::Array(&[#(#variants),*]))));
                }
                let name = self.masked(id);
                self.entry(out, name, "object", &e.ifcond, &e.features)
            }
            EntityKind::Alternate(a) => {
                let mut members = Vec::new();
                for b in &a.branches {
                    let cfg = self.cfg(&b.ifcond)?;
                    let ty = str_lit(&self.use_type(b.ty));
                    let obj = Self::object(vec![quote!(("type", #ty))]);
                    members.push(quote!(#cfg #obj));
                }
                let name = self.masked(id);
                let out = vec![quote!(("members", Json::Array(&[#(#members),*])))];
                self.entry(out, name, "alternate", &e.ifcond, &e.features)
            }
            EntityKind::Include => Ok(()),
        }
    }
}
