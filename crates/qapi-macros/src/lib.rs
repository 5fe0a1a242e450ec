//! `#[handlers]`: QAPI command handlers as plain functions, bound to the
//! commands that `qapi-codegen` generated and checked against them at
//! compile time.  Use it as `qapi_runtime::handlers` (feature `macros`,
//! on by default).
//!
//! ```ignore
//! // build.rs: qapi_codegen::Builder::new("schema/qga.json").generate()
//! mod qga {
//!     include!(concat!(env!("OUT_DIR"), "/qga.rs"));
//! }
//!
//! #[qapi_runtime::handlers(schema = "qga")]
//! mod handlers {
//!     use std::sync::Arc;
//!     use qapi_runtime::Error;
//!
//!     /// `guest-sync`: members are parameters, matched by name.
//!     #[command]
//!     fn guest_sync(id: i64) -> Result<i64, Error> {
//!         Ok(id)
//!     }
//!
//!     /// A command without `returns` returns `Result<(), E>`.
//!     #[command("guest-ping")]
//!     fn ping(_agent: &crate::Agent) -> Result<(), Error> {
//!         Ok(())
//!     }
//!
//!     /// Async handlers share the state as `Arc<T>`; `#[args]` takes the
//!     /// whole argument struct.
//!     #[command]
//!     async fn guest_exec(
//!         agent: Arc<crate::Agent>,
//!         #[args] args: crate::qga::commands::GuestExec,
//!     ) -> Result<crate::qga::GuestExec, Error> {
//!         agent.exec(args).await
//!     }
//! }
//!
//! let dispatcher = handlers::register(Dispatcher::builder(qga::SCHEMA)).build(agent)?;
//! ```
//!
//! The attribute reads the manifest `qapi_codegen::Builder` writes beside
//! the generated code (`$OUT_DIR/STEM.handlers.json`).  Its options:
//!
//! - `schema = "STEM"`: the schema, by the stem of its file name (or a
//!   path to a manifest, relative to the crate, if it has a `/`);
//! - `types = path`: where the generated code is included (default
//!   `crate::STEM`);
//! - `state = Type`: the dispatcher's state type (default: what the first
//!   handler with a state parameter takes; generic if none does);
//! - `require_all`, or `require = ["name", ...]`: fail the build if a
//!   command of the schema (except `'gen': false` ones and those the
//!   runtime answers itself: `qmp_capabilities`, `query-commands`,
//!   `query-qmp-schema`), or one of these, has no handler.
//!
//! In the module, `#[command]` marks a handler of the command named like
//! the function (`_` for `-`), `#[command("name")]` one of `name`; add
//! `blocking` (`#[command(blocking)]`, `#[command("name", blocking)]`) to
//! a handler that may block (file or process I/O), which then runs on a
//! thread of its own rather than where requests are read.  A
//! parameter is the state if its type is `&T` (handlers that are not
//! async) or `Arc<T>` (async ones), the whole argument struct if marked
//! `#[args]` (required for boxed commands), and otherwise the member of
//! its name (a leading `_` is ignored); every member needs a parameter,
//! optional ones as `Option<T>`.  The module gets `register`, which adds
//! every handler to a `DispatcherBuilder`, and `COMMANDS`, the names it
//! handles.  Each handler's docs link to its command's generated docs.
//!
//! A command the schema lacks, a missing or extra parameter, a parameter
//! or return type that does not fit, a command declared `'gen': false`
//! and a second handler for a command are compile errors on the token at
//! fault.

mod bind;
mod expand;
mod handler;
mod manifest;
mod options;

use proc_macro::TokenStream;

/// Binds the `#[command]` functions of a module to a generated schema's
/// commands; see the crate docs.
#[proc_macro_attribute]
pub fn handlers(args: TokenStream, item: TokenStream) -> TokenStream {
    let result = options::Options::parse(args.into()).and_then(|options| {
        let module = syn::parse::<syn::ItemMod>(item)?;
        expand::expand(options, module)
    });
    match result {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
