//! Reading a schema: the root file, its includes and pragmas, its
//! documentation blocks, in the order and with the errors of QEMU's parser.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, ErrorFormat, Location};
use crate::doc::{parse_doc, Doc};
use crate::pragma::Pragma;
use crate::prefetch::{relabel, Prefetch};
use crate::source::{abs_path, join_include, relative_path, FileId, Info, SourceMap, Span};
use crate::syntax::{
    item_error, lexical_error, parse_items, skip_trivia, Object, RawDoc, RawItem, Value,
};

/// Options for reading a schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept the spellings of older QEMU releases, and turn documentation
    /// problems into warnings.
    pub compat: bool,
}

/// A definition as written: a top-level object that is neither an include
/// nor a pragma.
#[derive(Clone, Debug, PartialEq)]
pub struct Expression {
    /// The object.
    pub value: Object,
    /// The whole object.
    pub span: Span,
    /// The line of its opening brace, where QEMU reports its errors.
    pub info: Info,
    /// The documentation block before it, an index into
    /// [`ParsedSchema::docs`].
    pub doc: Option<usize>,
}

/// A top-level item that matters after parsing.
#[derive(Clone, Debug, PartialEq)]
pub enum TopLevel {
    /// `{ 'include': ... }`; repeated includes are recorded each time but
    /// read once.
    Include {
        /// The included file's name as QEMU forms it (the including file's
        /// directory joined with the directive's value).
        name: String,
        /// The directive's line.
        info: Info,
        /// The directive.
        span: Span,
    },
    /// A definition.
    Expr(Expression),
}

/// A schema as read, before any semantic check.
#[derive(Debug)]
pub struct ParsedSchema {
    /// Every file read.
    pub sources: SourceMap,
    /// The root file.
    pub root: FileId,
    /// Includes and definitions in order, included files spliced in after
    /// their include directive.
    pub items: Vec<TopLevel>,
    /// Every documentation block in order.
    pub docs: Vec<Doc>,
    /// The schema-wide settings.
    pub pragma: Pragma,
    /// The options the schema was read with.
    pub options: ParseOptions,
    /// Warnings (only under `--compat`).
    pub warnings: Vec<Diagnostic>,
}

impl ParsedSchema {
    /// The number of definitions (top-level expressions other than
    /// includes and pragmas).
    pub fn definition_count(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, TopLevel::Expr(_)))
            .count()
    }

    /// QEMU's module name for a file name: its path relative to the root
    /// schema's directory, normalised.
    pub fn module_name(&self, file_name: &str) -> String {
        let root = &self.sources.file(self.root).name;
        let dir = match root.rfind('/') {
            Some(0) => "/",
            Some(i) => &root[..i],
            None => ".",
        };
        relative_path(&abs_path(file_name), &abs_path(dir))
    }
}

/// A schema that could not be read, with the files read so far (for
/// rendering) and every diagnostic, the error last.
#[derive(Debug)]
pub struct SchemaError {
    /// The files read before the error.
    pub sources: SourceMap,
    /// Warnings, then the error.
    pub diagnostics: Vec<Diagnostic>,
}

impl SchemaError {
    /// The error.
    pub fn error(&self) -> &Diagnostic {
        self.diagnostics
            .last()
            .expect("a schema error has a diagnostic")
    }

    /// Renders every diagnostic, one per line.
    pub fn render(&self, format: ErrorFormat, color: bool) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.sources, format, color) + "\n")
            .collect()
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error().render_qemu(&self.sources))
    }
}

impl std::error::Error for SchemaError {}

/// Reads the schema at `path` and everything it includes.
pub fn parse_file(
    path: impl AsRef<Path>,
    options: ParseOptions,
) -> Result<ParsedSchema, SchemaError> {
    let name = path.as_ref().to_string_lossy().into_owned();
    load(
        &name,
        None,
        options,
        &|p: &Path| std::fs::read_to_string(p),
        true,
    )
}

/// Reads a schema from `text`, named `name`; includes are read from disk
/// relative to `name`.
pub fn parse_str(
    name: &str,
    text: &str,
    options: ParseOptions,
) -> Result<ParsedSchema, SchemaError> {
    load(
        name,
        Some(text),
        options,
        &|p: &Path| std::fs::read_to_string(p),
        false,
    )
}

