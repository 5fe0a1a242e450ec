//! Rust code generation from QAPI schemas.
//!
//! [`Builder`] is the entry point for build scripts; [`generate`] turns a
//! checked schema into formatted Rust source.  The `qapi-gen` crate is
//! the same from the shell; this crate has no command line of its own, so
//! a build script that uses it compiles no argument parser.

#![warn(missing_docs)]

mod builder;
mod cfg;
mod docs;
mod gen;
mod names;
mod print;

pub use builder::{Builder, Error, Output};
pub use cfg::{CfgMap, CfgValue};
pub use gen::{Hidden, Selection};

use std::collections::{BTreeMap, BTreeSet};

use qapi_parser::Schema;

/// What to generate and how.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// How condition names become cfg predicates.
    pub cfg: CfgMap,
    /// Which commands and events (and so which types) to generate.
    pub selection: Selection,
    /// Lay the output out for reading (lines, indentation, `///` docs);
    /// without it, tokens are separated by single spaces.
    pub format: bool,
    /// Attributes added to chosen types and fields.
    pub attributes: Attributes,
}

/// Attributes (derives too) a user adds to generated items, by schema
/// name, as prost-build's `type_attribute` and `field_attribute`.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    /// (type name as in the schema, or `*` for every type; attribute
    /// text such as `#[derive(Hash)]`).
    pub types: Vec<(String, String)>,
    /// (`Type.member` as in the schema; attribute text).
    pub fields: Vec<(String, String)>,
}

/// Generated code.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The Rust source.
    pub code: String,
    /// Condition names left as custom cfgs: a build script declares them
    /// with `cargo::rustc-check-cfg` and may set them.
    pub custom_cfgs: BTreeSet<String>,
    /// The handler manifest (JSON) that `qapi-macros` reads to check
    /// handler functions against the generated commands.
    pub handlers: String,
    /// Each condition left as a custom cfg, with what it hides unless
    /// the cfg is set: one warning each from the `Builder`.
    pub unmapped: BTreeMap<String, Hidden>,
}

/// How many units (types, commands, events) one worker renders at a time.
const CHUNK: usize = 24;

/// Generates Rust source for `schema`.
///
/// The file is cut into chunks of items that are generated and formatted
/// on all cores; each worker has its own generator (generation is
/// deterministic, so they agree on every name).
pub fn generate(schema: &Schema, options: &Options) -> Result<Generated, String> {
    options.cfg.validate()?;
    let new_gen = || {
        gen::Gen::new(
            schema,
            &options.cfg,
            &options.selection,
            &options.attributes,
        )
    };
    let main = new_gen()?;
    let sections = main.sections();
    let jobs: Vec<(usize, &[gen::Unit])> = sections
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.units.chunks(CHUNK).map(move |c| (i, c)))
        .collect();
    let results: Vec<std::sync::Mutex<Option<Result<String, String>>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let custom_cfgs = std::sync::Mutex::new(BTreeSet::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(jobs.len().max(1));
    // Takes chunks until none is left; then hands over the custom cfgs
    // its generator met.
    let work = |g: gen::Gen<'_>| {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((section, units)) = jobs.get(i) else {
                break;
            };
            // Units inside a module are printed one level in.
            let indent = usize::from(sections[*section].module.is_some());
            let text = render(&g, units, options.format, indent);
            *results[i].lock().expect("not poisoned") = Some(text);
        }
        custom_cfgs
            .lock()
            .expect("not poisoned")
            .extend(g.custom_cfgs.into_inner().expect("not poisoned"));
    };
    // This thread writes the manifest while the others start on the
    // chunks, then joins them.
    let (handlers, unmapped) = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers)
            .map(|_| scope.spawn(|| new_gen().map(work)))
            .collect();
        let handlers = main.handler_manifest();
        let unmapped = main.unmapped_conditions();
        work(main);
        for h in handles {
            h.join()
                .unwrap_or_else(|_| Err("a generator thread panicked".into()))?;
        }
        Ok::<_, String>((handlers?, unmapped))
    })?;
    let chunks = results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .expect("not poisoned")
                .ok_or("a chunk was not generated")?
        })
        .collect::<Result<Vec<String>, String>>()?;
    let mut code = String::with_capacity(chunks.iter().map(String::len).sum::<usize>() + 4096);
    code.push_str("// @generated by qapi-codegen: do not edit.\n\n");
    for (i, section) in sections.iter().enumerate() {
        if let Some((name, docs)) = section.module {
            for line in docs {
                code.push_str(&format!("/// {line}\n"));
            }
            // A program may use few of them: no dead-code warnings.
            code.push_str(&format!("#[allow(dead_code)]\npub mod {name} {{\n"));
        }
        for ((s, _), chunk) in jobs.iter().zip(&chunks) {
            if *s == i {
                code.push_str(chunk);
            }
        }
        if section.module.is_some() {
            code.push_str("}\n");
        }
    }
    Ok(Generated {
        code,
        custom_cfgs: custom_cfgs.into_inner().expect("not poisoned"),
        handlers,
        unmapped,
    })
}

/// The text of some units: laid out for reading (`indent` levels in), or
/// as tokens.
fn render(
    g: &gen::Gen<'_>,
    units: &[gen::Unit],
    format: bool,
    indent: usize,
) -> Result<String, String> {
    let mut text = String::new();
    for unit in units {
        let tokens = g.unit(unit)?;
        if format {
            text.push_str(&print::print(tokens, indent));
        } else {
            text.push_str(&tokens.to_string());
            text.push('\n');
        }
    }
    Ok(text)
}
