//! The blocking client: one call at a time on a plain socket, events kept
//! until asked for.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::ToSocketAddrs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::builder::ClientBuilder;
use super::error::ClientError;
use super::wire::{self, Greeting, RawEvent, TypedEvent};
use crate::de::Mode;
use crate::json::{Limits, Streamer};
use crate::{Command, Events};

/// The socket under a blocking client.
#[derive(Debug)]
enum Socket {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

impl Socket {
    fn set_read_timeout(&self, limit: Option<Duration>) -> std::io::Result<()> {
        match self {
            Socket::Unix(s) => s.set_read_timeout(limit),
            Socket::Tcp(s) => s.set_read_timeout(limit),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Socket::Unix(s) => s.read(buf),
            Socket::Tcp(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Socket::Unix(s) => s.write_all(bytes),
            Socket::Tcp(s) => s.write_all(bytes),
        }
    }
}

/// A blocking QMP or QGA client: one call at a time.  Events that arrive
/// while it waits for a reply are kept (the most recent
/// [`event_backlog`](ClientBuilder::event_backlog) of them) until
/// [`next_event`](Self::next_event) or [`take_events`](Self::take_events)
/// asks for them.
#[derive(Debug)]
pub struct BlockingClient {
    socket: Socket,
    streamer: Streamer,
    next_id: u64,
    /// Replies read but not yet asked for.
    replies: VecDeque<Map<String, Value>>,
    events: VecDeque<RawEvent>,
    events_lost: u64,
    options: ClientBuilder,
    greeting: Option<Greeting>,
    oob: bool,
    closed: bool,
}

impl ClientBuilder {
    /// Connects to a Unix socket, blocking.
    pub fn blocking_unix(self, path: impl AsRef<Path>) -> Result<BlockingClient, ClientError> {
        let socket = std::os::unix::net::UnixStream::connect(path)?;
        self.blocking_start(Socket::Unix(socket))
    }

    /// Connects over TCP, blocking.
    pub fn blocking_tcp(self, addr: impl ToSocketAddrs) -> Result<BlockingClient, ClientError> {
        let socket = match self.connect_timeout {
            Some(limit) => {
                let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address")
                })?;
                std::net::TcpStream::connect_timeout(&addr, limit)?
            }
            None => std::net::TcpStream::connect(addr)?,
        };
        socket.set_nodelay(true)?;
        self.blocking_start(Socket::Tcp(socket))
    }

    fn blocking_start(self, socket: Socket) -> Result<BlockingClient, ClientError> {
        let qmp = self.qmp;
        let mut client = BlockingClient {
            socket,
            streamer: Streamer::new(Limits::default()),
            next_id: 1,
            replies: VecDeque::new(),
            events: VecDeque::new(),
            events_lost: 0,
            greeting: None,
            oob: false,
            closed: false,
            options: self,
        };
        if qmp {
            let deadline = client.options.connect_timeout.map(|t| Instant::now() + t);
            let greeting =
                client.next_reply(deadline, "the greeting", |m| m.contains_key("QMP"))?;
            let greeting = Greeting::parse(Value::Object(greeting))?;
            let oob = client.options.oob && greeting.offers_oob();
            let enable: Vec<&str> = if oob { vec!["oob"] } else { vec![] };
            client.call_by(
                "qmp_capabilities",
                serde_json::json!({ "enable": enable }),
                false,
                deadline,
            )?;
            client.greeting = Some(greeting);
            client.oob = oob;
        }
        Ok(client)
    }
}

impl BlockingClient {
    /// Connects to a guest agent's Unix socket.
    pub fn connect_qga(path: impl AsRef<Path>) -> Result<Self, ClientError> {
        ClientBuilder::qga().blocking_unix(path)
    }

    /// Connects to a QMP Unix socket and negotiates (`oob` if offered).
    pub fn connect_qmp(path: impl AsRef<Path>) -> Result<Self, ClientError> {
        ClientBuilder::qmp().blocking_unix(path)
    }

    /// The server's greeting (QMP).
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// Whether out-of-band execution was negotiated.
    pub fn oob_enabled(&self) -> bool {
        self.oob
    }

    /// Runs command `C` and decodes its reply.
    pub fn execute<C: Command>(&mut self, arguments: C) -> Result<C::Returns, ClientError> {
        let value = self.execute_raw(C::NAME, wire::arguments(&arguments)?)?;
        wire::returns::<C>(value, self.options.mode)
    }

    /// Runs a command by name with JSON arguments; the reply as it came.
    pub fn execute_raw(&mut self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        let deadline = self.options.call_timeout.map(|t| Instant::now() + t);
        self.call_by(name, arguments, false, deadline)
    }

