//! Helpers that generated `Deserialize` impls use for unions and
//! alternates, whose wire form serde's derives cannot express together
//! with rejecting unknown members.

use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error};
use serde_json::{Map, Value};

/// Reads a JSON object, whose members generated code then takes one by
/// one.
pub fn object<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Map<String, Value>, D::Error> {
    Map::deserialize(deserializer)
}

/// Reads a string, for an enum: `Ok(Err(s))` for a string that is none of
/// `names` (the caller reports it with [`unknown_value`]).
pub fn string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::borrow::Cow<'de, str>, D::Error> {
    <std::borrow::Cow<'de, str>>::deserialize(deserializer)
}

/// The error for an enum value that is not one of `expected`.
pub fn unknown_value<E: Error>(value: &str, expected: &'static [&'static str]) -> E {
    E::unknown_variant(value, expected)
}

/// Removes member `name` from `map` and deserializes it.
pub fn take<T: DeserializeOwned, E: Error>(
    map: &mut Map<String, Value>,
    name: &'static str,
) -> Result<T, E> {
    match map.remove(name) {
        Some(v) => {
            serde_json::from_value(v).map_err(|e| E::custom(format_args!("member '{name}': {e}")))
        }
        None => Err(E::missing_field(name)),
    }
}

/// Removes optional member `name` from `map` and deserializes it.
pub fn take_optional<T: DeserializeOwned, E: Error>(
    map: &mut Map<String, Value>,
    name: &'static str,
) -> Result<Option<T>, E> {
    match map.remove(name) {
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| E::custom(format_args!("member '{name}': {e}"))),
        None => Ok(None),
    }
}

/// Deserializes what is left of `map` as `T` (which rejects members it
/// does not know).
pub fn rest<T: DeserializeOwned, E: Error>(map: Map<String, Value>) -> Result<T, E> {
    serde_json::from_value(Value::Object(map)).map_err(E::custom)
}

/// Requires that nothing is left of `map`.
pub fn no_rest<E: Error>(map: Map<String, Value>) -> Result<(), E> {
    match map.keys().next() {
        None => Ok(()),
        Some(k) => Err(E::custom(format_args!("unknown member '{k}'"))),
    }
}

/// Deserializes `value` as `T`, for the alternate branch chosen by the
/// value's JSON type.
pub fn branch<T: DeserializeOwned, E: Error>(value: Value) -> Result<T, E> {
    serde_json::from_value(value).map_err(E::custom)
}

/// The JSON type of `value`, as an alternate's error names it.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type E = serde_json::Error;

    #[test]
    fn take_members() {
        let Value::Object(mut map) = json!({"a": 1, "b": "x"}) else {
            unreachable!()
        };
        let a: i64 = take::<_, E>(&mut map, "a").unwrap();
        assert_eq!(a, 1);
        assert!(take::<i64, E>(&mut map, "b").is_err());
        let missing = take::<i64, E>(&mut map, "zz").unwrap_err().to_string();
        assert!(missing.contains("missing field"), "{missing}");
        assert_eq!(take_optional::<i64, E>(&mut map, "zz").unwrap(), None);
        assert!(no_rest::<E>(map).is_ok());
        let Value::Object(map) = json!({"c": 1}) else {
            unreachable!()
        };
        assert_eq!(
            no_rest::<E>(map).unwrap_err().to_string(),
            "unknown member 'c'"
        );
        assert_eq!(json_type(&json!([1])), "array");
    }
}
