//! Documentation comments.
//!
//! A block runs from a `##` line to the next line that starts with `##`.
//! A block whose first line is `@NAME:` documents the definition `NAME`
//! that must follow it; any other block is free-form text.  A definition's
//! block is split into sections: the body, one description per member
//! (`@member:`), a `Features:` list, tagged sections (`Returns:`,
//! `Errors:`, `Since:`, `TODO:`) and further plain paragraphs.  The rules
//! and error texts are QEMU's.

use std::fmt;

use crate::diagnostic::{Diagnostic, Location};
use crate::source::{py_rstrip, FileId, Info, SourceFile, Span};
use crate::syntax::{lexical_error, skip_trivia, RawDoc};

/// What a section is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Untagged text: the body, or a paragraph after other sections.
    Plain,
    /// `@name:` describing a member, parameter, value or branch.
    Member,
    /// `@name:` in the `Features:` list.
    Feature,
    /// `Returns:` (commands only).
    Returns,
    /// `Errors:` (commands only).
    Errors,
    /// `Since:`.
    Since,
    /// `TODO:`.
    Todo,
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SectionKind::Plain => "Plain",
            SectionKind::Member => "Member",
            SectionKind::Feature => "Feature",
            SectionKind::Returns => "Returns",
            SectionKind::Errors => "Errors",
            SectionKind::Since => "Since",
            SectionKind::Todo => "Todo",
        })
    }
}

/// One section of a documentation block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// What it is.
    pub kind: SectionKind,
    /// The member or feature described (`Member` and `Feature` only).
    pub name: Option<String>,
    /// The text, without the `# ` prefixes; lines keep their indentation
    /// and paragraphs are separated by one blank line.
    pub text: String,
    /// The line the section starts on.
    pub info: Info,
    /// The source line the section starts on.
    pub span: Span,
    /// Whether a schema member was connected to this description, or it is
    /// a stub for an undocumented member.
    pub(crate) connected: bool,
}

/// A documentation block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doc {
    /// The line of the opening `##`.
    pub info: Info,
    /// The whole block.
    pub span: Span,
    /// The documented definition's name; `None` for free-form text.
    pub symbol: Option<String>,
    /// Every section; `order` lists them in textual order.
    all: Vec<Section>,
    order: Vec<usize>,
    args: Vec<usize>,
    features: Vec<usize>,
    sections: Vec<usize>,
    returns: Option<usize>,
    errors: Option<usize>,
    since: Option<usize>,
}

impl Doc {
    fn new(info: Info, span: Span, symbol: Option<String>) -> Self {
        let body = Section {
            kind: SectionKind::Plain,
            name: None,
            text: String::new(),
            info,
            span,
            connected: false,
        };
        Doc {
            info,
            span,
            symbol,
            all: vec![body],
            order: vec![0],
            args: Vec::new(),
            features: Vec::new(),
            sections: Vec::new(),
            returns: None,
            errors: None,
            since: None,
        }
    }

    /// A block kept as plain text: its symbol, if its first line names
    /// one, and every line as the body.  Used under `--compat` for blocks
    /// written to older rules.
    pub(crate) fn plain(file: &SourceFile, id: FileId, raw: &RawDoc) -> Self {
        let info = Info {
            file: id,
            line: file.line_of(raw.open.0),
        };
        let text: Vec<&str> = raw
            .lines
            .iter()
            .map(|&(start, end)| {
                let l = &file.text[start..end];
                py_rstrip(l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            })
            .collect();
        let symbol = text
            .first()
            .and_then(|l| l.strip_prefix('@')?.strip_suffix(':'))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let skip = usize::from(symbol.is_some());
        let mut doc = Doc::new(info, Span::new(id, raw.open.0, raw.end), symbol);
        doc.all[0].text = text[skip..].join("\n").trim_matches('\n').to_owned();
        doc
    }

    /// The body: the text before any member description or section.
    pub fn body(&self) -> &Section {
        &self.all[0]
    }

    /// Member descriptions: the documented ones in textual order, then
    /// stubs for undocumented members where the pragma
    /// `documentation-exceptions` allows them.
    pub fn args(&self) -> impl Iterator<Item = &Section> {
        self.args.iter().map(|&i| &self.all[i])
    }

    /// Feature descriptions in textual order.
    pub fn features(&self) -> impl Iterator<Item = &Section> {
        self.features.iter().map(|&i| &self.all[i])
    }

    /// The sections other than the body, member and feature descriptions:
    /// tagged sections and later plain paragraphs, in textual order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().map(|&i| &self.all[i])
    }

