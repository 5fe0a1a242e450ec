//! The resolved schema: every definition with its names resolved, in the
//! shape QEMU's generator gives it (`QAPISchema` and its entities).
//!
//! Built by [`crate::check()`]; everything downstream (dump, code generation,
//! introspection) reads this model.

use std::collections::HashMap;
use std::fmt;

use crate::diagnostic::Diagnostic;
use crate::doc::Doc;
use crate::pragma::Pragma;
use crate::source::{Info, SourceMap, Span};

/// Identifies an entity of a [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub(crate) u32);

impl EntityId {
    /// The position of the entity in definition order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Identifies a module (a schema file) of a [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModuleId(pub(crate) u32);

/// An `if` condition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IfCond {
    /// A configuration symbol, e.g. `CONFIG_LINUX`.
    Name(String),
    /// `{'all': [...]}`: every operand holds.
    All(Vec<IfCond>),
    /// `{'any': [...]}`: some operand holds.
    Any(Vec<IfCond>),
    /// `{'not': ...}`.
    Not(Box<IfCond>),
}

impl IfCond {
    /// Python's `repr` of the condition as QEMU's test harness prints it:
    /// a bare name at the top, quoted names inside dicts and lists.
    pub fn to_python(&self) -> String {
        match self {
            IfCond::Name(n) => n.clone(),
            _ => self.python_repr(),
        }
    }

    fn python_repr(&self) -> String {
        let list = |ops: &[IfCond]| {
            ops.iter()
                .map(IfCond::python_repr)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            IfCond::Name(n) => format!("'{n}'"),
            IfCond::All(ops) => format!("{{'all': [{}]}}", list(ops)),
            IfCond::Any(ops) => format!("{{'any': [{}]}}", list(ops)),
            IfCond::Not(op) => format!("{{'not': {}}}", op.python_repr()),
        }
    }

    /// Every configuration symbol the condition mentions.
    pub fn names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            IfCond::Name(n) => out.push(n),
            IfCond::All(ops) | IfCond::Any(ops) => ops.iter().for_each(|o| o.collect_names(out)),
            IfCond::Not(op) => op.collect_names(out),
        }
    }
}

impl fmt::Display for IfCond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_python())
    }
}

/// A feature attached to a definition, member or enum value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    /// Its name.
    pub name: String,
    /// Its condition.
    pub ifcond: Option<IfCond>,
    /// Where it was written.
    pub span: Option<Span>,
}

impl Feature {
    /// Whether this is one of QEMU's special features, `deprecated` and
    /// `unstable`.
    pub fn is_special(&self) -> bool {
        SPECIAL_FEATURES.contains(&self.name.as_str())
    }
}

/// The features every schema has, in QEMU's numbering.
pub const SPECIAL_FEATURES: [&str; 2] = ["deprecated", "unstable"];

/// An enum value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// The value as it appears on the wire.
    pub name: String,
    /// Its condition.
    pub ifcond: Option<IfCond>,
    /// Its features.
    pub features: Vec<Feature>,
    /// Where it was written; `None` for built-in and implicit values.
    pub span: Option<Span>,
}

/// A member of an object type (or a command's or event's argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name on the wire (without the `*` of optional members).
    pub name: String,
    /// Whether the member may be absent.
    pub optional: bool,
    /// The member's type.
    pub ty: EntityId,
    /// Its condition.
    pub ifcond: Option<IfCond>,
    /// Its features.
    pub features: Vec<Feature>,
    /// The object type that declares it.
    pub defined_in: EntityId,
    /// Where it was written (key and value).
    pub span: Option<Span>,
    pub(crate) type_name: String,
}

/// A branch of a union or an alternate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    /// The branch name: a discriminator value for unions.
    pub name: String,
    /// The branch's type.
    pub ty: EntityId,
    /// Its condition.
    pub ifcond: Option<IfCond>,
    /// Whether QEMU added the branch for a discriminator value the union
    /// does not list (its type is then `q_empty`).
    pub implicit: bool,
    /// Where it was written; `None` for implicit branches.
    pub span: Option<Span>,
    pub(crate) type_name: String,
}

/// A built-in type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltinType {
    /// Its JSON type as introspection names it: `string`, `number`,
    /// `int`, `boolean`, `null` or `value`.
    pub json_type: &'static str,
}

/// An enumeration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumType {
    /// The values in order.
    pub values: Vec<EnumValue>,
    /// The C prefix set with `prefix`, if any.
    pub prefix: Option<String>,
}

/// An array of some element type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayType {
    /// The element type.
    pub element: EntityId,
    pub(crate) element_name: String,
}