/// Reads a schema through `read`, which maps a path to a file's text (so
/// that tests can supply files from memory).
pub fn parse_with(
    name: &str,
    options: ParseOptions,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<ParsedSchema, SchemaError> {
    load(name, None, options, read, false)
}

/// Reads the schema `name` (whose text is `text` if given) through
/// `read`; with `prefetch`, the root's include files are read from disk
/// and parsed ahead on a second thread.
fn load(
    name: &str,
    text: Option<&str>,
    options: ParseOptions,
    read: &dyn Fn(&Path) -> io::Result<String>,
    prefetch: bool,
) -> Result<ParsedSchema, SchemaError> {
    let mut loader = Loader {
        sources: SourceMap::new(),
        read,
        prefetch: None,
        options,
        included: HashSet::new(),
        items: Vec::new(),
        docs: Vec::new(),
        pragma: Pragma::default(),
        warnings: Vec::new(),
    };
    let abs = abs_path(name);
    loader.included.insert(abs.clone());
    let text = match text {
        Some(t) => t.to_owned(),
        None => match read(Path::new(name)) {
            Ok(t) => t,
            Err(err) => {
                return Err(loader.fail(Diagnostic::bare(format!(
                    "can't read schema file '{name}': {}",
                    strerror(&err)
                ))))
            }
        },
    };
    let root = loader.sources.add(name.to_owned(), abs, &text, None);
    let parsed = parse_items(root, &text);
    let ahead = prefetch
        .then(|| Prefetch::for_root(name, &parsed.0))
        .flatten();
    let result = match &ahead {
        Some(ahead) => std::thread::scope(|scope| {
            scope.spawn(|| ahead.run());
            loader.prefetch = Some(ahead);
            let result = loader.parse(root, Some(parsed));
            ahead.stop();
            result
        }),
        None => loader.parse(root, Some(parsed)),
    };
    loader.prefetch = None;
    if let Err(diag) = result {
        return Err(loader.fail(diag));
    }
    Ok(ParsedSchema {
        sources: loader.sources,
        root,
        items: loader.items,
        docs: loader.docs,
        pragma: loader.pragma,
        options,
        warnings: loader.warnings,
    })
}

/// The text C's `strerror` gives for an I/O error.
fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

struct Loader<'r> {
    sources: SourceMap,
    read: &'r dyn Fn(&Path) -> io::Result<String>,
    /// Include files parsed ahead, if another thread is at it.
    prefetch: Option<&'r Prefetch>,
    options: ParseOptions,
    included: HashSet<PathBuf>,
    items: Vec<TopLevel>,
    docs: Vec<Doc>,
    pragma: Pragma,
    warnings: Vec<Diagnostic>,
}

impl<'r> Loader<'r> {
    fn fail(self, diag: Diagnostic) -> SchemaError {
        let mut diagnostics = self.warnings;
        diagnostics.push(diag);
        SchemaError {
            sources: self.sources,
            diagnostics,
        }
    }

    fn syntax_error(&self, file: FileId, pos: usize, message: String) -> Diagnostic {
        let len = self.sources.file(file).text.len();
        let pos = pos.min(len.saturating_sub(1));
        Diagnostic::error(
            Location::syntax(&self.sources, Span::new(file, pos, (pos + 1).min(len))),
            message,
        )
    }

    /// QEMU reads the token after an item before acting on the item, so a
    /// malformed token there is reported first.
    fn check_next_token(&self, file: FileId, end: usize) -> Result<(), Diagnostic> {
        let text = &self.sources.file(file).text;
        let next = skip_trivia(text, end);
        match lexical_error(text, next) {
            Some(message) => Err(self.syntax_error(file, next, message)),
            None => Ok(()),
        }
    }

    fn reject_pending_doc(&mut self, doc: Option<usize>) -> Result<(), Diagnostic> {
        if let Some(doc) = doc.map(|i| &self.docs[i]) {
            if let Some(symbol) = &doc.symbol {
                let diag = Diagnostic::error(
                    Location::new(doc.info, doc.span),
                    format!("documentation for '{symbol}' is not followed by the definition"),
                );
                return self.doc_problem(diag);
            }
        }
        Ok(())
    }

    /// A documentation problem: an error, or under `--compat` a warning
    /// (documentation was free text before QEMU 2.9).
    fn doc_problem(&mut self, diag: Diagnostic) -> Result<(), Diagnostic> {
        if self.options.compat {
            self.warnings.push(diag.into_warning());
            Ok(())
        } else {
            Err(diag)
        }
    }

    /// Walks the items of `file`: `parsed` if they were parsed already
    /// (their spans are given the file's id), else parsed now.
    fn parse(
        &mut self,
        file: FileId,
        parsed: Option<(Vec<RawItem>, usize)>,
    ) -> Result<(), Diagnostic> {
        let (items, end) = match parsed {
            Some((mut items, end)) => {
                for item in &mut items {
                    if let RawItem::Value(value, _) = item {
                        relabel(value, file);
                    }
                }
                (items, end)
            }
            None => parse_items(file, &self.sources.file(file).text),
        };
        let mut pending_doc: Option<usize> = None;
        for item in items {
            match item {
                RawItem::Doc(raw) => {
                    self.reject_pending_doc(pending_doc)?;
                    let doc = self.doc_block(file, &raw)?;
                    self.docs.push(doc);
                    pending_doc = Some(self.docs.len() - 1);
                }
                RawItem::Value(value, duplicate) => {
                    if let Some((pos, key)) = duplicate {
                        return Err(self.syntax_error(file, pos, format!("duplicate key '{key}'")));
                    }
                    self.check_next_token(file, value.span.end as usize)?;
                    self.top_level(value, pending_doc.take())?;
                }
            }
        }
        let text = &self.sources.file(file).text;
        let next = skip_trivia(text, end);
        if next < text.len() {
            let (pos, message) = item_error(text, next);
            return Err(self.syntax_error(file, pos, message));
        }
        self.reject_pending_doc(pending_doc)
    }

