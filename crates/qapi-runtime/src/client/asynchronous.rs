//! The async client (tokio): calls overlap and are matched with their
//! replies by id, out-of-band calls overtake, events stream, descriptors
//! travel with a call.

use std::collections::HashMap;
use std::future::Future;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{unix, TcpStream, ToSocketAddrs, UnixStream};
use tokio::sync::oneshot;

use super::builder::ClientBuilder;
use super::error::ClientError;
use super::events::{EventHub, EventStream, RawEvents};
use super::wire::{self, Answer, Greeting, RawEvent};
use crate::de::Mode;
use crate::json::{Limits, Streamer};
use crate::{Command, Events};

/// Where replies go: one per call waiting.
type Pending = HashMap<u64, oneshot::Sender<Result<Value, Answer>>>;

/// What the connection's reader shares with the client.
#[derive(Debug)]
struct Shared {
    /// Calls waiting, or `None` once the connection closed (every call
    /// waiting then gets `Closed`, and so does every later one).
    pending: Mutex<Option<Pending>>,
    /// Where the QMP greeting goes, until it came.
    greeting: Mutex<Option<oneshot::Sender<Value>>>,
    events: EventHub,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Option<Pending>> {
        // The map stays valid whatever panicked while holding it.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How a client writes: through a Unix socket (which can also pass
/// descriptors) or any stream.
enum Writer {
    Unix(unix::OwnedWriteHalf),
    Stream(Box<dyn AsyncWrite + Send + Unpin>),
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Writer::Unix(_) => "Writer::Unix",
            Writer::Stream(_) => "Writer::Stream",
        })
    }
}

/// An async QMP or QGA client: see the [module docs](super).
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
    writer: tokio::sync::Mutex<Writer>,
    next_id: AtomicU64,
    mode: Mode,
    call_timeout: Option<Duration>,
    greeting: Option<Greeting>,
    oob: bool,
}

impl ClientBuilder {
    /// Connects to a Unix socket.
    pub async fn connect_unix(self, path: impl AsRef<Path>) -> Result<Client, ClientError> {
        let path = path.as_ref().to_owned();
        let limit = self.connect_timeout;
        within(limit, "the connection", async move {
            let (reader, writer) = UnixStream::connect(&path).await?.into_split();
            self.start(Box::new(reader), Writer::Unix(writer)).await
        })
        .await
    }

    /// Connects over TCP.
    pub async fn connect_tcp(self, addr: impl ToSocketAddrs) -> Result<Client, ClientError> {
        let limit = self.connect_timeout;
        within(limit, "the connection", async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (reader, writer) = stream.into_split();
            self.start(Box::new(reader), Writer::Stream(Box::new(writer)))
                .await
        })
        .await
    }

    /// Uses a connected Unix or TCP socket this process already has (an
    /// inherited descriptor, one end of `socketpair`).
    pub async fn connect_fd(self, fd: OwnedFd) -> Result<Client, ClientError> {
        use rustix::net::{sockopt, AddressFamily};
        let family = sockopt::socket_domain(&fd).map_err(std::io::Error::from)?;
        if family == AddressFamily::UNIX {
            let stream = std::os::unix::net::UnixStream::from(fd);
            stream.set_nonblocking(true)?;
            let limit = self.connect_timeout;
            within(limit, "the connection", async move {
                let (reader, writer) = UnixStream::from_std(stream)?.into_split();
                self.start(Box::new(reader), Writer::Unix(writer)).await
            })
            .await
        } else {
            let stream = std::net::TcpStream::from(fd);
            stream.set_nonblocking(true)?;
            self.connect_stream(TcpStream::from_std(stream)?).await
        }
    }

    /// Speaks over any stream (a pipe pair, a TLS stream, a test double);
    /// descriptors cannot be passed over it.
    pub async fn connect_stream<S>(self, stream: S) -> Result<Client, ClientError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let limit = self.connect_timeout;
        within(limit, "the connection", async move {
            let (reader, writer) = tokio::io::split(stream);
            self.start(Box::new(reader), Writer::Stream(Box::new(writer)))
                .await
        })
        .await
    }

    /// Starts reading, then reads the greeting and negotiates (QMP).
    async fn start(
        self,
        reader: Box<dyn AsyncRead + Send + Unpin>,
        writer: Writer,
    ) -> Result<Client, ClientError> {
        let (greeting_tx, greeting_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            pending: Mutex::new(Some(HashMap::new())),
            greeting: Mutex::new(self.qmp.then_some(greeting_tx)),
            events: EventHub::new(self.event_backlog),
        });
        tokio::spawn(read_replies(reader, Arc::clone(&shared)));
        let mut client = Client {
            shared,
            writer: tokio::sync::Mutex::new(writer),
            next_id: AtomicU64::new(1),
            mode: self.mode,
            call_timeout: self.call_timeout,
            greeting: None,
            oob: false,
        };
        if self.qmp {
            let greeting = Greeting::parse(greeting_rx.await.map_err(|_| ClientError::Closed)?)?;
            let oob = self.oob && greeting.offers_oob();
            let enable: Vec<&str> = if oob { vec!["oob"] } else { vec![] };
            client
                .call(
                    "qmp_capabilities",
                    serde_json::json!({ "enable": enable }),
                    false,
                    &[],
                )
                .await?;
            client.greeting = Some(greeting);
            client.oob = oob;
        }
        Ok(client)
    }
}

