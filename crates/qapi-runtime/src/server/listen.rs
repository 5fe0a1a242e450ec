//! Where connections come from: Unix and TCP listeners (bound here or
//! inherited, as from systemd's socket activation), character devices
//! such as a virtio-serial port, and stdio; and the accept loop that
//! survives what the system throws at it.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};

use super::connection::{
    lanes, release_freed_memory, serve_connection, serve_within, ServerConfig,
};
use super::dispatch::{error_reply, Dispatcher};
use super::events::EventSender;
use super::fd_stream::FdStream;
use super::session::Protocol;
#[cfg(target_os = "linux")]
use super::vsock::VsockListener;
use crate::json;
use crate::Error;

/// A listening socket connections are accepted from.
#[derive(Debug)]
pub enum Listener {
    /// A Unix stream socket.
    Unix(UnixListener),
    /// A TCP socket.
    Tcp(TcpListener),
    /// A virtio socket (Linux).
    #[cfg(target_os = "linux")]
    Vsock(VsockListener),
}

impl From<UnixListener> for Listener {
    fn from(listener: UnixListener) -> Self {
        Listener::Unix(listener)
    }
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener::Tcp(listener)
    }
}

impl Listener {
    /// Binds a Unix socket at `path` whose file has permissions `mode`
    /// (e.g. `0o600`) from the start: it is bound in a private folder
    /// beside `path`, given `mode`, and moved into place, so no other user
    /// can connect in between whatever the umask.  Fails with
    /// `AddrInUse` if `path` exists.  Call it within a tokio runtime.
    pub fn bind_unix(path: impl AsRef<Path>, mode: u32) -> io::Result<Listener> {
        let path = path.as_ref();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let private = private_dir(parent)?;
        let staged = private.join("socket");
        let result = (|| {
            let listener = std::os::unix::net::UnixListener::bind(&staged)?;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))?;
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                &staged,
                rustix::fs::CWD,
                path,
                rustix::fs::RenameFlags::NOREPLACE,
            )
            .map_err(|e| match e {
                rustix::io::Errno::EXIST => io::Error::from(io::ErrorKind::AddrInUse),
                e => e.into(),
            })?;
            listener.set_nonblocking(true)?;
            UnixListener::from_std(listener)
        })();
        let _ = std::fs::remove_file(&staged);
        let _ = std::fs::remove_dir(&private);
        result.map(Listener::Unix)
    }

    /// Binds a TCP socket.
    pub async fn bind_tcp(addr: impl tokio::net::ToSocketAddrs) -> io::Result<Listener> {
        TcpListener::bind(addr).await.map(Listener::Tcp)
    }

    /// Listens on vsock `port` of context `cid` (`u32::MAX` for any): how
    /// a guest agent is reached without a serial port.  Call it within a
    /// tokio runtime.
    #[cfg(target_os = "linux")]
    pub fn bind_vsock(cid: u32, port: u32) -> io::Result<Listener> {
        VsockListener::bind(cid, port).map(Listener::Vsock)
    }

    /// A listener from a listening socket this process was given (Unix,
    /// TCP or, on Linux, vsock).  Call it within a tokio runtime.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Listener> {
        use rustix::net::{sockopt, AddressFamily};
        if !sockopt::socket_acceptconn(&fd)? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the descriptor is not a listening socket",
            ));
        }
        let family = sockopt::socket_domain(&fd)?;
        if family == AddressFamily::UNIX {
            let listener = std::os::unix::net::UnixListener::from(fd);
            listener.set_nonblocking(true)?;
            UnixListener::from_std(listener).map(Listener::Unix)
        } else if family == AddressFamily::INET || family == AddressFamily::INET6 {
            let listener = std::net::TcpListener::from(fd);
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener).map(Listener::Tcp)
        } else {
            #[cfg(target_os = "linux")]
            if family == AddressFamily::VSOCK {
                return VsockListener::from_fd(fd).map(Listener::Vsock);
            }
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is not a Unix, TCP or vsock socket",
            ))
        }
    }

    /// The listening sockets systemd passed by socket activation
    /// (`LISTEN_PID` is this process, `LISTEN_FDS` of them from descriptor
    /// 3 on); empty when there are none.  They can be taken once: a second
    /// call finds none.  Call it within a tokio runtime.
    pub fn from_systemd() -> io::Result<Vec<Listener>> {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        const FIRST: i32 = 3;
        let ours = std::env::var("LISTEN_PID")
            .ok()
            .and_then(|pid| pid.parse::<u32>().ok())
            == Some(std::process::id());
        let count = std::env::var("LISTEN_FDS")
            .ok()
            .and_then(|n| n.parse::<i32>().ok())
            .unwrap_or(0);
        if !ours || count <= 0 || TAKEN.swap(true, Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        (FIRST..FIRST + count)
            .map(|raw| {
                // SAFETY: systemd passed these descriptors to this process
                // (LISTEN_PID), and TAKEN makes sure they are owned once.
                let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
                Listener::from_fd(fd)
            })
            .collect()
    }

    /// The TCP address bound, for a TCP listener.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            _ => None,
        }
    }

    /// Accepts one connection, split into its halves.
    async fn accept(&self) -> io::Result<Accepted> {
        Ok(match self {
            Listener::Unix(l) => Accepted::Unix(l.accept().await?.0),
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Accepted::Tcp(stream)
            }
            #[cfg(target_os = "linux")]
            Listener::Vsock(l) => Accepted::Vsock(l.accept().await?),
        })
    }
}

