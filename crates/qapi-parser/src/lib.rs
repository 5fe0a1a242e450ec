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
//!   [`ParsedSchema`];
//! - [`mod@check`]: the semantic checks, producing the resolved [`Schema`]
//!   ([`model`]), which [`dump`] prints in QEMU's test format.
//!
//! ```
//! use qapi_parser::{check, parse_str, ParseOptions};
//!
//! let text = "
//! { 'pragma': { 'command-features': [ 'fs-frozen' ] } }
//! { 'struct': 'Base', 'data': { 'id': 'int' } }
//! { 'struct': 'Point', 'base': 'Base', 'data': { 'x': 'int', '*y': 'int' } }
//! { 'command': 'ping', 'features': [ 'fs-frozen' ] }
//! ";
//! let schema = check(parse_str("demo.json", text, ParseOptions::default())?)?;
//!
//! let point = schema.lookup("Point").expect("defined");
//! let names: Vec<_> = schema.members(point).iter().map(|m| m.name.as_str()).collect();
//! assert_eq!(names, ["id", "x", "y"]);
//!
//! let (_, ping, _) = schema.commands().next().expect("one command");
//! assert!(ping.has_feature("fs-frozen"));
//! assert!(schema.is_command_feature_group("fs-frozen"));
//! // deprecated = bit 0, unstable = bit 1, then the schema's own features.
//! assert_eq!(schema.feature_mask(&ping.features), 1 << 2);
//! # Ok::<(), qapi_parser::SchemaError>(())
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod diagnostic;
pub mod doc;
pub mod dump;
pub mod load;
pub mod model;
pub mod pragma;
mod prefetch;
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
