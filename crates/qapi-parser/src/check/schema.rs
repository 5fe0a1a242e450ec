//! Phase 2: define entities, resolve type names, and check definitions
//! against each other (QEMU's `QAPISchema`).

use std::collections::HashMap;

use super::expr::{Decl, DeclBody, FeatureDecl, MemberDecl, TypeOrInline, TypeRef};
use super::names::c_name;
use super::Ctx;
use crate::diagnostic::Diagnostic;
use crate::doc::SectionKind;
use crate::model::{
    AlternateType, ArrayType, Branch, BuiltinType, Command, Entity, EntityId, EntityKind, EnumType,
    EnumValue, Event, Feature, Member, Module, ModuleId, ObjectType, Schema, Union,
    SPECIAL_FEATURES,
};
use crate::source::{FileId, Info, Span};

/// What phase 1 hands over: includes and checked definitions in order.
pub(crate) enum Item {
    Include {
        name: String,
        info: Info,
        span: Span,
    },
    Decl(Decl),
}

const UNRESOLVED: EntityId = EntityId(u32::MAX);

const BUILTINS: [(&str, &str); 15] = [
    ("str", "string"),
    ("number", "number"),
    ("int", "int"),
    ("int8", "int"),
    ("int16", "int"),
    ("int32", "int"),
    ("int64", "int"),
    ("uint8", "int"),
    ("uint16", "int"),
    ("uint32", "int"),
    ("uint64", "int"),
    ("size", "int"),
    ("bool", "boolean"),
    ("any", "value"),
    ("null", "null"),
];

const QTYPES: [&str; 7] = [
    "none", "qnull", "qnum", "qstring", "qdict", "qlist", "qbool",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Unchecked,
    Checking,
    Done,
}

/// A schema under construction.
pub(crate) struct Built {
    entities: Vec<Entity>,
    by_name: HashMap<String, EntityId>,
    modules: Vec<Module>,
    module_by_name: HashMap<String, ModuleId>,
    /// Feature names in QEMU's numbering, with where each was first seen.
    features: Vec<(String, Option<(Info, Span)>)>,
    state: Vec<State>,
    root: FileId,
    /// The module of each source file, by file index, once computed.
    file_modules: Vec<Option<ModuleId>>,
}

/// Something that can clash by C name: its role, name and the name of the
/// definition it belongs to, as QEMU describes it.
#[derive(Clone)]
struct Seen {
    role: &'static str,
    name: String,
    defined_in: String,
    /// For object members: where to find the member.
    member: Option<(EntityId, usize)>,
}

type SeenMap = Vec<(String, Seen)>;

fn seen_get<'a>(seen: &'a SeenMap, cname: &str) -> Option<&'a Seen> {
    seen.iter().find(|(c, _)| c == cname).map(|(_, s)| s)
}

pub(crate) fn build(ctx: &mut Ctx, root: FileId, items: Vec<Item>) -> Result<Built, Diagnostic> {
    let mut b = Built {
        entities: Vec::new(),
        by_name: HashMap::new(),
        modules: Vec::new(),
        module_by_name: HashMap::new(),
        features: SPECIAL_FEATURES
            .iter()
            .map(|f| ((*f).to_owned(), None))
            .collect(),
        state: Vec::new(),
        root,
        file_modules: vec![None; ctx.sources.files().count()],
    };
    b.make_module("./builtin".to_owned());
    let root_name = ctx.sources.file(root).name.clone();
    let root_module = b.module_name(ctx, &root_name);
    b.make_module(root_module);
    b.def_predefineds(ctx)?;
    for item in items {
        match item {
            Item::Include { name, info, span } => {
                let module = b.module_name(ctx, &name);
                b.make_module(module.clone());
                b.push(Entity {
                    name: module,
                    info: Some(info),
                    span: Some(span),
                    head: Some(span),
                    doc: None,
                    ifcond: None,
                    features: Vec::new(),
                    module: ModuleId(0),
                    kind: EntityKind::Include,
                });
            }
            Item::Decl(decl) => b.def_decl(ctx, decl)?,
        }
    }
    b.check_all(ctx)?;
    Ok(b)
}

impl Built {
    pub(crate) fn finish(self, ctx: Ctx) -> Schema {
        Schema {
            sources: ctx.sources,
            docs: ctx.docs,
            pragma: ctx.pragma,
            warnings: ctx.warnings,
            entities: self.entities,
            by_name: self.by_name,
            modules: self.modules,
            features: self.features.into_iter().map(|(n, _)| n).collect(),
        }
    }

    fn module_name(&self, ctx: &Ctx, file_name: &str) -> String {
        let root = &ctx.sources.file(self.root).name;
        let dir = match root.rfind('/') {
            Some(0) => "/",
            Some(i) => &root[..i],
            None => ".",
        };
        crate::source::relative_path(
            &crate::source::abs_path(file_name),
            &crate::source::abs_path(dir),
        )
    }

    fn make_module(&mut self, name: String) -> ModuleId {
        if let Some(&id) = self.module_by_name.get(&name) {
            return id;
        }
        let id = ModuleId(self.modules.len() as u32);
        self.modules.push(Module {
            name: name.clone(),
            entities: Vec::new(),
        });
        self.module_by_name.insert(name, id);
        id
    }

    fn entity(&self, id: EntityId) -> &Entity {
        &self.entities[id.index()]
    }

