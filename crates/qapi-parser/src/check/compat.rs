//! `--compat`: the spellings of older QEMU releases, mapped onto today's
//! language before the expression checks run.
//!
//! - `{ 'type': 'Foo', ... }` is a struct (QEMU 1.x and early 2.x);
//! - `'gen': 'no'` is `'gen': false`, `'success-response': 'no'` is
//!   `'success-response': false` (QEMU 1.x to 2.0);
//! - the types `visitor`, `**` and `dict` of `'gen': 'no'` commands are `any`
//!   (QEMU 1.x and 2.0);
//! - a union whose `discriminator` is `{}` (an *anonymous union*, QEMU
//!   1.7 to 2.4) is an alternate;
//! - a member whose type is written out as an object of members (an
//!   anonymous nested struct, dropped in QEMU 2.4) becomes an implicit
//!   struct `q_obj_PARENT-MEMBER`, defined before its parent;
//! - a union without `base` and `discriminator` is a *simple union*
//!   (removed in QEMU 6.1): its branches become wrapper structs
//!   `q_obj_T-wrapper` with one member `data`, and an implicit enum
//!   `NAMEKind` of the branch names becomes the type of an implicit base
//!   member `type`, the discriminator.  On the wire this is exactly what a
//!   simple union sent.
//! - member, value and command names may use upper case and `_` (the old
//!   rules only checked their form), see [`Ctx::relaxed_names`];
//! - `if` conditions written as C preprocessor expressions
//!   (`'defined(CONFIG_A) || defined(CONFIG_B)'`, QEMU 3.0 to 6.0) or as a
//!   list of them (all must hold) become today's `all`/`any`/`not` form.

use std::borrow::Cow;

use super::expr::{check_expr, Decl, DeclBody, MemberDecl, TypeRef};
use super::Ctx;
use crate::diagnostic::Diagnostic;
use crate::load::Expression;
use crate::source::{Info, Span};
use crate::syntax::{Member, Object, Value, ValueKind};

/// Checks one expression; under `--compat` an old-style expression may
/// stand for several definitions.
pub(crate) fn expand(ctx: &mut Ctx, expr: &Expression) -> Result<Vec<Decl>, Diagnostic> {
    if !ctx.compat {
        return Ok(vec![check_expr(ctx, expr)?]);
    }
    let mut expr = Cow::Borrowed(expr);
    let metas = ["enum", "struct", "union", "alternate", "command", "event"];
    if expr.value.contains("type") && !metas.iter().any(|m| expr.value.contains(m)) {
        rename_key(&mut expr.to_mut().value, "type", "struct");
    }
    let anonymous_union = expr.value.contains("union")
        && expr
            .value
            .get("discriminator")
            .and_then(Value::as_object)
            .is_some_and(|d| d.members.is_empty());
    if anonymous_union {
        let value = &mut expr.to_mut().value;
        value.members.retain(|m| m.key != "discriminator");
        rename_key(value, "union", "alternate");
    }
    if uses_old_any(&expr.value) {
        rewrite_old_any(&mut expr.to_mut().value);
    }
    for flag in ["gen", "success-response"] {
        if expr.value.get(flag).and_then(Value::as_str) == Some("no") {
            member_mut(&mut expr.to_mut().value, flag).kind = ValueKind::Bool(false);
        }
    }
    let nested = lift_nested_structs(&mut expr);
    if !nested.is_empty() {
        let mut out = Vec::new();
        for (name, inner) in &nested {
            // Checked under a name of the user's namespace, then given
            // its implicit one.
            let mut decls = expand(ctx, inner)?;
            if let Some(decl) = decls.last_mut() {
                decl.name.clone_from(name);
            }
            out.extend(decls);
        }
        out.extend(expand(ctx, &expr)?);
        return Ok(out);
    }
    if contains_c_condition(&expr.value) {
        rewrite_conditions(&mut expr.to_mut().value);
    }
    match simple_union(&expr) {
        Some(rewrite) => rewrite.expand(ctx, &expr),
        None => Ok(vec![check_expr(ctx, &expr)?]),
    }
}

/// The names QEMU 2.0 used where later releases have `any`.
fn is_old_any(value: &Value) -> bool {
    matches!(value.as_str(), Some("visitor" | "**" | "dict"))
}

/// Whether a command's `returns` or a member of its `data` is of an old
/// name of `any`.
fn uses_old_any(obj: &Object) -> bool {
    obj.get("returns").is_some_and(is_old_any)
        || obj
            .get("data")
            .and_then(Value::as_object)
            .is_some_and(|d| d.members.iter().any(|m| is_old_any(&m.value)))
}

