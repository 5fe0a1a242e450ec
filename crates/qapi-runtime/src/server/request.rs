//! The shape of a QMP/QGA request, checked as QEMU checks it
//! (`qmp_dispatch_check_obj`), with its error texts.
//!
//! QEMU walks the request's members in the iteration order of its `QDict`
//! hash table and reports the first member that is wrong, so when several
//! are wrong the one named depends on that order
//! ([`qdict_order`]).

use std::fmt;

use serde_json::{Map, Value};

use crate::json::order::qdict_order;

/// A request whose shape is right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request<'a> {
    /// The command's name.
    pub command: &'a str,
    /// Whether it came as `exec-oob`.
    pub oob: bool,
    /// The arguments, if any were given.
    pub arguments: Option<&'a Map<String, Value>>,
    /// The `id`, echoed in the reply.
    pub id: Option<&'a Value>,
}

/// Why a request's shape is wrong.  QEMU answers all of these with
/// `GenericError` and the text of [`Display`](fmt::Display).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// Not a JSON object.
    NotObject,
    /// `execute` (or `exec-oob`) is not a string.
    NotString(String),
    /// Both `execute` and `exec-oob`.
    Clash(String, String),
    /// `arguments` is not an object.
    ArgumentsNotObject,
    /// A member QMP does not know.
    Unexpected(String),
    /// Neither `execute` nor `exec-oob`.
    LacksExecute,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::NotObject => f.write_str("QMP input must be a JSON object"),
            ShapeError::NotString(m) => write!(f, "QMP input member '{m}' must be a string"),
            ShapeError::Clash(a, b) => write!(f, "QMP input member '{a}' clashes with '{b}'"),
            ShapeError::ArgumentsNotObject => {
                f.write_str("QMP input member 'arguments' must be an object")
            }
            ShapeError::Unexpected(m) => write!(f, "QMP input member '{m}' is unexpected"),
            ShapeError::LacksExecute => f.write_str("QMP input lacks member 'execute'"),
        }
    }
}

impl std::error::Error for ShapeError {}

/// Checks a request's shape.  `allow_oob` is whether this channel accepts
/// `exec-oob` (QMP after the `oob` capability; never for QGA, where
/// `exec-oob` is an unexpected member).
pub fn check(request: &Value, allow_oob: bool) -> Result<Request<'_>, ShapeError> {
    let Value::Object(map) = request else {
        return Err(ShapeError::NotObject);
    };
    let mut command: Option<(&str, &str)> = None;
    for key in qdict_order(map.keys().map(String::as_str)) {
        let value = &map[key];
        match key {
            "execute" | "exec-oob" if key == "execute" || allow_oob => {
                let Value::String(name) = value else {
                    return Err(ShapeError::NotString(key.to_owned()));
                };
                if let Some((first, _)) = command {
                    return Err(ShapeError::Clash(key.to_owned(), first.to_owned()));
                }
                command = Some((key, name));
            }
            "arguments" => {
                if !value.is_object() {
                    return Err(ShapeError::ArgumentsNotObject);
                }
            }
            "id" => {}
            other => return Err(ShapeError::Unexpected(other.to_owned())),
        }
    }
    let (key, name) = command.ok_or(ShapeError::LacksExecute)?;
    Ok(Request {
        command: name,
        oob: key == "exec-oob",
        arguments: map.get("arguments").and_then(Value::as_object),
        id: map.get("id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What qemu-ga 7.2 answered to these requests (run by hand; the wire
    /// tests against a running qemu-ga belong to the agent).
    #[test]
    fn the_first_bad_member_in_qdict_order_is_named() {
        let cases = [
            (
                r#"{"execute":"guest-ping","foo":1,"bar":2}"#,
                "QMP input member 'bar' is unexpected",
            ),
            (
                r#"{"bar":2,"foo":1,"execute":"guest-ping"}"#,
                "QMP input member 'bar' is unexpected",
            ),
            (
                r#"{"execute":"guest-ping","zz":1,"aa":2,"mm":3}"#,
                "QMP input member 'aa' is unexpected",
            ),
            (
                r#"{"aa":2,"execute":"guest-ping","zz":1}"#,
                "QMP input member 'aa' is unexpected",
            ),
            (
                r#"{"execute":1,"arguments":[]}"#,
                "QMP input member 'execute' must be a string",
            ),
            (
                r#"{"arguments":[],"execute":1}"#,
                "QMP input member 'execute' must be a string",
            ),
            (
                r#"{"execute":"guest-ping","exec-oob":"x"}"#,
                "QMP input member 'exec-oob' is unexpected",
            ),
        ];
        for (text, want) in cases {
            let request: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                check(&request, false).unwrap_err().to_string(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn good_requests() {
        let r = json!({"execute": "guest-ping", "arguments": {}, "id": 7});
        let req = check(&r, false).unwrap();
        assert_eq!(req.command, "guest-ping");
        assert!(!req.oob);
        assert_eq!(req.id, Some(&json!(7)));
        assert!(req.arguments.is_some_and(|a| a.is_empty()));
        let oob_request = json!({"exec-oob": "x"});
        let oob = check(&oob_request, true).unwrap();
        assert!(oob.oob && oob.arguments.is_none() && oob.id.is_none());
    }

    #[test]
    fn shape_errors_have_qemus_texts() {
        let cases = [
            (json!([1]), "QMP input must be a JSON object"),
            (
                json!({"execute": 1}),
                "QMP input member 'execute' must be a string",
            ),
            (
                json!({"execute": "a", "arguments": []}),
                "QMP input member 'arguments' must be an object",
            ),
            (
                json!({"execute": "a", "foo": 1}),
                "QMP input member 'foo' is unexpected",
            ),
            (json!({"arguments": {}}), "QMP input lacks member 'execute'"),
            (
                json!({"exec-oob": "a"}),
                "QMP input member 'exec-oob' is unexpected",
            ),
        ];
        for (request, text) in cases {
            assert_eq!(
                check(&request, false).unwrap_err().to_string(),
                text,
                "{request}"
            );
        }
        let clash = check(&json!({"execute": "a", "exec-oob": "b"}), true).unwrap_err();
        assert!(matches!(clash, ShapeError::Clash(_, _)), "{clash:?}");
    }
}