    fn push(&mut self, entity: Entity) -> EntityId {
        self.entities.push(entity);
        self.state.push(State::Unchecked);
        EntityId(self.entities.len() as u32 - 1)
    }

    /// Adds a definition, rejecting a second one of the same name.
    fn define(&mut self, ctx: &Ctx, entity: Entity) -> Result<EntityId, Diagnostic> {
        let name = entity.name.clone();
        let (info, span) = (entity.info, entity.span);
        let id = self.push(entity);
        if let Some(&other) = self.by_name.get(&name) {
            let other = self.entity(other);
            let (info, span) = (
                info.expect("only built-ins lack info"),
                span.expect("with info"),
            );
            return Err(match (other.info, other.span) {
                (Some(oi), Some(os)) => ctx
                    .error(info, span, format!("'{name}' is already defined"))
                    .with_related(ctx.location(oi, os), "previous definition"),
                _ => ctx.error(
                    info,
                    span,
                    format!("{} is already defined", other.describe()),
                ),
            });
        }
        self.by_name.insert(name, id);
        Ok(id)
    }

    fn lookup_type(&self, name: &str) -> Option<EntityId> {
        self.by_name
            .get(name)
            .copied()
            .filter(|&id| self.entity(id).is_type())
    }

    fn def_predefineds(&mut self, ctx: &Ctx) -> Result<(), Diagnostic> {
        for (name, json_type) in BUILTINS {
            self.define(
                ctx,
                builtin_entity(name, EntityKind::Builtin(BuiltinType { json_type })),
            )?;
            self.make_array_type(ctx, name, None)?;
        }
        let empty = EntityKind::Object(ObjectType {
            base: None,
            local_members: Vec::new(),
            union: None,
            base_name: None,
        });
        self.define(ctx, builtin_entity("q_empty", empty))?;
        let qtype = EntityKind::Enum(EnumType {
            values: QTYPES
                .iter()
                .map(|v| EnumValue {
                    name: (*v).to_owned(),
                    ifcond: None,
                    features: Vec::new(),
                    span: None,
                })
                .collect(),
            prefix: None,
        });
        self.define(ctx, builtin_entity("QType", qtype))?;
        Ok(())
    }

    fn make_features(&mut self, decls: Vec<FeatureDecl>, info: Info) -> Vec<Feature> {
        for f in &decls {
            if !self.features.iter().any(|(n, _)| *n == f.name) {
                self.features.push((f.name.clone(), Some((info, f.span))));
            }
        }
        decls
            .into_iter()
            .map(|f| Feature {
                name: f.name,
                ifcond: f.ifcond,
                span: Some(f.span),
            })
            .collect()
    }

    /// The array type of `element`, defined at first use.
    fn make_array_type(
        &mut self,
        ctx: &Ctx,
        element: &str,
        at: Option<(Info, Span)>,
    ) -> Result<String, Diagnostic> {
        let name = format!("{element}List");
        if self.lookup_type(&name).is_none() {
            self.define(
                ctx,
                Entity {
                    name: name.clone(),
                    info: at.map(|a| a.0),
                    span: at.map(|a| a.1),
                    head: at.map(|a| a.1),
                    doc: None,
                    ifcond: None,
                    features: Vec::new(),
                    module: ModuleId(0),
                    kind: EntityKind::Array(ArrayType {
                        element: UNRESOLVED,
                        element_name: element.to_owned(),
                    }),
                },
            )?;
        }
        Ok(name)
    }

    fn type_name(
        &mut self,
        ctx: &Ctx,
        ty: TypeRef,
        info: Info,
        span: Span,
    ) -> Result<String, Diagnostic> {
        match ty {
            TypeRef::Name(n) => Ok(n),
            TypeRef::Array(e) => self.make_array_type(ctx, &e, Some((info, span))),
        }
    }

    fn make_members(
        &mut self,
        ctx: &Ctx,
        decls: Vec<MemberDecl>,
        info: Info,
    ) -> Result<Vec<Member>, Diagnostic> {
        decls
            .into_iter()
            .map(|m| {
                let features = self.make_features(m.features, info);
                let type_name = self.type_name(ctx, m.ty, info, m.span)?;
                Ok(Member {
                    name: m.name,
                    optional: m.optional,
                    ty: UNRESOLVED,
                    ifcond: m.ifcond,
                    features,
                    defined_in: UNRESOLVED,
                    span: Some(m.span),
                    type_name,
                })
            })
            .collect()
    }

    fn make_branches(
        &mut self,
        ctx: &Ctx,
        decls: Vec<super::expr::BranchDecl>,
        info: Info,
    ) -> Result<Vec<Branch>, Diagnostic> {
        decls
            .into_iter()
            .map(|b| {
                Ok(Branch {
                    type_name: self.type_name(ctx, b.ty, info, b.span)?,
                    name: b.name,
                    ty: UNRESOLVED,
                    ifcond: b.ifcond,
                    implicit: false,
                    span: Some(b.span),
                })
            })
            .collect()
    }