    /// Runs command `C` with descriptors attached to the request
    /// (`SCM_RIGHTS`), as `getfd` and `add-fd` expect them.  Needs a Unix
    /// socket (and the `tokio` feature, which brings socket support).
    #[cfg(feature = "tokio")]
    pub fn execute_with_fds<C: Command>(
        &mut self,
        arguments: C,
        fds: &[std::os::fd::BorrowedFd<'_>],
    ) -> Result<C::Returns, ClientError> {
        let id = self.take_id();
        let bytes = wire::request(C::NAME, wire::arguments(&arguments)?, id, false);
        let Socket::Unix(socket) = &self.socket else {
            return Err(ClientError::Unsupported(
                "descriptors can only be passed over a Unix socket",
            ));
        };
        let sent = super::fds::send(socket, &bytes, fds)?;
        self.socket.write_all(&bytes[sent..])?;
        let deadline = self.options.call_timeout.map(|t| Instant::now() + t);
        let value = self.reply_to(C::NAME, id, deadline)?;
        wire::returns::<C>(value, self.options.mode)
    }

    /// The next event (kept or arriving), waiting at most `limit` for it
    /// (`None`: as long as it takes); `Ok(None)` if none came in time.
    /// `Err(EventsLost(n))` says `n` were dropped for want of a reader.
    pub fn next_event(&mut self, limit: Option<Duration>) -> Result<Option<RawEvent>, ClientError> {
        if self.events_lost > 0 {
            return Err(ClientError::EventsLost(std::mem::take(
                &mut self.events_lost,
            )));
        }
        let deadline = limit.map(|t| Instant::now() + t);
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            match self.read_more(deadline) {
                Ok(()) => {}
                Err(ClientError::Timeout(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// [`next_event`](Self::next_event) as the generated `Event` enum `E`.
    pub fn next_event_as<E: Events>(
        &mut self,
        limit: Option<Duration>,
    ) -> Result<Option<TypedEvent<E>>, ClientError> {
        match self.next_event(limit)? {
            Some(raw) => raw.decode(self.options.mode).map(Some),
            None => Ok(None),
        }
    }

    /// Events read so far, oldest first; they are taken out.
    pub fn take_events(&mut self) -> Vec<RawEvent> {
        self.events.drain(..).collect()
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn call_by(
        &mut self,
        name: &str,
        arguments: Value,
        oob: bool,
        deadline: Option<Instant>,
    ) -> Result<Value, ClientError> {
        if self.closed {
            return Err(ClientError::Closed);
        }
        let id = self.take_id();
        self.socket
            .write_all(&wire::request(name, arguments, id, oob))
            .map_err(|e| self.gone(e))?;
        self.reply_to(name, id, deadline)
    }

    fn reply_to(
        &mut self,
        name: &str,
        id: u64,
        deadline: Option<Instant>,
    ) -> Result<Value, ClientError> {
        let what = format!("the reply to {name}");
        let reply = self.next_reply(deadline, &what, |m| {
            m.get("id").and_then(Value::as_u64) == Some(id)
        })?;
        wire::answer(reply).map_err(|answer| answer.into_error(name))
    }

    /// Reads until a reply `wanted` picks arrives; others wait their turn.
    fn next_reply(
        &mut self,
        deadline: Option<Instant>,
        what: &str,
        wanted: impl Fn(&Map<String, Value>) -> bool,
    ) -> Result<Map<String, Value>, ClientError> {
        loop {
            if let Some(i) = self.replies.iter().position(&wanted) {
                if let Some(reply) = self.replies.remove(i) {
                    return Ok(reply);
                }
            }
            match self.read_more(deadline) {
                Err(ClientError::Timeout(_)) => return Err(ClientError::Timeout(what.to_owned())),
                other => other?,
            }
        }
    }

    /// Reads what arrives (once), sorting events from replies.
    fn read_more(&mut self, deadline: Option<Instant>) -> Result<(), ClientError> {
        if self.closed {
            return Err(ClientError::Closed);
        }
        let limit = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(ClientError::Timeout(String::new()));
                }
                Some(left)
            }
            None => None,
        };
        self.socket.set_read_timeout(limit)?;
        let mut buf = [0u8; 16 << 10];
        let n = match self.socket.read(&mut buf) {
            Ok(0) => {
                self.closed = true;
                return Err(ClientError::Closed);
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ClientError::Timeout(String::new()))
            }
            Err(e) => return Err(self.gone(e)),
        };
        let backlog = self.options.event_backlog;
        let (events, replies, lost) = (&mut self.events, &mut self.replies, &mut self.events_lost);
        // Stream errors (a guest-sync-delimited 0xFF) are skipped.
        self.streamer.feed(&buf[..n], |message| {
            let Ok(Value::Object(mut message)) = message else {
                return;
            };
            match RawEvent::from_message(&mut message) {
                Some(event) => {
                    if events.len() == backlog {
                        events.pop_front();
                        *lost += 1;
                    }
                    events.push_back(event);
                }
                None => replies.push_back(message),
            }
        });
        Ok(())
    }

    /// The error for a failed read or write: `Closed` when the peer is
    /// gone, for this call and every later one.
    fn gone(&mut self, e: std::io::Error) -> ClientError {
        use std::io::ErrorKind::*;
        if matches!(
            e.kind(),
            BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected
        ) {
            self.closed = true;
            ClientError::Closed
        } else {
            ClientError::Io(e)
        }
    }

    /// How replies and events are read.
    pub fn mode(&self) -> Mode {
        self.options.mode
    }

    /// What the peer supports, from its `query-qmp-schema`.
    pub fn capabilities(&mut self) -> Result<super::Capabilities, ClientError> {
        let schema = self.execute_raw("query-qmp-schema", Value::Object(Map::new()))?;
        super::Capabilities::new(schema)
    }
}