    /// Every section in textual order (stubs after the last member
    /// description).
    pub fn all_sections(&self) -> impl Iterator<Item = &Section> {
        self.order.iter().map(|&i| &self.all[i])
    }

    /// The description of member `name`.
    pub fn arg(&self, name: &str) -> Option<&Section> {
        self.find(&self.args, name).map(|i| &self.all[i])
    }

    /// The description of feature `name`.
    pub fn feature(&self, name: &str) -> Option<&Section> {
        self.find(&self.features, name).map(|i| &self.all[i])
    }

    /// The `Returns:` section.
    pub fn returns(&self) -> Option<&Section> {
        self.returns.map(|i| &self.all[i])
    }

    /// The `Errors:` section.
    pub fn errors(&self) -> Option<&Section> {
        self.errors.map(|i| &self.all[i])
    }

    /// The `Since:` section.
    pub fn since(&self) -> Option<&Section> {
        self.since.map(|i| &self.all[i])
    }

    fn find(&self, list: &[usize], name: &str) -> Option<usize> {
        list.iter()
            .copied()
            .find(|&i| self.all[i].name.as_deref() == Some(name))
    }

    /// Marks the description of member `name` as used; `false` if there is
    /// none.
    pub(crate) fn connect_member(&mut self, name: &str) -> bool {
        self.connect(SectionKind::Member, name)
    }

    /// Marks the description of feature `name` as used; `false` if there
    /// is none.
    pub(crate) fn connect_feature(&mut self, name: &str) -> bool {
        self.connect(SectionKind::Feature, name)
    }

    /// The member or feature descriptions.
    fn descriptions(&self, kind: SectionKind) -> &[usize] {
        if kind == SectionKind::Member {
            &self.args
        } else {
            &self.features
        }
    }

    fn connect(&mut self, kind: SectionKind, name: &str) -> bool {
        match self.find(self.descriptions(kind), name) {
            Some(i) => {
                self.all[i].connected = true;
                true
            }
            None => false,
        }
    }

    /// Adds an empty description for an undocumented member, after the
    /// last member description.
    pub(crate) fn add_stub(&mut self, name: &str) {
        let section = Section {
            kind: SectionKind::Member,
            name: Some(name.to_owned()),
            text: String::new(),
            info: self.info,
            span: self.span,
            connected: true,
        };
        self.all.push(section);
        let id = self.all.len() - 1;
        self.args.push(id);
        let mut at = 1;
        while at < self.order.len() && self.all[self.order[at]].kind == SectionKind::Member {
            at += 1;
        }
        self.order.insert(at.min(self.order.len()), id);
    }

    /// Member and feature descriptions that no schema member claimed.
    pub(crate) fn unconnected(&self, kind: SectionKind) -> Vec<&Section> {
        self.descriptions(kind)
            .iter()
            .map(|&i| &self.all[i])
            .filter(|s| !s.connected)
            .collect()
    }

    fn last_mut(&mut self) -> &mut Section {
        let i = *self.order.last().expect("a doc has a body");
        &mut self.all[i]
    }

    fn append_line(&mut self, line: &str) {
        let section = self.last_mut();
        section.text.push_str(line);
        section.text.push('\n');
    }

    fn push(&mut self, section: Section) -> usize {
        self.all.push(section);
        let id = self.all.len() - 1;
        self.order.push(id);
        id
    }

