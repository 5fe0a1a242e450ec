//! Introspection data: the answer to `query-qmp-schema`, stored as a
//! static tree that conditional compilation can prune.  Parts with no
//! condition inside are stored as JSON text ([`Json::Text`]): one string
//! literal instead of a tree of constants is faster to generate and to
//! compile, and reads as what `query-qmp-schema` sends.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

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
    /// JSON; text that is not reads as `null`).  [`Json::get`],
    /// [`Json::items`] and [`Json::as_str`] look inside it as they look
    /// inside a tree.
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

    /// The member `key` of an object (for an object written as text, the
    /// member's own text).
    ///
    /// ```
    /// use qapi_runtime::introspect::Json;
    ///
    /// let entry = Json::Text(r#"{"name":"query-status","meta-type":"command"}"#);
    /// assert_eq!(entry.get("name").and_then(|n| n.as_str()), Some("query-status"));
    /// assert_eq!(entry.get("features"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<Json> {
        match *self {
            Json::Object(members) => members.iter().find(|(k, _)| *k == key).map(|(_, v)| *v),
            Json::Text(text) => {
                let members: BTreeMap<String, &'static RawValue> =
                    serde_json::from_str(text).ok()?;
                members.get(key).map(|v| Json::Text(v.get()))
            }
            _ => None,
        }
    }

    /// The items of an array (for an array written as text, each item's
    /// own text); `None` for anything else.
    pub fn items(&self) -> Option<Vec<Json>> {
        match *self {
            Json::Array(items) => Some(items.to_vec()),
            Json::Text(text) => {
                let items: Vec<&'static RawValue> = serde_json::from_str(text).ok()?;
                Some(items.into_iter().map(|v| Json::Text(v.get())).collect())
            }
            _ => None,
        }
    }

    /// The string, if this is one (written as text: one with no escape in
    /// it, as every name in introspection data is).
    pub fn as_str(&self) -> Option<&'static str> {
        match *self {
            Json::Str(s) => Some(s),
            // Borrowed from the text, which works where nothing is escaped.
            Json::Text(text) => serde_json::from_str(text).ok(),
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
    fn text_reads_as_the_tree_would() {
        let tree = TREE.items().expect("an array");
        let (object, text) = (tree[0], tree[1]);
        assert_eq!(object.get("name").and_then(|n| n.as_str()), Some("x"));
        assert_eq!(text.get("name").and_then(|n| n.as_str()), Some("y"));
        assert_eq!(text.get("nothing"), None);
        let members = text
            .get("members")
            .and_then(|m| m.items())
            .expect("members");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].get("type").and_then(|t| t.as_str()), Some("int"));
        assert_eq!(
            members[0].get("type").map(|t| t.to_value()),
            Some(serde_json::json!("int"))
        );
        // Every shape a value can take, nested, with spaces and escapes.
        let text = Json::Text(
            r#" { "a" : [ 1 , { "b" : "}]" } , [ ] ] , "c" : null , "d\"e" : true , "f" : "q\"" } "#,
        );
        let a = text.get("a").and_then(|a| a.items()).expect("a");
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].get("b").and_then(|b| b.as_str()), Some("}]"));
        assert_eq!(a[2].items(), Some(Vec::new()));
        assert_eq!(text.get("c"), Some(Json::Text("null")));
        assert_eq!(
            text.get("f").map(|f| f.to_value()),
            Some(serde_json::json!("q\""))
        );
        assert_eq!(text.get("f").and_then(|f| f.as_str()), None);
        // Whatever the text, no panic: broken text reads as nothing.
        for broken in ["", "{", "{\"a\"", "{\"a\":", "[1,", "{\"a\" 1}", "\"open"] {
            let json = Json::Text(broken);
            let _ = (json.get("a"), json.items(), json.as_str());
        }
        assert_eq!(Json::Text("{\"a\":[1,").get("a"), None);
    }

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
