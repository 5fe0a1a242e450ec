//! Prints generated tokens as readable Rust in one pass.
//!
//! Generated code has few shapes (items, attributes, paths, calls,
//! matches, struct and array literals, closures), so the printer does not
//! parse: it walks the token tree once, starts a line for each item,
//! statement, field, arm and attribute, indents braces, turns
//! `#[doc = "..."]` into `///` comments, and keeps a parenthesised or
//! bracketed group on one line when it fits, else puts one element per
//! line.  It is an order of magnitude faster than parsing the tokens with
//! syn and printing them with prettyplease, which did this before; the
//! output reads much the same (long calls break one argument per line
//! where prettyplease would sometimes wrap a `match` arm in braces).

use std::borrow::Cow;

use proc_macro2::{Delimiter, Group, Spacing, TokenStream, TokenTree};

/// Lines longer than this are broken where a group allows it.
const WIDTH: usize = 100;

/// Four spaces per level, as rustfmt.
const INDENT: &str = "    ";

/// Prints `tokens`, a sequence of items, as a source file, or as the body
/// of a module `indent` levels in.
pub(crate) fn print(tokens: TokenStream, indent: usize) -> String {
    let tokens = lex(tokens);
    let mut p = Printer {
        indent,
        ..Printer::default()
    };
    p.block(&tokens);
    p.out
}

/// A token as the printer sees it: punctuation joined into operators,
/// lifetimes as words.
#[derive(Clone, Debug)]
enum Tok {
    /// An identifier or a lifetime.
    Word(String),
    /// A keyword after which an expression, not an operator, follows
    /// (see [`is_keyword`]).
    Keyword(String),
    /// A literal.
    Lit(String),
    /// An operator or punctuation: `::`, `=>`, `&`, `,`... (borrowed
    /// when known: the printer makes hundreds of thousands).
    Op(Cow<'static, str>),
    /// A delimited group, its tokens lexed.
    Group(Delimiter, Vec<Tok>),
}

fn lex(tokens: TokenStream) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut op = String::new();
    let mut lifetime = false;
    for tt in tokens {
        if let TokenTree::Punct(p) = &tt {
            if p.as_char() == '\'' && p.spacing() == Spacing::Joint && op.is_empty() {
                lifetime = true;
            } else {
                op.push(p.as_char());
                if p.spacing() == Spacing::Alone {
                    out.push(Tok::Op(operator(&op)));
                    op.clear();
                }
            }
            continue;
        }
        if !op.is_empty() {
            out.push(Tok::Op(operator(&op)));
            op.clear();
        }
        match tt {
            TokenTree::Ident(i) if std::mem::take(&mut lifetime) => {
                out.push(Tok::Word(format!("'{i}")))
            }
            TokenTree::Ident(i) => {
                let word = i.to_string();
                out.push(if is_keyword(&word) {
                    Tok::Keyword(word)
                } else {
                    Tok::Word(word)
                });
            }
            TokenTree::Literal(l) => out.push(Tok::Lit(l.to_string())),
            TokenTree::Group(g) => out.push(group(g)),
            TokenTree::Punct(_) => {}
        }
    }
    if !op.is_empty() {
        out.push(Tok::Op(operator(&op)));
    }
    out
}

/// The operator `text`, borrowed when it is one generated code uses.
fn operator(text: &str) -> Cow<'static, str> {
    let known = match text {
        "::" => "::",
        "," => ",",
        ":" => ":",
        "&" => "&",
        "#" => "#",
        "<" => "<",
        ">" => ">",
        "." => ".",
        "?" => "?",
        ";" => ";",
        "=>" => "=>",
        "=" => "=",
        "->" => "->",
        "!" => "!",
        "|" => "|",
        "-" => "-",
        "*" => "*",
        _ => return Cow::Owned(text.to_owned()),
    };
    Cow::Borrowed(known)
}

fn group(g: Group) -> Tok {
    let delimiter = g.delimiter();
    let stream = g.stream();
    // The stream's tokens are shared with `g` until it is gone; then
    // they are taken, not copied.
    drop(g);
    Tok::Group(delimiter, lex(stream))
}