/// `work`, or a timeout error naming `what` if it takes longer than
/// `limit`.
async fn within<T>(
    limit: Option<Duration>,
    what: &str,
    work: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .map_err(|_| ClientError::Timeout(what.to_owned()))?,
        None => work.await,
    }
}

/// Reads until the connection closes, routing replies to their calls and
/// events to the hub; then fails every call still waiting.
async fn read_replies(mut reader: Box<dyn AsyncRead + Send + Unpin>, shared: Arc<Shared>) {
    let mut streamer = Streamer::new(Limits::default());
    let mut buf = vec![0; 64 << 10];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Stream errors (the 0xFF before a guest-sync-delimited reply)
        // are skipped.
        streamer.feed(&buf[..n], |message| {
            if let Ok(Value::Object(message)) = message {
                route(&shared, message);
            }
        });
    }
    shared.pending().take();
    shared.events.close();
    shared
        .greeting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
}

/// Hands one message to whoever waits for it.
fn route(shared: &Shared, mut message: serde_json::Map<String, Value>) {
    if let Some(event) = RawEvent::from_message(&mut message) {
        shared.events.publish(event);
        return;
    }
    if message.contains_key("QMP") {
        let slot = shared
            .greeting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(slot) = slot {
            let _ = slot.send(Value::Object(message));
        }
        return;
    }
    // Replies to calls carry their id; anything else (a reply to a call
    // that timed out, an error without id) has no one waiting.
    let Some(id) = message.get("id").and_then(Value::as_u64) else {
        return;
    };
    let waiting = shared.pending().as_mut().and_then(|p| p.remove(&id));
    if let Some(waiting) = waiting {
        let _ = waiting.send(wire::answer(message));
    }
}

/// Whether an I/O error means the peer is gone.
fn is_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected | UnexpectedEof
    )
}

impl Client {
    /// Connects to a guest agent's Unix socket.
    pub async fn connect_qga(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        ClientBuilder::qga().connect_unix(path).await
    }

    /// Connects to a QMP Unix socket: reads the greeting and negotiates
    /// (`oob` if offered).
    pub async fn connect_qmp(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        ClientBuilder::qmp().connect_unix(path).await
    }

    /// The server's greeting (QMP).
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// Whether out-of-band execution was negotiated.
    pub fn oob_enabled(&self) -> bool {
        self.oob
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.pending().is_none()
    }

    /// How replies and events are read.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Runs command `C` and decodes its reply.
    pub async fn execute<C: Command>(&self, arguments: C) -> Result<C::Returns, ClientError> {
        let value = self
            .call(C::NAME, wire::arguments(&arguments)?, false, &[])
            .await?;
        wire::returns::<C>(value, self.mode)
    }

