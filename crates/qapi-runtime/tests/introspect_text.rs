//! `Json::Text` reads as the value it holds: for any JSON value, compact
//! or pretty, every member and item looked up in its text (however deep)
//! is that member or item of the value.

use proptest::prelude::*;
use qapi_runtime::introspect::Json;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        // Integers only: serde_json does not read every double back
        // exactly (introspection data has no numbers at all).
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,6}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z\"\\\\\u{e9}]{0,4}", inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Checks `json` against `value`, and each member and item below.
fn reads_as(json: Json, value: &Value) {
    assert_eq!(json.to_value(), *value);
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let found = json.get(key).unwrap_or_else(|| panic!("no member {key:?}"));
                reads_as(found, member);
            }
            assert_eq!(json.get("no such key, not generated"), None);
            assert_eq!(json.items(), None);
        }
        Value::Array(items) => {
            let found = json.items().expect("items");
            assert_eq!(found.len(), items.len());
            for (found, item) in found.into_iter().zip(items) {
                reads_as(found, item);
            }
        }
        Value::String(s) if !s.contains(['"', '\\']) && !s.chars().any(char::is_control) => {
            assert_eq!(json.as_str(), Some(s.as_str()));
        }
        _ => assert_eq!(json.get("x"), None),
    }
}

proptest! {
    #[test]
    fn text_reads_as_its_value(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        }
        .expect("serializes");
        reads_as(Json::Text(Box::leak(text.into_boxed_str())), &value);
    }
}
