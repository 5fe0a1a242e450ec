//! Source files, positions and spans.
//!
//! QEMU reports a location as `FILE:LINE` (or `FILE:LINE:COL` for syntax
//! errors) and prefixes the chain of includes that led to the file.  The
//! [`SourceMap`] keeps every file read for one schema, with the include
//! directive that pulled it in, so that any [`Span`] can be turned into that
//! text, or into a snippet for a human.

use std::path::{Component, Path, PathBuf};

/// Identifies one file of a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub(crate) u32);

impl FileId {
    /// The id of a file parsed before it has its place in the map.
    pub(crate) const PENDING: FileId = FileId(u32::MAX);

    /// The index of the file in its [`SourceMap`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range in one file of a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` in `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The byte range as a `Range<usize>`.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A file and line, the granularity at which QEMU reports most errors
/// (its `QAPISourceInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Info {
    /// The file.
    pub file: FileId,
    /// The line, counting from 1.
    pub line: u32,
}

/// One schema file as read.
#[derive(Debug)]
pub struct SourceFile {
    /// The name QEMU prints for the file: the root schema's path as given,
    /// and for an included file the including file's directory joined with
    /// the include directive's value.
    pub name: String,
    /// The absolute, lexically normalised path, used to detect repeated
    /// includes and include loops.
    pub abs_path: PathBuf,
    /// The file's text, with line ends normalised to `\n` and a final `\n`
    /// added where it was missing (as Python's universal newlines do).
    pub text: String,
    /// The include directive that pulled this file in; `None` for the root.
    pub included_from: Option<Info>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    /// The line (from 1) that byte offset `pos` is on.
    pub fn line_of(&self, pos: usize) -> u32 {
        match self.line_starts.binary_search(&(pos as u32)) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// The byte offset where line `line` (from 1) starts.
    pub fn line_start(&self, line: u32) -> usize {
        self.line_starts[(line as usize).saturating_sub(1)] as usize
    }

    /// The column QEMU reports for byte offset `pos`: counting from 1, one
    /// per character, except that a tab advances as `(col + 7) % 8 + 1`.
    pub fn column_of(&self, pos: usize) -> u32 {
        let start = self.line_start(self.line_of(pos));
        let mut col = 1u32;
        for ch in self.text[start..pos].chars() {
            if ch == '\t' {
                col = (col + 7) % 8 + 1;
            } else {
                col += 1;
            }
        }
        col
    }
}

/// All files read for one schema.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file; `text` is normalised as QEMU's reader would.
    pub fn add(
        &mut self,
        name: String,
        abs_path: PathBuf,
        text: &str,
        included_from: Option<Info>,
    ) -> FileId {
        let text = normalize_text(text);
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        // A position at the very end belongs to the last line.
        if line_starts.last() == Some(&(text.len() as u32)) {
            line_starts.pop();
        }
        self.files.push(SourceFile {
            name,
            abs_path,
            text,
            included_from,
            line_starts,
        });
        FileId(self.files.len() as u32 - 1)
    }

    /// The file `id`.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    /// Every file, in the order read.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// The [`Info`] (file and line) of a span's start.
    pub fn info(&self, span: Span) -> Info {
        Info {
            file: span.file,
            line: self.file(span.file).line_of(span.start as usize),
        }
    }

    /// The source text a span covers.
    pub fn text(&self, span: Span) -> &str {
        &self.file(span.file).text[span.range()]
    }
}

/// Python's `str.isspace()`, which the QAPI lexer uses to skip white space.
pub(crate) fn is_py_space(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&ch)
}

/// Python's `str.rstrip()`.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

fn normalize_text(text: &str) -> String {
    let mut out = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Python's `os.path.join(os.path.dirname(base), name)` on strings, which
/// is how QEMU names an included file.
pub(crate) fn join_include(base: &str, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    let dir = match base.rfind('/') {
        Some(0) => "/",
        Some(i) => base[..i].trim_end_matches('/'),
        None => "",
    };
    if dir.is_empty() {
        name.to_owned()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Python's `os.path.abspath`: absolute and lexically normalised, without
/// resolving symbolic links.
pub(crate) fn abs_path(path: &str) -> PathBuf {
    let path = Path::new(path);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    normalize_lexically(&joined)
}

fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Python's `os.path.relpath(path, start)` for absolute, normalised paths.
pub(crate) fn relative_path(path: &Path, start: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let s: Vec<_> = start.components().collect();
    let common = p.iter().zip(&s).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    parts.extend(std::iter::repeat_n("..".to_owned(), s.len() - common));
    parts.extend(
        p[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let mut map = SourceMap::new();
        let id = map.add("a".into(), "/a".into(), "ab\n\tx\ny", None);
        let f = map.file(id);
        assert_eq!(f.text, "ab\n\tx\ny\n");
        assert_eq!(f.line_of(0), 1);
        assert_eq!(f.line_of(2), 1);
        assert_eq!(f.line_of(3), 2);
        assert_eq!(f.line_of(6), 3);
        assert_eq!(f.line_of(7), 3);
        // QEMU's tab rule, applied literally: `(col + 7) % 8 + 1`, so a
        // tab at column 1 leaves the column at 1.
        assert_eq!(f.column_of(4), 1);
        assert_eq!(f.column_of(1), 2);
    }

    #[test]
    fn carriage_returns_become_newlines() {
        let mut map = SourceMap::new();
        let id = map.add("a".into(), "/a".into(), "a\r\nb\rc", None);
        assert_eq!(map.file(id).text, "a\nb\nc\n");
    }

    #[test]
    fn include_names_join_like_python() {
        assert_eq!(join_include("x.json", "y.json"), "y.json");
        assert_eq!(join_include("d/x.json", "y.json"), "d/y.json");
        assert_eq!(join_include("/x.json", "y.json"), "/y.json");
        assert_eq!(join_include("d/x.json", "/abs.json"), "/abs.json");
        assert_eq!(join_include("d/x.json", "../y.json"), "d/../y.json");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/a/b/c.json"), Path::new("/a")),
            "b/c.json"
        );
        assert_eq!(
            relative_path(Path::new("/a/c.json"), Path::new("/a/b")),
            "../c.json"
        );
        assert_eq!(
            normalize_lexically(Path::new("/a/include/../x.json")),
            PathBuf::from("/a/x.json")
        );
    }
}
