//! The parser: one value's tokens to a [`Value`], with QEMU's messages.

use serde_json::{Map, Number, Value};

use super::lex::{Kind, Token};
use super::JsonError;

/// Parses the tokens of one value.
pub(super) fn parse(tokens: &[Token], text: &[u8]) -> Result<Value, JsonError> {
    let mut parser = Parser {
        tokens,
        text,
        next: 0,
    };
    parser.value().map_err(JsonError::Syntax)
}

struct Parser<'a> {
    tokens: &'a [Token],
    text: &'a [u8],
    next: usize,
}

type Parsed<T> = Result<T, String>;

const PREMATURE_EOI: &str = "premature EOI";

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.next).copied()
    }

    fn pop(&mut self) -> Option<Token> {
        let token = self.peek();
        self.next += 1;
        token
    }

    fn text(&self, token: Token) -> &'a [u8] {
        &self.text[token.start..token.end]
    }

    fn value(&mut self) -> Parsed<Value> {
        let token = self.peek().ok_or(PREMATURE_EOI)?;
        match token.kind {
            Kind::LCurly => self.object(),
            Kind::LSquare => self.array(),
            Kind::Integer | Kind::Float | Kind::String | Kind::Keyword => {
                self.next += 1;
                literal(token.kind, self.text(token))
            }
            _ => Err("expecting value".to_owned()),
        }
    }

    fn object(&mut self) -> Parsed<Value> {
        self.next += 1;
        let mut map = Map::new();
        if self.peek().ok_or(PREMATURE_EOI)?.kind == Kind::RCurly {
            self.next += 1;
            return Ok(Value::Object(map));
        }
        self.pair(&mut map)?;
        loop {
            match self.pop().ok_or(PREMATURE_EOI)?.kind {
                Kind::RCurly => return Ok(Value::Object(map)),
                Kind::Comma => self.pair(&mut map)?,
                _ => return Err("expected separator in dict".to_owned()),
            }
        }
    }

    fn pair(&mut self, map: &mut Map<String, Value>) -> Parsed<()> {
        let Value::String(key) = self.value()? else {
            return Err("key is not a string in object".to_owned());
        };
        if self.pop().ok_or(PREMATURE_EOI)?.kind != Kind::Colon {
            return Err("missing : in object pair".to_owned());
        }
        let value = self.value()?;
        if map.contains_key(&key) {
            return Err("duplicate key".to_owned());
        }
        map.insert(key, value);
        Ok(())
    }

    fn array(&mut self) -> Parsed<Value> {
        self.next += 1;
        let mut items = Vec::new();
        if self.peek().ok_or(PREMATURE_EOI)?.kind == Kind::RSquare {
            self.next += 1;
            return Ok(Value::Array(items));
        }
        items.push(self.value()?);
        loop {
            match self.pop().ok_or(PREMATURE_EOI)?.kind {
                Kind::RSquare => return Ok(Value::Array(items)),
                Kind::Comma => items.push(self.value()?),
                _ => return Err("expected separator in list".to_owned()),
            }
        }
    }
}

fn literal(kind: Kind, text: &[u8]) -> Parsed<Value> {
    // The lexer lets only ASCII into numbers and keywords.
    let ascii = || std::str::from_utf8(text).unwrap_or_default();
    match kind {
        Kind::String => string(text).map(Value::String),
        Kind::Keyword => match ascii() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            other => Err(format!("invalid keyword '{other}'")),
        },
        // An integer is an i64 if it fits, else a u64, else a double.
        Kind::Integer => Ok(ascii()
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| ascii().parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| double(ascii()))),
        _ => Ok(double(ascii())),
    }
}

/// A double; infinities (from exponents too large) have no JSON form in
/// `serde_json` and become `null`.
fn double(text: &str) -> Value {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The contents of a string token, quotes included in `text`.
fn string(text: &[u8]) -> Parsed<String> {
    let body = &text[1..text.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'\\' {
            // Copy the run up to the next escape, checking its UTF-8.
            let end = body[i..]
                .iter()
                .position(|&c| c == b'\\')
                .map_or(body.len(), |p| i + p);
            utf8_run(&body[i..end], &mut out)?;
            i = end;
            continue;
        }
        let escaped = body.get(i + 1).copied().unwrap_or(b'\\');
        let simple = match escaped {
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        if escaped != b'u' {
            return Err("invalid escape sequence in string".to_owned());
        }
        let (c, used) = unicode_escape(&body[i..])?;
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        i += used;
    }
    // Every piece was checked or encoded as UTF-8.
    String::from_utf8(out).map_err(|_| "invalid UTF-8 sequence in string".to_owned())
}

/// Copies raw string bytes, accepting UTF-8 plus the overlong encoding of
/// NUL (`C0 80`) that QEMU accepts.
fn utf8_run(mut run: &[u8], out: &mut Vec<u8>) -> Parsed<()> {
    loop {
        match std::str::from_utf8(run) {
            Ok(s) => {
                out.extend_from_slice(s.as_bytes());
                return Ok(());
            }
            Err(e) => {
                let good = e.valid_up_to();
                out.extend_from_slice(&run[..good]);
                if run[good..].starts_with(&[0xc0, 0x80]) {
                    out.push(0);
                    run = &run[good + 2..];
                } else {
                    return Err("invalid UTF-8 sequence in string".to_owned());
                }
            }
        }
    }
}

fn hex4(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(..4)?;
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// A `\uXXXX` escape at the start of `s`, with a second one when the
/// first is a leading surrogate: the character and the bytes used.
fn unicode_escape(s: &[u8]) -> Parsed<(char, usize)> {
    let mut used = 6;
    let mut code = hex4(&s[2..]);
    if let Some(lead @ 0xd800..=0xdbff) = code {
        if s.get(6..8) == Some(b"\\u") {
            code = match hex4(&s[8..]) {
                Some(trail @ 0xdc00..=0xdfff) => {
                    used = 12;
                    Some(0x10000 + ((lead & 0x3ff) << 10) + (trail & 0x3ff))
                }
                _ => None,
            };
        }
    }
    let shown = String::from_utf8_lossy(&s[..used.min(s.len())]);
    code.and_then(char::from_u32)
        .map(|c| (c, used))
        .ok_or_else(|| format!("{shown} is not a valid Unicode character"))
}