/// Whether `word` is a keyword after which an expression, not an
/// operator, follows.
fn is_keyword(word: &str) -> bool {
    // By first letter: most words are names, ruled out after one or two
    // comparisons (this runs for every word of the output).
    match word.as_bytes().first() {
        Some(b'a') => matches!(word, "as" | "async"),
        Some(b'b') => matches!(word, "box" | "break"),
        Some(b'c') => matches!(word, "const" | "continue"),
        Some(b'd') => word == "dyn",
        Some(b'e') => matches!(word, "else" | "enum" | "extern"),
        Some(b'f') => matches!(word, "fn" | "for"),
        Some(b'i') => matches!(word, "if" | "impl" | "in"),
        Some(b'l') => matches!(word, "let" | "loop"),
        Some(b'm') => matches!(word, "match" | "mod" | "move" | "mut"),
        Some(b'p') => word == "pub",
        Some(b'r') => matches!(word, "ref" | "return"),
        Some(b's') => matches!(word, "static" | "struct"),
        Some(b't') => matches!(word, "trait" | "type"),
        Some(b'u') => matches!(word, "unsafe" | "use"),
        Some(b'w') => matches!(word, "where" | "while"),
        Some(b'y') => word == "yield",
        _ => false,
    }
}

/// What was printed last, for spacing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Last {
    /// Start of a line (after the indentation).
    LineStart,
    /// An opening `(` or `[`.
    Open,
    /// Something an operator can follow: a name, a literal, a closing
    /// delimiter, `?`.
    Operand,
    /// A keyword.
    Keyword,
    /// A prefix operator (`&`, `*`, `-`, `!`, `#`), a path separator, a
    /// generic `<`, `.`, `..` or a closure's opening `|`: no space after.
    Tight,
    /// A generic `>`.
    GenericClose,
    /// A binary operator, `,`, `:`, `;`, `=>`, `->`, a closure's closing
    /// `|`: a space after.
    Spaced,
}

/// How an element of a block ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Semicolon,
    Comma,
    /// With a brace block (an item, a `match` arm's block).
    Brace,
    /// At the end of the block, with neither.
    Open,
}

#[derive(Default)]
struct Printer {
    out: String,
    indent: usize,
    /// Characters on the current line.
    col: usize,
    last: Option<Last>,
    /// Whether the last token was a literal (`1 << n`, not `Vec<u8>>`).
    after_literal: bool,
    /// Open generic brackets: whether each follows a keyword (`impl<T>`,
    /// after whose `>` a type follows with a space).
    generics: Vec<bool>,
    /// Printing a group on one line to see whether it fits: nothing
    /// breaks, and a brace block or the width ends the attempt.
    trial: bool,
    /// The attempt failed.
    overflowed: bool,
    /// On one line whatever the width (an attribute).
    unbounded: bool,
    /// Characters that follow the group being tried on the same line
    /// (a signature's return type), so that the whole line fits.
    reserve: usize,
}