    /// An implicit object type (`q_obj_NAME-ROLE`) for inline members;
    /// `None` when there are no members.
    fn make_implicit_object(
        &mut self,
        ctx: &Ctx,
        name: &str,
        role: &str,
        decl: &Decl,
        members: Vec<Member>,
    ) -> Result<Option<String>, Diagnostic> {
        if members.is_empty() {
            return Ok(None);
        }
        let name = format!("q_obj_{name}-{role}");
        if !self.by_name.contains_key(&name) {
            let kind = EntityKind::Object(ObjectType {
                base: None,
                local_members: members,
                union: None,
                base_name: None,
            });
            self.define_with_members(ctx, entity(decl, name.clone(), None, Vec::new(), kind))?;
        }
        Ok(Some(name))
    }

    /// Defines an object type and records it as its members' owner.
    fn define_with_members(&mut self, ctx: &Ctx, mut e: Entity) -> Result<EntityId, Diagnostic> {
        let id = EntityId(self.entities.len() as u32);
        if let EntityKind::Object(o) = &mut e.kind {
            o.local_members.iter_mut().for_each(|m| m.defined_in = id);
        }
        self.define(ctx, e)
    }

    fn def_decl(&mut self, ctx: &Ctx, decl: Decl) -> Result<(), Diagnostic> {
        let info = decl.info;
        let features = self.make_features(decl.features.clone(), info);
        let kind = match decl.body.clone() {
            DeclBody::Enum { values, prefix } => {
                let values = values
                    .into_iter()
                    .map(|v| EnumValue {
                        features: self.make_features(v.features, info),
                        name: v.name,
                        ifcond: v.ifcond,
                        span: Some(v.span),
                    })
                    .collect();
                EntityKind::Enum(EnumType { values, prefix })
            }
            DeclBody::Struct { base, members } => EntityKind::Object(ObjectType {
                base: None,
                local_members: self.make_members(ctx, members, info)?,
                union: None,
                base_name: base.map(|(n, s)| (n, Some(s))),
            }),
            DeclBody::Union {
                base,
                discriminator,
                branches,
            } => {
                let base_name = match base {
                    TypeOrInline::Name(n, s) => Some((n, Some(s))),
                    TypeOrInline::Inline(members) => {
                        let members = self.make_members(ctx, members, info)?;
                        self.make_implicit_object(ctx, &decl.name, "base", &decl, members)?
                            .map(|n| (n, None))
                    }
                };
                EntityKind::Object(ObjectType {
                    base: None,
                    local_members: Vec::new(),
                    union: Some(Union {
                        discriminator: discriminator.0,
                        discriminator_span: Some(discriminator.1),
                        branches: self.make_branches(ctx, branches, info)?,
                    }),
                    base_name,
                })
            }
            DeclBody::Alternate { branches } => EntityKind::Alternate(AlternateType {
                branches: self.make_branches(ctx, branches, info)?,
            }),
            DeclBody::Command {
                data,
                returns,
                flags,
            } => {
                let arg_name = self.args_type(ctx, data, &decl)?;
                let ret_name = match returns {
                    Some((r, span)) => Some((self.type_name(ctx, r, info, span)?, span)),
                    None => None,
                };
                EntityKind::Command(Command {
                    arg_type: None,
                    ret_type: None,
                    gen: flags.gen,
                    success_response: flags.success_response,
                    boxed: flags.boxed,
                    allow_oob: flags.allow_oob,
                    allow_preconfig: flags.allow_preconfig,
                    coroutine: flags.coroutine,
                    arg_name,
                    ret_name,
                })
            }
            DeclBody::Event { data, boxed } => EntityKind::Event(Event {
                arg_type: None,
                boxed,
                arg_name: self.args_type(ctx, data, &decl)?,
            }),
        };
        let e = entity(&decl, decl.name.clone(), decl.doc, features, kind);
        self.define_with_members(ctx, e)?;
        Ok(())
    }

    /// The argument type of a command or event, and where it was named.
    fn args_type(
        &mut self,
        ctx: &Ctx,
        data: Option<TypeOrInline>,
        decl: &Decl,
    ) -> Result<Option<(String, Span)>, Diagnostic> {
        match data {
            None => Ok(None),
            Some(TypeOrInline::Name(n, span)) => Ok(Some((n, span))),
            Some(TypeOrInline::Inline(members)) => {
                let members = self.make_members(ctx, members, decl.info)?;
                Ok(self
                    .make_implicit_object(ctx, &decl.name, "arg", decl, members)?
                    .map(|n| (n, decl.head)))
            }
        }
    }

    // ---- checking -------------------------------------------------------

    /// Where errors about definition `id` as a whole go: its line, and
    /// its head (from the opening brace to the name).
    fn info_span(&self, id: EntityId) -> (Info, Span) {
        let e = self.entity(id);
        (
            e.info.expect("user definitions have info"),
            e.head.expect("user definitions have a head span"),
        )
    }

    fn err(&self, ctx: &Ctx, id: EntityId, message: impl Into<String>) -> Diagnostic {
        let (info, span) = self.info_span(id);
        ctx.error(info, span, message)
    }

    /// QEMU's `QAPISchemaMember.describe(info)`.
    fn describe(ctx: &Ctx, seen: &Seen, info: Info) -> String {
        let mut role = seen.role.to_owned();
        let mut meta = "type";
        let mut defined_in = seen.defined_in.as_str();
        if let Some(rest) = defined_in.strip_prefix("q_obj_") {
            if let Some(r) = rest.strip_suffix("-arg") {
                role = "parameter".to_owned();
                meta = "command";
                defined_in = r;
            } else if let Some(r) = rest.strip_suffix("-base") {
                role = format!("base {role}");
                defined_in = r;
            }
        }
        if ctx.tag_of(info).map(|(_, n)| n.as_str()) != Some(defined_in) {
            format!("{role} '{}' of {meta} '{defined_in}'", seen.name)
        } else {
            format!("{role} '{}'", seen.name)
        }
    }

