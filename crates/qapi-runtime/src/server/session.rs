//! The protocol state of one QGA or QMP connection, without I/O: bytes in,
//! requests routed to the dispatcher, reply bytes out.  The tokio
//! transport ([`serve_connection`](super::serve_connection)) feeds it what
//! it reads and writes what it produces; [`Session::feed_blocking`] does
//! both on one thread.
//!
//! QGA, as qemu-ga: JSON values back to back; a reply per request except
//! for commands without a success response; `guest-sync-delimited`
//! prefixes its reply with 0xFF; errors in the byte stream are answered as
//! QEMU answers them; every message ends with `\n`.
//!
//! QMP, as QEMU's monitor: a greeting, then only `qmp_capabilities` until
//! it succeeds, then every command; with the `oob` capability, `exec-oob`
//! requests are routed past the in-band ones still queued; every message
//! ends with `\r\n`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::dispatch::{already_negotiated, error_reply, Dispatcher, Reply};
use super::request;
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

impl Protocol {
    /// What ends every message: `\r\n` for QMP (QEMU's monitor turns each
    /// `\n` it writes into `\r\n`, and libvirt splits on it), `\n` for QGA.
    pub const fn terminator(&self) -> &'static [u8] {
        match self {
            Protocol::Qga => b"\n",
            Protocol::Qmp(_) => b"\r\n",
        }
    }
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

/// A message read from the peer and not yet routed, with the bytes it was
/// read from.
#[derive(Debug)]
struct Incoming {
    message: Result<Value, JsonError>,
    size: usize,
}

/// One connection's protocol state.
pub struct Session<S> {
    dispatcher: Arc<Dispatcher<S>>,
    protocol: Protocol,
    streamer: Streamer,
    /// Requests to run in order, one at a time.
    in_band: VecDeque<Incoming>,
    /// QMP `exec-oob` requests, which run as soon as they are read.
    out_of_band: VecDeque<Incoming>,
    /// The bytes of the queued requests.
    queued_bytes: usize,
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
            .field("in_band", &self.in_band.len())
            .field("out_of_band", &self.out_of_band.len())
            .finish_non_exhaustive()
    }
}

/// A request on its way to its reply.
#[derive(Debug)]
pub struct Routed {
    /// The reply, or the work that gives it.
    pub reply: Reply,
    /// The reply goes out after a 0xFF byte if it is a success
    /// (`guest-sync-delimited`).
    pub delimited: bool,
}

impl Routed {
    fn ready(reply: Option<Value>) -> Self {
        Routed {
            reply: Reply::Ready(reply),
            delimited: false,
        }
    }
}

/// Whether QEMU's monitor treats `request` as out-of-band: it names
/// `exec-oob` and not `execute` (the dispatcher then refuses it where the
/// capability is off).
fn is_out_of_band(request: &Value) -> bool {
    request
        .as_object()
        .is_some_and(|r| r.contains_key("exec-oob") && !r.contains_key("execute"))
}