/// An object type: a struct, a union, or an implicit type (a command's or
/// event's argument, a union's inline base, `q_empty`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectType {
    /// The base type.
    pub base: Option<EntityId>,
    /// The members declared here (not the base's).
    pub local_members: Vec<Member>,
    /// The discriminator and branches of a union.
    pub union: Option<Union>,
    pub(crate) base_name: Option<(String, Option<Span>)>,
}

/// A union's discriminator and branches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Union {
    /// The discriminator member's name (a member of the base).
    pub discriminator: String,
    /// Where the discriminator was named.
    pub discriminator_span: Option<Span>,
    /// The branches: those written, then one per uncovered enum value.
    pub branches: Vec<Branch>,
}

/// An alternate: a value of one of several types, told apart by JSON type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlternateType {
    /// The branches.
    pub branches: Vec<Branch>,
}

/// A command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The argument type, if any.
    pub arg_type: Option<EntityId>,
    /// The return type, if any.
    pub ret_type: Option<EntityId>,
    /// `false` with `'gen': false`: no marshaller is generated.
    pub gen: bool,
    /// `false` with `'success-response': false`: no reply on success.
    pub success_response: bool,
    /// The argument type is passed as one value.
    pub boxed: bool,
    /// The command may run out of band.
    pub allow_oob: bool,
    /// The command may run before the machine is initialised.
    pub allow_preconfig: bool,
    /// The command runs in a coroutine.
    pub coroutine: bool,
    pub(crate) arg_name: Option<(String, Span)>,
    pub(crate) ret_name: Option<(String, Span)>,
}

/// An event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The data type, if any.
    pub arg_type: Option<EntityId>,
    /// The data type is passed as one value.
    pub boxed: bool,
    pub(crate) arg_name: Option<(String, Span)>,
}

/// What an entity is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityKind {
    /// An include directive; the entity's name is the included module's.
    Include,
    /// A built-in type.
    Builtin(BuiltinType),
    /// An enumeration.
    Enum(EnumType),
    /// An array type.
    Array(ArrayType),
    /// An object type.
    Object(ObjectType),
    /// An alternate.
    Alternate(AlternateType),
    /// A command.
    Command(Command),
    /// An event.
    Event(Event),
}

/// A definition (or include) of the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    /// The name.
    pub name: String,
    /// Where it was defined; `None` for built-in entities.
    pub info: Option<Info>,
    /// The defining expression.
    pub span: Option<Span>,
    /// The start of the defining expression, up to the name: where
    /// diagnostics about the definition as a whole point.
    pub head: Option<Span>,
    /// Its documentation block, an index into [`Schema::docs`].
    pub doc: Option<usize>,
    /// Its condition.
    pub ifcond: Option<IfCond>,
    /// Its features.
    pub features: Vec<Feature>,
    /// The module it belongs to.
    pub module: ModuleId,
    /// What it is.
    pub kind: EntityKind,
}

impl Entity {
    /// QEMU's name for the kind of entity: `include`, `built-in`, `enum`,
    /// `array`, `struct`, `union`, `alternate`, `command` or `event`.
    pub fn meta(&self) -> &'static str {
        match &self.kind {
            EntityKind::Include => "include",
            EntityKind::Builtin(_) => "built-in",
            EntityKind::Enum(_) => "enum",
            EntityKind::Array(_) => "array",
            EntityKind::Object(o) if o.union.is_some() => "union",
            EntityKind::Object(_) => "struct",
            EntityKind::Alternate(_) => "alternate",
            EntityKind::Command(_) => "command",
            EntityKind::Event(_) => "event",
        }
    }

    /// Whether this is a type.
    pub fn is_type(&self) -> bool {
        !matches!(
            self.kind,
            EntityKind::Include | EntityKind::Command(_) | EntityKind::Event(_)
        )
    }

    /// Whether the schema's author did not write this definition: built-in
    /// types, arrays, `QType` and the `q_obj_*`/`q_empty` object types.
    pub fn is_implicit(&self) -> bool {
        match &self.kind {
            EntityKind::Enum(_) => self.name == "QType",
            EntityKind::Object(_) => self.name.starts_with("q_"),
            EntityKind::Array(_) => true,
            _ => self.info.is_none(),
        }
    }

    /// QEMU's description, e.g. `struct type 'Foo'` or `command 'bar'`.
    pub fn describe(&self) -> String {
        match &self.kind {
            EntityKind::Array(a) => format!("array type ['{}']", a.element_name),
            EntityKind::Command(_) | EntityKind::Event(_) => {
                format!("{} '{}'", self.meta(), self.name)
            }
            _ => format!("{} type '{}'", self.meta(), self.name),
        }
    }

    /// Whether the entity carries feature `name`.
    pub fn has_feature(&self, name: &str) -> bool {
        self.features.iter().any(|f| f.name == name)
    }
}

