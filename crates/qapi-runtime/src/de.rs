//! Decoding JSON values into generated types, with QEMU's error texts.
//!
//! QEMU's input visitor names the member it failed on by its full path
//! (`vcpus[0].logical-id`) for most errors and by its bare name for a few
//! (`Parameter 'mode' does not accept value 'x'`).  [`Decode`] reproduces
//! both: an error starts at the value that is wrong and collects the path
//! while it travels up through [`Members::take`] and the list impl.
//!
//! Decoding reads in one of two [`Mode`]s, by who receives the value.  A
//! server reads what a client sends (command arguments) as strictly as
//! QEMU: a member or an enum value the schema does not know is an error.
//! A client reads what a server sends (replies, events) tolerantly,
//! because the server may be another QEMU release: unknown members are
//! ignored, an enum value the schema does not know decodes into the
//! enum's `Unrecognized` variant (which keeps the name and serializes back
//! to it), and a union branch the schema does not know keeps its members
//! ([`Unrecognized`]).  A member the schema requires is required in both.
//!
//! Generated `Deserialize` impls read a [`serde_json::Value`] and decode it
//! strictly, so serde users get the same messages.

use std::fmt;

use serde_json::{Map, Value};

/// How strictly a value is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// As QEMU reads arguments: unknown members and values are errors.
    #[default]
    Strict,
    /// As a client reads replies and events from a peer of another
    /// release: unknown members are ignored, unknown enum values and union
    /// branches are kept.
    Tolerant,
}

/// A type that can be decoded from a JSON value the way QEMU's input
/// visitor reads it.
pub trait Decode: Sized {
    /// Decodes `value` in `mode`.
    fn decode_as(value: Value, mode: Mode) -> Result<Self, DecodeError>;

    /// Decodes `value` strictly, as a server reads arguments.
    fn decode(value: Value) -> Result<Self, DecodeError> {
        Self::decode_as(value, Mode::Strict)
    }
}

/// Why a value does not decode.  [`Display`](fmt::Display) gives QEMU's
/// text (what a server answers, with `GenericError`); [`kind`](Self::kind)
/// and [`path`](Self::path) say what and where, for a client that reports
/// a reply that does not match its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    /// The full path from the outermost value, built on the way up.
    path: String,
    /// The innermost member name (`null` for a list element), for the
    /// errors QEMU reports by bare name.
    name: Option<String>,
}