    /// Trims every section and requires text in tagged ones; QEMU does this
    /// once the token after the block has been read.
    pub(crate) fn finish(&mut self) -> Result<(), Diagnostic> {
        for &i in &self.order {
            let section = &mut self.all[i];
            let trimmed = section.text.trim_matches('\n');
            if trimmed.len() != section.text.len() {
                section.text = trimmed.to_owned();
            }
            if section.kind != SectionKind::Plain && section.text.is_empty() {
                return Err(Diagnostic::error(
                    sem_location(section.info, section.span),
                    format!("text required after '{}:'", section.kind),
                ));
            }
        }
        Ok(())
    }
}

fn sem_location(info: Info, span: Span) -> Location {
    Location {
        info,
        column: None,
        span,
        definition: None,
    }
}

/// Reads a block's lines one at a time, as QEMU's lexer hands them to its
/// documentation parser.
struct Lines<'s> {
    file: &'s SourceFile,
    id: FileId,
    raw: &'s RawDoc,
    next: usize,
    pos: usize,
    len: usize,
}

impl<'s> Lines<'s> {
    fn span(&self) -> Span {
        Span::new(self.id, self.pos, self.pos + self.len.max(1))
    }

    fn info(&self) -> Info {
        Info {
            file: self.id,
            line: self.file.line_of(self.pos),
        }
    }

    /// A syntax error at the current line, with column.
    fn error(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(
            Location {
                info: self.info(),
                column: Some(self.file.column_of(self.pos)),
                span: self.span(),
                definition: None,
            },
            message,
        )
    }

    /// An error at the current line, without column.
    fn sem_error(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(sem_location(self.info(), self.span()), message)
    }

    /// The next line's text after `# `; `None` at the closing `##`.
    fn next_line(&mut self) -> Result<Option<&'s str>, Diagnostic> {
        let file: &'s SourceFile = self.file;
        let text = if let Some(&(pos, end)) = self.raw.lines.get(self.next) {
            self.next += 1;
            self.pos = pos;
            &file.text[pos..end]
        } else if let Some((pos, end)) = self.raw.close {
            let text = &file.text[pos..end];
            self.pos = pos;
            self.len = text.len();
            if text != "##" {
                return Err(self.error("junk after '##' at end of documentation comment"));
            }
            return Ok(None);
        } else {
            let src = &self.file.text;
            let pos = skip_trivia(src, self.raw.end);
            self.pos = pos.min(src.len() - 1);
            self.len = 1;
            let message = lexical_error(src, pos)
                .unwrap_or_else(|| "documentation comment must end with '##'".to_owned());
            return Err(self.error(message));
        };
        self.len = text.len();
        if text == "#" {
            return Ok(Some(""));
        }
        if text.as_bytes().get(1) != Some(&b' ') {
            return Err(self.error("missing space after #"));
        }
        Ok(Some(py_rstrip(&text[2..])))
    }
}

/// `@NAME:` at the start of a line: the name and where the text after
/// the colon (and any spaces) starts.
fn at_name_colon(line: &str) -> Option<(&str, usize)> {
    let rest = line.strip_prefix('@')?;
    let colon = rest.find(':')?;
    let after = 1 + colon + 1;
    let spaces = line[after..].len() - line[after..].trim_start_matches(' ').len();
    Some((&rest[..colon], after + spaces))
}

/// A tagged section's tag at the start of a line, and where its text
/// starts.  `Tag::` is rST markup, not a section.
fn tagged_section(line: &str) -> Option<(&str, usize)> {
    const TAGS: [&str; 8] = [
        "Returns", "Errors", "Since", "Notes", "Note", "Examples", "Example", "TODO",
    ];
    TAGS.iter().find_map(|tag| {
        let rest = line.strip_prefix(tag)?;
        if !rest.starts_with(':') || rest.starts_with("::") {
            return None;
        }
        let spaces = rest[1..].len() - rest[1..].trim_start_matches(' ').len();
        Some((*tag, tag.len() + 1 + spaces))
    })
}

fn leading_space(line: &str) -> usize {
    line.chars()
        .take_while(|&c| crate::source::is_py_space(c))
        .count()
}

