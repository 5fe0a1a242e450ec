//! Runtime support for Rust code generated from QAPI schemas by
//! `qapi-codegen`.
//!
//! Generated code depends only on this crate: it names its items through
//! this crate's paths and re-exports, so a user's `Cargo.toml` needs
//! `qapi-runtime` and nothing else.
//!
//! The crate has three rooms:
//!
//! - what generated code needs: [`Command`], [`Event`], [`CommandInfo`],
//!   [`FeatureSet`], decoding ([`de`]) and encoding ([`ser`]) with QEMU's
//!   texts, [`introspect`]ion data;
//! - [`server`]: the dispatcher with its [`policy`], QGA and QMP sessions,
//!   and (feature `tokio`) transports;
//! - [`client`]: QMP and QGA clients.
//!
//! [`json`] is QEMU's JSON reader and writer, which both sides use.

#![warn(missing_docs)]

pub mod client;
mod command;
pub mod de;
mod error;
mod feature;
pub mod handler;
pub mod introspect;
pub mod json;
mod macros;
pub mod policy;
pub mod ser;
pub mod server;

pub use command::{Command, CommandInfo, CommandVisitor, Empty, Event, Events, UnrecognizedEvent};
pub use error::{Error, ErrorClass};
pub use feature::FeatureSet;
pub use server::dispatch::{Dispatcher, SchemaInfo};

/// Binds the functions of a module to the commands of a generated schema,
/// checked at compile time; see the `qapi-macros` crate.
#[cfg(feature = "macros")]
pub use qapi_macros::handlers;

/// Re-exports for generated code; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}