/// What is wrong with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// A member the schema requires is missing.
    Missing,
    /// A member the schema does not have (strict mode).
    Unexpected,
    /// The value has another JSON type than this one (QEMU's word:
    /// `integer`, `string`, `boolean`, `number`, `object`, `array`,
    /// `null`).
    InvalidType(&'static str),
    /// The number is not a value of this integer type (`uint64`).
    Expects(&'static str),
    /// The number is out of this integer type's range (`uint8`,
    /// `int32`...); QEMU names the member by its bare name.
    OutOfRange(&'static str),
    /// The value fits no branch of this alternate.
    AlternateType(&'static str),
    /// The string is no value of the enum (strict mode), or selects a union
    /// branch that is compiled out.
    BadValue(String),
}

impl fmt::Display for DecodeErrorKind {
    /// What is wrong, in a client's words (not QEMU's).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Missing => f.write_str("a required member is missing"),
            DecodeErrorKind::Unexpected => f.write_str("a member the schema does not have"),
            DecodeErrorKind::InvalidType(t) => write!(f, "expected {t}"),
            DecodeErrorKind::Expects(t) | DecodeErrorKind::OutOfRange(t) => {
                write!(f, "not a value of type {t}")
            }
            DecodeErrorKind::AlternateType(t) => write!(f, "fits no branch of {t}"),
            DecodeErrorKind::BadValue(v) => write!(f, "the value '{v}' is not in the schema"),
        }
    }
}

use DecodeErrorKind as Kind;

impl DecodeError {
    fn at(kind: Kind) -> Self {
        DecodeError {
            kind,
            path: String::new(),
            name: None,
        }
    }

    /// Member `name` of the object being decoded is missing.
    pub fn missing(name: &str) -> Self {
        DecodeError {
            path: name.to_owned(),
            ..Self::at(Kind::Missing)
        }
    }

    /// Member `name` of the object being decoded is not in the schema.
    pub fn unexpected(name: &str) -> Self {
        DecodeError {
            path: name.to_owned(),
            ..Self::at(Kind::Unexpected)
        }
    }

    /// The value has the wrong JSON type; `expected` is QEMU's word for
    /// the right one (`integer`, `string`, `boolean`, `number`, `object`,
    /// `array`, `null`).
    pub fn invalid_type(expected: &'static str) -> Self {
        Self::at(Kind::InvalidType(expected))
    }

    /// The value is not in the range of the integer type `ty` (`int8`,
    /// `uint32`...).
    pub fn out_of_range(ty: &'static str) -> Self {
        Self::at(Kind::OutOfRange(ty))
    }

    /// The value fits none of the branches of alternate `ty`.
    pub fn alternate_mismatch(ty: &'static str) -> Self {
        Self::at(Kind::AlternateType(ty))
    }

    /// The value is not one of an enum's values (or selects a union branch
    /// that is compiled out).
    pub fn bad_value(value: &str) -> Self {
        Self::at(Kind::BadValue(value.to_owned()))
    }

    /// The error, seen from the object that holds the failing value as
    /// member `member`.
    pub fn in_member(mut self, member: &str) -> Self {
        if self.name.is_none() {
            self.name = Some(member.to_owned());
        }
        self.path = if self.path.is_empty() {
            member.to_owned()
        } else if self.path.starts_with('[') {
            format!("{member}{}", self.path)
        } else {
            format!("{member}.{}", self.path)
        };
        self
    }

    /// The error, seen from the list that holds the failing value at
    /// `index`.
    pub fn in_element(mut self, index: usize) -> Self {
        if self.name.is_none() {
            self.name = Some("null".to_owned());
        }
        self.path = if self.path.is_empty() || self.path.starts_with('[') {
            format!("[{index}]{}", self.path)
        } else {
            format!("[{index}].{}", self.path)
        };
        self
    }

    /// What is wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// Where, from the outermost value: `vcpus[0].logical-id`; empty for
    /// the outermost value itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn full_path(&self) -> &str {
        if self.path.is_empty() {
            "<anonymous>"
        } else {
            &self.path
        }
    }

    fn bare_name(&self) -> &str {
        self.name.as_deref().unwrap_or("null")
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Missing => write!(f, "Parameter '{}' is missing", self.full_path()),
            Kind::Unexpected => write!(f, "Parameter '{}' is unexpected", self.full_path()),
            Kind::InvalidType(t) => write!(
                f,
                "Invalid parameter type for '{}', expected: {t}",
                self.full_path()
            ),
            Kind::Expects(t) => write!(f, "Parameter '{}' expects {t}", self.full_path()),
            Kind::OutOfRange(t) => write!(f, "Parameter '{}' expects {t}", self.bare_name()),
            Kind::AlternateType(t) => write!(
                f,
                "Invalid parameter type for '{}', expected: {t}",
                self.bare_name()
            ),
            Kind::BadValue(v) => write!(
                f,
                "Parameter '{}' does not accept value '{v}'",
                self.bare_name()
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes `value` as `T` strictly, reporting errors as serde errors: what
/// generated `Deserialize` impls do.
pub fn deserialize<'de, T: Decode, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    T::decode(value).map_err(serde::de::Error::custom)
}

/// A type that is a JSON object on the wire, decoded member by member from
/// [`Members`]: structs, and union branches, whose members sit beside the
/// union's own.
pub trait DecodeMembers: Sized {
    /// Takes this type's members out of `members`.
    fn decode_members(members: &mut Members) -> Result<Self, DecodeError>;
}

/// The members of an object being decoded.  Decoding takes them out one
/// by one; [`Members::finish`] then rejects what is left (in strict mode),
/// naming the member QEMU would name.
#[derive(Debug)]
pub struct Members {
    map: Map<String, Value>,
    taken: Vec<&'static str>,
    mode: Mode,
}

impl Members {
    /// The mode the object is read in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Removes member `name` and decodes it.
    pub fn take<T: Decode>(&mut self, name: &'static str) -> Result<T, DecodeError> {
        match self.map.shift_remove(name) {
            Some(v) => {
                self.taken.push(name);
                T::decode_as(v, self.mode).map_err(|e| e.in_member(name))
            }
            None => Err(DecodeError::missing(name)),
        }
    }

    /// Removes optional member `name` and decodes it.  A member that is
    /// present must decode: QEMU does not read `null` as absent.
    pub fn take_optional<T: Decode>(
        &mut self,
        name: &'static str,
    ) -> Result<Option<T>, DecodeError> {
        match self.map.shift_remove(name) {
            Some(v) => {
                self.taken.push(name);
                T::decode_as(v, self.mode)
                    .map(Some)
                    .map_err(|e| e.in_member(name))
            }
            None => Ok(None),
        }
    }

    /// Takes every member that is left, for types that keep members the
    /// schema does not list.
    pub fn take_rest(&mut self) -> Map<String, Value> {
        std::mem::take(&mut self.map)
    }

    /// Requires that no member is left (in strict mode; a tolerant reader
    /// ignores them).  When several are, QEMU names the first in the
    /// iteration order of the `GHashTable` its visitor keeps (see
    /// [`crate::json::order::leftover_order`]); so does this.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.map.is_empty() || self.mode == Mode::Tolerant {
            return Ok(());
        }
        let keys = self
            .taken
            .iter()
            .copied()
            .chain(self.map.keys().map(String::as_str));
        let order = crate::json::order::leftover_order(keys);
        let first = order
            .into_iter()
            .find(|k| self.map.contains_key(*k))
            .unwrap_or_default();
        Err(DecodeError::unexpected(first))
    }
}

