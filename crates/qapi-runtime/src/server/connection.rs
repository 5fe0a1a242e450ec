//! Serving one connection with tokio: read, route, run, write, within
//! the limits of [`ServerConfig`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{broadcast, mpsc, OwnedSemaphorePermit, Semaphore};

use super::dispatch::{BlockingJob, BoxFuture, Dispatcher, Reply};
use super::events::EventSender;
use super::session::{Greeting, Protocol, Routed, Session};
use crate::json::Limits;

/// How connections are served: the protocol and the limits that keep a
/// server's memory bounded whatever its clients send.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// QGA or QMP.
    pub protocol: Protocol,
    /// Bounds on one request (QEMU's by default: 64 MiB, 2 Mi tokens,
    /// nesting 1024); a request past them is answered with QEMU's error.
    pub request_limits: Limits,
    /// Bounds on connections and what they hold.
    pub limits: ServerLimits,
}

impl ServerConfig {
    /// QGA with QEMU's limits.
    pub fn qga() -> Self {
        ServerConfig {
            protocol: Protocol::Qga,
            request_limits: Limits::default(),
            limits: ServerLimits::default(),
        }
    }

    /// QMP with QEMU's limits and this greeting.
    pub fn qmp(greeting: Greeting) -> Self {
        ServerConfig {
            protocol: Protocol::Qmp(greeting),
            ..ServerConfig::qga()
        }
    }
}

/// Bounds on what a server holds.  A client that reaches one is slowed
/// down (not read) or refused, never served at the cost of memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once (default 64).  One more is accepted, sent
    /// a `GenericError` saying so, and closed.
    pub max_connections: usize,
    /// Bytes of requests (read but not yet answered) a connection may hold
    /// on its own (default 64 KiB).
    pub buffered_per_connection: usize,
    /// Connections that may hold more at once, each up to one request of
    /// the largest size allowed (default 1).  Another connection that needs
    /// more waits, unread, for its turn; small requests never wait.
    pub large_requests_at_once: usize,
    /// Reply bytes a connection's peer has not read yet past which the
    /// connection is not read (default 1 MiB).
    pub max_pending_output: usize,
    /// In-band requests read ahead of the one running (default 8, QEMU's
    /// limit); past it the connection is not read, as QEMU suspends its
    /// monitor.  Out-of-band requests are read and run meanwhile.
    pub max_queued_requests: usize,
    /// Bytes read at a time (default 64 KiB).
    pub read_chunk: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 64,
            buffered_per_connection: 64 << 10,
            large_requests_at_once: 1,
            max_pending_output: 1 << 20,
            max_queued_requests: 8,
            read_chunk: 64 << 10,
        }
    }
}

/// The turns the connections of one server take to hold large requests.
pub(super) type Lanes = Arc<Semaphore>;

/// The lanes of a server with these limits.
pub(super) fn lanes(limits: &ServerLimits) -> Lanes {
    Arc::new(Semaphore::new(limits.large_requests_at_once.max(1)))
}

/// The capacity an idle connection's output buffer may keep.
const IDLE_OUTPUT: usize = 4 << 10;

/// A buffer this large freed means memory worth handing back to the
/// system.
const LARGE_BUFFER: usize = 1 << 20;

/// After this much input, a connection that goes quiet hands the memory
/// its requests left behind back to the system...
const TRIM_AFTER_INPUT: usize = 16 << 10;

/// ...once it has been quiet this long.
const QUIET: std::time::Duration = std::time::Duration::from_millis(20);

/// Where a thread's connections read into, and how much of it earlier
/// reads have written: the buffer is never zeroed as a whole, so only the
/// pages reads have used are resident.
struct ReadBuffer {
    bytes: Vec<u8>,
    initialized: usize,
}

thread_local! {
    /// One per thread, not one per connection, so an idle connection
    /// holds no read buffer.
    static READ_BUFFER: std::cell::RefCell<ReadBuffer> = const {
        std::cell::RefCell::new(ReadBuffer { bytes: Vec::new(), initialized: 0 })
    };
}

