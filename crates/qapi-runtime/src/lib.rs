//! Runtime support for Rust code generated from QAPI schemas by
//! `qapi-codegen`.
//!
//! Generated code depends only on this crate: it names its items through
//! this crate's paths and re-exports, so a user's `Cargo.toml` needs
//! `qapi-runtime` and nothing else.

#![warn(missing_docs)]

pub mod client;
mod command;
pub mod de;
pub mod dispatch;
mod error;
mod feature;
pub mod handler;
pub mod introspect;
pub mod json;
mod macros;
pub mod policy;
pub mod request;
pub mod ser;
pub mod session;
#[cfg(feature = "tokio")]
pub mod transport;

pub use command::{Command, CommandInfo, CommandVisitor, Empty, Event};
pub use dispatch::{Dispatcher, SchemaInfo};
pub use error::{Error, ErrorClass};
pub use feature::FeatureSet;

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