/// The members of an object read in `mode`, or the error for a value that
/// is not one.
pub fn object(value: Value, mode: Mode) -> Result<Members, DecodeError> {
    match value {
        Value::Object(map) => Ok(Members {
            map,
            taken: Vec::new(),
            mode,
        }),
        _ => Err(DecodeError::invalid_type("object")),
    }
}

/// Decodes an object type: its members, then (strictly) nothing else.
pub fn decode_object<T: DecodeMembers>(value: Value, mode: Mode) -> Result<T, DecodeError> {
    let mut members = object(value, mode)?;
    let decoded = T::decode_members(&mut members)?;
    members.finish()?;
    Ok(decoded)
}

/// Reads an enum's string.
pub fn enum_string(value: Value) -> Result<String, DecodeError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(DecodeError::invalid_type("string")),
    }
}

/// Decodes an enum that keeps values it does not know: `known` for a
/// value of the schema, else (tolerant mode) `unknown` with the name.
pub fn open_enum<T>(
    value: Value,
    mode: Mode,
    known: impl FnOnce(&str) -> Option<T>,
    unknown: impl FnOnce(String) -> T,
) -> Result<T, DecodeError> {
    let name = enum_string(value)?;
    match known(&name) {
        Some(v) => Ok(v),
        None if mode == Mode::Tolerant => Ok(unknown(name)),
        None => Err(DecodeError::bad_value(&name)),
    }
}

/// A union branch the schema does not know (read in tolerant mode): the
/// discriminator's value and every member beside the union's base, kept
/// as they came and written back as they came.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unrecognized {
    /// The discriminator's value.
    pub tag: String,
    /// The branch's members.
    pub members: Map<String, Value>,
}

impl Unrecognized {
    /// The branch of `tag` with the members left in `members`.
    pub fn take(tag: String, members: &mut Members) -> Self {
        Unrecognized {
            tag,
            members: members.take_rest(),
        }
    }
}

impl crate::ser::SerializeFields for Unrecognized {
    fn serialize_fields<M: serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (key, value) in &self.members {
            map.serialize_entry(key, value)?;
        }
        Ok(())
    }
}

impl Decode for i64 {
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        value
            .as_i64()
            .ok_or_else(|| DecodeError::invalid_type("integer"))
    }
}

