//! Serving QGA and QMP over Unix sockets, character devices and stdio,
//! with tokio.
//!
//! Each connection reads a chunk, answers every request it completes and
//! writes the replies before reading on: a peer that does not read its
//! replies stops being read (pending output stays within a socket buffer
//! and one chunk's replies), and the other connections go on.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::broadcast;

use crate::dispatch::Dispatcher;
use crate::json::{self, Limits};
use crate::session::{event_message, Protocol, Session};
use crate::Event;

/// How connections are served.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// QGA or QMP.
    pub protocol: Protocol,
    /// Bounds on one request.
    pub limits: Limits,
    /// Bytes read at a time.
    pub read_chunk: usize,
}

impl ServerConfig {
    /// QGA with QEMU's limits.
    pub fn qga() -> Self {
        ServerConfig {
            protocol: Protocol::Qga,
            limits: Limits::default(),
            read_chunk: 64 << 10,
        }
    }

    /// QMP with QEMU's limits and this greeting.
    pub fn qmp(greeting: crate::session::Greeting) -> Self {
        ServerConfig {
            protocol: Protocol::Qmp(greeting),
            ..ServerConfig::qga()
        }
    }
}

/// Sends events to every QMP connection that has negotiated capabilities.
/// A connection that falls too far behind loses the oldest events, so a
/// stuck peer cannot make memory grow.
#[derive(Clone, Debug)]
pub struct EventSender(broadcast::Sender<Arc<[u8]>>);

impl EventSender {
    /// A sender keeping up to `backlog` events per connection.
    pub fn new(backlog: usize) -> Self {
        EventSender(broadcast::channel(backlog.max(1)).0)
    }

    /// Emits `event` now.  Its data is left out when it has no members.
    pub fn emit<E: Event>(&self, event: &E) -> Result<(), serde_json::Error> {
        let data = serde_json::to_value(event)?;
        let data = match &data {
            Value::Object(map) if map.is_empty() => None,
            _ => Some(data),
        };
        self.emit_raw(E::NAME, data);
        Ok(())
    }

    /// Emits an event by name.
    pub fn emit_raw(&self, name: &str, data: Option<Value>) {
        let mut bytes = json::to_vec(&event_message(name, data, SystemTime::now()));
        bytes.push(b'\n');
        // No receivers is fine: nobody listens yet.
        let _ = self.0.send(bytes.into());
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<[u8]>> {
        self.0.subscribe()
    }
}

/// Serves one connection until the peer closes it.  A request cut off by
/// the close is dropped.
pub async fn serve_connection<S, R, W>(
    dispatcher: Arc<Dispatcher<S>>,
    config: &ServerConfig,
    mut reader: R,
    mut writer: W,
    events: Option<&EventSender>,
) -> io::Result<()>
where
    S: Send + Sync + 'static,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut session = Session::new(dispatcher, config.protocol.clone(), config.limits);
    let mut events = events.map(EventSender::subscribe);
    let mut out = Vec::new();
    session.opening(&mut out);
    writer.write_all(&out).await?;
    writer.flush().await?;
    out.clear();
    let mut buf = vec![0; config.read_chunk.max(1)];
    loop {
        let n = tokio::select! {
            read = reader.read(&mut buf) => read?,
            event = next_event(&mut events) => {
                if session.accepts_events() {
                    writer.write_all(&event).await?;
                    writer.flush().await?;
                }
                continue;
            }
        };
        if n == 0 {
            return Ok(());
        }
        session.push(&buf[..n]);
        while session.answer_next(&mut out).await {
            if out.len() >= config.read_chunk {
                writer.write_all(&out).await?;
                out.clear();
            }
        }
        writer.write_all(&out).await?;
        writer.flush().await?;
        out.clear();
    }
}

/// The next event, or never if there are no events.
async fn next_event(events: &mut Option<broadcast::Receiver<Arc<[u8]>>>) -> Arc<[u8]> {
    let Some(rx) = events else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(event) => return event,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Accepts connections on `listener` and serves each in its own task.
/// Runs until accepting fails.
pub async fn serve_unix<S: Send + Sync + 'static>(
    listener: UnixListener,
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
    events: Option<EventSender>,
) -> io::Result<()> {
    let config = Arc::new(config);
    loop {
        let (stream, _) = listener.accept().await?;
        let dispatcher = Arc::clone(&dispatcher);
        let config = Arc::clone(&config);
        let events = events.clone();
        tokio::spawn(async move {
            let (reader, writer) = stream.into_split();
            // A peer that vanishes mid-reply ends only its own connection.
            let _ = serve_connection(dispatcher, &config, reader, writer, events.as_ref()).await;
        });
    }
}

/// Serves a character device such as a virtio-serial port.  When the
/// host side goes away (end of file), the device is opened again after a
/// pause and any partial request is forgotten.
pub async fn serve_device<S: Send + Sync + 'static>(
    path: &Path,
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
    events: Option<EventSender>,
) -> io::Result<()> {
    loop {
        let device = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .await?;
        let (reader, writer) = tokio::io::split(device);
        serve_connection(
            Arc::clone(&dispatcher),
            &config,
            reader,
            writer,
            events.as_ref(),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Serves standard input and output until input ends.
pub async fn serve_stdio<S: Send + Sync + 'static>(
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
) -> io::Result<()> {
    serve_connection(
        dispatcher,
        &config,
        tokio::io::stdin(),
        tokio::io::stdout(),
        None,
    )
    .await
}