    /// Runs command `C` out of band (`exec-oob`): its reply may overtake
    /// replies to calls made before.  Needs the `oob` capability.
    pub async fn execute_oob<C: Command>(&self, arguments: C) -> Result<C::Returns, ClientError> {
        let value = self
            .call(C::NAME, wire::arguments(&arguments)?, true, &[])
            .await?;
        wire::returns::<C>(value, self.mode)
    }

    /// Runs command `C` with descriptors attached to the request
    /// (`SCM_RIGHTS`), as `getfd` and `add-fd` expect them.  Needs a Unix
    /// socket.
    pub async fn execute_with_fds<C: Command>(
        &self,
        arguments: C,
        fds: &[BorrowedFd<'_>],
    ) -> Result<C::Returns, ClientError> {
        let value = self
            .call(C::NAME, wire::arguments(&arguments)?, false, fds)
            .await?;
        wire::returns::<C>(value, self.mode)
    }

    /// Runs a command by name with JSON arguments; the reply as it came.
    pub async fn execute_raw(&self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        self.call(name, arguments, false, &[]).await
    }

    /// [`execute_raw`](Self::execute_raw), out of band.
    pub async fn execute_raw_oob(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<Value, ClientError> {
        self.call(name, arguments, true, &[]).await
    }

    /// What the peer supports, from its `query-qmp-schema` (asked once per
    /// call of this).
    pub async fn capabilities(&self) -> Result<super::Capabilities, ClientError> {
        let schema = self
            .execute_raw("query-qmp-schema", Value::Object(Default::default()))
            .await?;
        super::Capabilities::new(schema)
    }

    /// Every event from now on as the generated `Event` enum `E` (those
    /// received before the first stream was opened included; see
    /// the [client docs](super#events)).
    pub fn events<E: Events>(&self) -> EventStream<E> {
        self.raw_events().typed(self.mode)
    }

    /// Every event from now on, as it came.
    pub fn raw_events(&self) -> RawEvents {
        self.shared.events.subscribe()
    }

    async fn call(
        &self,
        name: &str,
        arguments: Value,
        oob: bool,
        fds: &[BorrowedFd<'_>],
    ) -> Result<Value, ClientError> {
        if oob && !self.oob {
            return Err(ClientError::Unsupported(
                "out-of-band execution was not negotiated",
            ));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending()
            .as_mut()
            .ok_or(ClientError::Closed)?
            .insert(id, tx);
        let bytes = wire::request(name, arguments, id, oob);
        if let Err(e) = self.write(&bytes, fds).await {
            self.forget(id);
            return Err(e);
        }
        let reply = match within(self.call_timeout, &format!("the reply to {name}"), async {
            rx.await.map_err(|_| ClientError::Closed)
        })
        .await
        {
            Ok(reply) => reply,
            Err(e) => {
                self.forget(id);
                return Err(e);
            }
        };
        reply.map_err(|answer| answer.into_error(name))
    }

    /// Stops waiting for the reply to call `id`.
    fn forget(&self, id: u64) {
        if let Some(pending) = self.shared.pending().as_mut() {
            pending.remove(&id);
        }
    }

    async fn write(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), ClientError> {
        let mut writer = self.writer.lock().await;
        let written = match &mut *writer {
            Writer::Unix(w) => send_with_fds(w, bytes, fds).await,
            Writer::Stream(_) if !fds.is_empty() => {
                return Err(ClientError::Unsupported(
                    "descriptors can only be passed over a Unix socket",
                ))
            }
            Writer::Stream(w) => w.write_all(bytes).await,
        };
        written.map_err(|e| {
            if is_gone(&e) {
                ClientError::Closed
            } else {
                ClientError::Io(e)
            }
        })
    }
}

/// Writes `bytes`, the descriptors attached to the first part sent.
async fn send_with_fds(
    writer: &mut unix::OwnedWriteHalf,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> std::io::Result<()> {
    let mut sent = 0;
    if !fds.is_empty() {
        let stream: &UnixStream = writer.as_ref();
        sent = loop {
            stream.writable().await?;
            match stream.try_io(tokio::io::Interest::WRITABLE, || {
                super::fds::send(stream, bytes, fds)
            }) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        };
    }
    writer.write_all(&bytes[sent..]).await
}
