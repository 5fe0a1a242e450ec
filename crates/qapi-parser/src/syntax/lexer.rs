//! The token-level rules of QEMU's lexer that the grammar alone cannot
//! report: why a string is malformed, what a stray word is, and where the
//! next token starts.

use crate::source::is_py_space;

/// The position of the next token at or after `pos`: white space and plain
/// comments are skipped; a `##` comment is a token.
pub(crate) fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < text.len() {
        if bytes[pos] == b'#' {
            if bytes.get(pos + 1) == Some(&b'#') {
                return pos;
            }
            pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            continue;
        }
        match text[pos..].chars().next() {
            Some(ch) if is_py_space(ch) => pos += ch.len_utf8(),
            _ => return pos,
        }
    }
    pos
}

/// The error QEMU's lexer raises for the token starting at `pos`, if any.
pub(crate) fn lexical_error(text: &str, pos: usize) -> Option<String> {
    let rest = text.get(pos..)?;
    let first = rest.chars().next()?;
    match first {
        '{' | '}' | ':' | ',' | '[' | ']' | '#' => None,
        '\'' => decode_string(rest).err(),
        _ if rest.starts_with("true") || rest.starts_with("false") => None,
        _ => {
            let end = rest
                .find(|c: char| "[]{}:,'".contains(c) || is_py_space(c))
                .unwrap_or(rest.len());
            Some(format!("stray '{}'", &rest[..end]))
        }
    }
}

/// Decodes the string token at the start of `src` (which starts with its
/// opening quote), or says what QEMU says is wrong with it.
pub(crate) fn decode_string(src: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut escaped = false;
    for ch in src.chars().skip(1) {
        if ch == '\n' {
            return Err("missing terminating \"'\"".to_owned());
        }
        if escaped {
            if ch != '\\' {
                return Err(format!("unknown escape \\{ch}"));
            }
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
            continue;
        } else if ch == '\'' {
            return Ok(out);
        }
        if !(' '..='~').contains(&ch) {
            return Err("funny character in string".to_owned());
        }
        out.push(ch);
    }
    Err("missing terminating \"'\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivia() {
        assert_eq!(skip_trivia("  # c\n  x", 0), 8);
        assert_eq!(skip_trivia("  ## doc", 0), 2);
        assert_eq!(skip_trivia("   ", 0), 3);
    }

    #[test]
    fn strings() {
        assert_eq!(decode_string(r"'a\\b'").unwrap(), r"a\b");
        assert_eq!(decode_string(r"'a\b'").unwrap_err(), r"unknown escape \b");
        assert_eq!(
            decode_string("'a\n").unwrap_err(),
            "missing terminating \"'\""
        );
        assert_eq!(
            decode_string("'\u{1f}'").unwrap_err(),
            "funny character in string"
        );
        assert_eq!(
            decode_string("'é'").unwrap_err(),
            "funny character in string"
        );
    }

    #[test]
    fn stray_words() {
        assert_eq!(lexical_error("123, x", 0).unwrap(), "stray '123'");
        assert_eq!(lexical_error("null}", 0).unwrap(), "stray 'null'");
        assert_eq!(lexical_error("\"a b\"", 0).unwrap(), "stray '\"a'");
        assert_eq!(lexical_error("trueish", 0), None);
        assert_eq!(lexical_error("{", 0), None);
        assert_eq!(lexical_error("", 0), None);
    }
}