fn rewrite_old_any(obj: &mut Object) {
    for m in &mut obj.members {
        match m.key.as_str() {
            "returns" if is_old_any(&m.value) => m.value.kind = ValueKind::Str("any".to_owned()),
            "data" => {
                if let ValueKind::Object(data) = &mut m.value.kind {
                    for member in data.members.iter_mut().filter(|m| is_old_any(&m.value)) {
                        member.value.kind = ValueKind::Str("any".to_owned());
                    }
                }
            }
            _ => {}
        }
    }
}

/// Replaces each anonymous nested struct in the members of a struct,
/// command or event by the name of an implicit struct, and returns those
/// names with the structs' definitions (written under a stand-in name),
/// innermost first.
fn lift_nested_structs(expr: &mut Cow<'_, Expression>) -> Vec<(String, Expression)> {
    let Some(parent) = ["struct", "command", "event"]
        .iter()
        .find_map(|meta| expr.value.get(meta)?.as_str())
        .map(str::to_owned)
    else {
        return Vec::new();
    };
    if !has_nested_struct(&expr.value) {
        return Vec::new();
    }
    let expr = expr.to_mut();
    let mut lifted = Vec::new();
    let site = (expr.span, expr.info);
    lift_members(&mut expr.value, &parent, site, &mut lifted);
    lifted
}

fn has_nested_struct(obj: &Object) -> bool {
    obj.get("data")
        .and_then(Value::as_object)
        .is_some_and(|data| data.members.iter().any(|m| is_nested_struct(&m.value)))
}

/// Lifts the nested structs of `obj`'s `data` (and theirs) into `out`.
fn lift_members(
    obj: &mut Object,
    parent: &str,
    site: (Span, Info),
    out: &mut Vec<(String, Expression)>,
) {
    if !has_nested_struct(obj) {
        return;
    }
    let (span, info) = site;
    let ValueKind::Object(data) = &mut member_mut(obj, "data").kind else {
        return;
    };
    for m in &mut data.members {
        if !is_nested_struct(&m.value) {
            continue;
        }
        let stem = parent.strip_prefix("q_obj_").unwrap_or(parent);
        let name = format!("q_obj_{stem}-{}", m.key.trim_start_matches('*'));
        let type_name = Value {
            kind: ValueKind::Str(name.clone()),
            span: m.value.span,
        };
        let members = std::mem::replace(&mut m.value, type_name);
        let stand_in = Value {
            kind: ValueKind::Str("NestedStruct".to_owned()),
            span,
        };
        let mut definition = Object {
            members: vec![
                Member {
                    key: "struct".to_owned(),
                    key_span: span,
                    value: stand_in,
                },
                Member {
                    key: "data".to_owned(),
                    key_span: span,
                    value: members,
                },
            ],
        };
        lift_members(&mut definition, &name, site, out);
        out.push((
            name,
            Expression {
                value: definition,
                span,
                info,
                doc: None,
            },
        ));
    }
}

/// Whether a member's value is an anonymous struct rather than today's
/// `{ 'type': ..., 'if': ..., 'features': ... }`.
fn is_nested_struct(value: &Value) -> bool {
    let ValueKind::Object(o) = &value.kind else {
        return false;
    };
    !o.contains("type")
        || o.members
            .iter()
            .any(|m| !["type", "if", "features"].contains(&m.key.as_str()))
}

fn rename_key(obj: &mut Object, from: &str, to: &str) {
    if let Some(m) = obj.members.iter_mut().find(|m| m.key == from) {
        m.key = to.to_owned();
    }
}

fn member_mut<'o>(obj: &'o mut Object, key: &str) -> &'o mut Value {
    &mut obj
        .members
        .iter_mut()
        .find(|m| m.key == key)
        .expect("caller checked the key")
        .value
}

/// A simple union, and the wrapper type of each branch.
struct SimpleUnion {
    name: String,
    /// Per branch: the wrapper's name and the wrapped type.
    wrappers: Vec<(String, TypeRef)>,
}