/// A folder only this user can enter, beside `parent`'s entries.
fn private_dir(parent: &Path) -> io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(".qapi-bind-{}-{n}", std::process::id()));
        match std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .create(&dir)
        {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// An accepted connection.
enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
    #[cfg(target_os = "linux")]
    Vsock(FdStream),
}

impl Accepted {
    /// Tells a connection the server will not serve why, and closes it.
    fn refuse(self, protocol: &Protocol, why: &str) {
        let mut message = json::to_vec(&error_reply(&Error::generic(why), None));
        message.extend_from_slice(protocol.terminator());
        // Best effort: a fresh socket takes a short message at once.
        let _ = match &self {
            Accepted::Unix(s) => s.try_write(&message),
            Accepted::Tcp(s) => s.try_write(&message),
            #[cfg(target_os = "linux")]
            Accepted::Vsock(s) => s.try_write(&message),
        };
    }
}

/// Whether an error from `accept()` passes: the server backs off and
/// goes on rather than ending.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
                | libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::EINTR
                | libc::EAGAIN
                | libc::EPROTO
                | libc::EPERM
                | libc::ETIMEDOUT
                | libc::ENETDOWN
                | libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EOPNOTSUPP
        )
    ) || e.kind() == io::ErrorKind::Interrupted
}

/// The first pause after a failed `accept()`; it doubles up to
/// [`MAX_BACKOFF`] while failures go on.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The connections being served, and the most at once since the server
/// was last idle.
#[derive(Debug, Default)]
struct Served {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// A burst of this many connections leaves memory worth handing back to
/// the system once they are gone.
const BURST: usize = 16;

/// Counts a connection as served while it lives.
struct Slot(Arc<Served>);

impl Slot {
    fn new(served: &Arc<Served>) -> Slot {
        let now = served.now.fetch_add(1, Ordering::AcqRel) + 1;
        served.peak.fetch_max(now, Ordering::AcqRel);
        Slot(Arc::clone(served))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let left = self.0.now.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 && self.0.peak.swap(0, Ordering::AcqRel) >= BURST {
            release_freed_memory();
        }
    }
}

/// Accepts connections on `listener` and serves each in its own task,
/// within `config`'s limits.  Runs until `accept()` fails in a way that
/// does not pass (the listener is broken); transient failures (out of
/// descriptors or memory, a connection aborted before it was accepted)
/// are logged and waited out.  When the process is out of descriptors,
/// one kept in reserve is given up to accept and refuse a waiting client,
/// so clients are told rather than left hanging.
pub async fn serve<S: Send + Sync + 'static>(
    listener: impl Into<Listener>,
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
    events: Option<EventSender>,
) -> io::Result<()> {
    let listener = listener.into();
    let config = Arc::new(config);
    let lanes = lanes(&config.limits);
    let served = Arc::new(Served::default());
    let mut reserve = std::fs::File::open("/dev/null").ok();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = match listener.accept().await {
            Ok(accepted) => {
                backoff = FIRST_BACKOFF;
                accepted
            }
            Err(e) if is_transient(&e) => {
                // Out of descriptors: give up the one in reserve to take a
                // waiting client and tell it, so no client hangs; go on at
                // once while that works.
                let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                if out_of_fds && reserve.take().is_some() {
                    if let Ok(accepted) = listener.accept().await {
                        accepted.refuse(&config.protocol, "the server is out of file descriptors");
                    }
                    reserve = std::fs::File::open("/dev/null").ok();
                    if reserve.is_some() {
                        continue;
                    }
                }
                log::warn!("accept: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(e) => return Err(e),
        };
        if served.now.load(Ordering::Acquire) >= config.limits.max_connections {
            let why = format!(
                "too many connections (the limit is {})",
                config.limits.max_connections
            );
            accepted.refuse(&config.protocol, &why);
            continue;
        }
        let slot = Slot::new(&served);
        let (dispatcher, config) = (Arc::clone(&dispatcher), Arc::clone(&config));
        let (lanes, events) = (Arc::clone(&lanes), events.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let events = events.as_ref();
            // A peer that vanishes mid-reply ends only its own connection.
            let result = match accepted {
                Accepted::Unix(s) => {
                    let (r, w) = s.into_split();
                    serve_within(dispatcher, &config, r, w, events, &lanes).await
                }
                Accepted::Tcp(s) => {
                    let (r, w) = s.into_split();
                    serve_within(dispatcher, &config, r, w, events, &lanes).await
                }
                #[cfg(target_os = "linux")]
                Accepted::Vsock(s) => {
                    let (r, w) = tokio::io::split(s);
                    serve_within(dispatcher, &config, r, w, events, &lanes).await
                }
            };
            if let Err(e) = result {
                log::debug!("connection ended: {e}");
            }
        });
    }
}

