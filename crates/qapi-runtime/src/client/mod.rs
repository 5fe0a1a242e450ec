//! The client side: QMP and QGA clients for generated types.
//!
//! - [`Client`] (feature `tokio`): async; calls overlap and their replies
//!   are matched by id; `exec-oob`; events as a stream of the generated
//!   `Event` enum ([`EventStream`]) or as they came ([`RawEvents`]);
//!   descriptors passed with a call (`getfd`, `add-fd`); Unix, TCP, an
//!   inherited descriptor or any stream.
//! - [`BlockingClient`]: one call at a time on a Unix or TCP socket,
//!   events kept until asked for.
//! - [`ClientBuilder`]: how to connect (protocol, `oob`, strictness, time
//!   limits, event backlog).
//! - [`Capabilities`]: what the peer supports, from `query-qmp-schema`.
//!
//! # Version skew
//!
//! A client reads what the server sends tolerantly by default: the peer
//! may be another QEMU release than the schema the types were generated
//! from.  Members the schema does not list are ignored; an enum value it
//! does not know becomes the enum's `Unrecognized` variant, which keeps
//! the name and serializes back to it; a union branch it does not know
//! keeps its members ([`de::Unrecognized`](crate::de::Unrecognized)); an
//! event it does not know is the `Event` enum's `Unrecognized` variant.
//! Enums a client receives are open for this: they are not `Copy`, and a
//! `match` needs an arm for `Unrecognized` (enums only ever sent, in
//! arguments, stay closed and exhaustive).  A member the schema requires
//! that the reply lacks is an error that names the command, the path and
//! keeps the reply ([`ClientError::Decode`]); `execute_raw` reads a reply
//! as it comes.  [`ClientBuilder::strict`] reads strictly instead, for
//! tests that want to catch drift.
//!
//! # Events
//!
//! While no stream is open, the most recent events (1024 by default,
//! [`ClientBuilder::event_backlog`]) are kept and the next stream opened
//! gets them first, so none sent between the greeting and the first
//! subscription is lost; older ones are dropped and reported as
//! [`ClientError::EventsLost`].  Each stream then gets every event; one
//! that falls behind by more than the backlog loses the oldest, reported
//! the same way.

#[cfg(feature = "tokio")]
mod asynchronous;
mod blocking;
mod builder;
mod error;
#[cfg(feature = "tokio")]
mod events;
#[cfg(feature = "tokio")]
mod fds;
mod probe;
mod wire;

#[cfg(feature = "tokio")]
pub use asynchronous::Client;
pub use blocking::BlockingClient;
pub use builder::ClientBuilder;
pub use error::{ClientError, Mismatch};
#[cfg(feature = "tokio")]
pub use events::{EventStream, RawEvents};
pub use probe::{Capabilities, Probe};
pub use wire::{Greeting, RawEvent, Timestamp, TypedEvent};
