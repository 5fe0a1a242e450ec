//! The pest parser for `schema.pest`, and the mapping of its failures onto
//! the errors QEMU's recursive-descent parser reports.

use std::collections::HashSet;

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

use super::lexer::{decode_string, lexical_error, skip_trivia};
use super::{Member, Object, Value, ValueKind};
use crate::source::{FileId, Span};

#[derive(Parser)]
#[grammar = "syntax/schema.pest"]
struct SchemaGrammar;

/// A documentation block as the grammar reads it: the opening line, the
/// comment lines and, if present, the closing line.  Each line is the byte
/// range of its text from the `#` up to the end of the line (offsets, not
/// text, so that a file can be parsed on another thread).
#[derive(Clone, Debug)]
pub(crate) struct RawDoc {
    pub open: (usize, usize),
    pub lines: Vec<(usize, usize)>,
    pub close: Option<(usize, usize)>,
    /// Byte offset just past the block.
    pub end: usize,
}

/// One top-level item.
#[derive(Clone, Debug)]
pub(crate) enum RawItem {
    /// A value, which QEMU requires to be an object, and the first
    /// duplicate key in it: where QEMU reports it, and the key.
    Value(Value, Option<(usize, String)>),
    /// A documentation block.
    Doc(RawDoc),
}

/// Every complete item `text` starts with, and the byte offset where they
/// end.  If the offset is short of the end of the input (after trivia),
/// [`item_error`] tells what is wrong there.
pub(crate) fn parse_items(file: FileId, text: &str) -> (Vec<RawItem>, usize) {
    let Ok(mut pairs) = SchemaGrammar::parse(Rule::items, text) else {
        // `items` accepts any prefix, the empty one included.
        return (Vec::new(), 0);
    };
    let Some(items) = pairs.next() else {
        return (Vec::new(), 0);
    };
    let end = items.as_span().end();
    let list = items
        .into_inner()
        .map(|pair| match pair.as_rule() {
            Rule::doc_block => RawItem::Doc(raw_doc(pair)),
            _ => {
                let mut duplicate = None;
                let value = value(file, pair, &mut duplicate);
                RawItem::Value(value, duplicate)
            }
        })
        .collect();
    (list, end)
}

fn raw_doc(pair: Pair<'_, Rule>) -> RawDoc {
    let end = pair.as_span().end();
    let mut open = (0, 0);
    let mut lines = Vec::new();
    let mut close = None;
    for line in pair.into_inner() {
        let entry = (line.as_span().start(), line.as_span().end());
        match line.as_rule() {
            Rule::doc_open => open = entry,
            Rule::doc_close => close = Some(entry),
            _ => lines.push(entry),
        }
    }
    RawDoc {
        open,
        lines,
        close,
        end,
    }
}

/// Builds the value for `pair`, noting in `duplicate` the first key that
/// repeats within its object, in document order.
fn value(file: FileId, pair: Pair<'_, Rule>, duplicate: &mut Option<(usize, String)>) -> Value {
    let span = Span::new(file, pair.as_span().start(), pair.as_span().end());
    let kind = match pair.as_rule() {
        Rule::string => ValueKind::Str(string(pair.as_str())),
        Rule::boolean => ValueKind::Bool(pair.as_str() == "true"),
        Rule::object => {
            let mut members: Vec<Member> = Vec::new();
            for m in pair.into_inner() {
                let mut inner = m.into_inner();
                let key = inner.next().expect("grammar: member has a key");
                let key_span = Span::new(file, key.as_span().start(), key.as_span().end());
                let key = string(key.as_str());
                let val = inner.next().expect("grammar: member has a value");
                if duplicate.is_none() && members.iter().any(|m| m.key == key) {
                    *duplicate = Some((val.as_span().start(), key.clone()));
                }
                let value = value(file, val, duplicate);
                members.push(Member {
                    key,
                    key_span,
                    value,
                });
            }
            ValueKind::Object(Object { members })
        }
        Rule::array => ValueKind::Array(
            pair.into_inner()
                .map(|p| value(file, p, duplicate))
                .collect(),
        ),
        other => unreachable!("grammar: {other:?} is not a value"),
    };
    Value { kind, span }
}