    /// Parses a documentation block.  Under `--compat`, a block that
    /// today's rules reject is kept as plain text, with a warning.
    fn doc_block(&mut self, file: FileId, raw: &RawDoc) -> Result<Doc, Diagnostic> {
        let parsed = parse_doc(self.sources.file(file), file, raw);
        // Before QEMU 2.9 documentation blocks were plain comments: under
        // `--compat` one that today's rules reject, unclosed ones included,
        // is kept as text.
        let lenient = self.options.compat;
        let mut doc = match parsed {
            Ok(doc) => doc,
            Err(diag) if lenient => {
                self.warnings.push(diag.into_warning());
                Doc::plain(self.sources.file(file), file, raw)
            }
            Err(diag) => return Err(diag),
        };
        self.check_next_token(file, raw.end)?;
        if let Err(diag) = doc.finish() {
            if !self.options.compat {
                return Err(diag);
            }
            self.warnings.push(diag.into_warning());
        }
        Ok(doc)
    }

    fn top_level(&mut self, value: Value, doc: Option<usize>) -> Result<(), Diagnostic> {
        let info = self.sources.info(value.span);
        let here = Location::new(info, value.span);
        let Some(object) = value.as_object() else {
            return Err(Diagnostic::error(
                here,
                "top-level expression must be an object",
            ));
        };
        if let Some(include) = object.get("include") {
            self.reject_pending_doc(doc)?;
            if object.len() != 1 {
                return Err(Diagnostic::error(here, "invalid 'include' directive"));
            }
            let Some(target) = include.as_str() else {
                return Err(Diagnostic::error(
                    here,
                    "value of 'include' must be a string",
                ));
            };
            let including = &self.sources.file(info.file).name;
            let name = join_include(including, target);
            self.items.push(TopLevel::Include {
                name: name.clone(),
                info,
                span: value.span,
            });
            return self.include(target, name, info, here);
        }
        if let Some(pragma) = object.get("pragma") {
            self.reject_pending_doc(doc)?;
            if object.len() != 1 {
                return Err(Diagnostic::error(here, "invalid 'pragma' directive"));
            }
            let Some(settings) = pragma.as_object() else {
                return Err(Diagnostic::error(
                    here,
                    "value of 'pragma' must be an object",
                ));
            };
            for member in &settings.members {
                self.pragma
                    .apply(&member.key, &member.value, &here, self.options.compat)?;
            }
            return Ok(());
        }
        let mut doc = doc;
        if let Some(d) = doc.map(|i| &self.docs[i]) {
            if d.symbol.is_none() {
                let diag = Diagnostic::error(
                    Location::new(d.info, d.span),
                    "definition documentation required",
                );
                self.doc_problem(diag)?;
                // Under --compat the block was only a comment.
                doc = None;
            }
        }
        let span = value.span;
        let crate::syntax::ValueKind::Object(object) = value.kind else {
            unreachable!("checked above")
        };
        self.items.push(TopLevel::Expr(Expression {
            value: object,
            span,
            info,
            doc,
        }));
        Ok(())
    }

    fn include(
        &mut self,
        target: &str,
        name: String,
        site: Info,
        here: Location,
    ) -> Result<(), Diagnostic> {
        let abs = abs_path(&name);
        let mut cur = Some(site);
        while let Some(info) = cur {
            let file = self.sources.file(info.file);
            if file.abs_path == abs {
                return Err(Diagnostic::error(
                    here,
                    format!("inclusion loop for {target}"),
                ));
            }
            cur = file.included_from;
        }
        if !self.included.insert(abs.clone()) {
            return Ok(());
        }
        let ahead = self.prefetch.and_then(|p| p.take(&abs));
        let (text, parsed) = match ahead {
            Some(ahead) => (ahead.text, Some((ahead.items, ahead.end))),
            None => {
                let text = (self.read)(Path::new(&name)).map_err(|err| {
                    Diagnostic::error(
                        here.clone(),
                        format!("can't read include file '{name}': {}", strerror(&err)),
                    )
                })?;
                (text, None)
            }
        };
        let file = self.sources.add(name, abs, &text, Some(site));
        self.parse(file, parsed)
    }
}
