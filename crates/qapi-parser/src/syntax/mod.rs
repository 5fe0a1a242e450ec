//! The syntax of schema files: values with spans, and the raw lines of
//! documentation blocks, as the pest grammar in `schema.pest` reads them.

mod grammar;
mod lexer;

pub(crate) use grammar::{item_error, parse_items, RawDoc, RawItem};
pub(crate) use lexer::{lexical_error, skip_trivia};

use crate::source::Span;

/// A value of the schema's JSON dialect, with the span it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: ValueKind,
    /// Where it was read.
    pub span: Span,
}

/// The kinds of value the schema syntax has: no numbers and no null.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    /// A single-quoted string, escapes decoded.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// `{ 'key': value, ... }`, keys unique, in source order.
    Object(Object),
    /// `[ value, ... ]`.
    Array(Vec<Value>),
}

/// An object's members in source order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Object {
    /// The members.
    pub members: Vec<Member>,
}

/// One `'key': value` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The key, escapes decoded.
    pub key: String,
    /// Where the key was read.
    pub key_span: Span,
    /// The value.
    pub value: Value,
}

impl Object {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.members.iter().find(|m| m.key == key).map(|m| &m.value)
    }

    /// The member named `key`, if present.
    pub fn member(&self, key: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.key == key)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.members.iter().any(|m| m.key == key)
    }

    /// The keys in source order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.key.as_str())
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ValueKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match &self.kind {
            ValueKind::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Python's truth value of the value: empty strings, arrays and
    /// objects and `false` are false.
    pub fn is_truthy(&self) -> bool {
        match &self.kind {
            ValueKind::Str(s) => !s.is_empty(),
            ValueKind::Bool(b) => *b,
            ValueKind::Object(o) => !o.is_empty(),
            ValueKind::Array(a) => !a.is_empty(),
        }
    }
}
