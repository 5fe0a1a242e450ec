//! Parser and semantic checker for QAPI schemas.
//!
//! QAPI is the schema language of QEMU's machine protocol (QMP) and guest
//! agent (QGA).  This crate reads a schema the way QEMU's own generator
//! does, with the same verdicts and the same error texts, and keeps a span
//! on everything so that tools can point at the source.
//!
//! The stages:
//! - [`syntax`]: the pest grammar and the value tree it produces;
//! - [`doc`]: documentation comments, parsed into sections;
//! - [`load`]: reading a schema with its includes and pragmas into a
//!   [`ParsedSchema`].

pub mod check;
pub mod diagnostic;
pub mod doc;
pub mod dump;
pub mod load;
pub mod model;
pub mod pragma;
pub mod source;
pub mod syntax;

pub use check::{check, load_schema};
pub use diagnostic::{Diagnostic, ErrorFormat, Severity};
pub use load::{
    parse_file, parse_str, parse_with, Expression, ParseOptions, ParsedSchema, SchemaError,
    TopLevel,
};
pub use model::Schema;
pub use source::{FileId, Info, SourceMap, Span};
