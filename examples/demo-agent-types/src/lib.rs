//! Types, commands and the dispatch table of `examples/schemas/demo.json`,
//! generated at build time by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/demo.rs"));
