//! Phase 1: each top-level expression on its own.  Checks its shape, keys,
//! names, `if` conditions, features and flags, and turns it into a typed
//! [`Decl`].  The order of checks, and so which error wins, is QEMU's.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::names::{c_name, check_name_camel, check_name_lower, check_name_upper};
use super::Ctx;
use crate::diagnostic::Diagnostic;
use crate::load::Expression;
use crate::model::IfCond;
use crate::source::{Info, Span};
use crate::syntax::{Object, Value, ValueKind};

/// The six kinds of definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Meta {
    Enum,
    Struct,
    Union,
    Alternate,
    Command,
    Event,
}

impl Meta {
    const ALL: [Meta; 6] = [
        Meta::Enum,
        Meta::Struct,
        Meta::Union,
        Meta::Alternate,
        Meta::Command,
        Meta::Event,
    ];

    /// The keys an expression of this kind must have, and may have.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Meta::Enum => (&["enum", "data"], &["if", "features", "prefix"]),
            Meta::Struct => (&["struct", "data"], &["base", "if", "features"]),
            Meta::Union => (
                &["union", "base", "discriminator", "data"],
                &["if", "features"],
            ),
            Meta::Alternate => (&["alternate", "data"], &["if", "features"]),
            Meta::Command => (
                &["command"],
                &[
                    "data",
                    "returns",
                    "boxed",
                    "if",
                    "features",
                    "gen",
                    "success-response",
                    "allow-oob",
                    "allow-preconfig",
                    "coroutine",
                ],
            ),
            Meta::Event => (&["event"], &["data", "boxed", "if", "features"]),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Meta::Enum => "enum",
            Meta::Struct => "struct",
            Meta::Union => "union",
            Meta::Alternate => "alternate",
            Meta::Command => "command",
            Meta::Event => "event",
        }
    }
}

/// A type reference: `'T'` or `['T']`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TypeRef {
    Name(String),
    Array(String),
}

