//! JSON as QEMU reads and writes it on a QMP or QGA channel.
//!
//! Reading follows QEMU's three stages, so a stream with errors in it
//! gets the same answers as from QEMU: a lexer that splits bytes into
//! tokens and, after a lexical error, skips ahead to a byte where a new
//! value can start ([`Streamer`]); a streamer that collects tokens until
//! the brackets balance and enforces the limits ([`Limits`]); and a parser
//! for one value's tokens.  QEMU's extensions are accepted: single-quoted
//! strings, and `\u0000` / the overlong NUL of "modified UTF-8".
//!
//! Writing ([`to_vec`]) produces QEMU's compact form: `": "` and `", "`
//! separators, object members in the order of QEMU's `QDict`, everything
//! outside printable ASCII as `\uXXXX`, and numbers formatted as `%.17g`.

mod lex;
pub mod order;
mod parse;
mod write;

use std::fmt;

pub use lex::Streamer;
pub use write::{to_vec, write_value};

/// Bounds on one incoming value; each exceeded one is an error reply and
/// never unbounded memory.  The defaults are QEMU's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The total size of a value's tokens, in bytes (64 MiB).
    pub max_size: usize,
    /// The number of tokens in a value (2 Mi).
    pub max_tokens: usize,
    /// The depth of nested arrays and objects (1024).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: 64 << 20,
            max_tokens: 2 << 20,
            max_depth: 1024,
        }
    }
}

/// Why bytes on a channel did not make a JSON value.  QEMU answers each
/// with a `GenericError` whose text is [`Display`](fmt::Display).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// A byte that cannot continue the token it is in (QEMU: "stray").
    Stray(String),
    /// A syntax error in a value whose brackets balance.
    Syntax(String),
    /// The value's tokens add up to more than [`Limits::max_size`].
    TooLarge,
    /// The value has more than [`Limits::max_tokens`] tokens.
    TooManyTokens,
    /// The value nests deeper than [`Limits::max_depth`].
    TooDeep,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Stray(text) => write!(f, "JSON parse error, stray '{text}'"),
            JsonError::Syntax(message) => write!(f, "JSON parse error, {message}"),
            JsonError::TooLarge => f.write_str("JSON token size limit exceeded"),
            JsonError::TooManyTokens => f.write_str("JSON token count limit exceeded"),
            JsonError::TooDeep => f.write_str("JSON nesting depth limit exceeded"),
        }
    }
}