    fn check_clash_one(
        ctx: &Ctx,
        info: Info,
        span: Span,
        seen: &mut SeenMap,
        item: Seen,
    ) -> Result<(), Diagnostic> {
        let cname = c_name(&item.name);
        if let Some(other) = seen_get(seen, &cname) {
            return Err(ctx.error(
                info,
                span,
                format!(
                    "{} collides with {}",
                    Self::describe(ctx, &item, info),
                    Self::describe(ctx, other, info)
                ),
            ));
        }
        seen.push((cname, item));
        Ok(())
    }

    /// The type `name`; `what` says, for the error, what uses it.
    fn resolve<W: std::fmt::Display>(
        &self,
        ctx: &Ctx,
        name: &str,
        info: Info,
        span: Span,
        what: impl FnOnce() -> W,
    ) -> Result<EntityId, Diagnostic> {
        self.lookup_type(name)
            .ok_or_else(|| ctx.error(info, span, format!("{} uses unknown type '{name}'", what())))
    }

    fn check_all(&mut self, ctx: &mut Ctx) -> Result<(), Diagnostic> {
        for i in 0..self.entities.len() {
            let id = EntityId(i as u32);
            self.check_entity(ctx, id)?;
            self.connect_doc(ctx, id)?;
        }
        for i in 0..self.entities.len() {
            let module = self.module_of(ctx, EntityId(i as u32));
            self.entities[i].module = module;
            self.modules[module.0 as usize]
                .entities
                .push(EntityId(i as u32));
        }
        for d in 0..ctx.docs.len() {
            for (kind, what) in [
                (SectionKind::Member, "member"),
                (SectionKind::Feature, "feature"),
            ] {
                let bogus: Vec<(String, Info, Span)> = ctx.docs[d]
                    .unconnected(kind)
                    .iter()
                    .map(|s| (s.name.clone().unwrap_or_default(), s.info, s.span))
                    .collect();
                if let Some((_, info, span)) = bogus.first() {
                    let many = bogus.len() > 1;
                    let names: Vec<&str> = bogus.iter().map(|b| b.0.as_str()).collect();
                    let e = ctx.error(
                        *info,
                        *span,
                        format!(
                            "documented {what}{} '{}' {} not exist",
                            if many { "s" } else { "" },
                            names.join("', '"),
                            if many { "do" } else { "does" }
                        ),
                    );
                    ctx.doc_problem(e)?;
                }
            }
        }
        if let Some((_, Some((info, span)))) = self.features.get(64) {
            return Err(ctx.error(*info, *span, "Maximum of 64 schema features is permitted"));
        }
        self.check_command_features(ctx)
    }

    /// The `command-features` pragma (this toolchain's extension): valid,
    /// unique feature names; a group no command carries is suspicious.
    fn check_command_features(&self, ctx: &mut Ctx) -> Result<(), Diagnostic> {
        let Some((groups, location)) = ctx.pragma.command_features.clone() else {
            return Ok(());
        };
        for (i, group) in groups.iter().enumerate() {
            let source = format!("pragma 'command-features' member '{group}'");
            if let Err(message) = super::names::check_name_lower(group, &source, false, false) {
                return Err(Diagnostic::error(location.clone(), message));
            }
            if groups[..i].contains(group) {
                return Err(Diagnostic::error(
                    location.clone(),
                    format!("pragma 'command-features' lists '{group}' twice"),
                ));
            }
            let used = self.entities.iter().any(|e| {
                matches!(e.kind, EntityKind::Command(_))
                    && e.features.iter().any(|f| f.name == *group)
            });
            if !used {
                ctx.warnings.push(
                    Diagnostic::error(
                        location.clone(),
                        format!("feature group '{group}' is not used by any command"),
                    )
                    .into_warning(),
                );
            }
        }
        Ok(())
    }

    fn module_of(&mut self, ctx: &Ctx, id: EntityId) -> ModuleId {
        let e = self.entity(id);
        let info = match &e.kind {
            EntityKind::Array(a) => self.entity(a.element).info,
            _ => e.info,
        };
        let Some(info) = info else {
            return self.module_by_name["./builtin"];
        };
        if let Some(m) = self.file_modules[info.file.index()] {
            return m;
        }
        let name = self.module_name(ctx, &ctx.sources.file(info.file).name);
        let m = self.module_by_name[&name];
        self.file_modules[info.file.index()] = Some(m);
        m
    }

    fn check_entity(&mut self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        match &self.entity(id).kind {
            EntityKind::Include | EntityKind::Builtin(_) => Ok(()),
            EntityKind::Object(_) => self.check_object(ctx, id),
            EntityKind::Enum(_) => self.check_enum(ctx, id),
            EntityKind::Array(_) => self.check_array(ctx, id),
            EntityKind::Alternate(_) => self.check_alternate(ctx, id),
            EntityKind::Command(_) | EntityKind::Event(_) => self.check_command_or_event(ctx, id),
        }
    }