/// Parses a documentation block.  The caller runs [`Doc::finish`] after
/// checking the token that follows the block, as QEMU does.
pub(crate) fn parse_doc(file: &SourceFile, id: FileId, raw: &RawDoc) -> Result<Doc, Diagnostic> {
    let (open_pos, open_end) = raw.open;
    let open_text = &file.text[open_pos..open_end];
    let mut lines = Lines {
        file,
        id,
        raw,
        next: 0,
        pos: open_pos,
        len: open_text.len(),
    };
    if open_text != "##" {
        return Err(lines.error("junk after '##' at start of documentation comment"));
    }
    let info = lines.info();
    let span = Span::new(id, open_pos, raw.end);
    let mut line = lines.next_line()?;
    match line {
        Some(first) if first.starts_with('@') => {
            if !first.ends_with(':') {
                return Err(lines.error("line should end with ':'"));
            }
            let symbol = &first[1..first.len() - 1];
            if symbol.is_empty() {
                return Err(lines.error("name required after '@'"));
            }
            let mut doc = Doc::new(info, span, Some(symbol.to_owned()));
            line = lines.next_line()?;
            parse_definition_doc(&mut lines, &mut doc, line)?;
            Ok(doc)
        }
        _ => {
            let mut doc = Doc::new(info, span, None);
            ensure_untagged_section(&mut doc, lines.info(), lines.span());
            let mut first = true;
            while let Some(text) = line {
                if let Some((name, _)) = at_name_colon(text) {
                    return Err(
                        lines.error(format!("'@{name}:' not allowed in free-form documentation"))
                    );
                }
                if text.starts_with('=') && !first {
                    return Err(lines.error("'=' heading must come first in a comment block"));
                }
                doc.append_line(text);
                line = lines.next_line()?;
                first = false;
            }
            Ok(doc)
        }
    }
}

fn parse_definition_doc<'a>(
    lines: &mut Lines<'a>,
    doc: &mut Doc,
    mut line: Option<&'a str>,
) -> Result<(), Diagnostic> {
    let mut no_more_args = false;
    loop {
        while line == Some("") {
            line = lines.next_line()?;
        }
        let Some(text) = line else {
            return Ok(());
        };
        if text == "Features:" {
            if !doc.features.is_empty() {
                return Err(lines.error("duplicated 'Features:' line"));
            }
            line = lines.next_line()?;
            while line == Some("") {
                line = lines.next_line()?;
            }
            line = descriptions(lines, doc, line, SectionKind::Feature)?;
            if doc.features.is_empty() {
                return Err(lines.error("feature descriptions expected"));
            }
            no_more_args = true;
        } else if let Some((name, _)) = at_name_colon(text) {
            if no_more_args {
                return Err(lines.error(format!("description of '@{name}:' follows a section")));
            }
            line = descriptions(lines, doc, Some(text), SectionKind::Member)?;
            no_more_args = true;
        } else if let Some((tag, start)) = tagged_section(text) {
            let kind = match tag {
                "Returns" => SectionKind::Returns,
                "Errors" => SectionKind::Errors,
                "Since" => SectionKind::Since,
                "TODO" => SectionKind::Todo,
                "Note" | "Notes" => {
                    return Err(lines.error(format!(
                        "The '{tag}' section is no longer supported. Please use rST's \
                         '.. note::' or '.. admonition:: notes' directives, or another \
                         suitable admonition instead."
                    )))
                }
                _ => {
                    return Err(lines.error(format!(
                        "The '{tag}' section is no longer supported. Please use the \
                         '.. qmp-example::' directive, or other suitable markup instead."
                    )))
                }
            };
            new_tagged_section(lines, doc, kind)?;
            if start < text.len() {
                doc.append_line(&text[start..]);
            }
            line = indented(lines, doc)?;
            no_more_args = true;
        } else if text.starts_with('=') {
            return Err(lines.error("unexpected '=' markup in definition documentation"));
        } else {
            ensure_untagged_section(doc, lines.info(), lines.span());
            doc.append_line(text);
            line = paragraph(lines, doc)?;
        }
    }
}

