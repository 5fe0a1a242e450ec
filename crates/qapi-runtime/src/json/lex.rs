//! The lexer and streamer: bytes in, complete values (or errors) out.

use serde_json::Value;

use super::parse::parse;
use super::{JsonError, Limits};

/// The kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    Integer,
    Float,
    Keyword,
    String,
}

/// A token: its kind and where its text is in the streamer's buffer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Where the lexer is within a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    /// After a lexical error: skipping to a byte where a value can start.
    Recovery,
    String {
        quote: u8,
    },
    Escape {
        quote: u8,
    },
    Minus,
    Zero,
    Digits,
    Dot,
    Fraction,
    ExponentMark,
    ExponentSign,
    Exponent,
    Keyword,
}

/// What a byte does to the token being lexed.
enum Step {
    /// The byte belongs to the token, which goes on.
    Continue(State),
    /// The byte ends the token and belongs to it.
    Finish(Kind),
    /// The token ended before this byte, which starts afresh.
    Lookahead(Kind),
    /// The byte is not allowed here.
    Error,
    /// Whitespace, or a byte skipped during recovery.
    Skip,
    /// Leave recovery and read this byte afresh.
    Resume,
}

fn step(state: State, b: u8) -> Step {
    use State::*;
    match state {
        Start => match b {
            b' ' | b'\t' | b'\r' | b'\n' => Step::Skip,
            b'{' => Step::Finish(Kind::LCurly),
            b'}' => Step::Finish(Kind::RCurly),
            b'[' => Step::Finish(Kind::LSquare),
            b']' => Step::Finish(Kind::RSquare),
            b':' => Step::Finish(Kind::Colon),
            b',' => Step::Finish(Kind::Comma),
            b'"' | b'\'' => Step::Continue(String { quote: b }),
            b'-' => Step::Continue(Minus),
            b'0' => Step::Continue(Zero),
            b'1'..=b'9' => Step::Continue(Digits),
            b'a'..=b'z' => Step::Continue(Keyword),
            _ => Step::Error,
        },
        // Structural characters, control characters but tab, and bytes
        // that UTF-8 never uses are where a new value may start.
        Recovery => match b {
            b'\t' => Step::Skip,
            0..=0x1f | 0xfe | 0xff | b'[' | b']' | b'{' | b'}' | b':' | b',' => Step::Resume,
            _ => Step::Skip,
        },
        String { quote } => match b {
            b'\\' => Step::Continue(Escape { quote }),
            _ if b == quote => Step::Finish(Kind::String),
            0x20..=0xfd => Step::Continue(state),
            _ => Step::Error,
        },
        Escape { quote } => match b {
            0x20..=0xfd => Step::Continue(String { quote }),
            _ => Step::Error,
        },
        Minus => match b {
            b'0' => Step::Continue(Zero),
            b'1'..=b'9' => Step::Continue(Digits),
            _ => Step::Error,
        },
        Zero => match b {
            b'0'..=b'9' => Step::Error,
            b'.' => Step::Continue(Dot),
            b'e' | b'E' => Step::Continue(ExponentMark),
            _ => Step::Lookahead(Kind::Integer),
        },
        Digits => match b {
            b'0'..=b'9' => Step::Continue(Digits),
            b'.' => Step::Continue(Dot),
            b'e' | b'E' => Step::Continue(ExponentMark),
            _ => Step::Lookahead(Kind::Integer),
        },
        Dot => match b {
            b'0'..=b'9' => Step::Continue(Fraction),
            _ => Step::Error,
        },
        Fraction => match b {
            b'0'..=b'9' => Step::Continue(Fraction),
            b'e' | b'E' => Step::Continue(ExponentMark),
            _ => Step::Lookahead(Kind::Float),
        },
        ExponentMark => match b {
            b'+' | b'-' => Step::Continue(ExponentSign),
            b'0'..=b'9' => Step::Continue(Exponent),
            _ => Step::Error,
        },
        ExponentSign => match b {
            b'0'..=b'9' => Step::Continue(Exponent),
            _ => Step::Error,
        },
        Exponent => match b {
            b'0'..=b'9' => Step::Continue(Exponent),
            _ => Step::Lookahead(Kind::Float),
        },
        Keyword => match b {
            b'a'..=b'z' => Step::Continue(Keyword),
            _ => Step::Lookahead(Kind::Keyword),
        },
    }
}

/// The capacity a buffer may keep after a value is done; a larger one is
/// freed.
const SMALL_BUFFER: usize = 16 << 10;

/// Splits a byte stream into JSON values as QEMU's `json-streamer` does.
///
/// Feed it whatever arrives; it hands out each value (or error) as soon as
/// it is complete.  Memory stays within the [`Limits`]: a token longer
/// than the size limit is skipped, not stored.
#[derive(Debug)]
pub struct Streamer {
    limits: Limits,
    state: State,
    /// The texts of the value's complete tokens, then the current token's.
    text: Vec<u8>,
    tokens: Vec<Token>,
    /// Where the current token starts in `text`.
    token_start: usize,
    /// The current token's true length (`text` stops growing at the limit).
    token_len: usize,
    braces: i64,
    brackets: i64,
    /// Bytes of complete tokens of the current value.
    value_size: usize,
}