#[derive(Clone, Debug)]
pub(crate) struct FeatureDecl {
    pub name: String,
    pub ifcond: Option<IfCond>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct MemberDecl {
    pub name: String,
    pub optional: bool,
    pub ty: TypeRef,
    pub ifcond: Option<IfCond>,
    pub features: Vec<FeatureDecl>,
    /// From the key to the end of the value.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct BranchDecl {
    pub name: String,
    pub ty: TypeRef,
    pub ifcond: Option<IfCond>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct EnumValueDecl {
    pub name: String,
    pub ifcond: Option<IfCond>,
    pub features: Vec<FeatureDecl>,
    pub span: Span,
}

/// A type given by name or written inline, with where it was written.
#[derive(Clone, Debug)]
pub(crate) enum TypeOrInline {
    Name(String, Span),
    Inline(Vec<MemberDecl>),
}

#[derive(Clone, Debug)]
pub(crate) enum DeclBody {
    Enum {
        values: Vec<EnumValueDecl>,
        prefix: Option<String>,
    },
    Struct {
        base: Option<(String, Span)>,
        members: Vec<MemberDecl>,
    },
    Union {
        base: TypeOrInline,
        discriminator: (String, Span),
        branches: Vec<BranchDecl>,
    },
    Alternate {
        branches: Vec<BranchDecl>,
    },
    Command {
        data: Option<TypeOrInline>,
        returns: Option<(TypeRef, Span)>,
        flags: CommandFlags,
    },
    Event {
        data: Option<TypeOrInline>,
        boxed: bool,
    },
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CommandFlags {
    pub gen: bool,
    pub success_response: bool,
    pub boxed: bool,
    pub allow_oob: bool,
    pub allow_preconfig: bool,
    pub coroutine: bool,
}

/// A checked definition, ready to become entities.
#[derive(Clone, Debug)]
pub(crate) struct Decl {
    pub name: String,
    pub info: Info,
    /// The whole expression.
    pub span: Span,
    /// From the opening brace to the name: where errors about the
    /// definition as a whole point.
    pub head: Span,
    pub doc: Option<usize>,
    pub ifcond: Option<IfCond>,
    pub features: Vec<FeatureDecl>,
    pub body: DeclBody,
}

/// Where errors about the current expression go: QEMU reports them at
/// the expression's line; the span points at the offending part.
#[derive(Clone, Copy)]
struct At<'c> {
    ctx: &'c Ctx,
    info: Info,
    span: Span,
}

impl At<'_> {
    fn err(&self, message: impl Into<String>) -> Diagnostic {
        self.ctx.error(self.info, self.span, message)
    }

    /// The same line, pointing at `span`.
    fn at(&self, span: Span) -> Self {
        At { span, ..*self }
    }
}

/// From the start of `a` to the end of `b`.
fn join(a: Span, b: Span) -> Span {
    Span { end: b.end, ..a }
}

/// Checks one definition.
pub(crate) fn check_expr(ctx: &mut Ctx, expr: &Expression) -> Result<Decl, Diagnostic> {
    let obj = &expr.value;
    let metas: Vec<Meta> = Meta::ALL
        .into_iter()
        .filter(|m| obj.contains(m.as_str()))
        .collect();
    let at = At {
        ctx,
        info: expr.info,
        span: expr.span,
    };
    let [meta] = metas[..] else {
        return Err(at.err(
            "expression must have exactly one key 'enum', 'struct', 'union', 'alternate', \
             'command', 'event'",
        ));
    };
    let name_value = obj.get(meta.as_str()).expect("meta key present");
    let head = join(expr.span, name_value.span);
    let Some(name) = name_value.as_str() else {
        return Err(at
            .at(name_value.span)
            .err(format!("'{}' requires a string name", meta.as_str())));
    };
    ctx.tag(expr.info, meta.as_str(), name);
    let at = At {
        ctx,
        info: expr.info,
        span: head,
    };
    check_defn_name(&at.at(name_value.span), name, meta)?;
    let pragma = &ctx.pragma;
    let mut doc = expr.doc;
    match expr.doc.map(|i| &ctx.docs[i]) {
        Some(d) => {
            if d.symbol.as_deref() != Some(name) {
                let e = at.err(format!(
                    "documentation comment is for '{}'",
                    d.symbol.as_deref().unwrap_or_default()
                ));
                ctx.doc_problem(e)?;
                doc = None;
            } else {
                for e in check_doc_sections(ctx, d, meta, obj) {
                    ctx.doc_problem(e)?;
                }
            }
        }
        None if pragma.doc_required => {
            ctx.doc_problem(at.err("documentation comment required"))?;
        }
        None => {}
    }
    let at = At {
        ctx,
        info: expr.info,
        span: head,
    };
    let (required, optional) = meta.keys();
    check_keys(&at, obj, meta.as_str(), required, optional)?;
    let body = match meta {
        Meta::Enum => check_enum(&at, obj, name)?,
        Meta::Union => check_union(&at, obj, name)?,
        Meta::Alternate => check_alternate(&at, obj)?,
        Meta::Struct => check_struct(&at, obj, name)?,
        Meta::Command => check_command(&at, obj)?,
        Meta::Event => check_event(&at, obj)?,
    };
    let ifcond = check_if(&at, obj, meta.as_str())?;
    let features = check_features(&at, obj.get("features"))?;
    let flags = check_flags(&at, obj)?;
    let body = match body {
        DeclBody::Command { data, returns, .. } => DeclBody::Command {
            data,
            returns,
            flags,
        },
        other => other,
    };
    Ok(Decl {
        name: name.to_owned(),
        info: expr.info,
        span: expr.span,
        head,
        doc,
        ifcond,
        features,
        body,
    })
}

/// QEMU's `QAPIDoc.check_expr`: `Returns:` and `Errors:` only where they
/// make sense.
fn check_doc_sections(
    ctx: &Ctx,
    doc: &crate::doc::Doc,
    meta: Meta,
    obj: &Object,
) -> Vec<Diagnostic> {
    let at = |s: &crate::doc::Section, msg: &str| ctx.error(s.info, s.span, msg);
    let mut out = Vec::new();
    if meta == Meta::Command {
        if let Some(r) = doc.returns() {
            if !obj.contains("returns") {
                out.push(at(
                    r,
                    "'Returns' section, but command doesn't return anything",
                ));
            }
        }
    } else {
        if let Some(r) = doc.returns() {
            out.push(at(r, "'Returns' section is only valid for commands"));
        }
        if let Some(e) = doc.errors() {
            out.push(at(e, "'Errors' section is only valid for commands"));
        }
    }
    out
}

fn check_defn_name(at: &At<'_>, name: &str, meta: Meta) -> Result<(), Diagnostic> {
    let source = meta.as_str();
    match meta {
        Meta::Event => check_name_upper(name, source),
        Meta::Command => {
            let permit = at
                .ctx
                .pragma
                .command_name_exceptions
                .iter()
                .any(|n| n == name)
                || at.ctx.relaxed_names();
            check_name_lower(name, source, false, permit)
        }
        _ => check_name_camel(name, source).and_then(|()| {
            if name.ends_with("List") {
                Err(format!("{source} name should not end in 'List'"))
            } else {
                Ok(())
            }
        }),
    }
    .map_err(|m| at.err(m))
}

fn quoted_sorted<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_keys(
    at: &At<'_>,
    obj: &impl Fields,
    source: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<(), Diagnostic> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !obj.contains(k))
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() > 1 { "s" } else { "" };
        return Err(at.err(format!("{source} misses key{s} {}", quoted_sorted(missing))));
    }
    let unknown: Vec<&str> = obj
        .keys()
        .into_iter()
        .filter(|k| !required.contains(k) && !optional.contains(k))
        .collect();
    if !unknown.is_empty() {
        let s = if unknown.len() > 1 { "s" } else { "" };
        return Err(at.err(format!(
            "{source} has unknown key{s} {}\nValid keys are {}.",
            quoted_sorted(unknown),
            quoted_sorted(required.iter().chain(optional).copied())
        )));
    }
    Ok(())
}