/// A run of `@name: text` descriptions, each with its indented
/// continuation; returns the first line after them.
fn descriptions<'a>(
    lines: &mut Lines<'a>,
    doc: &mut Doc,
    mut line: Option<&'a str>,
    kind: SectionKind,
) -> Result<Option<&'a str>, Diagnostic> {
    while let Some(text) = line {
        let Some((name, start)) = at_name_colon(text) else {
            break;
        };
        new_description(lines, doc, name, kind)?;
        if start < text.len() {
            doc.append_line(&text[start..]);
        }
        line = indented(lines, doc)?;
    }
    Ok(line)
}

/// The indented continuation of a description or tagged section.
fn indented<'a>(lines: &mut Lines<'a>, doc: &mut Doc) -> Result<Option<&'a str>, Diagnostic> {
    let mut line = lines.next_line()?;
    while line == Some("") {
        doc.append_line("");
        line = lines.next_line()?;
    }
    let Some(text) = line else {
        return Ok(None);
    };
    let indent = leading_space(text);
    if indent == 0 {
        return Ok(Some(text));
    }
    doc.append_line(text);
    let mut prev_blank = false;
    loop {
        let Some(text) = lines.next_line()? else {
            return Ok(None);
        };
        if at_name_colon(text).is_some() {
            return Ok(Some(text));
        }
        if !text.is_empty() && leading_space(text) < indent {
            if prev_blank {
                return Ok(Some(text));
            }
            return Err(lines.error(format!(
                "unexpected de-indent (expected at least {indent} spaces)"
            )));
        }
        doc.append_line(text);
        // QEMU sets this after every line it keeps, blank or not.
        prev_blank = true;
    }
}

/// A plain paragraph, up to a blank line.
fn paragraph<'a>(lines: &mut Lines<'a>, doc: &mut Doc) -> Result<Option<&'a str>, Diagnostic> {
    loop {
        match lines.next_line()? {
            None => return Ok(None),
            Some("") => return Ok(Some("")),
            Some(text) => doc.append_line(text),
        }
    }
}

fn ensure_untagged_section(doc: &mut Doc, info: Info, span: Span) {
    let last = doc.last_mut();
    if last.kind == SectionKind::Plain {
        if last.text.is_empty() {
            last.info = info;
            last.span = span;
        }
        last.text.push('\n');
        return;
    }
    let id = doc.push(Section {
        kind: SectionKind::Plain,
        name: None,
        text: String::new(),
        info,
        span,
        connected: false,
    });
    doc.sections.push(id);
}

fn new_tagged_section(
    lines: &Lines<'_>,
    doc: &mut Doc,
    kind: SectionKind,
) -> Result<(), Diagnostic> {
    let existing = match kind {
        SectionKind::Returns => doc.returns,
        SectionKind::Errors => doc.errors,
        SectionKind::Since => doc.since,
        _ => None,
    };
    if existing.is_some() {
        return Err(lines.sem_error(format!("duplicated '{kind}' section")));
    }
    let id = doc.push(Section {
        kind,
        name: None,
        text: String::new(),
        info: lines.info(),
        span: lines.span(),
        connected: false,
    });
    match kind {
        SectionKind::Returns => doc.returns = Some(id),
        SectionKind::Errors => doc.errors = Some(id),
        SectionKind::Since => doc.since = Some(id),
        _ => {}
    }
    doc.sections.push(id);
    Ok(())
}

fn new_description(
    lines: &Lines<'_>,
    doc: &mut Doc,
    name: &str,
    kind: SectionKind,
) -> Result<(), Diagnostic> {
    if name.is_empty() {
        return Err(lines.sem_error("invalid parameter name"));
    }
    if doc.find(doc.descriptions(kind), name).is_some() {
        return Err(lines.sem_error(format!("'{name}' parameter name duplicated")));
    }
    let id = doc.push(Section {
        kind,
        name: Some(name.to_owned()),
        text: String::new(),
        info: lines.info(),
        span: lines.span(),
        connected: false,
    });
    if kind == SectionKind::Member {
        doc.args.push(id);
    } else {
        doc.features.push(id);
    }
    Ok(())
}