fn string(token: &str) -> String {
    // The grammar only matches well-formed strings.
    decode_string(token).unwrap_or_default()
}

/// Why the item starting at `start` does not parse: the byte offset QEMU
/// reports and its message.  Duplicate keys are reported here too, since
/// QEMU finds them while parsing.
pub(crate) fn item_error(text: &str, start: usize) -> (usize, String) {
    let (pos, expected) = match SchemaGrammar::parse(Rule::item, &text[start..]) {
        Ok(_) => (text.len(), Vec::new()),
        Err(err) => {
            let pos = match err.location {
                InputLocation::Pos(p) => start + p,
                InputLocation::Span((p, _)) => start + p,
            };
            let positives = match err.variant {
                ErrorVariant::ParsingError { positives, .. } => positives,
                ErrorVariant::CustomError { .. } => Vec::new(),
            };
            (pos, positives)
        }
    };
    // At the end of input QEMU points at the final newline.
    let at = pos.min(text.len().saturating_sub(1));
    let lexical = lexical_error(text, pos);
    if let Some((dup_pos, key)) = duplicate_key(text, start, pos) {
        if dup_pos < pos || lexical.is_none() {
            return (
                dup_pos.min(text.len().saturating_sub(1)),
                format!("duplicate key '{key}'"),
            );
        }
    }
    if let Some(message) = lexical {
        return (at, message);
    }
    (at, expected_message(&expected).to_owned())
}

fn expected_message(expected: &[Rule]) -> &'static str {
    let has = |r: Rule| expected.contains(&r);
    if has(Rule::colon) {
        "expected ':'"
    } else if has(Rule::comma) && has(Rule::rbrace) {
        "expected ',' or '}'"
    } else if has(Rule::comma) && has(Rule::rbracket) {
        "expected ',' or ']'"
    } else if has(Rule::rbracket) {
        "expected '{', '[', ']', string, or boolean"
    } else if has(Rule::rbrace) {
        "expected string or '}'"
    } else if has(Rule::string) && !has(Rule::boolean) && !has(Rule::checked_object) {
        "expected string"
    } else {
        "expected '{', '[', string, or boolean"
    }
}

/// The first duplicate key in the item from `start`, looking only at what
/// QEMU would have read by `limit`: the offset of the token after the
/// key's colon (where QEMU reports it) and the key.
fn duplicate_key(text: &str, start: usize, limit: usize) -> Option<(usize, String)> {
    let pairs = SchemaGrammar::parse(Rule::tokens, &text[start..]).ok()?;
    // One frame per open bracket: the keys seen so far, for objects.
    let mut frames: Vec<Option<HashSet<String>>> = Vec::new();
    let mut expect_key = false;
    let mut key: Option<String> = None;
    for tok in pairs.flatten().skip(1) {
        if start + tok.as_span().start() > limit {
            break;
        }
        match tok.as_rule() {
            Rule::lbrace => {
                frames.push(Some(HashSet::new()));
                expect_key = true;
                continue;
            }
            Rule::lbracket => frames.push(None),
            Rule::rbrace | Rule::rbracket => {
                frames.pop();
            }
            Rule::comma => {
                expect_key = matches!(frames.last(), Some(Some(_)));
                continue;
            }
            Rule::string if expect_key => {
                key = Some(string(tok.as_str()));
                expect_key = false;
                continue;
            }
            Rule::colon => {
                if let Some(k) = key.take() {
                    // QEMU checks once the token after the colon is read.
                    let at = skip_trivia(text, start + tok.as_span().end());
                    if at > limit {
                        return None;
                    }
                    if let Some(Some(keys)) = frames.last_mut() {
                        if !keys.insert(k.clone()) {
                            return Some((at, k));
                        }
                    }
                }
            }
            _ => {}
        }
        expect_key = false;
    }
    None
}
