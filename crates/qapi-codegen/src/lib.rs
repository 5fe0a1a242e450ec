//! Rust code generation from QAPI schemas: not yet built.