/// Opens a character device for reading and writing without blocking: a
/// pending read must not hold up a reply.
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

fn open_device(path: &Path) -> io::Result<FdStream> {
    FdStream::new(open_nonblocking(path)?.into())
}

/// Opens a serial port as [`open_device`] does and sets it up as qemu-ga
/// sets up an isa-serial channel: bytes pass unchanged (no echo, no line
/// editing, no CR/LF translation, no flow control), 38400 baud, a read
/// returns as soon as one byte is there, and what waited to be read is
/// dropped.  A device that is not a terminal is served as it is.
fn open_serial(path: &Path) -> io::Result<FdStream> {
    let file = open_nonblocking(path)?;
    match raw_serial(&file) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
            log::warn!("{}: not a terminal, served as it is", path.display());
        }
        other => other?,
    }
    FdStream::new(file.into())
}

fn raw_serial(fd: impl std::os::fd::AsFd) -> io::Result<()> {
    use rustix::termios::{
        tcflush, tcgetattr, tcsetattr, InputModes, LocalModes, OptionalActions, OutputModes,
        QueueSelector, SpecialCodeIndex,
    };
    let fd = fd.as_fd();
    let mut tio = tcgetattr(fd)?;
    tio.input_modes -= InputModes::IGNBRK
        | InputModes::BRKINT
        | InputModes::IGNPAR
        | InputModes::PARMRK
        | InputModes::INPCK
        | InputModes::ISTRIP
        | InputModes::INLCR
        | InputModes::IGNCR
        | InputModes::ICRNL
        | InputModes::IXON
        | InputModes::IXOFF
        | InputModes::IXANY
        | InputModes::IMAXBEL;
    tio.output_modes = OutputModes::empty();
    tio.local_modes = LocalModes::empty();
    tio.set_speed(38400)?;
    tio.special_codes[SpecialCodeIndex::VMIN] = 1;
    tio.special_codes[SpecialCodeIndex::VTIME] = 0;
    tcflush(fd, QueueSelector::IFlush)?;
    tcsetattr(fd, OptionalActions::Now, &tio)?;
    Ok(())
}

/// Serves a character device such as a virtio-serial port.  When the
/// host side goes away (end of file), the device is opened again after a
/// pause and any partial request is forgotten; a device that cannot be
/// opened is retried as long as the error passes.
pub async fn serve_device<S: Send + Sync + 'static>(
    path: &Path,
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
    events: Option<EventSender>,
) -> io::Result<()> {
    serve_opened(path, open_device, dispatcher, config, events).await
}

/// Serves a serial port (qemu-ga's isa-serial channel) as
/// [`serve_device`] serves a device, with the port in raw mode, as
/// qemu-ga sets it (a terminal's default echo and line editing would send
/// the host its own requests back).
pub async fn serve_serial<S: Send + Sync + 'static>(
    path: &Path,
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
    events: Option<EventSender>,
) -> io::Result<()> {
    serve_opened(path, open_serial, dispatcher, config, events).await
}

async fn serve_opened<S: Send + Sync + 'static>(
    path: &Path,
    open: fn(&Path) -> io::Result<FdStream>,
    dispatcher: Arc<Dispatcher<S>>,
    config: ServerConfig,
    events: Option<EventSender>,
) -> io::Result<()> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match open(path) {
            Ok(device) => {
                backoff = FIRST_BACKOFF;
                let (reader, writer) = tokio::io::split(device);
                let served = serve_connection(
                    Arc::clone(&dispatcher),
                    &config,
                    reader,
                    writer,
                    events.as_ref(),
                )
                .await;
                if let Err(e) = served {
                    log::warn!("{}: {e}", path.display());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) if is_transient(&e) => {
                log::warn!("{}: {e}; retrying in {backoff:?}", path.display());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Err(e),
        }
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
