//! A streaming JSON reader that builds the tree the way sops 3.11 sees it.
//!
//! sops reads JSON twice with Go's `encoding/json`: once with `json.Unmarshal` (which first
//! validates the whole input with its scanner) and once token by token. Both keep what a generic
//! JSON library would lose here: key order and **duplicate keys**. Every number becomes a float64
//! and strings are decoded with Go's rules (invalid UTF-8 and lone surrogates become U+FFFD).
//!
//! The reader is iterative (an explicit stack, no recursion), single pass and linear. Its syntax
//! errors carry the exact wording of Go's scanner, including the character Go reports when the
//! input ends inside a token (Go feeds a virtual space at end of input, so `{"a":1.` fails with
//! `invalid character ' ' after decimal point in numeric literal`).

use std::fmt;

use crate::limits::{MAX_NESTING_DEPTH, MAX_NODES};
use crate::sops::stores::NodeCount;
use crate::sops::tree::{Mapping, Value};

/// A JSON syntax error, worded like Go's `encoding/json` scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SyntaxError {
    /// The input ended inside a value (`unexpected end of JSON input`).
    UnexpectedEnd,
    /// A byte that cannot appear where it was found.
    InvalidChar {
        /// The offending byte (a space when the input ended inside a token).
        byte: u8,
        /// Go's description of where it was found, e.g. `after object key`.
        context: &'static str,
    },
    /// Arrays and objects nest deeper than [`MAX_NESTING_DEPTH`].
    TooDeep,
    /// The text holds more than [`MAX_NODES`] values and keys.
    TooManyNodes,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::UnexpectedEnd => f.write_str("unexpected end of JSON input"),
            SyntaxError::InvalidChar { byte, context } => {
                write!(f, "invalid character {} {context}", quote_char(*byte))
            }
            SyntaxError::TooDeep => write!(f, "nesting depth exceeds {MAX_NESTING_DEPTH} levels"),
            SyntaxError::TooManyNodes => write!(f, "more than {MAX_NODES} values and keys"),
        }
    }
}

/// Go's `quoteChar`: the byte read as a Latin-1 rune, quoted like `strconv.Quote` but between
/// single quotes (`'x'`, `'\''`, `'\x01'`, `'\u0080'`, `'ï'`).
fn quote_char(byte: u8) -> String {
    match byte {
        b'\'' => r"'\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        b'\\' => r"'\\'".to_owned(),
        0x07 => r"'\a'".to_owned(),
        0x08 => r"'\b'".to_owned(),
        0x0c => r"'\f'".to_owned(),
        b'\n' => r"'\n'".to_owned(),
        b'\r' => r"'\r'".to_owned(),
        b'\t' => r"'\t'".to_owned(),
        0x0b => r"'\v'".to_owned(),
        0x00..=0x1f | 0x7f => format!(r"'\x{byte:02x}'"),
        // C1 controls, NBSP and the soft hyphen are not printable for strconv.
        0x80..=0xa0 | 0xad => format!(r"'\u{byte:04x}'"),
        _ => format!("'{}'", char::from(byte)),
    }
}

/// The result of reading a whole JSON text.
#[derive(Debug)]
pub(super) struct Scanned {
    /// The top-level value.
    pub top: Value,
    /// The literal of the first number (in document order) too large for a float64. Go's
    /// `Unmarshal` skips data fields and accepts it; the token pass that builds the data tree
    /// rejects it. The tree holds ±infinity in its place.
    pub first_overflow: Option<String>,
}

/// A container being filled.
enum Frame {
    /// An object, with the key whose value is being read.
    Object { map: Mapping, key: String },
    /// An array.
    Array(Vec<Value>),
}

/// Reads one JSON text: a single value, optionally surrounded by whitespace.
pub(super) fn scan(input: &[u8]) -> Result<Scanned, SyntaxError> {
    Reader {
        input,
        pos: 0,
        first_overflow: None,
        nodes: NodeCount::default(),
    }
    .read()
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    first_overflow: Option<String>,
    /// Values and keys read so far, against [`MAX_NODES`].
    nodes: NodeCount,
}

