//! The protocol state of one QGA or QMP connection, without I/O: bytes in,
//! reply bytes out.  Transports (see `transport`) feed it what they read and
//! write what it produces.
//!
//! QGA: JSON values back to back; a reply per request except for commands
//! without a success response; `guest-sync-delimited` prefixes its reply
//! with 0xFF; errors in the byte stream are answered as QEMU answers them.
//!
//! QMP: a greeting, then only `qmp_capabilities` until it succeeds, then
//! every command (and `exec-oob` if the `oob` capability was enabled), and
//! events with timestamps.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::dispatch::{error_reply, Dispatcher, Reply};
use crate::json::{self, JsonError, Limits, Streamer};
use crate::{Error, ErrorClass};

/// Which protocol a connection speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// The guest agent protocol.
    Qga,
    /// The machine protocol, with what the greeting announces.
    Qmp(Greeting),
}

/// What a QMP server says about itself when a client connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// `(major, minor, micro)`.
    pub version: (u32, u32, u32),
    /// The `package` string.
    pub package: String,
    /// Whether the `oob` capability is offered.
    pub oob: bool,
}

impl Default for Greeting {
    fn default() -> Self {
        Greeting {
            version: (0, 0, 0),
            package: String::new(),
            oob: true,
        }
    }
}

impl Greeting {
    /// The greeting message.
    pub fn to_json(&self) -> Value {
        let (major, minor, micro) = self.version;
        let capabilities: Vec<&str> = if self.oob { vec!["oob"] } else { vec![] };
        json!({"QMP": {
            "version": {"qemu": {"major": major, "minor": minor, "micro": micro},
                        "package": self.package},
            "capabilities": capabilities,
        }})
    }
}

/// One connection's protocol state.
pub struct Session<S> {
    dispatcher: Arc<Dispatcher<S>>,
    protocol: Protocol,
    streamer: Streamer,
    queue: VecDeque<Result<Value, JsonError>>,
    /// QMP: capabilities negotiated.
    negotiated: bool,
    /// QMP: `oob` enabled.
    oob: bool,
}

impl<S> std::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("protocol", &self.protocol)
            .field("negotiated", &self.negotiated)
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

/// Appends one reply as QEMU sends it: compact JSON and a newline.
pub fn write_reply(reply: &Value, out: &mut Vec<u8>) {
    json::write_value(reply, out);
    out.push(b'\n');
}

