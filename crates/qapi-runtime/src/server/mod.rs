//! The server side: QGA and QMP servers built from a generated schema.
//!
//! - [`dispatch`]: the [`Dispatcher`](dispatch::Dispatcher), one request
//!   in and its reply out, with the deployment's policy and QEMU's texts;
//! - [`request`]: a request's shape, checked as QEMU checks it;
//! - [`session`]: one connection's protocol (QGA or QMP framing,
//!   negotiation, out-of-band routing), without I/O;
//! - with the `tokio` feature: [`serve`] and the other transports
//!   (Unix and TCP listeners, inherited sockets, character devices,
//!   stdio), [`ServerConfig`] and its [`ServerLimits`], and
//!   [`EventSender`] for QMP events.
//!
//! # Threading model
//!
//! Each connection is one tokio task.  It reads requests, runs the
//! in-band ones one at a time in the order they came, and writes each
//! reply as soon as it is ready; connections never wait for each other.
//! Where a handler runs depends on how it was registered:
//!
//! - [`handle`](dispatch::DispatcherBuilder::handle): on the connection's
//!   task, at once.  For quick work that never blocks (answering from
//!   memory); a handler that blocks here stalls every connection that
//!   task's thread serves.
//! - [`handle_blocking`](dispatch::DispatcherBuilder::handle_blocking): on
//!   a thread of tokio's blocking pool, while the connection goes on
//!   reading (and running out-of-band commands) and other connections are
//!   served.  For anything that touches files, devices, processes or
//!   locks held by slow work.
//! - [`handle_async`](dispatch::DispatcherBuilder::handle_async): as a
//!   future polled by the connection's task.
//!
//! With QMP's `oob` capability, an `exec-oob` request runs as soon as it
//! is read, while in-band requests of the same connection run or wait,
//! and its reply goes out when ready.  Events emitted while a command
//! runs are written before that command's reply.
//!
//! # Limits
//!
//! Memory stays bounded whatever clients send ([`ServerLimits`]): a
//! request is at most 64 MiB (QEMU's limit, then an error reply); at most
//! `max_connections` are served (one more is told so and closed); a
//! connection holds at most `buffered_per_connection` bytes of requests
//! on its own, and more only in its turn (`large_requests_at_once`
//! connections at a time, the others unread until theirs), then at most
//! the request being read and one queued request of the largest size; a
//! connection is not read while its peer leaves more than
//! `max_pending_output` reply bytes unread or `max_queued_requests`
//! requests wait.  An idle connection holds no buffer, and buffers grown
//! for a large message are freed once it //! is answered.  Transient `accept()` failures (out of descriptors or
//! memory, aborted connections) never end a server.

pub mod dispatch;
pub mod request;
pub mod session;

#[cfg(feature = "tokio")]
mod connection;
#[cfg(feature = "tokio")]
mod events;
#[cfg(feature = "tokio")]
mod fd_stream;
#[cfg(feature = "tokio")]
mod listen;
#[cfg(all(feature = "tokio", target_os = "linux"))]
mod vsock;

#[cfg(feature = "tokio")]
pub use connection::{serve_connection, ServerConfig, ServerLimits};
#[cfg(feature = "tokio")]
pub use events::EventSender;
#[cfg(feature = "tokio")]
pub use fd_stream::FdStream;
#[cfg(feature = "tokio")]
pub use listen::{serve, serve_device, serve_serial, serve_stdio, Listener};
#[cfg(all(feature = "tokio", target_os = "linux"))]
pub use vsock::VsockListener;