fn check_flags(at: &At<'_>, obj: &Object) -> Result<CommandFlags, Diagnostic> {
    for key in ["gen", "success-response"] {
        if let Some(v) = obj.get(key) {
            if v.as_bool() != Some(false) {
                return Err(at
                    .at(v.span)
                    .err(format!("flag '{key}' may only use false value")));
            }
        }
    }
    for key in ["boxed", "allow-oob", "allow-preconfig", "coroutine"] {
        if let Some(v) = obj.get(key) {
            if v.as_bool() != Some(true) {
                return Err(at
                    .at(v.span)
                    .err(format!("flag '{key}' may only use true value")));
            }
        }
    }
    if obj.contains("allow-oob") && obj.contains("coroutine") {
        return Err(at.err("flags 'allow-oob' and 'coroutine' are incompatible"));
    }
    Ok(CommandFlags {
        gen: !obj.contains("gen"),
        success_response: !obj.contains("success-response"),
        boxed: obj.contains("boxed"),
        allow_oob: obj.contains("allow-oob"),
        allow_preconfig: obj.contains("allow-preconfig"),
        coroutine: obj.contains("coroutine"),
    })
}

/// Checks `obj['if']`, if present.
fn check_if(at: &At<'_>, obj: &impl Fields, source: &str) -> Result<Option<IfCond>, Diagnostic> {
    obj.get("if").map(|c| check_cond(at, c, source)).transpose()
}

fn check_cond(at: &At<'_>, cond: &Value, source: &str) -> Result<IfCond, Diagnostic> {
    let at = &at.at(cond.span);
    let obj = match &cond.kind {
        ValueKind::Str(s) => {
            let valid = s.starts_with(|c: char| c.is_ascii_uppercase())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(at.err(format!(
                    "'if' condition '{s}' of {source} is not a valid identifier"
                )));
            }
            return Ok(IfCond::Name(s.clone()));
        }
        ValueKind::Object(o) => o,
        _ => {
            return Err(at.err(format!(
                "'if' condition of {source} must be a string or an object"
            )))
        }
    };
    check_keys(
        at,
        obj,
        &format!("'if' condition of {source}"),
        &[],
        &["all", "any", "not"],
    )?;
    if obj.len() != 1 {
        return Err(at.err(format!("'if' condition of {source} has conflicting keys")));
    }
    if let Some(operand) = obj.get("not") {
        return Ok(IfCond::Not(Box::new(check_cond(at, operand, source)?)));
    }
    let (operator, operands) = match obj.get("all") {
        Some(v) => ("all", v),
        None => ("any", obj.get("any").expect("one of all/any/not")),
    };
    let Some(list) = operands.as_array() else {
        return Err(at.err(format!(
            "'{operator}' condition of {source} must be an array"
        )));
    };
    if list.is_empty() {
        return Err(at.err(format!("'if' condition [] of {source} is useless")));
    }
    let ops = list
        .iter()
        .map(|c| check_cond(at, c, source))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if operator == "all" {
        IfCond::All(ops)
    } else {
        IfCond::Any(ops)
    })
}