fn simple_union(expr: &Expression) -> Option<SimpleUnion> {
    let obj = &expr.value;
    let name = obj.get("union")?.as_str()?;
    if obj.contains("base") || obj.contains("discriminator") {
        return None;
    }
    let data = obj.get("data")?.as_object()?;
    let mut wrappers = Vec::new();
    for m in &data.members {
        let ty = match &m.value.kind {
            ValueKind::Object(o) => o.get("type")?,
            _ => &m.value,
        };
        let ty = match &ty.kind {
            ValueKind::Str(s) => TypeRef::Name(s.clone()),
            ValueKind::Array(items) if items.len() == 1 => {
                TypeRef::Array(items[0].as_str()?.to_owned())
            }
            _ => return None,
        };
        let wrapped = match &ty {
            TypeRef::Name(n) => n.clone(),
            TypeRef::Array(e) => format!("{e}List"),
        };
        wrappers.push((format!("q_obj_{wrapped}-wrapper"), ty));
    }
    Some(SimpleUnion {
        name: name.to_owned(),
        wrappers,
    })
}

impl SimpleUnion {
    fn expand(self, ctx: &mut Ctx, expr: &Expression) -> Result<Vec<Decl>, Diagnostic> {
        let span = expr.span;
        let text = |s: &str| Value {
            kind: ValueKind::Str(s.to_owned()),
            span,
        };
        let member = |key: &str, value: Value| Member {
            key: key.to_owned(),
            key_span: span,
            value,
        };
        let kind_name = format!("{}Kind", self.name);
        // The flat union the simple union stands for.
        let mut flat = expr.clone();
        let data = member_mut(&mut flat.value, "data");
        if let ValueKind::Object(branches) = &mut data.kind {
            for (m, (wrapper, _)) in branches.members.iter_mut().zip(&self.wrappers) {
                match &mut m.value.kind {
                    ValueKind::Object(o) => *member_mut(o, "type") = text(wrapper),
                    _ => m.value = text(wrapper),
                }
            }
        }
        let base = Object {
            members: vec![member("type", text(&kind_name))],
        };
        flat.value.members.push(member(
            "base",
            Value {
                kind: ValueKind::Object(base),
                span,
            },
        ));
        flat.value
            .members
            .push(member("discriminator", text("type")));
        let union = check_expr(ctx, &flat)?;
        let DeclBody::Union { branches, .. } = &union.body else {
            unreachable!("a union expression checks as a union");
        };
        let mut out: Vec<Decl> = Vec::new();
        for ((wrapper, ty), branch) in self.wrappers.into_iter().zip(branches) {
            if out.iter().any(|d| d.name == wrapper) {
                continue;
            }
            // The wrapper exists where its branch does.
            out.push(Decl {
                name: wrapper,
                info: union.info,
                span,
                head: union.head,
                doc: None,
                ifcond: branch.ifcond.clone(),
                features: Vec::new(),
                body: DeclBody::Struct {
                    base: None,
                    members: vec![MemberDecl {
                        name: "data".to_owned(),
                        optional: false,
                        ty,
                        ifcond: None,
                        features: Vec::new(),
                        span,
                    }],
                },
            });
        }
        out.push(Decl {
            name: kind_name,
            info: union.info,
            span,
            head: union.head,
            doc: None,
            ifcond: union.ifcond.clone(),
            features: Vec::new(),
            body: DeclBody::Enum {
                values: branches
                    .iter()
                    .map(|b| super::expr::EnumValueDecl {
                        name: b.name.clone(),
                        ifcond: b.ifcond.clone(),
                        features: Vec::new(),
                        span: b.span,
                    })
                    .collect(),
                prefix: None,
            },
        });
        out.push(union);
        Ok(out)
    }
}

/// Whether an old-style condition occurs anywhere in `obj`.
fn contains_c_condition(obj: &Object) -> bool {
    obj.members.iter().any(|m| {
        (m.key == "if" && is_c_condition(&m.value)) || value_contains_c_condition(&m.value)
    })
}

fn value_contains_c_condition(v: &Value) -> bool {
    match &v.kind {
        ValueKind::Object(o) => contains_c_condition(o),
        ValueKind::Array(items) => items.iter().any(value_contains_c_condition),
        _ => false,
    }
}

fn is_c_condition(v: &Value) -> bool {
    match &v.kind {
        ValueKind::Str(s) => s.contains("defined("),
        ValueKind::Array(_) => true,
        _ => false,
    }
}

fn rewrite_conditions(obj: &mut Object) {
    for m in &mut obj.members {
        if m.key == "if" && is_c_condition(&m.value) {
            if let Some(cond) = c_condition_value(&m.value) {
                m.value = cond;
            }
        } else {
            rewrite_value(&mut m.value);
        }
    }
}

fn rewrite_value(v: &mut Value) {
    match &mut v.kind {
        ValueKind::Object(o) => rewrite_conditions(o),
        ValueKind::Array(items) => items.iter_mut().for_each(rewrite_value),
        _ => {}
    }
}

