//! The `query-qmp-schema` answer, built by QEMU's rules: commands and
//! events in schema order, then every type they use in order of first
//! use; type names other than built-ins are masked as numbers; every
//! integer type is `int`; conditions become `#[cfg]` on entries, members,
//! values, branches and features.

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;
use qapi_parser::model::{EntityId, EntityKind, Feature, IfCond};
use quote::quote;

use super::{raw_string, Gen};

/// A value of the answer, with the `#[cfg]` of each array item (empty
/// when it has none).  Object members carry no conditions of their own.
enum Node {
    Null,
    Bool(bool),
    Str(String),
    Array(Vec<(TokenStream, Node)>),
    Object(Vec<(&'static str, Node)>),
}

impl Node {
    fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    /// Whether no item inside has a condition.
    fn unconditional(&self) -> bool {
        match self {
            Node::Null | Node::Bool(_) | Node::Str(_) => true,
            Node::Array(items) => items
                .iter()
                .all(|(cfg, n)| cfg.is_empty() && n.unconditional()),
            Node::Object(members) => members.iter().all(|(_, n)| n.unconditional()),
        }
    }

    /// Writes the value as compact JSON text, as `serde_json` writes it.
    fn write_json(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Str(s) => write_json_string(s, out),
            Node::Array(items) => {
                out.push('[');
                for (i, (_, n)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    n.write_json(out);
                }
                out.push(']');
            }
            Node::Object(members) => {
                out.push('{');
                for (i, (k, n)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(k, out);
                    out.push(':');
                    n.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// The runtime's `Json` for this value: an array or object with no
    /// condition inside is JSON text, the rest a tree whose items carry
    /// their `#[cfg]`.
    fn tokens(&self) -> TokenStream {
        match self {
            Node::Null => quote!(Json::Null),
            Node::Bool(b) => quote!(Json::Bool(#b)),
            Node::Str(s) => quote!(Json::Str(#s)),
            _ if self.unconditional() => {
                let mut json = String::new();
                self.write_json(&mut json);
                let text = raw_string(&json);
                quote!(Json::Text(#text))
            }
            Node::Array(items) => {
                let items = items.iter().map(|(cfg, n)| {
                    let n = n.tokens();
                    quote!(#cfg #n)
                });
                quote!(Json::Array(&[#(#items),*]))
            }
            Node::Object(members) => {
                let members = members.iter().map(|(k, n)| {
                    let n = n.tokens();
                    quote!((#k, #n))
                });
                quote!(Json::Object(&[#(#members),*]))
            }
        }
    }
}

/// `s` as a JSON string, as `serde_json` escapes it.
fn write_json_string(s: &str, out: &mut String) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

struct Introspector<'g, 's> {
    g: &'g Gen<'s>,
    /// The types referred to so far, in order of first use, each once.
    used: Vec<EntityId>,
    queued: HashSet<EntityId>,
    names: HashMap<EntityId, String>,
    entries: Vec<(TokenStream, Node)>,
}

pub(super) fn introspection(g: &Gen<'_>) -> Result<TokenStream, String> {
    let rt = &g.paths.rt;
    let mut i = Introspector {
        g,
        used: Vec::new(),
        queued: HashSet::new(),
        names: HashMap::new(),
        entries: Vec::new(),
    };
    let generated: HashSet<EntityId> = g.commands.iter().chain(&g.events).copied().collect();
    let entities: Vec<EntityId> = g
        .schema
        .entities()
        .map(|(id, _)| id)
        .filter(|id| generated.contains(id))
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
    let entries = i.entries.iter().map(|(cfg, n)| {
        let n = n.tokens();
        quote!(#cfg #n)
    });
    let unused = super::may_be_unused();
    Ok(quote! {
        /// Introspection: what `query-qmp-schema` answers.
        #unused
        pub mod introspection {
            use #rt::introspect::Json;

            /// The answer to `query-qmp-schema` for the commands and events
            /// generated here, in QEMU's format: type names other than
            /// built-ins are masked as numbers, as QEMU masks them.  An
            /// entry with no condition inside is its JSON text.
            pub static SCHEMA_INFO: Json = Json::Array(&[#(#entries),*]);
        }
    })
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
        if self.queued.insert(id) {
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

    fn features(&self, features: &[Feature]) -> Result<Option<Node>, String> {
        if features.is_empty() {
            return Ok(None);
        }
        let items = features
            .iter()
            .map(|f| Ok((self.cfg(&f.ifcond)?, Node::str(&f.name))))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Some(Node::Array(items)))
    }

    fn entry(
        &mut self,
        mut members: Vec<(&'static str, Node)>,
        name: String,
        meta: &'static str,
        cond: &Option<IfCond>,
        features: &[Feature],
    ) -> Result<(), String> {
        members.push(("name", Node::Str(name)));
        members.push(("meta-type", Node::str(meta)));
        if let Some(f) = self.features(features)? {
            members.push(("features", f));
        }
        let cfg = self.cfg(cond)?;
        self.entries.push((cfg, Node::Object(members)));
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
                let mut members = vec![("arg-type", Node::Str(arg)), ("ret-type", Node::Str(ret))];
                if c.allow_oob {
                    members.push(("allow-oob", Node::Bool(true)));
                }
                self.entry(members, e.name.clone(), "command", &e.ifcond, &e.features)
            }
            EntityKind::Event(ev) => {
                let arg = self.use_type(ev.arg_type.unwrap_or_else(empty));
                let members = vec![("arg-type", Node::Str(arg))];
                self.entry(members, e.name.clone(), "event", &e.ifcond, &e.features)
            }
            EntityKind::Builtin(b) => self.entry(
                vec![("json-type", Node::str(b.json_type))],
                e.name.clone(),
                "builtin",
                &None,
                &[],
            ),
            EntityKind::Array(a) => {
                let element = self.use_type(a.element);
                let ifcond = schema.entity(a.element).ifcond.clone();
                self.entry(
                    vec![("element-type", Node::str(&element))],
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
                    let mut fields = vec![("name", Node::str(&v.name))];
                    if let Some(f) = self.features(&v.features)? {
                        fields.push(("features", f));
                    }
                    members.push((cfg.clone(), Node::Object(fields)));
                    values.push((cfg, Node::str(&v.name)));
                }
                let name = self.masked(id);
                let members = vec![
                    ("members", Node::Array(members)),
                    ("values", Node::Array(values)),
                ];
                self.entry(members, name, "enum", &e.ifcond, &e.features)
            }
            EntityKind::Object(o) => {
                let mut members = Vec::new();
                for m in schema.members(id) {
                    let cfg = self.cfg(&m.ifcond)?;
                    let ty = self.use_type(m.ty);
                    let mut fields = vec![("name", Node::str(&m.name)), ("type", Node::Str(ty))];
                    if m.optional {
                        fields.push(("default", Node::Null));
                    }
                    if let Some(f) = self.features(&m.features)? {
                        fields.push(("features", f));
                    }
                    members.push((cfg, Node::Object(fields)));
                }
                let mut out = vec![("members", Node::Array(members))];
                if let Some(u) = &o.union {
                    let mut variants = Vec::new();
                    for b in &u.branches {
                        let cfg = self.cfg(&b.ifcond)?;
                        let ty = self.use_type(b.ty);
                        let case = vec![("case", Node::str(&b.name)), ("type", Node::Str(ty))];
                        variants.push((cfg, Node::Object(case)));
                    }
                    out.push(("tag", Node::str(&u.discriminator)));
                    out.push(("variants", Node::Array(variants)));
                }
                let name = self.masked(id);
                self.entry(out, name, "object", &e.ifcond, &e.features)
            }
            EntityKind::Alternate(a) => {
                let mut members = Vec::new();
                for b in &a.branches {
                    let cfg = self.cfg(&b.ifcond)?;
                    let ty = self.use_type(b.ty);
                    members.push((cfg, Node::Object(vec![("type", Node::Str(ty))])));
                }
                let name = self.masked(id);
                let out = vec![("members", Node::Array(members))];
                self.entry(out, name, "alternate", &e.ifcond, &e.features)
            }
            EntityKind::Include => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Node;

    #[test]
    fn json_text_is_compact_json() {
        let node = Node::Object(vec![
            ("name", Node::str("x\"y\n")),
            (
                "members",
                Node::Array(vec![
                    (Default::default(), Node::Null),
                    (Default::default(), Node::Bool(true)),
                ]),
            ),
            ("empty", Node::Object(Vec::new())),
        ]);
        let mut ours = String::new();
        node.write_json(&mut ours);
        assert_eq!(
            ours,
            r#"{"name":"x\"y\n","members":[null,true],"empty":{}}"#
        );
    }
}
