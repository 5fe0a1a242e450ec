//! The semantic checker: turns a [`ParsedSchema`] into a resolved
//! [`Schema`] with QEMU's verdicts and error texts.
//!
//! Phase 1 (module `expr`) checks each expression on its own; phase 2
//! (module `schema`) defines entities, resolves names and checks them against
//! each other.  Errors name the definition they concern, as QEMU does, by
//! tagging each expression's line with its definition as phase 1 reaches
//! it.

mod compat;
mod expr;
mod names;
mod schema;

use std::collections::HashMap;

use crate::diagnostic::{Definition, Diagnostic, Location};
use crate::doc::Doc;
use crate::load::{ParsedSchema, SchemaError, TopLevel};
use crate::model::Schema;
use crate::pragma::Pragma;
use crate::source::{Info, SourceMap, Span};

/// Checks a parsed schema.
pub fn check(parsed: ParsedSchema) -> Result<Schema, SchemaError> {
    let ParsedSchema {
        sources,
        root,
        items,
        docs,
        pragma,
        options,
        warnings,
    } = parsed;
    let mut ctx = Ctx {
        sources,
        docs,
        pragma,
        compat: options.compat,
        tags: HashMap::new(),
        warnings,
    };
    let result = (|| {
        let mut decls = Vec::with_capacity(items.len());
        for item in &items {
            match item {
                TopLevel::Include { name, info, span } => {
                    decls.push(schema::Item::Include {
                        name: name.clone(),
                        info: *info,
                        span: *span,
                    });
                }
                TopLevel::Expr(e) => {
                    for decl in compat::expand(&mut ctx, e)? {
                        decls.push(schema::Item::Decl(decl));
                    }
                }
            }
        }
        schema::build(&mut ctx, root, decls)
    })();
    match result {
        Ok(built) => Ok(built.finish(ctx)),
        Err(err) => {
            let mut diagnostics = ctx.warnings;
            diagnostics.push(err);
            Err(SchemaError {
                sources: ctx.sources,
                diagnostics,
            })
        }
    }
}

/// Parses and checks the schema at `path`.
pub fn load_schema(
    path: impl AsRef<std::path::Path>,
    options: crate::ParseOptions,
) -> Result<Schema, SchemaError> {
    check(crate::parse_file(path, options)?)
}

/// State shared by both phases.
pub(crate) struct Ctx {
    pub sources: SourceMap,
    pub docs: Vec<Doc>,
    pub pragma: Pragma,
    pub compat: bool,
    /// The definition each line belongs to, as far as phase 1 has got.
    tags: HashMap<Info, (&'static str, String)>,
    pub warnings: Vec<Diagnostic>,
}

impl Ctx {
    /// Tags `info`'s line as belonging to definition `meta` `name`.
    fn tag(&mut self, info: Info, meta: &'static str, name: &str) {
        self.tags.insert(info, (meta, name.to_owned()));
    }

    /// The definition `info`'s line belongs to.
    fn tag_of(&self, info: Info) -> Option<&(&'static str, String)> {
        self.tags.get(&info)
    }

    /// A location QEMU reports as `FILE:LINE`, with the definition context.
    pub(crate) fn location(&self, info: Info, span: Span) -> Location {
        Location::new(info, span).in_definition(self.tag_of(info).map(|(meta, name)| Definition {
            meta: (*meta).to_owned(),
            name: name.clone(),
        }))
    }

    /// An error at `info`.
    pub(crate) fn error(&self, info: Info, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.location(info, span), message)
    }

    /// A documentation problem: an error, or under `--compat` a warning.
    pub(crate) fn doc_problem(&mut self, diag: Diagnostic) -> Result<(), Diagnostic> {
        if self.compat {
            self.warnings.push(diag.into_warning());
            Ok(())
        } else {
            Err(diag)
        }
    }

    /// Whether the members of `name` may use upper case and `_`: the
    /// pragma `member-name-exceptions` lists it, or names are relaxed.
    pub(crate) fn member_name_exception(&self, name: &str) -> bool {
        self.relaxed_names() || self.pragma.member_name_exceptions.iter().any(|n| n == name)
    }

    /// Under `--compat`, member, value and command names are only checked
    /// for their form, as before QEMU 6.0.
    pub(crate) fn relaxed_names(&self) -> bool {
        self.compat
    }
}