impl Printer {
    fn newline(&mut self) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out.push('\n');
        self.col = 0;
        self.last = None;
    }

    /// Writes `text`, after the indentation if the line is new, and after
    /// a space if `space`.
    fn put(&mut self, text: &str, space: bool, then: Last) {
        if self.last.is_none() {
            for _ in 0..self.indent {
                self.out.push_str(INDENT);
            }
            self.col = self.indent * INDENT.len();
        } else if space {
            self.out.push(' ');
            self.col += 1;
        }
        self.out.push_str(text);
        self.col += text.len();
        self.last = Some(then);
        self.after_literal = false;
        if self.trial && !self.unbounded && self.col > WIDTH {
            self.overflowed = true;
        }
    }

    /// Prints the tokens of a file or a brace block: items, statements,
    /// fields, variants or match arms, each starting a line.  A list of
    /// fields, variants or arms gets a trailing comma, as rustfmt writes.
    fn block(&mut self, tokens: &[Tok]) {
        let seps = separators(tokens);
        let mut i = 0;
        let mut list = false;
        while i < tokens.len() {
            let (next, end) = self.element(tokens, &seps, i);
            i = next;
            list |= end == End::Comma;
            if end == End::Open && list && i >= tokens.len() {
                self.put(",", false, Last::Spaced);
            }
            if self.last.is_some() {
                self.newline();
            }
        }
    }

    /// Prints one element of a block from `tokens[i]`: its attributes on
    /// lines of their own, then its tokens up to a `;` or `,` that ends it
    /// or a brace block that ends it.  Returns where the next one starts
    /// and how this one ended.
    fn element(&mut self, tokens: &[Tok], seps: &[bool], mut i: usize) -> (usize, End) {
        i = self.attributes(tokens, i);
        let mut closure = false;
        while i < tokens.len() {
            let tok = &tokens[i];
            i += 1;
            match tok {
                Tok::Op(op) if op == ";" => {
                    self.put(op, false, Last::Spaced);
                    return (i, End::Semicolon);
                }
                Tok::Op(op) if op == "," && seps[i - 1] => {
                    self.put(op, false, Last::Spaced);
                    return (i, End::Comma);
                }
                Tok::Group(Delimiter::Brace, inner) => {
                    self.brace_block(inner);
                    let continues = match tokens.get(i) {
                        Some(Tok::Op(op)) => {
                            matches!(op.as_ref(), ";" | "," | "." | "?" | "=>" | "=" | "|")
                        }
                        Some(Tok::Keyword(w)) => w == "else" || w == "as",
                        _ => false,
                    };
                    if !continues {
                        return (i, End::Brace);
                    }
                }
                Tok::Group(..) => {
                    self.reserve = tail_len(&tokens[i..]);
                    self.token(tok, &mut closure);
                    self.reserve = 0;
                }
                _ => self.token(tok, &mut closure),
            }
        }
        (i, End::Open)
    }

    /// Prints the outer attributes starting at `tokens[i]`, each on its
    /// own line, doc attributes as `///` comments.  Returns the index
    /// after them.
    fn attributes(&mut self, tokens: &[Tok], mut i: usize) -> usize {
        while let (Some(Tok::Op(hash)), Some(Tok::Group(Delimiter::Bracket, inner))) =
            (tokens.get(i), tokens.get(i + 1))
        {
            if hash != "#" {
                break;
            }
            match doc_text(inner) {
                Some(text) => {
                    for line in text.split('\n') {
                        self.put(&format!("///{line}"), false, Last::LineStart);
                        self.newline();
                    }
                }
                None => {
                    self.put("#", false, Last::Tight);
                    self.inline_group(Delimiter::Bracket, inner);
                    self.newline();
                }
            }
            i += 2;
        }
        i
    }

    /// ` {`, the block's elements one level in, `}`; `{}` when empty.
    fn brace_block(&mut self, inner: &[Tok]) {
        let space = !matches!(self.last, Some(Last::Tight | Last::Open) | None);
        if inner.is_empty() {
            self.put("{}", space, Last::Operand);
            return;
        }
        if self.trial {
            self.overflowed = true;
            return;
        }
        self.put("{", space, Last::Spaced);
        self.newline();
        self.indent += 1;
        self.block(inner);
        self.indent -= 1;
        self.put("}", false, Last::Operand);
    }

    /// Prints one token of an element, spaced by what came before it.
    fn token(&mut self, tok: &Tok, closure: &mut bool) {
        let last = self.last.unwrap_or(Last::LineStart);
        let after_operand = last == Last::Operand || last == Last::GenericClose;
        match tok {
            Tok::Word(w) | Tok::Keyword(w) => {
                let space = !matches!(last, Last::Tight | Last::Open | Last::LineStart);
                let then = if matches!(tok, Tok::Keyword(_)) || w.starts_with('\'') {
                    Last::Keyword
                } else {
                    Last::Operand
                };
                self.put(w, space, then);
            }
            Tok::Lit(l) => {
                let space = !matches!(last, Last::Tight | Last::Open | Last::LineStart);
                self.put(l, space, Last::Operand);
                self.after_literal = true;
            }
            Tok::Group(delim, inner) => {
                // `f(`, `vec![`, `Foo<T>(`; but `if (`, `= [`, `&'a [`.
                let space = matches!(last, Last::Keyword | Last::Spaced);
                match delim {
                    Delimiter::Brace => self.brace_block(inner),
                    Delimiter::None => {
                        for t in inner {
                            self.token(t, closure);
                        }
                    }
                    _ => {
                        if space {
                            self.out.push(' ');
                            self.col += 1;
                            self.last = Some(Last::Open);
                        }
                        self.group_or_lines(*delim, inner);
                    }
                }
            }
            Tok::Op(op) => self.op(op, last, after_operand, closure),
        }
    }

    fn op(&mut self, op: &str, last: Last, after_operand: bool, closure: &mut bool) {
        let line_start = last == Last::LineStart;
        let tight_before = matches!(last, Last::Tight | Last::Open | Last::LineStart);
        match op {
            "," | ";" => self.put(op, false, Last::Spaced),
            "." => self.put(op, false, Last::Tight),
            ".." | "..=" => self.put(
                op,
                matches!(last, Last::Spaced | Last::Keyword),
                Last::Tight,
            ),
            "?" => self.put(op, false, Last::Operand),
            ":" => self.put(op, false, Last::Spaced),
            "::" => {
                let space = !tight_before
                    && !matches!(last, Last::Operand | Last::GenericClose)
                    && !line_start;
                self.put(op, space, Last::Tight);
            }
            "#" => self.put(op, !tight_before, Last::Tight),
            "!" if last == Last::Operand => self.put(op, false, Last::Tight),
            "<" if self.after_literal => self.put(op, true, Last::Spaced),
            "<" => {
                let space = !tight_before && !matches!(last, Last::Operand | Last::Keyword);
                self.generics.push(last == Last::Keyword);
                self.put(op, space, Last::Tight);
            }
            _ if op.chars().all(|c| c == '>') && !self.after_literal => {
                let mut then = Last::GenericClose;
                for _ in 0..op.len() {
                    if self.generics.pop() == Some(true) {
                        then = Last::Keyword;
                    }
                }
                self.put(op, false, then)
            }
            "|" | "||" if *closure && op == "|" => {
                *closure = false;
                self.put(op, false, Last::Spaced);
            }
            "|" | "||" if !after_operand => {
                if op == "|" {
                    *closure = true;
                    self.put(op, !tight_before, Last::Tight);
                } else {
                    self.put(op, !tight_before, Last::Spaced);
                }
            }
            "&" | "&&" | "*" | "-" | "!" if !after_operand => {
                self.put(op, !tight_before, Last::Tight)
            }
            _ => self.put(op, !line_start, Last::Spaced),
        }
    }

    /// A `(...)` or `[...]` group: on one line if it fits, else broken.
    fn group_or_lines(&mut self, delim: Delimiter, inner: &[Tok]) {
        let (open, close) = delimiters(delim);
        if self.trial {
            self.one_line(open, close, inner);
            return;
        }
        let (len, col, last, after_literal) =
            (self.out.len(), self.col, self.last, self.after_literal);
        let generics = self.generics.clone();
        let reserve = std::mem::take(&mut self.reserve);
        self.trial = true;
        self.overflowed = false;
        self.one_line(open, close, inner);
        self.trial = false;
        if !self.overflowed && self.col + reserve <= WIDTH {
            return;
        }
        self.out.truncate(len);
        (self.col, self.last, self.after_literal) = (col, last, after_literal);
        self.generics = generics;
        let elements = split_commas(inner);
        // Arguments or parameters (`f(`, `Foo<T>(`) may take a trailing
        // comma; a parenthesised expression may not.
        let call = matches!(last, Some(Last::Operand | Last::GenericClose));
        let breaks_inside = inner
            .iter()
            .any(|t| matches!(t, Tok::Group(Delimiter::Brace, b) if !b.is_empty()));
        self.put(open, false, Last::Open);
        let one_token = inner.len() == 1;
        if elements.len() <= 1 && (breaks_inside || !call || one_token) && !has_attribute(inner) {
            // One element (`Ok(Self { .. })`): it breaks inside.
            let mut closure = false;
            for t in inner {
                self.token(t, &mut closure);
            }
            self.put(close, false, Last::Operand);
            return;
        }
        self.newline();
        self.indent += 1;
        for element in &elements {
            let mut i = self.attributes(element, 0);
            let mut closure = false;
            while i < element.len() {
                self.token(&element[i], &mut closure);
                i += 1;
            }
            self.put(",", false, Last::Spaced);
            self.newline();
        }
        self.indent -= 1;
        self.put(close, false, Last::Operand);
    }

    /// The group on the current line, however long (an attribute), or as
    /// a trial.
    fn one_line(&mut self, open: &str, close: &str, inner: &[Tok]) {
        self.put(open, false, Last::Open);
        let mut closure = false;
        for t in inner {
            if self.overflowed {
                return;
            }
            self.token(t, &mut closure);
        }
        self.put(close, false, Last::Operand);
    }

    /// An attribute's brackets, on the current line whatever their length.
    fn inline_group(&mut self, delim: Delimiter, inner: &[Tok]) {
        let (open, close) = delimiters(delim);
        let saved = (self.trial, self.unbounded, self.overflowed);
        (self.trial, self.unbounded, self.overflowed) = (true, true, false);
        self.one_line(open, close, inner);
        (self.trial, self.unbounded, self.overflowed) = saved;
    }
}

