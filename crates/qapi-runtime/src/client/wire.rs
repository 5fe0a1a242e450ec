//! What a client writes and how it reads what comes back: requests,
//! replies, events and greetings as JSON, shared by the async and the
//! blocking client.

use serde_json::{Map, Value};

use super::error::ClientError;
use crate::de::{Decode, Mode};
use crate::json;
use crate::{Command, Error, ErrorClass, Events};

/// The bytes of a request: `execute` (or `exec-oob`) with its arguments
/// (left out when `null` or empty) and a numeric id.
pub(super) fn request(name: &str, arguments: Value, id: u64, oob: bool) -> Vec<u8> {
    let mut request = Map::new();
    let key = if oob { "exec-oob" } else { "execute" };
    request.insert(key.to_owned(), Value::from(name));
    let none = arguments.is_null() || arguments.as_object().is_some_and(Map::is_empty);
    if !none {
        request.insert("arguments".to_owned(), arguments);
    }
    request.insert("id".to_owned(), Value::from(id));
    json::to_vec(&Value::Object(request))
}

/// A command's arguments as JSON.
pub(super) fn arguments<C: Command>(arguments: &C) -> Result<Value, ClientError> {
    serde_json::to_value(arguments).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// The answer in a reply: `return`'s value, or the error.
pub(super) fn answer(mut reply: Map<String, Value>) -> Result<Value, Answer> {
    if let Some(value) = reply.remove("return") {
        return Ok(value);
    }
    match reply.remove("error") {
        Some(error) => {
            let class = error.get("class").and_then(Value::as_str).unwrap_or("");
            let desc = error.get("desc").and_then(Value::as_str).unwrap_or("");
            Err(Answer::Error(Error::new(
                ErrorClass::from_name(class),
                desc,
            )))
        }
        None => Err(Answer::Malformed(Value::Object(reply))),
    }
}

/// A reply that is not a `return`.
#[derive(Debug)]
pub(super) enum Answer {
    /// The server's error.
    Error(Error),
    /// Neither `return` nor `error`.
    Malformed(Value),
}

impl Answer {
    /// The error a call of `command` gets.
    pub(super) fn into_error(self, command: &str) -> ClientError {
        match self {
            Answer::Error(error) => ClientError::Server {
                command: command.to_owned(),
                error,
            },
            Answer::Malformed(reply) => {
                ClientError::Protocol(format!("a reply without return or error: {reply}"))
            }
        }
    }
}

/// Decodes the reply to command `C` in `mode`, keeping it if it does not
/// decode.
pub(super) fn returns<C: Command>(value: Value, mode: Mode) -> Result<C::Returns, ClientError> {
    C::Returns::decode_as(value.clone(), mode)
        .map_err(|error| ClientError::mismatch(format!("the reply to {}", C::NAME), error, value))
}

/// When QEMU emitted an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the epoch.
    pub seconds: i64,
    /// Microseconds within the second.
    pub microseconds: i64,
}

/// An event as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// Its name.
    pub name: String,
    /// Its data, if it had any.
    pub data: Option<Value>,
    /// When it was emitted.
    pub timestamp: Timestamp,
}

impl RawEvent {
    /// The event in a message, if the message is one.
    pub(super) fn from_message(message: &mut Map<String, Value>) -> Option<RawEvent> {
        let name = message.get("event")?.as_str()?.to_owned();
        let stamp = message.get("timestamp");
        let part = |key| {
            stamp
                .and_then(|t| t.get(key))
                .and_then(Value::as_i64)
                .unwrap_or_default()
        };
        Some(RawEvent {
            name,
            timestamp: Timestamp {
                seconds: part("seconds"),
                microseconds: part("microseconds"),
            },
            data: message.remove("data"),
        })
    }

    /// The event as `E` (the generated `Event` enum), read in `mode`.
    pub fn decode<E: Events>(&self, mode: Mode) -> Result<TypedEvent<E>, ClientError> {
        let event = E::decode_event(&self.name, self.data.clone(), mode).map_err(|error| {
            let raw = self.data.clone().unwrap_or(Value::Null);
            ClientError::mismatch(format!("event {}", self.name), error, raw)
        })?;
        Ok(TypedEvent {
            event,
            timestamp: self.timestamp,
        })
    }
}

/// A typed event and when it was emitted.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedEvent<E> {
    /// The event.
    pub event: E,
    /// When it was emitted.
    pub timestamp: Timestamp,
}

/// What a QMP greeting says.
#[derive(Clone, Debug, PartialEq)]
pub struct Greeting {
    /// `(major, minor, micro)` of `QMP.version.qemu`.
    pub version: (i64, i64, i64),
    /// `QMP.version.package`.
    pub package: String,
    /// The capabilities offered (`oob`).
    pub capabilities: Vec<String>,
    /// The greeting as it came.
    pub raw: Value,
}

impl Greeting {
    /// The greeting in `message`, or why it is none.
    pub(super) fn parse(message: Value) -> Result<Greeting, ClientError> {
        let Some(qmp) = message.get("QMP") else {
            return Err(ClientError::Protocol(format!(
                "expected a QMP greeting, got {message}"
            )));
        };
        let number = |key| qmp["version"]["qemu"][key].as_i64().unwrap_or_default();
        Ok(Greeting {
            version: (number("major"), number("minor"), number("micro")),
            package: qmp["version"]["package"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            capabilities: qmp["capabilities"]
                .as_array()
                .map(|caps| {
                    caps.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            raw: message,
        })
    }

    /// Whether the server offers `oob`.
    pub fn offers_oob(&self) -> bool {
        self.capabilities.iter().any(|c| c == "oob")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_leave_empty_arguments_out() {
        assert_eq!(
            request("query-status", json!({}), 7, false),
            br#"{"execute": "query-status", "id": 7}"#
        );
        assert_eq!(
            request("query-status", Value::Null, 7, false),
            br#"{"execute": "query-status", "id": 7}"#
        );
        assert_eq!(
            request("x", json!({"a": 1}), 8, true),
            br#"{"exec-oob": "x", "arguments": {"a": 1}, "id": 8}"#
        );
    }

    #[test]
    fn events_and_greetings_are_read() {
        let mut message = json!({"event": "STOP", "timestamp": {"seconds": 5, "microseconds": 6}})
            .as_object()
            .cloned()
            .unwrap();
        let event = RawEvent::from_message(&mut message).unwrap();
        assert_eq!(event.name, "STOP");
        assert_eq!(event.data, None);
        assert_eq!(
            event.timestamp,
            Timestamp {
                seconds: 5,
                microseconds: 6
            }
        );
        let greeting = Greeting::parse(
            json!({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22},
            "package": "Debian"}, "capabilities": ["oob"]}}),
        )
        .unwrap();
        assert_eq!(greeting.version, (7, 2, 22));
        assert!(greeting.offers_oob());
        assert!(Greeting::parse(json!({"return": {}})).is_err());
    }
}