impl<S: Send + Sync + 'static> Session<S> {
    /// A new connection.
    pub fn new(dispatcher: Arc<Dispatcher<S>>, protocol: Protocol, limits: Limits) -> Self {
        Session {
            dispatcher,
            protocol,
            streamer: Streamer::new(limits),
            queue: VecDeque::new(),
            negotiated: false,
            oob: false,
        }
    }

    /// What to send as soon as the connection opens (QMP's greeting).
    pub fn opening(&self, out: &mut Vec<u8>) {
        if let Protocol::Qmp(greeting) = &self.protocol {
            write_reply(&greeting.to_json(), out);
        }
    }

    /// Whether events may be sent (QMP after negotiation).
    pub fn accepts_events(&self) -> bool {
        matches!(self.protocol, Protocol::Qmp(_)) && self.negotiated
    }

    /// Takes bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        let queue = &mut self.queue;
        self.streamer.feed(bytes, |r| queue.push_back(r));
    }

    /// Answers the next complete message into `out`; `false` if there is
    /// none.
    pub async fn answer_next(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(Routed { reply, delimited }) = self.route_next() else {
            return false;
        };
        let reply = match reply {
            Reply::Ready(reply) => reply,
            Reply::Pending(fut) => fut.await,
        };
        emit(reply, delimited, out);
        true
    }

    /// [`answer_next`](Self::answer_next) on this thread, blocking on an
    /// async handler.
    pub fn answer_next_blocking(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(Routed { reply, delimited }) = self.route_next() else {
            return false;
        };
        let reply = match reply {
            Reply::Ready(reply) => reply,
            Reply::Pending(fut) => crate::dispatch::block_on(fut),
        };
        emit(reply, delimited, out);
        true
    }

    /// Pushes `bytes` and answers everything they complete, blocking on
    /// async handlers: the whole path from request bytes to reply bytes.
    pub fn feed_blocking(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.push(bytes);
        while self.answer_next_blocking(out) {}
    }

    /// Starts answering the next complete message, if any.
    fn route_next(&mut self) -> Option<Routed> {
        let request = match self.queue.pop_front()? {
            Ok(request) => request,
            Err(e) => return Some(Routed::ready(Some(error_reply(&e.into(), None)))),
        };
        let command = request
            .get("execute")
            .or_else(|| request.get("exec-oob"))
            .and_then(Value::as_str);
        let routed = match &self.protocol {
            Protocol::Qga => Routed {
                delimited: command == Some("guest-sync-delimited"),
                reply: self.dispatcher.start(request, false),
            },
            Protocol::Qmp(greeting) => {
                if command == Some("qmp_capabilities") {
                    let offered_oob = greeting.oob;
                    return Some(Routed::ready(Some(
                        self.capabilities(&request, offered_oob),
                    )));
                }
                if !self.negotiated {
                    let error = match crate::request::check(&request, false) {
                        Err(e) => e.into(),
                        Ok(_) => Error::new(
                            ErrorClass::CommandNotFound,
                            "Expecting capabilities negotiation with 'qmp_capabilities'",
                        ),
                    };
                    let id = request.get("id").cloned();
                    return Some(Routed::ready(Some(error_reply(&error, id))));
                }
                Routed {
                    delimited: false,
                    reply: self.dispatcher.start(request, self.oob),
                }
            }
        };
        Some(routed)
    }

    /// `qmp_capabilities`, which the session answers itself.
    fn capabilities(&mut self, request: &Value, offered_oob: bool) -> Value {
        let id = request.get("id").cloned();
        let result = (|| -> Result<bool, Error> {
            let req = crate::request::check(request, false)?;
            if self.negotiated {
                return Err(Error::new(
                    ErrorClass::CommandNotFound,
                    "Capabilities negotiation is already complete, command ignored",
                ));
            }
            let mut members =
                crate::de::object(Value::Object(req.arguments.cloned().unwrap_or_default()))?;
            let enable: Option<Vec<String>> = members.take_optional("enable")?;
            members.finish()?;
            let mut oob = false;
            for (i, cap) in enable.unwrap_or_default().iter().enumerate() {
                if cap != "oob" {
                    return Err(crate::de::DecodeError::bad_value(cap)
                        .in_element(i)
                        .in_member("enable")
                        .into());
                }
                if !offered_oob {
                    return Err(Error::generic("Capability 'oob' not available"));
                }
                oob = true;
            }
            Ok(oob)
        })();
        match result {
            Ok(oob) => {
                self.negotiated = true;
                self.oob = oob;
                let mut reply = Map::new();
                reply.insert("return".to_owned(), json!({}));
                if let Some(id) = id {
                    reply.insert("id".to_owned(), id);
                }
                Value::Object(reply)
            }
            Err(e) => error_reply(&e, id),
        }
    }
}

/// A reply on its way, and whether it goes out 0xFF-delimited.
struct Routed {
    reply: Reply,
    delimited: bool,
}

impl Routed {
    fn ready(reply: Option<Value>) -> Self {
        Routed {
            reply: Reply::Ready(reply),
            delimited: false,
        }
    }
}

/// Writes a reply, with QGA's 0xFF before a successful delimited one.
fn emit(reply: Option<Value>, delimited: bool, out: &mut Vec<u8>) {
    if let Some(reply) = reply {
        if delimited && reply.get("return").is_some() {
            out.push(0xff);
        }
        write_reply(&reply, out);
    }
}

/// An event message: `{"event": NAME, "data": DATA, "timestamp": ...}`,
/// `data` only if the event has any.
pub fn event_message(name: &str, data: Option<Value>, at: SystemTime) -> Value {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut message = Map::new();
    message.insert("event".to_owned(), Value::from(name));
    if let Some(data) = data {
        message.insert("data".to_owned(), data);
    }
    message.insert(
        "timestamp".to_owned(),
        json!({"seconds": since.as_secs(), "microseconds": since.subsec_micros()}),
    );
    Value::Object(message)
}
