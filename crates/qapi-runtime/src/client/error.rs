//! Why a client call failed.

use serde_json::Value;

use crate::de::DecodeError;
use crate::Error;

/// Why a call (or an event) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection: every call waiting then and every
    /// call after gets this.
    #[error("the connection is closed")]
    Closed,
    /// Nothing came in time: the greeting or negotiation (a peer busy with
    /// another client, as QEMU's monitor is), or a call's reply.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The server answered with an error.
    #[error("{command}: {error}")]
    Server {
        /// The command.
        command: String,
        /// The error, with QEMU's class and text.
        error: Error,
    },
    /// What the server sent does not match the type this client was
    /// generated with (beyond unknown members and values, which a tolerant
    /// client keeps or ignores).  The value is kept as it came.
    #[error("{0}")]
    Decode(Box<Mismatch>),
    /// The peer broke the protocol (no greeting, a reply of no known shape).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection cannot do this (fd passing on a stream that is not a
    /// Unix socket, `exec-oob` without the `oob` capability).
    #[error("{0}")]
    Unsupported(&'static str),
    /// Events were dropped because nobody read them fast enough (see the
    /// [module docs](super) for the rule).
    #[error("{0} events were lost")]
    EventsLost(u64),
}

/// A reply or event that does not match its type, kept as it came.
#[derive(Debug, thiserror::Error)]
#[error("{what} does not match its schema: {} at '{}'", .error.kind(), .error.path())]
pub struct Mismatch {
    /// What was read: `the reply to query-status`, `event SHUTDOWN`.
    pub what: String,
    /// What is wrong, and where.
    pub error: DecodeError,
    /// The value as the server sent it.
    pub raw: Value,
}

impl ClientError {
    /// The mismatch of `what` (a reply, an event) read as `raw`.
    pub(super) fn mismatch(what: String, error: DecodeError, raw: Value) -> Self {
        ClientError::Decode(Box::new(Mismatch { what, error, raw }))
    }

    /// The server's error, if the server answered with one.
    pub fn server_error(&self) -> Option<&Error> {
        match self {
            ClientError::Server { error, .. } => Some(error),
            _ => None,
        }
    }
}