    /// Features of a definition must not clash; types may not use the
    /// special features.
    fn check_definition(&self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        let e = self.entity(id);
        let Some(info) = e.info else {
            return Ok(());
        };
        let span = e.head.expect("with info");
        let mut seen = SeenMap::new();
        for f in &e.features {
            let at = f.span.unwrap_or(span);
            Self::check_clash_one(ctx, info, at, &mut seen, feature_seen(f, &e.name))?;
        }
        if e.is_type() {
            if let Some(f) = e.features.iter().find(|f| f.is_special()) {
                return Err(ctx.error(
                    info,
                    f.span.unwrap_or(span),
                    format!("feature '{}' is not supported for types", f.name),
                ));
            }
        }
        Ok(())
    }

    fn check_enum(&mut self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        self.check_definition(ctx, id)?;
        let e = self.entity(id);
        let EntityKind::Enum(en) = &e.kind else {
            unreachable!()
        };
        if let (Some(info), Some(span)) = (e.info, e.head) {
            let mut seen = SeenMap::new();
            for v in &en.values {
                let item = Seen {
                    role: "value",
                    name: v.name.clone(),
                    defined_in: e.name.clone(),
                    member: None,
                };
                Self::check_clash_one(ctx, info, v.span.unwrap_or(span), &mut seen, item)?;
            }
        }
        self.state[id.index()] = State::Done;
        Ok(())
    }

    fn check_array(&mut self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        self.check_definition(ctx, id)?;
        let e = self.entity(id);
        let EntityKind::Array(a) = &e.kind else {
            unreachable!()
        };
        let element = match e.info {
            Some(info) => {
                let what = ctx.tag_of(info).map_or("", |(meta, _)| *meta);
                self.resolve(
                    ctx,
                    &a.element_name,
                    info,
                    e.span.expect("with info"),
                    || what,
                )?
            }
            None => self.lookup_type(&a.element_name).expect("built-in element"),
        };
        if let EntityKind::Array(a) = &mut self.entities[id.index()].kind {
            a.element = element;
        }
        self.state[id.index()] = State::Done;
        Ok(())
    }

    /// Resolves a member's type and checks its features.
    fn check_member(
        &mut self,
        ctx: &Ctx,
        owner: EntityId,
        index: usize,
        role: &'static str,
    ) -> Result<(), Diagnostic> {
        let (info, span) = self.info_span(owner);
        let owner_name = self.entity(owner).name.clone();
        let EntityKind::Object(o) = &self.entity(owner).kind else {
            unreachable!()
        };
        let m = &o.local_members[index];
        let span = m.span.unwrap_or(span);
        let desc = Seen {
            role,
            name: m.name.clone(),
            defined_in: owner_name,
            member: None,
        };
        let ty = self.resolve(ctx, &m.type_name, info, span, || {
            Self::describe(ctx, &desc, info)
        })?;
        let mut seen = SeenMap::new();
        for f in &m.features {
            let at = f.span.unwrap_or(span);
            Self::check_clash_one(ctx, info, at, &mut seen, feature_seen(f, &m.name))?;
        }
        if let EntityKind::Object(o) = &mut self.entities[owner.index()].kind {
            o.local_members[index].ty = ty;
        }
        Ok(())
    }

    fn check_object(&mut self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        match self.state[id.index()] {
            State::Done => return Ok(()),
            State::Checking => {
                let name = self.entity(id).name.clone();
                return Err(self.err(ctx, id, format!("object {name} contains itself")));
            }
            State::Unchecked => {}
        }
        if self.entity(id).info.is_none() {
            // q_empty
            self.state[id.index()] = State::Done;
            return Ok(());
        }
        self.state[id.index()] = State::Checking;
        self.check_definition(ctx, id)?;
        let (info, span) = self.info_span(id);
        let mut seen = SeenMap::new();
        let EntityKind::Object(o) = &self.entity(id).kind else {
            unreachable!()
        };
        if let Some((base_name, base_span)) = o.base_name.clone() {
            let span = base_span.unwrap_or(span);
            let base = self.resolve(ctx, &base_name, info, span, || "'base'")?;
            let is_struct =
                matches!(&self.entity(base).kind, EntityKind::Object(b) if b.union.is_none());
            if !is_struct {
                let what = self.entity(base).describe();
                return Err(ctx.error(
                    info,
                    span,
                    format!("'base' requires a struct type, {what} isn't"),
                ));
            }
            self.check_object(ctx, base)?;
            self.check_clash(ctx, base, info, span, &mut seen)?;
            if let EntityKind::Object(o) = &mut self.entities[id.index()].kind {
                o.base = Some(base);
            }
        }
        let count = match &self.entity(id).kind {
            EntityKind::Object(o) => o.local_members.len(),
            _ => 0,
        };
        for i in 0..count {
            self.check_member(ctx, id, i, "member")?;
            let item = self.member_seen(id, i);
            let at = self.member_span(id, i).unwrap_or(span);
            Self::check_clash_one(ctx, info, at, &mut seen, item)?;
        }
        if matches!(&self.entity(id).kind, EntityKind::Object(o) if o.union.is_some()) {
            self.check_branches(ctx, id, &seen)?;
            self.check_branches_clash(ctx, id, info, span, &seen)?;
        }
        self.state[id.index()] = State::Done;
        Ok(())
    }

    fn member_span(&self, owner: EntityId, index: usize) -> Option<Span> {
        match &self.entity(owner).kind {
            EntityKind::Object(o) => o.local_members[index].span,
            _ => None,
        }
    }

