//! Clients for QGA and QMP servers: typed calls over the same framing the
//! server side uses.
//!
//! `Client` (with the `tokio` feature) is async: calls may overlap, replies are matched by
//! `id`, and QMP events arrive on [`Client::events`].  [`BlockingClient`]
//! does the same on a plain socket, one call at a time.

use std::io::{Read as _, Write as _};
use std::path::Path;
#[cfg(feature = "tokio")]
use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
    sync::{Arc, Mutex},
};

use serde_json::{json, Map, Value};
#[cfg(feature = "tokio")]
use tokio::io::{AsyncReadExt, AsyncWriteExt};
#[cfg(feature = "tokio")]
use tokio::net::unix::OwnedWriteHalf;
#[cfg(feature = "tokio")]
use tokio::net::UnixStream;
#[cfg(feature = "tokio")]
use tokio::sync::{broadcast, oneshot};

use crate::de::{Decode, DecodeError};
use crate::json::{self, Limits, Streamer};
use crate::{Command, Error, ErrorClass};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered with an error.
    #[error("{0}")]
    Server(Error),
    /// The answer does not decode as the command's return type.
    #[error("unexpected answer: {0}")]
    Decode(#[from] DecodeError),
    /// The connection closed before the answer came.
    #[error("the connection closed")]
    Closed,
    /// The server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
}

#[cfg(feature = "tokio")]
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, Error>>>>>;

/// An async client over a Unix socket.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct Client {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    next_id: AtomicU64,
    events: broadcast::Sender<Value>,
    greeting: Option<Value>,
}

/// The answer in a reply: `return`'s value, or the error.
fn answer(reply: &mut Map<String, Value>) -> Option<Result<Value, Error>> {
    if let Some(value) = reply.remove("return") {
        return Some(Ok(value));
    }
    let error = reply.get("error")?;
    let class = error.get("class").and_then(Value::as_str).unwrap_or("");
    let desc = error.get("desc").and_then(Value::as_str).unwrap_or("");
    Some(Err(Error::new(ErrorClass::from_name(class), desc)))
}

fn request(name: &str, arguments: Value, id: u64) -> Vec<u8> {
    let mut request = Map::new();
    request.insert("execute".to_owned(), Value::from(name));
    if arguments.as_object().is_some_and(|a| !a.is_empty()) {
        request.insert("arguments".to_owned(), arguments);
    }
    request.insert("id".to_owned(), Value::from(id));
    json::to_vec(&Value::Object(request))
}

fn typed<C: Command>(value: Value) -> Result<C::Returns, ClientError> {
    Ok(C::Returns::decode(value)?)
}

#[cfg(feature = "tokio")]
impl Client {
    /// Connects to a guest agent.
    pub async fn connect_qga(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).await?;
        Ok(Client::start(stream, None))
    }

    /// Connects to a QMP server: reads the greeting and negotiates
    /// capabilities (none enabled).
    pub async fn connect_qmp(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        let mut stream = UnixStream::connect(path).await?;
        let greeting = read_one(&mut stream).await?;
        if greeting.get("QMP").is_none() {
            return Err(ClientError::Protocol(format!(
                "expected a greeting, got {greeting}"
            )));
        }
        let client = Client::start(stream, Some(greeting));
        client.execute_raw("qmp_capabilities", json!({})).await?;
        Ok(client)
    }

    fn start(stream: UnixStream, greeting: Option<Value>) -> Client {
        let (mut reader, writer) = stream.into_split();
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(1024);
        let routes = Arc::clone(&pending);
        let event_tx = events.clone();
        tokio::spawn(async move {
            let mut streamer = Streamer::new(Limits::default());
            let mut buf = vec![0; 64 << 10];
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                // Stream errors (a guest-sync-delimited 0xFF) are skipped.
                streamer.feed(&buf[..n], |message| {
                    let Ok(Value::Object(mut reply)) = message else {
                        return;
                    };
                    if reply.contains_key("event") {
                        let _ = event_tx.send(Value::Object(reply));
                        return;
                    }
                    let Some(id) = reply.get("id").and_then(Value::as_u64) else {
                        return;
                    };
                    let sender = routes.lock().ok().and_then(|mut p| p.remove(&id));
                    if let (Some(sender), Some(answer)) = (sender, answer(&mut reply)) {
                        let _ = sender.send(answer);
                    }
                });
            }
            // Dropping the senders fails every call still waiting.
            if let Ok(mut p) = routes.lock() {
                p.clear();
            }
        });
        Client {
            writer: tokio::sync::Mutex::new(writer),
            pending,
            next_id: AtomicU64::new(1),
            events,
            greeting,
        }
    }

    /// The server's greeting (QMP).
    pub fn greeting(&self) -> Option<&Value> {
        self.greeting.as_ref()
    }

    /// Events from now on (QMP).
    pub fn events(&self) -> broadcast::Receiver<Value> {
        self.events.subscribe()
    }

    /// Runs command `C` and decodes its answer.
    pub async fn execute<C: Command>(&self, arguments: C) -> Result<C::Returns, ClientError> {
        let arguments =
            serde_json::to_value(&arguments).map_err(|e| ClientError::Protocol(e.to_string()))?;
        typed::<C>(self.execute_raw(C::NAME, arguments).await?)
    }

    /// Runs a command by name with JSON arguments.
    pub async fn execute_raw(&self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| ClientError::Closed)?
            .insert(id, tx);
        let bytes = request(name, arguments, id);
        {
            let mut writer = self.writer.lock().await;
            writer.write_all(&bytes).await?;
        }
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(ClientError::Server(e)),
            Err(_) => Err(ClientError::Closed),
        }
    }
}