impl Decode for u64 {
    /// QEMU accepts negative numbers for `uint64` and reads them as their
    /// two's complement, for backward compatibility.
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        let n = value.as_u64().or_else(|| value.as_i64().map(|i| i as u64));
        n.ok_or(DecodeError::at(Kind::Expects("uint64")))
    }
}

macro_rules! decode_narrow {
    ($($ty:ty: $wide:ty, $name:literal;)*) => {$(
        impl Decode for $ty {
            fn decode_as(value: Value, mode: Mode) -> Result<Self, DecodeError> {
                let wide = <$wide>::decode_as(value, mode)?;
                <$ty>::try_from(wide).map_err(|_| DecodeError::out_of_range($name))
            }
        }
    )*};
}

decode_narrow! {
    i8: i64, "int8";
    i16: i64, "int16";
    i32: i64, "int32";
    u8: u64, "uint8";
    u16: u64, "uint16";
    u32: u64, "uint32";
}

impl Decode for f64 {
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        value
            .as_f64()
            .ok_or_else(|| DecodeError::invalid_type("number"))
    }
}

impl Decode for bool {
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        value
            .as_bool()
            .ok_or_else(|| DecodeError::invalid_type("boolean"))
    }
}

impl Decode for String {
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        match value {
            Value::String(s) => Ok(s),
            _ => Err(DecodeError::invalid_type("string")),
        }
    }
}

impl Decode for () {
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        match value {
            Value::Null => Ok(()),
            _ => Err(DecodeError::invalid_type("null")),
        }
    }
}