fn delimiters(delim: Delimiter) -> (&'static str, &'static str) {
    match delim {
        Delimiter::Parenthesis => ("(", ")"),
        Delimiter::Bracket => ("[", "]"),
        Delimiter::Brace => ("{", "}"),
        Delimiter::None => ("", ""),
    }
}

/// About how many characters `tokens` take on the line up to where the
/// line may end: a brace block, `;` or `,` (counted).
fn tail_len(tokens: &[Tok]) -> usize {
    let mut len = 0;
    let mut generics = 0usize;
    for t in tokens {
        match t {
            Tok::Op(op) if op == "<" => generics += 1,
            Tok::Op(op) if op.chars().all(|c| c == '>') => {
                generics = generics.saturating_sub(op.len())
            }
            _ => {}
        }
        len += match t {
            Tok::Group(Delimiter::Brace, _) => return len + 2,
            Tok::Op(op) if op == ";" || (op == "," && generics == 0) => return len + 1,
            Tok::Word(w) | Tok::Keyword(w) | Tok::Lit(w) => w.len() + 1,
            Tok::Op(op) => op.len() + 1,
            Tok::Group(_, inner) => tail_len(inner) + 2,
        };
    }
    len
}

fn has_attribute(inner: &[Tok]) -> bool {
    inner.windows(2).any(
        |w| matches!((&w[0], &w[1]), (Tok::Op(h), Tok::Group(Delimiter::Bracket, _)) if h == "#"),
    )
}