/// Read access to the members of an object, written out or implied.
trait Fields {
    fn get(&self, key: &str) -> Option<&Value>;
    fn keys(&self) -> Vec<&str>;
    fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl Fields for Object {
    fn get(&self, key: &str) -> Option<&Value> {
        Object::get(self, key)
    }
    fn keys(&self) -> Vec<&str> {
        Object::keys(self).collect()
    }
}

/// A list entry or member value written either as an object or, for
/// short, as a bare value that stands for `{ KEY: value }`.
enum Entry<'v> {
    Object(&'v Object),
    Bare(&'static str, &'v Value),
}

impl Fields for Entry<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Entry::Object(o) => o.get(key),
            Entry::Bare(k, v) => (*k == key).then_some(*v),
        }
    }
    fn keys(&self) -> Vec<&str> {
        match self {
            Entry::Object(o) => o.keys().collect(),
            Entry::Bare(k, _) => vec![k],
        }
    }
}

fn normalized<'v>(value: &'v Value, key: &'static str) -> Entry<'v> {
    match &value.kind {
        ValueKind::Object(o) => Entry::Object(o),
        _ => Entry::Bare(key, value),
    }
}

fn check_features(at: &At<'_>, features: Option<&Value>) -> Result<Vec<FeatureDecl>, Diagnostic> {
    let Some(features) = features else {
        return Ok(Vec::new());
    };
    let Some(list) = features.as_array() else {
        return Err(at.at(features.span).err("'features' must be an array"));
    };
    let mut out = Vec::new();
    for f in list {
        let at = &at.at(f.span);
        let feat = normalized(f, "name");
        let source = "'features' member";
        check_keys(at, &feat, source, &["name"], &["if"])?;
        let Some(name) = feat.get("name").and_then(Value::as_str) else {
            return Err(at.err(format!("{source} requires a string name")));
        };
        let source = format!("{source} '{name}'");
        check_name_lower(name, &source, false, false).map_err(|m| at.err(m))?;
        let ifcond = check_if(at, &feat, &source)?;
        out.push(FeatureDecl {
            name: name.to_owned(),
            ifcond,
            span: f.span,
        });
    }
    Ok(out)
}

fn check_enum(at: &At<'_>, obj: &Object, name: &str) -> Result<DeclBody, Diagnostic> {
    let data = obj.get("data").expect("checked keys");
    let Some(list) = data.as_array() else {
        return Err(at.at(data.span).err("'data' must be an array"));
    };
    let prefix = match obj.get("prefix") {
        None => None,
        Some(p) => match p.as_str() {
            Some(s) => Some(s.to_owned()),
            None => return Err(at.at(p.span).err("'prefix' must be a string")),
        },
    };
    let permissive = at.ctx.member_name_exception(name);
    let mut values = Vec::new();
    for v in list {
        let at = &at.at(v.span);
        let member = normalized(v, "name");
        let source = "'data' member";
        check_keys(at, &member, source, &["name"], &["if", "features"])?;
        let Some(value_name) = member.get("name").and_then(Value::as_str) else {
            return Err(at.err(format!("{source} requires a string name")));
        };
        let source = format!("{source} '{value_name}'");
        // Enum values may start with a digit; before QEMU 2.5 names were
        // not checked, and some values held a '.'.
        let mut checked = if value_name.starts_with(|c: char| c.is_ascii_digit()) {
            Cow::Owned(format!("d{value_name}"))
        } else {
            Cow::Borrowed(value_name)
        };
        if at.ctx.relaxed_names() && checked.contains('.') {
            checked = Cow::Owned(checked.replace('.', "-"));
        }
        check_name_lower(&checked, &source, permissive, permissive).map_err(|m| at.err(m))?;
        let ifcond = check_if(at, &member, &source)?;
        let features = check_features(at, member.get("features"))?;
        values.push(EnumValueDecl {
            name: value_name.to_owned(),
            ifcond,
            features,
            span: v.span,
        });
    }
    Ok(DeclBody::Enum { values, prefix })
}