/// Today's form of an old condition; `None` if it cannot be read (the
/// checker then reports it as it stands).
fn c_condition_value(v: &Value) -> Option<Value> {
    let span = v.span;
    match &v.kind {
        ValueKind::Str(s) => CondParser { rest: s, span }.parse(),
        ValueKind::Array(items) => {
            let ops = items
                .iter()
                .map(c_condition_value)
                .collect::<Option<Vec<_>>>()?;
            Some(match <[Value; 1]>::try_from(ops) {
                Ok([single]) => single,
                Err(ops) => operator("all", ops, span),
            })
        }
        _ => None,
    }
}

fn operator(op: &str, operands: Vec<Value>, span: crate::source::Span) -> Value {
    Value {
        kind: ValueKind::Object(Object {
            members: vec![Member {
                key: op.to_owned(),
                key_span: span,
                value: Value {
                    kind: ValueKind::Array(operands),
                    span,
                },
            }],
        }),
        span,
    }
}

/// A recursive-descent reader for `defined(X)`, `!`, `&&`, `||` and
/// parentheses.
struct CondParser<'s> {
    rest: &'s str,
    span: crate::source::Span,
}

impl CondParser<'_> {
    fn parse(mut self) -> Option<Value> {
        let v = self.or()?;
        self.rest.trim().is_empty().then_some(v)
    }

    fn eat(&mut self, token: &str) -> bool {
        let trimmed = self.rest.trim_start();
        match trimmed.strip_prefix(token) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn list(&mut self, op: &str, next: fn(&mut Self) -> Option<Value>) -> Option<Value> {
        let mut ops = vec![next(self)?];
        while self.eat(op) {
            ops.push(next(self)?);
        }
        Some(if ops.len() == 1 {
            ops.pop()?
        } else {
            operator(if op == "||" { "any" } else { "all" }, ops, self.span)
        })
    }

    fn or(&mut self) -> Option<Value> {
        self.list("||", Self::and)
    }

    fn and(&mut self) -> Option<Value> {
        self.list("&&", Self::unary)
    }

    fn unary(&mut self) -> Option<Value> {
        if self.eat("!") {
            let operand = self.unary()?;
            return Some(Value {
                kind: ValueKind::Object(Object {
                    members: vec![Member {
                        key: "not".to_owned(),
                        key_span: self.span,
                        value: operand,
                    }],
                }),
                span: self.span,
            });
        }
        if self.eat("(") {
            let v = self.or()?;
            return self.eat(")").then_some(v);
        }
        let defined = self.eat("defined(");
        let trimmed = self.rest.trim_start();
        let len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(trimmed.len());
        if len == 0 {
            return None;
        }
        let name = &trimmed[..len];
        self.rest = &trimmed[len..];
        if defined && !self.eat(")") {
            return None;
        }
        Some(Value {
            kind: ValueKind::Str(name.to_owned()),
            span: self.span,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IfCond;
    use crate::source::{FileId, Span};

    fn read(s: &str) -> Option<String> {
        let span = Span::new(FileId(0), 0, 0);
        let v = CondParser { rest: s, span }.parse()?;
        Some(format!("{}", to_cond(&v)))
    }

    fn to_cond(v: &Value) -> IfCond {
        match &v.kind {
            ValueKind::Str(s) => IfCond::Name(s.clone()),
            ValueKind::Object(o) => {
                let m = &o.members[0];
                match (m.key.as_str(), &m.value.kind) {
                    ("not", _) => IfCond::Not(Box::new(to_cond(&m.value))),
                    ("all", ValueKind::Array(a)) => IfCond::All(a.iter().map(to_cond).collect()),
                    (_, ValueKind::Array(a)) => IfCond::Any(a.iter().map(to_cond).collect()),
                    _ => unreachable!(),
                }
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn c_conditions() {
        assert_eq!(read("defined(CONFIG_A)").unwrap(), "CONFIG_A");
        assert_eq!(
            read("defined(A) || defined(B)").unwrap(),
            "{'any': ['A', 'B']}"
        );
        assert_eq!(
            read("defined(A) && !defined(B) || defined(C)").unwrap(),
            "{'any': [{'all': ['A', {'not': 'B'}]}, 'C']}"
        );
        assert_eq!(read("(defined(A))").unwrap(), "A");
        assert_eq!(read("defined(A"), None);
        assert_eq!(read("defined(A) +"), None);
    }
}