/// The elements of a group between its separating commas (a trailing
/// comma makes no empty element).
fn split_commas(inner: &[Tok]) -> Vec<&[Tok]> {
    let seps = separators(inner);
    let mut elements = Vec::new();
    let mut start = 0;
    for (i, sep) in seps.iter().enumerate() {
        if *sep {
            elements.push(&inner[start..i]);
            start = i + 1;
        }
    }
    if start < inner.len() {
        elements.push(&inner[start..]);
    }
    elements
}

/// Which tokens are commas that separate elements: not those between
/// generic brackets (`HashMap<K, V>`) or a closure's bars (`|a, b|`).
fn separators(tokens: &[Tok]) -> Vec<bool> {
    let mut seps = vec![false; tokens.len()];
    let mut generics = 0usize;
    let mut closure = false;
    for (i, t) in tokens.iter().enumerate() {
        let after_operand = i > 0
            && match &tokens[i - 1] {
                Tok::Word(_) => true,
                Tok::Keyword(_) => false,
                Tok::Lit(_) | Tok::Group(..) => true,
                Tok::Op(op) => op == "?" || op.chars().all(|c| c == '>'),
            };
        let after_path = i > 0
            && match &tokens[i - 1] {
                Tok::Word(_) | Tok::Keyword(_) => true,
                Tok::Op(op) => op == "::",
                _ => false,
            };
        match t {
            Tok::Op(op) if op == "<" && after_path => generics += 1,
            Tok::Op(op) if generics > 0 && op.chars().all(|c| c == '>') => {
                generics = generics.saturating_sub(op.len());
            }
            Tok::Op(op) if op == "|" && (closure || !after_operand) => closure = !closure,
            Tok::Op(op) if op == "," => seps[i] = generics == 0 && !closure,
            Tok::Op(op) if op == ";" => {
                generics = 0;
                closure = false;
            }
            _ => {}
        }
    }
    seps
}