impl Decode for Value {
    fn decode_as(value: Value, _: Mode) -> Result<Self, DecodeError> {
        Ok(value)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode_as(value: Value, mode: Mode) -> Result<Self, DecodeError> {
        let Value::Array(items) = value else {
            return Err(DecodeError::invalid_type("array"));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| T::decode_as(v, mode).map_err(|e| e.in_element(i)))
            .collect()
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode_as(value: Value, mode: Mode) -> Result<Self, DecodeError> {
        T::decode_as(value, mode).map(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err<T: Decode + fmt::Debug>(v: Value) -> String {
        T::decode(v).unwrap_err().to_string()
    }

    #[test]
    fn leaf_types_use_qemu_texts() {
        assert_eq!(i64::decode(json!(-5)).unwrap(), -5);
        assert_eq!(
            err::<i64>(json!(1.5)),
            "Invalid parameter type for '<anonymous>', expected: integer"
        );
        assert_eq!(u64::decode(json!(-1)).unwrap(), u64::MAX);
        assert_eq!(
            err::<u64>(json!("1")),
            "Parameter '<anonymous>' expects uint64"
        );
        assert_eq!(err::<u8>(json!(256)), "Parameter 'null' expects uint8");
        assert_eq!(
            err::<i32>(json!(1i64 << 40)),
            "Parameter 'null' expects int32"
        );
        assert_eq!(f64::decode(json!(3)).unwrap(), 3.0);
        assert!(err::<bool>(json!(0)).ends_with("expected: boolean"));
        assert!(err::<()>(json!(0)).ends_with("expected: null"));
        assert!(err::<Vec<i64>>(json!({})).ends_with("expected: array"));
    }

    struct Cpu;

    impl DecodeMembers for Cpu {
        fn decode_members(members: &mut Members) -> Result<Self, DecodeError> {
            let _: i64 = members.take("id")?;
            let _: Option<i64> = members.take_optional("opt")?;
            Ok(Cpu)
        }
    }

    impl Decode for Cpu {
        fn decode_as(value: Value, mode: Mode) -> Result<Self, DecodeError> {
            decode_object(value, mode)
        }
    }

    #[test]
    fn paths_grow_on_the_way_up() {
        let mut outer = object(json!({"vcpus": [{"id": 1}, {"id": "x"}]}), Mode::Strict).unwrap();
        let e = outer.take::<Vec<Cpu>>("vcpus").err().unwrap();
        assert_eq!(
            e.to_string(),
            "Invalid parameter type for 'vcpus[1].id', expected: integer"
        );
        let e = DecodeError::missing("logical-id")
            .in_element(0)
            .in_member("vcpus");
        assert_eq!(e.to_string(), "Parameter 'vcpus[0].logical-id' is missing");
        let e = DecodeError::invalid_type("string")
            .in_element(1)
            .in_member("arg");
        assert_eq!(
            e.to_string(),
            "Invalid parameter type for 'arg[1]', expected: string"
        );
        let e = DecodeError::bad_value("x")
            .in_member("mode")
            .in_member("outer");
        assert_eq!(e.to_string(), "Parameter 'mode' does not accept value 'x'");
        let e = DecodeError::bad_value("x").in_element(3).in_member("modes");
        assert_eq!(e.to_string(), "Parameter 'null' does not accept value 'x'");
        let e = DecodeError::alternate_mismatch("GuestFileWhence").in_member("whence");
        assert_eq!(
            e.to_string(),
            "Invalid parameter type for 'whence', expected: GuestFileWhence"
        );
        let mut empty = object(json!({}), Mode::Strict).unwrap();
        assert_eq!(
            empty.take::<i64>("id").unwrap_err().to_string(),
            "Parameter 'id' is missing"
        );
        assert!(object(json!([]), Mode::Tolerant).is_err());
    }

    #[test]
    fn leftovers_are_named_in_qemu_order() {
        // Answers of qemu-ga 7.2 to guest-sync with these arguments.
        for (args, named) in [
            (json!({"id": 1, "x": 2, "y": 3}), "y"),
            (
                json!({"gf": 1, "wxczle": 1, "gomolt": 1, "id": 1}),
                "gomolt",
            ),
            (json!({"id": 1, "nc": 1, "eshjitq": 1}), "eshjitq"),
        ] {
            struct Sync;
            impl DecodeMembers for Sync {
                fn decode_members(members: &mut Members) -> Result<Self, DecodeError> {
                    let _: i64 = members.take("id")?;
                    Ok(Sync)
                }
            }
            let e = decode_object::<Sync>(args.clone(), Mode::Strict)
                .err()
                .unwrap();
            assert_eq!(e.to_string(), format!("Parameter '{named}' is unexpected"));
            assert_eq!(e.kind(), &DecodeErrorKind::Unexpected);
            assert_eq!(e.path(), named);
            assert!(decode_object::<Sync>(args, Mode::Tolerant).is_ok());
        }
    }

    #[test]
    fn tolerant_mode_ignores_unknown_members_but_not_missing_ones() {
        let value = json!({"vcpus": [{"id": 1, "new-in-10.0": true}]});
        let mut strict = object(value.clone(), Mode::Strict).unwrap();
        let e = strict.take::<Vec<Cpu>>("vcpus").err().unwrap();
        assert_eq!(
            e.to_string(),
            "Parameter 'vcpus[0].new-in-10.0' is unexpected"
        );
        let mut tolerant = object(value, Mode::Tolerant).unwrap();
        assert!(tolerant.take::<Vec<Cpu>>("vcpus").is_ok());
        let mut missing = object(json!({"vcpus": [{"opt": 1}]}), Mode::Tolerant).unwrap();
        let e = missing.take::<Vec<Cpu>>("vcpus").err().unwrap();
        assert_eq!(e.kind(), &DecodeErrorKind::Missing);
        assert_eq!(e.path(), "vcpus[0].id");
        assert_eq!(e.kind().to_string(), "a required member is missing");
    }

    #[test]
    fn open_enums_keep_unknown_values_only_when_tolerant() {
        let known = |n: &str| (n == "a").then(|| "known".to_owned());
        let unknown = |n: String| format!("kept {n}");
        assert_eq!(
            open_enum(json!("b"), Mode::Tolerant, known, unknown).unwrap(),
            "kept b"
        );
        assert_eq!(
            open_enum(json!("b"), Mode::Strict, known, unknown)
                .unwrap_err()
                .to_string(),
            "Parameter 'null' does not accept value 'b'"
        );
        assert_eq!(
            open_enum(json!("a"), Mode::Strict, known, unknown).unwrap(),
            "known"
        );
    }
}