/// `'T'` or `['T']`; `None` when absent.
fn check_type_name_or_array(
    at: &At<'_>,
    value: Option<&Value>,
    source: &str,
) -> Result<Option<TypeRef>, Diagnostic> {
    let Some(value) = value else {
        return Ok(None);
    };
    let at = &at.at(value.span);
    match &value.kind {
        ValueKind::Str(s) => Ok(Some(TypeRef::Name(s.clone()))),
        ValueKind::Array(items) => match &items[..] {
            [Value {
                kind: ValueKind::Str(s),
                ..
            }] => Ok(Some(TypeRef::Array(s.clone()))),
            _ => Err(at.err(format!(
                "{source}: array type must contain single type name"
            ))),
        },
        _ => Err(at.err(format!("{source} should be a type name or array"))),
    }
}

fn check_type_name(
    at: &At<'_>,
    value: Option<&Value>,
    source: &str,
) -> Result<Option<(String, Span)>, Diagnostic> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) => Ok(Some((s.to_owned(), v.span))),
            None => Err(at.at(v.span).err(format!("{source} should be a type name"))),
        },
    }
}

/// Members written inline: `{ 'name': TYPE-REF or { 'type': ..., ... } }`.
fn check_type_implicit(
    at: &At<'_>,
    value: &Value,
    source: &str,
    parent: Option<&str>,
) -> Result<Vec<MemberDecl>, Diagnostic> {
    let Some(obj) = value.as_object() else {
        return Err(at
            .at(value.span)
            .err(format!("{source} should be an object or type name")));
    };
    let permissive =
        at.ctx.relaxed_names() || parent.is_some_and(|p| at.ctx.member_name_exception(p));
    let mut out = Vec::new();
    for m in &obj.members {
        let span = join(m.key_span, m.value.span);
        let at = &at.at(span);
        let key_source = format!("{source} member '{}'", m.key);
        let (name, optional) = match m.key.strip_prefix('*') {
            Some(rest) => (rest, true),
            None => (m.key.as_str(), false),
        };
        check_name_lower(name, &key_source, permissive, permissive).map_err(|e| at.err(e))?;
        let cname = c_name(name);
        if cname == "u" || cname.starts_with("has_") {
            return Err(at.err(format!("{key_source} uses reserved name")));
        }
        let arg = normalized(&m.value, "type");
        check_keys(at, &arg, &key_source, &["type"], &["if", "features"])?;
        let ifcond = check_if(at, &arg, &key_source)?;
        let features = check_features(at, arg.get("features"))?;
        let ty = check_type_name_or_array(at, arg.get("type"), &key_source)?
            .expect("checked keys: type present");
        out.push(MemberDecl {
            name: name.to_owned(),
            optional,
            ty,
            ifcond,
            features,
            span,
        });
    }
    Ok(out)
}

fn check_type_name_or_implicit(
    at: &At<'_>,
    value: Option<&Value>,
    source: &str,
    parent: Option<&str>,
) -> Result<Option<TypeOrInline>, Diagnostic> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) => Ok(Some(TypeOrInline::Name(s.to_owned(), v.span))),
            None => Ok(Some(TypeOrInline::Inline(check_type_implicit(
                at, v, source, parent,
            )?))),
        },
    }
}

fn check_struct(at: &At<'_>, obj: &Object, name: &str) -> Result<DeclBody, Diagnostic> {
    let data = obj.get("data").expect("checked keys");
    let members = check_type_implicit(at, data, "'data'", Some(name))?;
    let base = check_type_name(at, obj.get("base"), "'base'")?;
    Ok(DeclBody::Struct { base, members })
}

