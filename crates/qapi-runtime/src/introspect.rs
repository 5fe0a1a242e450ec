//! Introspection data: the answer to `query-qmp-schema`, stored as a
//! static tree that conditional compilation can prune.  Parts with no
//! condition inside are stored as JSON text ([`Json::Text`]): one string
//! literal instead of a tree of constants is faster to generate and to
//! compile, and reads as what `query-qmp-schema` sends.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A JSON value known at compile time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A string.
    Str(&'static str),
    /// An array.
    Array(&'static [Json]),
    /// An object: members in order.
    Object(&'static [(&'static str, Json)]),
    /// A value written as JSON text (by the generator, so always valid
    /// JSON; text that is not reads as `null`).  [`Json::get`] does not
    /// look inside it.
    Text(&'static str),
}

impl Json {
    /// The value as a `serde_json::Value`.
    pub fn to_value(&self) -> serde_json::Value {
        match *self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(b),
            Json::Str(s) => serde_json::Value::String(s.to_owned()),
            Json::Array(items) => {
                serde_json::Value::Array(items.iter().map(Json::to_value).collect())
            }
            Json::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_value()))
                    .collect(),
            ),
            Json::Text(text) => serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(b),
            Json::Str(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Json::Text(_) => self.to_value().serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    static TREE: Json = Json::Array(&[
        Json::Object(&[
            ("name", Json::Str("x")),
            ("default", Json::Null),
            ("ok", Json::Bool(true)),
        ]),
        Json::Text(r#"{"name":"y","members":[{"type":"int"}]}"#),
    ]);

    #[test]
    fn serializes_in_order() {
        assert_eq!(
            serde_json::to_string(&TREE).unwrap(),
            r#"[{"name":"x","default":null,"ok":true},{"name":"y","members":[{"type":"int"}]}]"#
        );
        assert_eq!(
            TREE.to_value(),
            serde_json::json!([
                {"name": "x", "default": null, "ok": true},
                {"name": "y", "members": [{"type": "int"}]}
            ])
        );
    }
}