/// Reads exactly one JSON value from `stream` (the QMP greeting).
#[cfg(feature = "tokio")]
async fn read_one(stream: &mut UnixStream) -> Result<Value, ClientError> {
    let mut streamer = Streamer::new(Limits::default());
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte).await? == 0 {
            return Err(ClientError::Closed);
        }
        let mut got = None;
        streamer.feed(&byte, |m| got = Some(m));
        match got {
            Some(Ok(v)) => return Ok(v),
            Some(Err(e)) => return Err(ClientError::Protocol(e.to_string())),
            None => {}
        }
    }
}

/// A blocking client over a Unix socket: one call at a time.
#[derive(Debug)]
pub struct BlockingClient {
    stream: std::os::unix::net::UnixStream,
    streamer: Streamer,
    next_id: u64,
    /// Replies and events read but not yet asked for.
    inbox: Vec<Value>,
    greeting: Option<Value>,
}

impl BlockingClient {
    /// Connects to a guest agent.
    pub fn connect_qga(path: impl AsRef<Path>) -> Result<Self, ClientError> {
        Ok(BlockingClient {
            stream: std::os::unix::net::UnixStream::connect(path)?,
            streamer: Streamer::new(Limits::default()),
            next_id: 1,
            inbox: Vec::new(),
            greeting: None,
        })
    }

    /// Connects to a QMP server and negotiates capabilities.
    pub fn connect_qmp(path: impl AsRef<Path>) -> Result<Self, ClientError> {
        let mut client = Self::connect_qga(path)?;
        let greeting = client.next_message(|m| m.contains_key("QMP"))?;
        client.greeting = Some(Value::Object(greeting));
        client.execute_raw("qmp_capabilities", json!({}))?;
        Ok(client)
    }

    /// The server's greeting (QMP).
    pub fn greeting(&self) -> Option<&Value> {
        self.greeting.as_ref()
    }

    /// Events read so far, oldest first; they are taken out.
    pub fn take_events(&mut self) -> Vec<Value> {
        let (events, rest) = self.inbox.drain(..).partition(|m| m.get("event").is_some());
        self.inbox = rest;
        events
    }

    /// Runs command `C` and decodes its answer.
    pub fn execute<C: Command>(&mut self, arguments: C) -> Result<C::Returns, ClientError> {
        let arguments =
            serde_json::to_value(&arguments).map_err(|e| ClientError::Protocol(e.to_string()))?;
        typed::<C>(self.execute_raw(C::NAME, arguments)?)
    }

    /// Runs a command by name with JSON arguments.
    pub fn execute_raw(&mut self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.stream.write_all(&request(name, arguments, id))?;
        let mut reply = self.next_message(|m| m.get("id").and_then(Value::as_u64) == Some(id))?;
        match answer(&mut reply) {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(ClientError::Server(e)),
            None => Err(ClientError::Protocol(format!(
                "a reply without return or error: {}",
                Value::Object(reply)
            ))),
        }
    }

    /// Reads until a message `wanted` picks arrives; others are kept.
    fn next_message(
        &mut self,
        wanted: impl Fn(&Map<String, Value>) -> bool,
    ) -> Result<Map<String, Value>, ClientError> {
        let mut buf = vec![0; 64 << 10];
        loop {
            if let Some(i) = self
                .inbox
                .iter()
                .position(|m| m.as_object().is_some_and(&wanted))
            {
                if let Value::Object(m) = self.inbox.remove(i) {
                    return Ok(m);
                }
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            let inbox = &mut self.inbox;
            // Keep replies to calls, events and the greeting; stream
            // errors (a guest-sync-delimited 0xFF) and stray replies go.
            self.streamer.feed(&buf[..n], |m| {
                if let Ok(v @ Value::Object(_)) = m {
                    if ["id", "event", "QMP"].iter().any(|k| v.get(k).is_some()) {
                        inbox.push(v);
                    }
                }
            });
        }
    }
}