impl std::error::Error for JsonError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What a QGA channel would answer, in order: each value written back
    /// as QEMU writes it, each error as its text.
    fn answers(bytes: &[u8]) -> Vec<String> {
        let mut streamer = Streamer::default();
        let mut out = Vec::new();
        streamer.feed(bytes, |r| {
            out.push(match r {
                Ok(v) => String::from_utf8(to_vec(&v)).unwrap(),
                Err(e) => e.to_string(),
            })
        });
        out
    }

    const PING: &str = r#"{"execute": "guest-ping"}"#;

    #[test]
    fn syntax_errors_read_as_qemus() {
        // Each of these is what qemu-ga 7.2 answered to the same bytes.
        let cases: &[(&[u8], &[&str])] = &[
            (
                b"{\"execute\": foo}",
                &["JSON parse error, invalid keyword 'foo'"],
            ),
            (b"}", &["JSON parse error, expecting value"]),
            (
                b"{\"execute\":\"guest-ping\",}",
                &["JSON parse error, expecting value"],
            ),
            (
                b"{\"execute\" \"guest-ping\"}",
                &["JSON parse error, missing : in object pair"],
            ),
            (
                b"{1:2}",
                &["JSON parse error, key is not a string in object"],
            ),
            (b"{\"a\":1,\"a\":2}", &["JSON parse error, duplicate key"]),
            (b"[1 2]", &["JSON parse error, expected separator in list"]),
            (b"[1,]", &["JSON parse error, expecting value"]),
            (b"tru ", &["JSON parse error, invalid keyword 'tru'"]),
            (
                b"\"\\x\"",
                &["JSON parse error, invalid escape sequence in string"],
            ),
            (
                b"\"\\ud800\"",
                &["JSON parse error, \\ud800 is not a valid Unicode character"],
            ),
            (
                b"\"a\x7fb\xc3\"",
                &["JSON parse error, invalid UTF-8 sequence in string"],
            ),
            (b"01 ", &["JSON parse error, stray '01'"]),
            (b"1.e5 ", &["JSON parse error, stray '1.e'"]),
            (
                b"-x{\"execute\":\"guest-ping\"}",
                &["JSON parse error, stray '-x'", PING],
            ),
            (
                b"@abc\n{\"execute\":\"guest-ping\"}",
                &["JSON parse error, stray '@'", PING],
            ),
            (
                b"{\"id\":Null}",
                &[
                    "JSON parse error, stray 'N'",
                    "JSON parse error, expecting value",
                ],
            ),
            (
                b"{\"execute\":\"guest-ping\"} junk {\"execute\":\"guest-ping\"}",
                &[PING, "JSON parse error, invalid keyword 'junk'", PING],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                answers(input),
                *expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn a_0xff_byte_resynchronises_as_in_qemu() {
        assert_eq!(
            answers(b"\xff{\"execute\":\"guest-ping\"}"),
            ["JSON parse error, stray '\u{fffd}'", PING]
        );
        assert_eq!(
            answers(b"\xff\xff{\"execute\":\"guest-ping\"}"),
            [
                "JSON parse error, stray '\u{fffd}'",
                "JSON parse error, stray '\u{fffd}'",
                PING
            ]
        );
        assert_eq!(
            answers(b"{\"execute\":\"guest-p\xffing\"}{\"execute\":\"guest-ping\"}"),
            [
                "JSON parse error, stray '\"guest-p\u{fffd}'",
                "JSON parse error, expecting value",
                PING
            ]
        );
        assert_eq!(
            answers(b"{\"execute\":\xff\"guest-ping\"}"),
            [
                "JSON parse error, stray '\u{fffd}'",
                "JSON parse error, expecting value"
            ]
        );
        // After a control character, ',' and ':' also start afresh.
        assert_eq!(
            answers(b"{\"execute\":\"guest-ping\"\x01, \"id\": 1}"),
            [
                "JSON parse error, stray '\u{1}'",
                "JSON parse error, expecting value",
                "\"id\"",
                "JSON parse error, expecting value",
                "1",
                "JSON parse error, expecting value"
            ]
        );
    }

    #[test]
    fn values_end_where_qemu_ends_them() {
        // A number at the top level needs the byte after it.
        assert!(answers(b"42").is_empty());
        assert_eq!(answers(b"42 "), ["42"]);
        assert!(answers(b"{\"a\": [1, {").is_empty());
        assert_eq!(
            answers(b"{'a': 'it\\'s \"q\"'}"),
            [r#"{"a": "it's \"q\""}"#]
        );
        // A value split across feeds is one value.
        let mut s = Streamer::default();
        let mut n = 0;
        s.feed(b"{\"a\":", |_| n += 1);
        assert_eq!(n, 0);
        s.feed(b" 1}", |r| {
            assert_eq!(r.unwrap(), serde_json::json!({"a": 1}));
            n += 1
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn limits_are_errors_not_memory() {
        let limits = Limits {
            max_size: 100,
            max_tokens: 10,
            max_depth: 3,
        };
        let run = |bytes: &[u8]| {
            let mut s = Streamer::new(limits);
            let mut out = Vec::new();
            s.feed(bytes, |r| out.push(r.map_err(|e| e.to_string())));
            (out, s.buffered())
        };
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(10_000));
        let (out, capacity) = run(big.as_bytes());
        assert_eq!(out[0], Err("JSON token size limit exceeded".to_owned()));
        assert!(capacity < 1000, "{capacity}");
        let (out, _) = run(b"[1,2,3,4,5,6]");
        assert_eq!(out[0], Err("JSON token count limit exceeded".to_owned()));
        let (out, _) = run(b"[[[[1]]]]");
        assert_eq!(out[0], Err("JSON nesting depth limit exceeded".to_owned()));
    }

    #[test]
    fn numbers_and_strings_are_written_as_qemu_writes_them() {
        let cases = [
            ("1.0", "1"),
            ("-0", "0"),
            ("-0.0", "-0"),
            ("0.1", "0.10000000000000001"),
            ("1e5", "100000"),
            ("-1.5E-7", "-1.4999999999999999e-07"),
            ("123456789012345678901234", "1.2345678901234569e+23"),
            ("1.5e300", "1.5000000000000001e+300"),
            ("0.00001", "1.0000000000000001e-05"),
            ("123456.789", "123456.789"),
            ("1e16", "10000000000000000"),
            ("1e17", "1e+17"),
            ("12345678901234567890", "12345678901234567890"),
            ("-9223372036854775809", "-9.2233720368547758e+18"),
            ("\"\\u00e9\\/\\b\\f\"", "\"\\u00E9/\\b\\f\""),
            (
                "\"\\uD83D\\uDE00\u{1F600}\"",
                "\"\\uD83D\\uDE00\\uD83D\\uDE00\"",
            ),
            ("\"\u{7f}~\"", "\"\\u007F~\""),
            ("\"\\u0000\"", "\"\\u0000\""),
            (
                "{\"z\": 1, \"a\": 2, \"return\": 3}",
                "{\"a\": 2, \"z\": 1, \"return\": 3}",
            ),
        ];
        for (input, output) in cases {
            let got = answers(format!("[{input}]").as_bytes());
            assert_eq!(got, [format!("[{output}]")], "{input}");
        }
        assert_eq!(answers(b"[\"\xc0\x80\"]"), ["[\"\\u0000\"]"]);
        assert_eq!(
            String::from_utf8(to_vec(&json!({"return": {}, "id": [1, null, true]}))).unwrap(),
            r#"{"return": {}, "id": [1, null, true]}"#
        );
    }
}