    fn member_seen(&self, owner: EntityId, index: usize) -> Seen {
        let e = self.entity(owner);
        let EntityKind::Object(o) = &e.kind else {
            unreachable!()
        };
        Seen {
            role: "member",
            name: o.local_members[index].name.clone(),
            defined_in: e.name.clone(),
            member: Some((owner, index)),
        }
    }

    /// Adds every member of object `id` (base first, then branches) to
    /// `seen`, reporting clashes at `info`.
    fn check_clash(
        &self,
        ctx: &Ctx,
        id: EntityId,
        info: Info,
        span: Span,
        seen: &mut SeenMap,
    ) -> Result<(), Diagnostic> {
        for (owner, index) in self.all_member_refs(id) {
            Self::check_clash_one(ctx, info, span, seen, self.member_seen(owner, index))?;
        }
        self.check_branches_clash(ctx, id, info, span, seen)
    }

    /// Each branch's members must not clash with the members so far; the
    /// branches may share names among themselves.
    fn check_branches_clash(
        &self,
        ctx: &Ctx,
        id: EntityId,
        info: Info,
        span: Span,
        seen: &SeenMap,
    ) -> Result<(), Diagnostic> {
        let EntityKind::Object(ObjectType { union: Some(u), .. }) = &self.entity(id).kind else {
            return Ok(());
        };
        for b in &u.branches {
            let mut copy = seen.clone();
            self.check_clash(ctx, b.ty, info, b.span.unwrap_or(span), &mut copy)?;
        }
        Ok(())
    }

    fn all_member_refs(&self, id: EntityId) -> Vec<(EntityId, usize)> {
        let mut out = Vec::new();
        let mut chain = vec![id];
        while let EntityKind::Object(o) = &self.entity(*chain.last().expect("non-empty")).kind {
            match o.base {
                Some(b) => chain.push(b),
                None => break,
            }
        }
        for owner in chain.into_iter().rev() {
            if let EntityKind::Object(o) = &self.entity(owner).kind {
                out.extend((0..o.local_members.len()).map(|i| (owner, i)));
            }
        }
        out
    }

    fn check_branches(
        &mut self,
        ctx: &Ctx,
        id: EntityId,
        seen: &SeenMap,
    ) -> Result<(), Diagnostic> {
        let (info, span) = self.info_span(id);
        let EntityKind::Object(o) = &self.entity(id).kind else {
            unreachable!()
        };
        let u = o.union.as_ref().expect("a union");
        let disc = u.discriminator.clone();
        let head = span;
        let span = u.discriminator_span.unwrap_or(span);
        let tag = seen_get(seen, &c_name(&disc)).filter(|t| t.name == disc);
        let Some((owner, index)) = tag.and_then(|t| t.member) else {
            return Err(ctx.error(
                info,
                span,
                format!("discriminator '{disc}' is not a member of 'base'"),
            ));
        };
        let owner_entity = self.entity(owner);
        let base = if owner_entity.is_implicit() {
            "'base'".to_owned()
        } else {
            format!("base type '{}'", owner_entity.name)
        };
        let EntityKind::Object(oo) = &owner_entity.kind else {
            unreachable!()
        };
        let tag_member = &oo.local_members[index];
        let EntityKind::Enum(tag_enum) = &self.entity(tag_member.ty).kind else {
            return Err(ctx.error(
                info,
                span,
                format!("discriminator member '{disc}' of {base} must be of enum type"),
            ));
        };
        if tag_member.optional {
            return Err(ctx.error(
                info,
                span,
                format!("discriminator member '{disc}' of {base} must not be optional"),
            ));
        }
        if tag_member.ifcond.is_some() {
            return Err(ctx.error(
                info,
                span,
                format!("discriminator member '{disc}' of {base} must not be conditional"),
            ));
        }
        let tag_enum_id = tag_member.ty;
        let tag_owner_name = owner_entity.name.clone();
        let values: Vec<EnumValue> = tag_enum.values.clone();
        let q_empty = self.lookup_type("q_empty").expect("predefined");
        let union_name = self.entity(id).name.clone();
        let mut branches = u.branches.clone();
        for v in &values {
            if !branches.iter().any(|b| b.name == v.name) {
                branches.push(Branch {
                    name: v.name.clone(),
                    ty: q_empty,
                    ifcond: v.ifcond.clone(),
                    implicit: true,
                    span: None,
                    type_name: "q_empty".to_owned(),
                });
            }
        }
        if branches.is_empty() {
            return Err(ctx.error(info, head, "union has no branches"));
        }
        for b in branches.iter_mut() {
            let span = b.span.unwrap_or(head);
            let desc = Seen {
                role: "branch",
                name: b.name.clone(),
                defined_in: if b.implicit {
                    tag_owner_name.clone()
                } else {
                    union_name.clone()
                },
                member: None,
            };
            b.ty = self.resolve(ctx, &b.type_name, info, span, || {
                Self::describe(ctx, &desc, info)
            })?;
            if !values.iter().any(|v| v.name == b.name) {
                let what = self.entity(tag_enum_id).describe();
                return Err(ctx.error(
                    info,
                    span,
                    format!("branch '{}' is not a value of {what}", b.name),
                ));
            }
            if !matches!(self.entity(b.ty).kind, EntityKind::Object(_)) {
                let what = self.entity(b.ty).describe();
                let described = Self::describe(ctx, &desc, info);
                return Err(ctx.error(info, span, format!("{described} cannot use {what}")));
            }
            self.check_object(ctx, b.ty)?;
        }
        if let EntityKind::Object(o) = &mut self.entities[id.index()].kind {
            o.union.as_mut().expect("a union").branches = branches;
        }
        Ok(())
    }