impl Streamer {
    /// A streamer with these limits.
    pub fn new(limits: Limits) -> Self {
        Streamer {
            limits,
            state: State::Start,
            text: Vec::new(),
            tokens: Vec::new(),
            token_start: 0,
            token_len: 0,
            braces: 0,
            brackets: 0,
            value_size: 0,
        }
    }

    /// The bytes held for the value being read: bounded by the size limit.
    pub fn buffered(&self) -> usize {
        self.text.capacity() + self.tokens.capacity() * std::mem::size_of::<Token>()
    }

    /// Feeds bytes; `emit` gets every value or error completed by them, in
    /// order.
    pub fn feed(&mut self, bytes: &[u8], mut emit: impl FnMut(Result<Value, JsonError>)) {
        self.feed_sized(bytes, |result, _| emit(result));
    }

    /// [`feed`](Self::feed), with each value's size in bytes (its tokens'
    /// text; 0 for an error).
    pub fn feed_sized(
        &mut self,
        bytes: &[u8],
        mut emit: impl FnMut(Result<Value, JsonError>, usize),
    ) {
        for &b in bytes {
            self.feed_byte(b, &mut emit);
        }
    }

    fn feed_byte(&mut self, b: u8, emit: &mut impl FnMut(Result<Value, JsonError>, usize)) {
        loop {
            match step(self.state, b) {
                Step::Skip => {}
                Step::Resume => {
                    self.state = State::Start;
                    continue;
                }
                Step::Continue(next) => {
                    if self.state == State::Start {
                        self.begin_token();
                    }
                    self.push_byte(b);
                    self.state = next;
                }
                Step::Finish(kind) => {
                    if self.state == State::Start {
                        self.begin_token();
                    }
                    self.push_byte(b);
                    self.state = State::Start;
                    self.token(kind, emit);
                }
                Step::Lookahead(kind) => {
                    self.state = State::Start;
                    self.token(kind, emit);
                    continue;
                }
                Step::Error => {
                    if self.state == State::Start {
                        self.begin_token();
                    }
                    self.push_byte(b);
                    let stray =
                        String::from_utf8_lossy(&self.text[self.token_start..]).into_owned();
                    self.state = State::Recovery;
                    self.clear_value();
                    emit(Err(JsonError::Stray(stray)), 0);
                }
            }
            return;
        }
    }

    fn begin_token(&mut self) {
        self.token_start = self.text.len();
        self.token_len = 0;
    }

    fn push_byte(&mut self, b: u8) {
        self.token_len += 1;
        // Past the limit the value is refused anyway: stop storing.
        if self.text.len() < self.limits.max_size {
            self.text.push(b);
        }
    }

    /// A complete token: QEMU's `json_message_process_token`.
    fn token(&mut self, kind: Kind, emit: &mut impl FnMut(Result<Value, JsonError>, usize)) {
        match kind {
            Kind::LCurly => self.braces += 1,
            Kind::RCurly => self.braces -= 1,
            Kind::LSquare => self.brackets += 1,
            Kind::RSquare => self.brackets -= 1,
            _ => {}
        }
        let limit_error = if self.value_size + self.token_len > self.limits.max_size {
            Some(JsonError::TooLarge)
        } else if self.tokens.len() + 1 > self.limits.max_tokens {
            Some(JsonError::TooManyTokens)
        } else if self.braces + self.brackets > self.limits.max_depth as i64 {
            Some(JsonError::TooDeep)
        } else {
            None
        };
        if let Some(error) = limit_error {
            self.clear_value();
            emit(Err(error), 0);
            return;
        }
        self.value_size += self.token_len;
        self.tokens.push(Token {
            kind,
            start: self.token_start,
            end: self.text.len(),
        });
        let open = self.braces > 0 || self.brackets > 0;
        if open && self.braces >= 0 && self.brackets >= 0 {
            return;
        }
        let result = parse(&self.tokens, &self.text);
        let size = self.value_size;
        self.clear_value();
        emit(result, size);
    }

    fn clear_value(&mut self) {
        self.text.clear();
        self.tokens.clear();
        self.token_start = 0;
        self.token_len = 0;
        self.braces = 0;
        self.brackets = 0;
        self.value_size = 0;
        // Keep a big buffer from pinning memory after one big request.
        if self.text.capacity() > SMALL_BUFFER {
            self.text = Vec::new();
        }
        if self.tokens.capacity() * std::mem::size_of::<Token>() > SMALL_BUFFER {
            self.tokens = Vec::new();
        }
    }
}

impl Default for Streamer {
    fn default() -> Self {
        Streamer::new(Limits::default())
    }
}
