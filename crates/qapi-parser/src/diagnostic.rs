//! Diagnostics: one error type for every stage, rendered either exactly as
//! QEMU's generator prints it or with a source snippet for a human.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, termcolor};

use crate::source::{FileId, Info, SourceMap, Span};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The schema is rejected.
    Error,
    /// The schema is accepted (only under `--compat`), but something is off.
    Warning,
}

/// The definition a diagnostic is about, printed by QEMU as
/// `FILE: In META 'NAME':`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// `enum`, `struct`, `union`, `alternate`, `command` or `event`.
    pub meta: String,
    /// The definition's name.
    pub name: String,
}

/// Where a diagnostic points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file and line QEMU reports.
    pub info: Info,
    /// The column QEMU reports (syntax errors only).
    pub column: Option<u32>,
    /// The exact source range, for the human rendering.
    pub span: Span,
    /// The definition the error is about, if QEMU names one.
    pub definition: Option<Box<Definition>>,
}

/// A secondary location with its own message, such as a previous
/// definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What QEMU prints after the location, e.g. `previous definition`.
    pub message: String,
}

/// An error or warning about a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The message, exactly as QEMU words it (it may contain newlines).
    pub message: String,
    /// Where; `None` for errors that concern no source position, such as
    /// an unreadable root schema.
    pub location: Option<Location>,
    /// Further locations, printed after the message.
    pub related: Vec<Related>,
}

/// How to print diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    /// A message with a source snippet and caret, like rustc.
    #[default]
    Human,
    /// Byte for byte what QEMU's generator prints.
    Qemu,
}

impl Location {
    /// A location QEMU reports as `FILE:LINE`, pointing at `span`.
    pub fn new(info: Info, span: Span) -> Self {
        Location {
            info,
            column: None,
            span,
            definition: None,
        }
    }

    /// A syntax-error location, reported as `FILE:LINE:COL`.
    pub fn syntax(sources: &SourceMap, span: Span) -> Self {
        let file = sources.file(span.file);
        Location {
            info: sources.info(span),
            column: Some(file.column_of(span.start as usize)),
            span,
            definition: None,
        }
    }

    /// The same location, about definition `meta` `name`.
    pub fn in_definition(mut self, definition: Option<Definition>) -> Self {
        self.definition = definition.map(Box::new);
        self
    }
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: Some(location),
            related: Vec::new(),
        }
    }

    /// An error that has no source position.
    pub fn bare(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            related: Vec::new(),
        }
    }

    /// Turns this into a warning.
    pub fn into_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Adds a related location.
    pub fn with_related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push(Related {
            location,
            message: message.into(),
        });
        self
    }

    /// Renders in the chosen format.  The human format uses colour only
    /// when `color` is set.
    pub fn render(&self, sources: &SourceMap, format: ErrorFormat, color: bool) -> String {
        match format {
            ErrorFormat::Qemu => self.render_qemu(sources),
            ErrorFormat::Human => self.render_human(sources, color),
        }
    }

    /// Renders exactly as QEMU's generator prints the error (without the
    /// final newline).
    pub fn render_qemu(&self, sources: &SourceMap) -> String {
        let mut out = match &self.location {
            Some(loc) => format!("{}: ", qemu_location(sources, loc)),
            None => String::new(),
        };
        if self.severity == Severity::Warning {
            out.push_str("warning: ");
        }
        out.push_str(&self.message);
        for related in &self.related {
            out.push('\n');
            out.push_str(&qemu_location(sources, &related.location));
            out.push_str(": ");
            out.push_str(&related.message);
        }
        out
    }

    /// Renders with a source snippet and caret.
    pub fn render_human(&self, sources: &SourceMap, color: bool) -> String {
        let mut report = match self.severity {
            Severity::Error => Report::error(),
            Severity::Warning => Report::warning(),
        }
        .with_message(&self.message);
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        if let Some(loc) = &self.location {
            labels.push(Label::primary(loc.span.file, loc.span.range()));
            if let Some(def) = &loc.definition {
                notes.push(format!("in {} '{}'", def.meta, def.name));
            }
            let mut parent = sources.file(loc.info.file).included_from;
            while let Some(site) = parent {
                let file = sources.file(site.file);
                notes.push(format!("included from {}:{}", file.name, site.line));
                parent = file.included_from;
            }
        }
        for related in &self.related {
            labels.push(
                Label::secondary(related.location.span.file, related.location.span.range())
                    .with_message(&related.message),
            );
        }
        report = report.with_labels(labels).with_notes(notes);
        let config = term::Config::default();
        let mut buffer = if color {
            termcolor::Buffer::ansi()
        } else {
            termcolor::Buffer::no_color()
        };
        if term::emit(&mut buffer, &config, sources, &report).is_err() {
            return self.render_qemu(sources);
        }
        String::from_utf8_lossy(buffer.as_slice())
            .trim_end()
            .to_owned()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// QEMU's location text: the include chain, the definition context and
/// `FILE:LINE[:COL]`.
fn qemu_location(sources: &SourceMap, loc: &Location) -> String {
    let file = sources.file(loc.info.file);
    let mut chain = Vec::new();
    let mut parent = file.included_from;
    while let Some(site) = parent {
        let pf = sources.file(site.file);
        chain.push(format!(
            "In file included from {}:{}:\n",
            pf.name, site.line
        ));
        parent = pf.included_from;
    }
    let mut out: String = chain.into_iter().rev().collect();
    if let Some(def) = &loc.definition {
        out.push_str(&format!("{}: In {} '{}':\n", file.name, def.meta, def.name));
    }
    out.push_str(&format!("{}:{}", file.name, loc.info.line));
    if let Some(col) = loc.column {
        out.push_str(&format!(":{col}"));
    }
    out
}

impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.file(id).name)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.file(id).text)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.file(id).line_of(byte_index) as usize - 1)
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let file = self.file(id);
        let line = line_index as u32 + 1;
        let start = file.line_start(line);
        let end = file.text[start..]
            .find('\n')
            .map_or(file.text.len(), |i| start + i + 1);
        Ok(start..end)
    }
}