fn check_union(at: &At<'_>, obj: &Object, name: &str) -> Result<DeclBody, Diagnostic> {
    let base = check_type_name_or_implicit(at, obj.get("base"), "'base'", Some(name))?
        .expect("checked keys: base present");
    let disc = obj.get("discriminator").expect("checked keys");
    let Some(discriminator) = disc.as_str() else {
        return Err(at
            .at(disc.span)
            .err("'discriminator' requires a string name"));
    };
    let data = obj.get("data").expect("checked keys");
    let Some(data) = data.as_object() else {
        return Err(at.at(data.span).err("'data' must be an object"));
    };
    let mut branches = Vec::new();
    for m in &data.members {
        let span = join(m.key_span, m.value.span);
        let at = &at.at(span);
        let source = format!("'data' member '{}'", m.key);
        let value = normalized(&m.value, "type");
        check_keys(at, &value, &source, &["type"], &["if"])?;
        let ifcond = check_if(at, &value, &source)?;
        let (ty, _) = check_type_name(at, value.get("type"), &source)?.expect("checked keys");
        branches.push(BranchDecl {
            name: m.key.clone(),
            ty: TypeRef::Name(ty),
            ifcond,
            span,
        });
    }
    Ok(DeclBody::Union {
        base,
        discriminator: (discriminator.to_owned(), disc.span),
        branches,
    })
}

fn check_alternate(at: &At<'_>, obj: &Object) -> Result<DeclBody, Diagnostic> {
    let data = obj.get("data").expect("checked keys");
    if !data.is_truthy() {
        return Err(at.at(data.span).err("'data' must not be empty"));
    }
    let Some(data) = data.as_object() else {
        return Err(at.at(data.span).err("'data' must be an object"));
    };
    let mut branches = Vec::new();
    for m in &data.members {
        let span = join(m.key_span, m.value.span);
        let at = &at.at(span);
        let source = format!("'data' member '{}'", m.key);
        let relaxed = at.ctx.relaxed_names();
        check_name_lower(&m.key, &source, relaxed, relaxed).map_err(|e| at.err(e))?;
        let value = normalized(&m.value, "type");
        check_keys(at, &value, &source, &["type"], &["if"])?;
        let ifcond = check_if(at, &value, &source)?;
        let ty = check_type_name_or_array(at, value.get("type"), &source)?.expect("checked keys");
        branches.push(BranchDecl {
            name: m.key.clone(),
            ty,
            ifcond,
            span,
        });
    }
    Ok(DeclBody::Alternate { branches })
}

/// The `data` of a command or event.
fn check_args(at: &At<'_>, obj: &Object) -> Result<(Option<TypeOrInline>, bool), Diagnostic> {
    let boxed = obj.get("boxed").is_some_and(Value::is_truthy);
    if boxed {
        if !obj.contains("data") {
            return Err(at.err("'boxed': true requires 'data'"));
        }
        let name = check_type_name(at, obj.get("data"), "'data'")?;
        Ok((name.map(|(n, s)| TypeOrInline::Name(n, s)), true))
    } else {
        Ok((
            check_type_name_or_implicit(at, obj.get("data"), "'data'", None)?,
            false,
        ))
    }
}

fn check_command(at: &At<'_>, obj: &Object) -> Result<DeclBody, Diagnostic> {
    let (data, _) = check_args(at, obj)?;
    let returns = check_type_name_or_array(at, obj.get("returns"), "'returns'")?
        .map(|r| (r, obj.get("returns").expect("present").span));
    Ok(DeclBody::Command {
        data,
        returns,
        flags: CommandFlags::default(),
    })
}

fn check_event(at: &At<'_>, obj: &Object) -> Result<DeclBody, Diagnostic> {
    let (data, boxed) = check_args(at, obj)?;
    Ok(DeclBody::Event { data, boxed })
}

#[cfg(test)]
mod tests {
    use super::quoted_sorted;

    #[test]
    fn keys_are_sorted_and_quoted() {
        assert_eq!(
            quoted_sorted(["if", "data", "enum"]),
            "'data', 'enum', 'if'"
        );
    }
}