/// A module: one schema file, or `./builtin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The file's path relative to the root schema's directory.
    pub name: String,
    /// Its entities in definition order.
    pub entities: Vec<EntityId>,
}

/// A checked schema.
#[derive(Debug)]
pub struct Schema {
    /// Every file read.
    pub sources: SourceMap,
    /// Documentation blocks in order.
    pub docs: Vec<Doc>,
    /// The schema-wide settings.
    pub pragma: Pragma,
    /// Warnings (only under `--compat`, or about `command-features`).
    pub warnings: Vec<Diagnostic>,
    pub(crate) entities: Vec<Entity>,
    pub(crate) by_name: HashMap<String, EntityId>,
    pub(crate) modules: Vec<Module>,
    pub(crate) features: Vec<String>,
}

impl Schema {
    /// Every entity in definition order: built-ins first, then the
    /// schema's definitions with the implicit types QEMU makes for them.
    pub fn entities(&self) -> impl Iterator<Item = (EntityId, &Entity)> {
        self.entities
            .iter()
            .enumerate()
            .map(|(i, e)| (EntityId(i as u32), e))
    }

    /// The entity `id`.
    pub fn entity(&self, id: EntityId) -> &Entity {
        &self.entities[id.index()]
    }

    /// The definition named `name`.
    pub fn lookup(&self, name: &str) -> Option<EntityId> {
        self.by_name.get(name).copied()
    }

    /// The modules in QEMU's order: `./builtin`, the root, then included
    /// files in order of first inclusion.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The module `id`.
    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.0 as usize]
    }

    /// Every feature of the schema, numbered as QEMU 10 numbers them:
    /// `deprecated`, `unstable`, then the others in first-seen order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The position of feature `name` in [`Schema::features`]: its bit in
    /// a feature set.
    pub fn feature_index(&self, name: &str) -> Option<usize> {
        self.features.iter().position(|f| f == name)
    }

    /// A set of features as a bit mask, bit `i` for feature `i` of
    /// [`Schema::features`] (QEMU's `1ull << QAPI_FEATURE_X`).  Conditions
    /// on features are ignored, as QEMU's registration ignores them.
    pub fn feature_mask(&self, features: &[Feature]) -> u64 {
        features
            .iter()
            .filter_map(|f| self.feature_index(&f.name))
            .fold(0, |mask, i| mask | (1u64 << i))
    }

    /// The feature groups declared with the `command-features` pragma.
    pub fn command_feature_groups(&self) -> &[String] {
        self.pragma
            .command_features
            .as_ref()
            .map_or(&[], |(names, _)| names.as_slice())
    }

    /// Whether `name` is a declared `command-features` group.
    pub fn is_command_feature_group(&self, name: &str) -> bool {
        self.command_feature_groups().iter().any(|g| g == name)
    }

    /// The definitions the schema's author wrote (no built-in, implicit or
    /// include entities), in schema order.
    pub fn definitions(&self) -> impl Iterator<Item = (EntityId, &Entity)> {
        self.entities()
            .filter(|(_, e)| !matches!(e.kind, EntityKind::Include) && !e.is_implicit())
    }

    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&Entity> {
        self.lookup(name).map(|id| self.entity(id))
    }

    /// The commands in schema order.
    pub fn commands(&self) -> impl Iterator<Item = (EntityId, &Entity, &Command)> {
        self.entities().filter_map(|(id, e)| match &e.kind {
            EntityKind::Command(c) => Some((id, e, c)),
            _ => None,
        })
    }

    /// The events in schema order.
    pub fn events(&self) -> impl Iterator<Item = (EntityId, &Entity, &Event)> {
        self.entities().filter_map(|(id, e)| match &e.kind {
            EntityKind::Event(ev) => Some((id, e, ev)),
            _ => None,
        })
    }

    /// Every member of object type `id`, the base's first; empty for other
    /// entities.
    pub fn members(&self, id: EntityId) -> Vec<&Member> {
        let mut out = Vec::new();
        self.collect_members(id, &mut out);
        out
    }

    fn collect_members<'a>(&'a self, id: EntityId, out: &mut Vec<&'a Member>) {
        if let EntityKind::Object(obj) = &self.entity(id).kind {
            if let Some(base) = obj.base {
                self.collect_members(base, out);
            }
            out.extend(obj.local_members.iter());
        }
    }

    /// The documentation block of entity `id`.
    pub fn doc(&self, id: EntityId) -> Option<&Doc> {
        self.entity(id).doc.map(|i| &self.docs[i])
    }
}