    fn check_alternate(&mut self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        self.check_definition(ctx, id)?;
        let (info, span) = self.info_span(id);
        let name = self.entity(id).name.clone();
        let EntityKind::Alternate(alt) = &self.entity(id).kind else {
            unreachable!()
        };
        let mut branches = alt.branches.clone();
        let describe = |b: &Branch| {
            Self::describe(
                ctx,
                &Seen {
                    role: "branch",
                    name: b.name.clone(),
                    defined_in: name.clone(),
                    member: None,
                },
                info,
            )
        };
        for b in branches.iter_mut() {
            let span = b.span.unwrap_or(span);
            b.ty = self.resolve(ctx, &b.type_name, info, span, || describe(b))?;
        }
        let mut seen = SeenMap::new();
        let mut types_seen: Vec<(&'static str, String)> = Vec::new();
        for b in &branches {
            let span = b.span.unwrap_or(span);
            let item = Seen {
                role: "branch",
                name: b.name.clone(),
                defined_in: name.clone(),
                member: None,
            };
            Self::check_clash_one(ctx, info, span, &mut seen, item)?;
            let ty = self.entity(b.ty);
            let Some(qtype) = alternate_qtype(ty) else {
                return Err(ctx.error(
                    info,
                    span,
                    format!("{} cannot use {}", describe(b), ty.describe()),
                ));
            };
            let mut conflicting = vec![qtype];
            if qtype == "QTYPE_QSTRING" {
                match &ty.kind {
                    EntityKind::Enum(en) => {
                        if en.values.iter().any(|v| v.name == "on" || v.name == "off") {
                            conflicting.push("QTYPE_QBOOL");
                        }
                        if en
                            .values
                            .iter()
                            .any(|v| v.name.starts_with(|c: char| "-+0123456789.".contains(c)))
                        {
                            conflicting.push("QTYPE_QNUM");
                        }
                    }
                    _ => {
                        conflicting.push("QTYPE_QNUM");
                        conflicting.push("QTYPE_QBOOL");
                    }
                }
            }
            for qt in conflicting {
                if let Some((_, other)) = types_seen.iter().find(|(t, _)| *t == qt) {
                    return Err(ctx.error(
                        info,
                        span,
                        format!("{} can't be distinguished from '{other}'", describe(b)),
                    ));
                }
                types_seen.push((qt, b.name.clone()));
            }
        }
        if let EntityKind::Alternate(a) = &mut self.entities[id.index()].kind {
            a.branches = branches;
        }
        self.state[id.index()] = State::Done;
        Ok(())
    }

    fn check_command_or_event(&mut self, ctx: &Ctx, id: EntityId) -> Result<(), Diagnostic> {
        self.check_definition(ctx, id)?;
        let (info, _) = self.info_span(id);
        let e = self.entity(id);
        let (meta, arg_name, boxed, ret_name) = match &e.kind {
            EntityKind::Command(c) => ("command", c.arg_name.clone(), c.boxed, c.ret_name.clone()),
            EntityKind::Event(ev) => ("event", ev.arg_name.clone(), ev.boxed, None),
            _ => unreachable!(),
        };
        let name = e.name.clone();
        let mut arg_type = None;
        if let Some((arg_name, span)) = arg_name {
            let arg = self.resolve(ctx, &arg_name, info, span, || format!("{meta}'s 'data'"))?;
            let arg_entity = self.entity(arg);
            let EntityKind::Object(o) = &arg_entity.kind else {
                return Err(ctx.error(
                    info,
                    span,
                    format!("{meta}'s 'data' cannot take {}", arg_entity.describe()),
                ));
            };
            if o.union.is_some() && !boxed {
                return Err(ctx.error(
                    info,
                    span,
                    format!(
                        "{meta}'s 'data' can take {} only with 'boxed': true",
                        arg_entity.describe()
                    ),
                ));
            }
            self.check_object(ctx, arg)?;
            let conditional = self.all_member_refs(arg).into_iter().any(|(owner, i)| {
                match &self.entity(owner).kind {
                    EntityKind::Object(o) => o.local_members[i].ifcond.is_some(),
                    _ => false,
                }
            });
            if conditional && !boxed {
                return Err(ctx.error(
                    info,
                    span,
                    format!("conditional {meta} arguments require 'boxed': true"),
                ));
            }
            arg_type = Some(arg);
        }
        let mut ret_type = None;
        if let Some((ret_name, span)) = ret_name {
            let ret = self.resolve(ctx, &ret_name, info, span, || "command's 'returns'")?;
            // Before QEMU 2.11 the exceptions were a list inside the
            // generator (and before 2.4 there was no rule): under
            // `--compat` a schema without the pragma may return anything.
            let excepted = match &ctx.pragma.command_returns_exceptions {
                Some(names) => names.contains(&name),
                None => ctx.compat,
            };
            if !excepted {
                let r = self.entity(ret);
                let inner = match &r.kind {
                    EntityKind::Array(a) => {
                        self.lookup_type(&a.element_name).map(|t| self.entity(t))
                    }
                    _ => Some(r),
                };
                if !matches!(inner.map(|t| &t.kind), Some(EntityKind::Object(_))) {
                    return Err(ctx.error(
                        info,
                        span,
                        format!("command's 'returns' cannot take {}", r.describe()),
                    ));
                }
            }
            ret_type = Some(ret);
        }
        match &mut self.entities[id.index()].kind {
            EntityKind::Command(c) => {
                c.arg_type = arg_type;
                c.ret_type = ret_type;
            }
            EntityKind::Event(ev) => ev.arg_type = arg_type,
            _ => {}
        }
        self.state[id.index()] = State::Done;
        Ok(())
    }

    // ---- documentation ----------------------------------------------------

    /// Connects a definition's members and features to its documentation
    /// block: each needs a description, unless the pragma
    /// `documentation-exceptions` lists the definition.
    fn connect_doc(&self, ctx: &mut Ctx, id: EntityId) -> Result<(), Diagnostic> {
        let e = self.entity(id);
        let Some(doc) = e.doc else {
            return Ok(());
        };
        let (info, span) = self.info_span(id);
        let mut link = DocLink {
            doc,
            info,
            span,
            exempt: ctx.pragma.documentation_exceptions.contains(&e.name),
            problems: Vec::new(),
        };
        link.features(ctx, &e.features);
        match &e.kind {
            EntityKind::Enum(en) => {
                for v in &en.values {
                    link.member(ctx, "value", &v.name, v.span);
                    link.features(ctx, &v.features);
                }
            }
            EntityKind::Object(_) => self.link_object_members(ctx, &mut link, id),
            EntityKind::Alternate(a) => {
                for b in &a.branches {
                    link.member(ctx, "branch", &b.name, b.span);
                }
            }
            EntityKind::Command(Command {
                arg_type: Some(arg),
                ..
            })
            | EntityKind::Event(Event {
                arg_type: Some(arg),
                ..
            }) if self.entity(*arg).is_implicit() => self.link_object_members(ctx, &mut link, *arg),
            _ => {}
        }
        for p in link.problems {
            ctx.doc_problem(p)?;
        }
        Ok(())
    }

    /// An object's own members, and its base's when the base is implicit.
    fn link_object_members(&self, ctx: &mut Ctx, link: &mut DocLink, id: EntityId) {
        let EntityKind::Object(o) = &self.entity(id).kind else {
            return;
        };
        let implicit_base = o.base.filter(|b| self.entity(*b).is_implicit());
        if let Some(base) = implicit_base {
            self.link_object_members(ctx, link, base);
        }
        for m in &o.local_members {
            link.member(ctx, "member", &m.name, m.span);
            link.features(ctx, &m.features);
        }
    }
}

/// Connects schema members to one documentation block, collecting what
/// is undocumented.
struct DocLink {
    doc: usize,
    info: Info,
    span: Span,
    exempt: bool,
    problems: Vec<Diagnostic>,
}

impl DocLink {
    fn member(&mut self, ctx: &mut Ctx, role: &str, name: &str, span: Option<Span>) {
        if ctx.docs[self.doc].connect_member(name) {
            return;
        }
        if self.exempt {
            ctx.docs[self.doc].add_stub(name);
        } else {
            self.problems.push(ctx.error(
                self.info,
                span.unwrap_or(self.span),
                format!("{role} '{name}' lacks documentation"),
            ));
        }
    }