/// The text of `doc = "..."`, unescaped.
fn doc_text(attr: &[Tok]) -> Option<String> {
    match attr {
        [Tok::Word(doc), Tok::Op(eq), Tok::Lit(lit)] if doc == "doc" && eq == "=" => unescape(lit),
        _ => None,
    }
}

/// The value of a string literal as `proc_macro2` writes one (escapes as
/// `char::escape_debug` makes them), or of a raw one (`r"..."`, `r#"..."#`,
/// which `///` comments become); `None` for other literals.
fn unescape(lit: &str) -> Option<String> {
    if let Some(raw) = lit.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"')?;
        let body = body.get(..body.len().checked_sub(hashes + 1)?)?;
        return Some(body.to_owned());
    }
    let body = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            'u' => {
                let code: String = chars
                    .by_ref()
                    .skip_while(|c| *c == '{')
                    .take_while(|c| *c != '}')
                    .collect();
                out.push(char::from_u32(u32::from_str_radix(&code, 16).ok()?)?);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::print;

    #[test]
    fn items_statements_and_docs_get_lines() {
        let tokens = quote! {
            /// A point.
            #[derive(Clone, Debug)]
            pub struct Point { pub x: i64, #[doc = " The \"y\"."] pub y: ::std::option::Option<Vec<u8>> }
            impl<S: Send + 'static> ::std::convert::From<S> for Point {
                fn from(s: S) -> Self {
                    let v = vec![1, 2];
                    match s.get(&v[0]) { Some(x) => Self { x: -1, y: None }, None => { return Self::default(); } }
                }
            }
        };
        assert_eq!(
            print(tokens, 0),
            "/// A point.\n\
             #[derive(Clone, Debug)]\n\
             pub struct Point {\n    pub x: i64,\n    /// The \"y\".\n    pub y: ::std::option::Option<Vec<u8>>,\n}\n\
             impl<S: Send + 'static> ::std::convert::From<S> for Point {\n\
             \x20   fn from(s: S) -> Self {\n\
             \x20       let v = vec![1, 2];\n\
             \x20       match s.get(&v[0]) {\n\
             \x20           Some(x) => Self {\n\
             \x20               x: -1,\n\
             \x20               y: None,\n\
             \x20           },\n\
             \x20           None => {\n\
             \x20               return Self::default();\n\
             \x20           }\n\
             \x20       }\n\
             \x20   }\n\
             }\n"
        );
    }

    #[test]
    fn keywords() {
        assert!(super::is_keyword("match") && super::is_keyword("as"));
        assert!(!super::is_keyword("matches") && !super::is_keyword("Self"));
    }

    #[test]
    fn long_groups_break_one_element_per_line() {
        let names: Vec<String> = (0..12).map(|i| format!("value-number-{i}")).collect();
        let tokens = quote! {
            pub const NAMES: &[&str] = &[#(#names),*];
            fn f() { x.map(|i| i.name()).filter(|| true); let _ = 1 << (n as u32); }
        };
        let text = print(tokens, 0);
        assert!(text.starts_with("pub const NAMES: &[&str] = &[\n    \"value-number-0\",\n"));
        assert!(text.contains("    \"value-number-11\",\n];\n"), "{text}");
        assert!(
            text.contains("x.map(|i| i.name()).filter(|| true);"),
            "{text}"
        );
        assert!(text.contains("let _ = 1 << (n as u32);"), "{text}");
    }
}