/// The bytes after the first of `true`, `false` and `null`, each with Go's context for a wrong
/// byte in its place.
const TRUE: &[(u8, &str)] = &[
    (b'r', "in literal true (expecting 'r')"),
    (b'u', "in literal true (expecting 'u')"),
    (b'e', "in literal true (expecting 'e')"),
];
const FALSE: &[(u8, &str)] = &[
    (b'a', "in literal false (expecting 'a')"),
    (b'l', "in literal false (expecting 'l')"),
    (b's', "in literal false (expecting 's')"),
    (b'e', "in literal false (expecting 'e')"),
];
const NULL: &[(u8, &str)] = &[
    (b'u', "in literal null (expecting 'u')"),
    (b'l', "in literal null (expecting 'l')"),
    (b'l', "in literal null (expecting 'l')"),
];

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The next byte, consumed.
    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// Counts one more value or key.
    fn count_node(&mut self) -> Result<(), SyntaxError> {
        self.nodes.add(1).map_err(|_| SyntaxError::TooManyNodes)
    }

    /// Skips JSON whitespace and returns the next byte, consumed (`None` at end of input).
    fn next_significant(&mut self) -> Option<u8> {
        while let Some(byte) = self.bump() {
            if !matches!(byte, b' ' | b'\t' | b'\r' | b'\n') {
                return Some(byte);
            }
        }
        None
    }

    fn read(mut self) -> Result<Scanned, SyntaxError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            // Read the start of a value; containers push a frame and go back for their first
            // element, everything else yields a complete value.
            let start = self.next_significant().ok_or(SyntaxError::UnexpectedEnd)?;
            self.count_node()?;
            let mut value = match start {
                b'{' | b'[' if stack.len() >= MAX_NESTING_DEPTH => {
                    return Err(SyntaxError::TooDeep);
                }
                b'{' => match self.next_significant() {
                    Some(b'}') => Value::Mapping(Mapping::new()),
                    Some(b'"') => {
                        let key = self.object_key()?;
                        stack.push(Frame::Object {
                            map: Mapping::new(),
                            key,
                        });
                        continue 'value;
                    }
                    Some(byte) => {
                        return Err(invalid(byte, "looking for beginning of object key string"));
                    }
                    None => return Err(SyntaxError::UnexpectedEnd),
                },
                b'[' => {
                    let save = self.pos;
                    if self.next_significant() == Some(b']') {
                        Value::Sequence(Vec::new())
                    } else {
                        // Not empty: let the value loop read (and judge) that byte again.
                        self.pos = save;
                        stack.push(Frame::Array(Vec::new()));
                        continue 'value;
                    }
                }
                b'"' => Value::Str(self.string()?.into_bytes()),
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal(TRUE, Value::Bool(true))?,
                b'f' => self.literal(FALSE, Value::Bool(false))?,
                b'n' => self.literal(NULL, Value::Null)?,
                byte => return Err(invalid(byte, "looking for beginning of value")),
            };
            // Attach the finished value to its container, closing containers as they end.
            loop {
                match stack.last_mut() {
                    None => {
                        return match self.next_significant() {
                            None => Ok(Scanned {
                                top: value,
                                first_overflow: self.first_overflow,
                            }),
                            Some(byte) => Err(invalid(byte, "after top-level value")),
                        };
                    }
                    Some(Frame::Array(values)) => {
                        values.push(value);
                        match self.next_significant() {
                            Some(b',') => continue 'value,
                            Some(b']') => {}
                            Some(byte) => return Err(invalid(byte, "after array element")),
                            None => return Err(SyntaxError::UnexpectedEnd),
                        }
                    }
                    Some(Frame::Object { map, key }) => {
                        map.push(std::mem::take(key), value);
                        match self.next_significant() {
                            Some(b',') => match self.next_significant() {
                                Some(b'"') => {
                                    *key = self.object_key()?;
                                    continue 'value;
                                }
                                Some(byte) => {
                                    return Err(invalid(
                                        byte,
                                        "looking for beginning of object key string",
                                    ));
                                }
                                None => return Err(SyntaxError::UnexpectedEnd),
                            },
                            Some(b'}') => {}
                            Some(byte) => return Err(invalid(byte, "after object key:value pair")),
                            None => return Err(SyntaxError::UnexpectedEnd),
                        }
                    }
                }
                // The container just closed: it becomes the finished value one level up.
                value = match stack.pop() {
                    Some(Frame::Array(values)) => Value::Sequence(values),
                    Some(Frame::Object { map, .. }) => Value::Mapping(map),
                    None => return Err(SyntaxError::UnexpectedEnd),
                };
            }
        }
    }

    /// Reads a key (its opening quote already consumed) and the `:` after it.
    fn object_key(&mut self) -> Result<String, SyntaxError> {
        self.count_node()?;
        let key = self.string()?;
        match self.next_significant() {
            Some(b':') => Ok(key),
            Some(byte) => Err(invalid(byte, "after object key")),
            None => Err(SyntaxError::UnexpectedEnd),
        }
    }

    /// Reads a string whose opening quote was consumed, decoding it like Go's `unquote`.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let mut out = String::new();
        let mut run_start = self.pos;
        // A `\uD8xx`-style escape waiting to see whether the next escape completes the pair.
        let mut pending_surrogate: Option<u32> = None;
        loop {
            let Some(byte) = self.peek() else {
                return Err(SyntaxError::UnexpectedEnd);
            };
            match byte {
                b'"' | b'\\' => {
                    let run = self.input.get(run_start..self.pos).unwrap_or_default();
                    if !run.is_empty() && pending_surrogate.take().is_some() {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                    push_lossy(&mut out, run);
                    self.pos += 1;
                    if byte == b'"' {
                        if pending_surrogate.is_some() {
                            out.push(char::REPLACEMENT_CHARACTER);
                        }
                        return Ok(out);
                    }
                    let escaped = match self.bump() {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        Some(b'u') => None,
                        Some(other) => return Err(invalid(other, "in string escape code")),
                        None => return Err(invalid(b' ', "in string escape code")),
                    };
                    match escaped {
                        Some(ch) => {
                            if pending_surrogate.take().is_some() {
                                out.push(char::REPLACEMENT_CHARACTER);
                            }
                            out.push(ch);
                        }
                        None => {
                            let unit = self.hex4()?;
                            pending_surrogate = push_utf16(&mut out, pending_surrogate, unit);
                        }
                    }
                    run_start = self.pos;
                }
                0x00..=0x1f => return Err(invalid(byte, "in string literal")),
                _ => {
                    // Skip the plain run up to the next byte that needs a decision.
                    let rest = self.input.get(self.pos..).unwrap_or_default();
                    self.pos += rest
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .unwrap_or(rest.len());
                }
            }
        }
    }

    /// Reads the four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut unit = 0;
        for _ in 0..4 {
            let byte = self.bump().unwrap_or(b' ');
            let digit = char::from(byte)
                .to_digit(16)
                .ok_or_else(|| invalid(byte, "in \\u hexadecimal character escape"))?;
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    /// Reads a number whose first byte (`-` or a digit) was consumed. JSON's grammar, checked
    /// with Go's messages; the byte after the number is left for the caller to judge.
    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.pos.saturating_sub(1);
        let mut first = self.input.get(start).copied().unwrap_or(b'-');
        if first == b'-' {
            first = self.bump().unwrap_or(b' ');
            if !first.is_ascii_digit() {
                return Err(invalid(first, "in numeric literal"));
            }
        }
        if first != b'0' {
            self.skip_digits();
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digit("after decimal point in numeric literal")?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.require_digit("in exponent of numeric literal")?;
        }
        let literal = self.input.get(start..self.pos).unwrap_or_default();
        // The grammar above only admits ASCII that Rust's float parser accepts; both parsers
        // round correctly, so they agree on every value.
        let text = std::str::from_utf8(literal).unwrap_or_default();
        let value: f64 = text.parse().map_err(|_| {
            invalid(
                literal.first().copied().unwrap_or(b' '),
                "in numeric literal",
            )
        })?;
        if value.is_infinite() && self.first_overflow.is_none() {
            self.first_overflow = Some(text.to_owned());
        }
        Ok(Value::Float(value))
    }

    /// Requires at least one digit, then skips the rest.
    fn require_digit(&mut self, context: &'static str) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(byte) if byte.is_ascii_digit() => {
                self.skip_digits();
                Ok(())
            }
            other => Err(invalid(other.unwrap_or(b' '), context)),
        }
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// Reads the rest of `true`, `false` or `null` (the first byte was consumed).
    fn literal(&mut self, rest: &[(u8, &'static str)], value: Value) -> Result<Value, SyntaxError> {
        for &(expected, context) in rest {
            let byte = self.bump().unwrap_or(b' ');
            if byte != expected {
                return Err(invalid(byte, context));
            }
        }
        Ok(value)
    }
}

fn invalid(byte: u8, context: &'static str) -> SyntaxError {
    SyntaxError::InvalidChar { byte, context }
}

/// Appends raw string bytes, replacing each byte that does not start a valid UTF-8 sequence with
/// U+FFFD (Go replaces byte by byte, not by maximal invalid subpart).
pub(super) fn push_lossy(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// Appends the code unit of a `\u` escape, pairing surrogates like Go's `unquote`: a high
/// surrogate immediately followed by a low one is one character; any other surrogate becomes
/// U+FFFD. Returns the surrogate left waiting for a partner, if any.
fn push_utf16(out: &mut String, pending: Option<u32>, unit: u32) -> Option<u32> {
    if let Some(high) = pending {
        if (0xd800..0xdc00).contains(&high) && (0xdc00..0xe000).contains(&unit) {
            let code = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            return None;
        }
        out.push(char::REPLACEMENT_CHARACTER);
    }
    if (0xd800..0xe000).contains(&unit) {
        return Some(unit);
    }
    out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(input: &[u8]) -> Value {
        match scan(input) {
            Ok(scanned) => scanned.top,
            Err(err) => panic!("scan failed: {err}"),
        }
    }

    fn error(input: &[u8]) -> String {
        match scan(input) {
            Ok(scanned) => panic!("expected an error, got {:?}", scanned.top),
            Err(err) => err.to_string(),
        }
    }

    fn string(input: &str) -> Vec<u8> {
        match top(input.as_bytes()) {
            Value::Str(bytes) => bytes,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn scalars_and_whitespace() {
        assert_eq!(top(b" \t\r\ntrue\n"), Value::Bool(true));
        assert_eq!(top(b"false"), Value::Bool(false));
        assert_eq!(top(b"null"), Value::Null);
        assert_eq!(top(b"\"x\""), Value::str("x"));
        assert_eq!(top(b"-12.5e1"), Value::Float(-125.0));
    }

    #[test]
    fn keeps_order_and_duplicates() {
        let mut want = Mapping::new();
        want.push("b", Value::Float(1.0));
        want.push("a", Value::Float(2.0));
        want.push("b", Value::Float(3.0));
        assert_eq!(top(br#"{"b":1,"a":2,"b":3}"#), Value::Mapping(want));
    }

    #[test]
    fn nesting() {
        let mut inner = Mapping::new();
        inner.push("k", Value::Sequence(vec![]));
        let want = Value::Sequence(vec![
            Value::Sequence(vec![Value::Float(1.0)]),
            Value::Mapping(Mapping::new()),
            Value::Mapping(inner),
            Value::Null,
        ]);
        assert_eq!(top(br#"[ [1] , {} ,{"k":[ ]},null]"#), want);
    }

    #[test]
    fn numbers_are_float64() {
        let cases: [(&[u8], f64); 8] = [
            (b"0", 0.0),
            (b"12345678901234567890", 12345678901234567000.0),
            (b"1e21", 1e21),
            (b"1E+2", 100.0),
            (b"5e-324", 5e-324),
            (b"1e-400", 0.0),
            (b"0.1", 0.1),
            (b"0e99999999999999999999", 0.0),
        ];
        for (input, want) in cases {
            assert_eq!(
                top(input),
                Value::Float(want),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let Value::Float(negative_zero) = top(b"-0") else {
            panic!("not a float");
        };
        assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
    }

    #[test]
    fn overflowing_numbers_are_recorded_in_document_order() {
        let scanned = scan(br#"{"a":[1,-1e400],"b":2e999}"#).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(scanned.first_overflow.as_deref(), Some("-1e400"));
        let Value::Mapping(map) = scanned.top else {
            panic!("not a mapping");
        };
        assert_eq!(map.get("b"), Some(&Value::Float(f64::INFINITY)));
        assert_eq!(
            scan(b"[1.7976931348623157e308]").map(|s| s.first_overflow),
            Ok(None)
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(string(r#""\"\\\/\b\f\n\r\t""#), b"\"\\/\x08\x0c\n\r\t");
        assert_eq!(
            string(r#""\u0000\u00e9\u2028\uFFFF\u003C""#),
            "\0é\u{2028}\u{ffff}<".as_bytes()
        );
        assert_eq!(string(r#""a\u0041b""#), b"aAb");
    }

    #[test]
    fn surrogates_follow_go() {
        let fffd = "\u{fffd}";
        assert_eq!(string(r#""\ud83d\ude00""#), "😀".as_bytes());
        assert_eq!(string(r#""\ud83dx""#), format!("{fffd}x").as_bytes());
        assert_eq!(string(r#""\ude00""#), fffd.as_bytes());
        assert_eq!(
            string(r#""\ud83d\ud83d\ude00""#),
            format!("{fffd}😀").as_bytes()
        );
        assert_eq!(string(r#""\ud83d\n""#), format!("{fffd}\n").as_bytes());
        assert_eq!(
            string(r#""\ude00\ud83d""#),
            format!("{fffd}{fffd}").as_bytes()
        );
        assert_eq!(string(r#""\ud83d""#), fffd.as_bytes());
    }

    #[test]
    fn invalid_utf8_is_replaced_byte_by_byte() {
        let Value::Str(bytes) = top(b"\"a\xffb\xc3(c\xe2\x82xd\xed\xa0\x80e\xf0\x9f\x98\"") else {
            panic!("not a string");
        };
        let f = "\u{fffd}";
        assert_eq!(
            bytes,
            format!("a{f}b{f}(c{f}{f}xd{f}{f}{f}e{f}{f}{f}").as_bytes()
        );
        // A lone surrogate escape followed by a UTF-8-encoded surrogate: four replacements.
        let Value::Str(bytes) = top(b"\"\\ud83d\xed\xb8\x80\"") else {
            panic!("not a string");
        };
        assert_eq!(bytes, f.repeat(4).as_bytes());
        assert_eq!(string("\"\u{7f}é😀\""), "\u{7f}é😀".as_bytes());
    }

    #[test]
    fn syntax_errors_use_go_wording() {
        let cases: [(&[u8], &str); 28] = [
            (b"", "unexpected end of JSON input"),
            (b"  ", "unexpected end of JSON input"),
            (b"{\"a\":1", "unexpected end of JSON input"),
            (b"{\"a\":\"x", "unexpected end of JSON input"),
            (b"[", "unexpected end of JSON input"),
            (b"{\"a\"", "unexpected end of JSON input"),
            (b"{\"a\":1,", "unexpected end of JSON input"),
            (
                b"{\"a\":1} x",
                "invalid character 'x' after top-level value",
            ),
            (b"{\"a\":1}}", "invalid character '}' after top-level value"),
            (b"01", "invalid character '1' after top-level value"),
            (
                b"{\"a\":}",
                "invalid character '}' looking for beginning of value",
            ),
            (b"{\"a\":-}", "invalid character '}' in numeric literal"),
            (b"-", "invalid character ' ' in numeric literal"),
            (
                b"{\"a\":1.",
                "invalid character ' ' after decimal point in numeric literal",
            ),
            (
                b"[1.x]",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            (
                b"[1e]",
                "invalid character ']' in exponent of numeric literal",
            ),
            (
                b"[1e+",
                "invalid character ' ' in exponent of numeric literal",
            ),
            (
                b"{\"a\":tr",
                "invalid character ' ' in literal true (expecting 'u')",
            ),
            (
                b"nul",
                "invalid character ' ' in literal null (expecting 'l')",
            ),
            (
                b"[fals]",
                "invalid character ']' in literal false (expecting 'e')",
            ),
            (
                b"{\"a\":\"\\",
                "invalid character ' ' in string escape code",
            ),
            (b"\"\\x\"", "invalid character 'x' in string escape code"),
            (
                b"{\"a\":\"\\u12",
                "invalid character ' ' in \\u hexadecimal character escape",
            ),
            (
                b"{\"a\":01}",
                "invalid character '1' after object key:value pair",
            ),
            (b"{\"a\" 1}", "invalid character '1' after object key"),
            (
                b"{,}",
                "invalid character ',' looking for beginning of object key string",
            ),
            (b"[1 2]", "invalid character '2' after array element"),
            (
                b"{\"a\":1,]",
                "invalid character ']' looking for beginning of object key string",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(error(input), want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn error_characters_are_quoted_like_go() {
        let cases: [(&[u8], &str); 8] = [
            (
                b"{\"a\":\"\x01\"}",
                r"invalid character '\x01' in string literal",
            ),
            (b"\"\t\"", r"invalid character '\t' in string literal"),
            (
                b"\xef\xbb\xbf{}",
                "invalid character 'ï' looking for beginning of value",
            ),
            (
                b"{\x80}",
                r"invalid character '\u0080' looking for beginning of object key string",
            ),
            (
                b"{\xc2\xa0}",
                "invalid character 'Â' looking for beginning of object key string",
            ),
            (
                b"{'}",
                r"invalid character '\'' looking for beginning of object key string",
            ),
            (
                b"[\x7f]",
                r"invalid character '\x7f' looking for beginning of value",
            ),
            (b"[\"\"\"]", "invalid character '\"' after array element"),
        ];
        for (input, want) in cases {
            assert_eq!(error(input), want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn depth_is_capped_without_recursion() {
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_NESTING_DEPTH),
            "]".repeat(MAX_NESTING_DEPTH)
        );
        assert!(scan(ok.as_bytes()).is_ok());
        let deep = "[".repeat(MAX_NESTING_DEPTH + 1);
        assert_eq!(scan(deep.as_bytes()).map(|_| ()), Err(SyntaxError::TooDeep));
        let deep_objects = "{\"a\":".repeat(100_000);
        assert_eq!(
            scan(deep_objects.as_bytes()).map(|_| ()),
            Err(SyntaxError::TooDeep)
        );
    }
}