    fn features(&mut self, ctx: &mut Ctx, features: &[Feature]) {
        for f in features {
            if !ctx.docs[self.doc].connect_feature(&f.name) {
                self.problems.push(ctx.error(
                    self.info,
                    f.span.unwrap_or(self.span),
                    format!("feature '{}' lacks documentation", f.name),
                ));
            }
        }
    }
}

fn feature_seen(f: &Feature, defined_in: &str) -> Seen {
    Seen {
        role: "feature",
        name: f.name.clone(),
        defined_in: defined_in.to_owned(),
        member: None,
    }
}

fn builtin_entity(name: &str, kind: EntityKind) -> Entity {
    Entity {
        name: name.to_owned(),
        info: None,
        span: None,
        head: None,
        doc: None,
        ifcond: None,
        features: Vec::new(),
        module: ModuleId(0),
        kind,
    }
}

fn entity(
    decl: &Decl,
    name: String,
    doc: Option<usize>,
    features: Vec<Feature>,
    kind: EntityKind,
) -> Entity {
    Entity {
        name,
        info: Some(decl.info),
        span: Some(decl.span),
        head: Some(decl.head),
        doc,
        ifcond: decl.ifcond.clone(),
        features,
        module: ModuleId(0),
        kind,
    }
}

/// The JSON type an alternate branch of this type claims.
fn alternate_qtype(ty: &Entity) -> Option<&'static str> {
    match &ty.kind {
        EntityKind::Builtin(b) => match b.json_type {
            "string" => Some("QTYPE_QSTRING"),
            "number" | "int" => Some("QTYPE_QNUM"),
            "boolean" => Some("QTYPE_QBOOL"),
            "null" => Some("QTYPE_QNULL"),
            _ => None,
        },
        EntityKind::Enum(_) => Some("QTYPE_QSTRING"),
        EntityKind::Array(_) => Some("QTYPE_QLIST"),
        EntityKind::Object(_) => Some("QTYPE_QDICT"),
        _ => None,
    }
}