/// Reads once into this thread's buffer and hands the bytes to the
/// session; gives the number of bytes (0 at end of file).
fn read_into<'a, S, R>(
    reader: &'a mut R,
    session: &'a mut Session<S>,
    chunk: usize,
) -> impl Future<Output = io::Result<usize>> + 'a
where
    S: Send + Sync + 'static,
    R: AsyncRead + Unpin,
{
    std::future::poll_fn(move |cx| {
        READ_BUFFER.with(|cell| {
            let buffer = &mut *cell.borrow_mut();
            if buffer.bytes.capacity() < chunk {
                *buffer = ReadBuffer {
                    bytes: Vec::with_capacity(chunk),
                    initialized: 0,
                };
            }
            let mut read = ReadBuf::uninit(&mut buffer.bytes.spare_capacity_mut()[..chunk]);
            // SAFETY: earlier reads into this allocation wrote its first
            // `initialized` bytes (a reader may have initialized more
            // than it filled, never less).
            unsafe { read.assume_init(buffer.initialized) };
            let result = Pin::new(&mut *reader).poll_read(cx, &mut read);
            buffer.initialized = buffer.initialized.max(read.initialized().len());
            match result {
                Poll::Ready(Ok(())) => {
                    let bytes = read.filled();
                    session.push(bytes);
                    Poll::Ready(Ok(bytes.len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
}

/// The reply of the in-band request that runs, and how it goes out.
struct Running {
    reply: BoxFuture<Option<Value>>,
    delimited: bool,
}

/// A request's reply as a future: a blocking job moves to tokio's
/// blocking pool, a ready reply is ready.
fn reply_future(reply: Reply) -> BoxFuture<Option<Value>> {
    match reply {
        Reply::Ready(reply) => Box::pin(std::future::ready(reply)),
        Reply::Pending(fut) => fut,
        Reply::Blocking(job) => match spawn_blocking(job) {
            // The dispatcher catches a handler's panic, so the task ends
            // with a reply unless the runtime shuts down.
            Ok(task) => Box::pin(async move { task.await.unwrap_or(None) }),
            // No thread could be started for it: it runs here, holding up
            // this thread's other work, which beats ending the server.
            Err(job) => Box::pin(std::future::ready(job())),
        },
    }
}

/// Moves `job` to tokio's blocking pool, or gives it back if the pool
/// has no thread and none can be started (tokio panics then, when the
/// system is out of threads or processes).
fn spawn_blocking(job: BlockingJob) -> Result<tokio::task::JoinHandle<Option<Value>>, BlockingJob> {
    let slot = Arc::new(std::sync::Mutex::new(Some(job)));
    let taken = Arc::clone(&slot);
    let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tokio::task::spawn_blocking(move || {
            let job = taken.lock().unwrap_or_else(|e| e.into_inner()).take();
            job.and_then(|job| job())
        })
    }));
    spawned.map_err(|_| {
        let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        job.unwrap_or_else(|| Box::new(|| None))
    })
}

/// Polls the future in `slot`, or never finishes if there is none.
async fn poll_slot(slot: &mut Option<Running>) -> Option<Value> {
    match slot {
        Some(running) => running.reply.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The next event for this connection, or never if there are none.
async fn next_event(events: &mut Option<broadcast::Receiver<Arc<[u8]>>>) -> Option<Arc<[u8]>> {
    let Some(rx) = events else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(event) => return Some(event),
            // The oldest events are lost for a peer this far behind.
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// Writes every event already emitted: called before a reply, so that an
/// event a command raised reaches its client first, as from QEMU.
fn drain_events(
    events: &mut Option<broadcast::Receiver<Arc<[u8]>>>,
    accepts: bool,
    out: &mut Vec<u8>,
) {
    let Some(rx) = events else { return };
    loop {
        match rx.try_recv() {
            Ok(event) if accepts => out.extend_from_slice(&event),
            Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    }
}

/// Serves one connection until the peer closes it; a request cut off by
/// the close is dropped, requests read before it are answered.  See the
/// [module docs](super) for what runs where.
pub async fn serve_connection<S, R, W>(
    dispatcher: Arc<Dispatcher<S>>,
    config: &ServerConfig,
    reader: R,
    writer: W,
    events: Option<&EventSender>,
) -> io::Result<()>
where
    S: Send + Sync + 'static,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let lanes = lanes(&config.limits);
    serve_within(dispatcher, config, reader, writer, events, &lanes).await
}

/// [`serve_connection`], taking turns for large requests with the other
/// connections of its server.
pub(super) async fn serve_within<S, R, W>(
    dispatcher: Arc<Dispatcher<S>>,
    config: &ServerConfig,
    mut reader: R,
    mut writer: W,
    events: Option<&EventSender>,
    lanes: &Lanes,
) -> io::Result<()>
where
    S: Send + Sync + 'static,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let limits = &config.limits;
    let chunk = limits.read_chunk.max(1);
    let mut session = Session::new(dispatcher, config.protocol.clone(), config.request_limits);
    let mut events = events.map(EventSender::subscribe);
    // This connection's turn to hold a large request, while it has one.
    let mut lane: Option<OwnedSemaphorePermit> = None;
    let mut out = Vec::new();
    let mut written = 0;
    let mut running: Option<Running> = None;
    // Out-of-band replies that need a task come back here.
    let (oob_done, mut oob_replies) = mpsc::unbounded_channel::<Option<Value>>();
    let mut oob_pending = 0usize;
    let mut end_of_input = false;
    let mut large = false;
    // Input since memory was last handed back.
    let mut since_trim = 0usize;
    session.opening(&mut out);
    loop {
        // Start what can start: out-of-band requests at once, the next
        // in-band one when none runs and the peer keeps up with replies.
        while let Some(Routed { reply, delimited }) = session.next_out_of_band() {
            match reply {
                Reply::Ready(reply) => {
                    session.write_reply(reply, delimited, &mut out);
                }
                work => {
                    let done = oob_done.clone();
                    let reply = reply_future(work);
                    oob_pending += 1;
                    tokio::spawn(async move {
                        let _ = done.send(reply.await);
                    });
                }
            }
        }
        while running.is_none() && out.len() - written < limits.max_pending_output {
            let Some(Routed { reply, delimited }) = session.next_in_band() else {
                break;
            };
            match reply {
                Reply::Ready(reply) => {
                    drain_events(&mut events, session.accepts_events(), &mut out);
                    session.write_reply(reply, delimited, &mut out);
                }
                work => {
                    running = Some(Running {
                        reply: reply_future(work),
                        delimited,
                    });
                }
            }
        }
        large |= out.capacity() > LARGE_BUFFER || session.buffered_input() > LARGE_BUFFER;
        let idle = running.is_none() && oob_pending == 0 && session.queued() == 0;
        if end_of_input && idle && written == out.len() {
            writer.flush().await?;
            if large || since_trim >= TRIM_AFTER_INPUT {
                drop((session, out));
                release_freed_memory();
            }
            return Ok(());
        }
        let room = session.queued() < limits.max_queued_requests
            && out.len() - written < limits.max_pending_output;
        // Within its own allowance a connection reads on; past it, only in
        // its turn, while the request being read (which the streamer keeps
        // within the request limits) is all it holds beyond one queued
        // request of the largest size.
        let small = session.buffered_input() <= limits.buffered_per_connection;
        if !small && lane.is_none() {
            lane = Arc::clone(lanes).try_acquire_owned().ok();
        }
        let fits =
            small || (lane.is_some() && session.queued_bytes() <= config.request_limits.max_size);
        let can_read = !end_of_input && room && fits;
        let waits_for_lane = !end_of_input && room && !fits && lane.is_none();
        let accepts = session.accepts_events();
        let quiet = idle && written == out.len() && since_trim >= TRIM_AFTER_INPUT;
        tokio::select! {
            read = read_into(&mut reader, &mut session, chunk), if can_read => {
                match read? {
                    0 => end_of_input = true,
                    n => since_trim += n,
                }
            }
            () = tokio::time::sleep(QUIET), if quiet => {
                since_trim = 0;
                release_freed_memory();
            }
            reply = poll_slot(&mut running) => {
                let delimited = running.take().is_some_and(|r| r.delimited);
                drain_events(&mut events, accepts, &mut out);
                session.write_reply(reply, delimited, &mut out);
            }
            Some(reply) = oob_replies.recv(), if oob_pending > 0 => {
                oob_pending -= 1;
                session.write_reply(reply, false, &mut out);
            }
            n = writer.write(&out[written..]), if written < out.len() => {
                let n = n?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                written += n;
                if written == out.len() {
                    written = 0;
                    out.clear();
                    if out.capacity() > IDLE_OUTPUT {
                        out = Vec::new();
                    }
                }
            }
            event = next_event(&mut events), if accepts => match event {
                Some(event) => out.extend_from_slice(&event),
                None => events = None,
            },
            permit = Arc::clone(lanes).acquire_owned(), if waits_for_lane => {
                lane = permit.ok();
            }
        }
        // A large request answered gives the turn to the next connection.
        if session.buffered_input() <= limits.buffered_per_connection {
            lane = None;
        }
        if large && written == 0 && out.is_empty() {
            large = false;
            release_freed_memory();
        }
    }
}

/// Hands freed memory back to the system (after a large message, a burst
/// of requests or of connections): glibc keeps freed blocks below its
/// (adaptive) mmap threshold in its heap.
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
