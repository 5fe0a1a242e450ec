//! Attribute macros for QAPI command handlers: not yet built.