impl<S: Send + Sync + 'static> Session<S> {
    /// A new connection.
    pub fn new(dispatcher: Arc<Dispatcher<S>>, protocol: Protocol, limits: Limits) -> Self {
        Session {
            dispatcher,
            protocol,
            streamer: Streamer::new(limits),
            in_band: VecDeque::new(),
            out_of_band: VecDeque::new(),
            queued_bytes: 0,
            negotiated: false,
            oob: false,
        }
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// What to send as soon as the connection opens (QMP's greeting).
    pub fn opening(&self, out: &mut Vec<u8>) {
        if let Protocol::Qmp(greeting) = &self.protocol {
            self.write(&greeting.to_json(), out);
        }
    }

    /// Whether events may be sent (QMP after negotiation).
    pub fn accepts_events(&self) -> bool {
        matches!(self.protocol, Protocol::Qmp(_)) && self.negotiated
    }

    /// Takes bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        let qmp = matches!(self.protocol, Protocol::Qmp(_));
        let (in_band, out_of_band) = (&mut self.in_band, &mut self.out_of_band);
        let queued = &mut self.queued_bytes;
        self.streamer.feed_sized(bytes, |message, size| {
            *queued += size;
            let oob = qmp && message.as_ref().is_ok_and(is_out_of_band);
            let queue = if oob {
                &mut *out_of_band
            } else {
                &mut *in_band
            };
            queue.push_back(Incoming { message, size });
        });
    }

    /// The bytes read and held: the request being read and the queued
    /// ones.
    pub fn buffered_input(&self) -> usize {
        self.streamer.buffered() + self.queued_bytes
    }

    /// The bytes of the requests read and not yet routed.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// The number of in-band requests waiting.
    pub fn queued(&self) -> usize {
        self.in_band.len()
    }

    /// Routes the next out-of-band request, if one was read.
    pub fn next_out_of_band(&mut self) -> Option<Routed> {
        let incoming = self.out_of_band.pop_front()?;
        self.queued_bytes -= incoming.size;
        Some(self.route(incoming.message))
    }

    /// Routes the next in-band request, if one was read.
    pub fn next_in_band(&mut self) -> Option<Routed> {
        let incoming = self.in_band.pop_front()?;
        self.queued_bytes -= incoming.size;
        Some(self.route(incoming.message))
    }

    /// Appends one message as this protocol frames it.
    pub fn write(&self, message: &Value, out: &mut Vec<u8>) {
        json::write_value(message, out);
        out.extend_from_slice(self.protocol.terminator());
    }

    /// Appends a reply, if there is one, with QGA's 0xFF before a
    /// successful delimited one.
    pub fn write_reply(&self, reply: Option<Value>, delimited: bool, out: &mut Vec<u8>) {
        if let Some(reply) = reply {
            if delimited && reply.get("return").is_some() {
                out.push(0xff);
            }
            self.write(&reply, out);
        }
    }

    /// Pushes `bytes` and answers everything they complete on this thread
    /// (blocking handlers run here, futures are waited for), out-of-band
    /// requests first: the whole path from request bytes to reply bytes.
    pub fn feed_blocking(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.push(bytes);
        while let Some(routed) = self.next_out_of_band().or_else(|| self.next_in_band()) {
            self.write_reply(routed.reply.wait_here(), routed.delimited, out);
        }
    }

    /// Starts answering one message.
    fn route(&mut self, message: Result<Value, JsonError>) -> Routed {
        let request = match message {
            Ok(request) => request,
            Err(e) => return Routed::ready(Some(error_reply(&e.into(), None))),
        };
        let command = request
            .get("execute")
            .or_else(|| request.get("exec-oob"))
            .and_then(Value::as_str);
        match &self.protocol {
            Protocol::Qga => Routed {
                delimited: command == Some("guest-sync-delimited"),
                reply: self.dispatcher.start(request, false),
            },
            Protocol::Qmp(greeting) => {
                if command == Some("qmp_capabilities") && !self.negotiated {
                    let offered_oob = greeting.oob;
                    return Routed::ready(Some(self.capabilities(&request, offered_oob)));
                }
                if !self.negotiated {
                    let error = match request::check(&request, false) {
                        Err(e) => e.into(),
                        Ok(_) => Error::new(
                            ErrorClass::CommandNotFound,
                            "Expecting capabilities negotiation with 'qmp_capabilities'",
                        ),
                    };
                    let id = request.get("id").cloned();
                    return Routed::ready(Some(error_reply(&error, id)));
                }
                if command == Some("qmp_capabilities") {
                    let id = request.get("id").cloned();
                    return Routed::ready(Some(error_reply(&already_negotiated(), id)));
                }
                Routed {
                    delimited: false,
                    reply: self.dispatcher.start(request, self.oob),
                }
            }
        }
    }

    /// `qmp_capabilities` before negotiation, which the session answers.
    fn capabilities(&mut self, request: &Value, offered_oob: bool) -> Value {
        let id = request.get("id").cloned();
        let result = (|| -> Result<bool, Error> {
            let req = request::check(request, false)?;
            let arguments = Value::Object(req.arguments.cloned().unwrap_or_default());
            let mut members = crate::de::object(arguments, crate::de::Mode::Strict)?;
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
