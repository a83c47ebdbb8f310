//! Reading: ini.v1's line-oriented parser with sops' options, and the tree sops builds from
//! the sections it reads.

use std::collections::HashMap;

use super::{DEFAULT_SECTION, trim_left_space, trim_space};
use crate::sops::stores::flatten::unflatten;
use crate::sops::stores::{MetadataStyle, NodeCount, ParsedFile, StoreError};
use crate::sops::tree::{Mapping, Value};

/// The section holding sops' metadata.
const SOPS_SECTION: &[u8] = b"sops";
/// ini.v1's default key/value delimiters.
const DELIMITERS: &[u8] = b"=:";

/// Parses an INI file (encrypted or not) into one document plus its `[sops]` metadata.
///
/// Without a `[sops]` section, `metadata` is `None`. Section names, keys and comments are text;
/// invalid UTF-8 in them is replaced (U+FFFD), which can only make such a key fail its
/// decryption. Errors never quote the input, which may hold secrets; they give a line number.
pub fn parse(input: &[u8]) -> Result<ParsedFile, StoreError> {
    let sections = Parser::new(input).parse()?;
    let mut document = Mapping::new();
    let mut metadata = None;
    for section in sections {
        if section.name == SOPS_SECTION {
            // sops removes the `[sops]` sections from the tree with an in-place slice edit that
            // panics when there are two of them.
            if metadata.is_some() {
                return Err(StoreError::Parse(
                    "the file has more than one [sops] section".into(),
                ));
            }
            let pairs = section
                .keys
                .into_iter()
                .map(|key| (lossy(&key.name), key.value));
            metadata = Some(unflatten(pairs)?);
            continue;
        }
        document.push(lossy(&section.name), section_to_value(section));
    }
    Ok(ParsedFile {
        documents: vec![document],
        metadata,
        metadata_style: MetadataStyle::Flat,
        walk_error: None,
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds a section's tree the way sops' `treeItemFromSection` does.
fn section_to_value(section: Section) -> Value {
    let mut items = Mapping::new();
    if !section.comment.is_empty() {
        items.push_comment(lossy(strip_comment_char(&section.comment)));
    }
    for key in section.keys {
        items.push(lossy(&key.name), Value::Str(key.value));
        if !key.comment.is_empty() {
            items.push_comment(lossy(strip_comment_char(&key.comment)));
        }
    }
    Value::Mapping(items)
}

/// sops' `stripCommentChar`: drops the leading run of `;`/space (or `#`/space) characters.
fn strip_comment_char(comment: &[u8]) -> &[u8] {
    let strip = |set: &[u8]| {
        let start = comment
            .iter()
            .position(|b| !set.contains(b))
            .unwrap_or(comment.len());
        comment.get(start..).unwrap_or_default()
    };
    match comment.first() {
        Some(b';') => strip(b"; "),
        Some(b'#') => strip(b"# "),
        _ => comment,
    }
}

/// A parsed section.
struct Section {
    name: Vec<u8>,
    comment: Vec<u8>,
    keys: Vec<Key>,
    /// Position of each key name in `keys`: ini.v1 searches linearly, which is quadratic.
    index: HashMap<Vec<u8>, usize>,
}

impl Section {
    fn new(name: Vec<u8>) -> Self {
        Section {
            name,
            comment: Vec::new(),
            keys: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// ini.v1's `NewKey` without shadows: a repeated name keeps its place and takes the new
    /// value. Returns the key so the caller can set its comment.
    fn set(&mut self, name: Vec<u8>, value: Vec<u8>) -> Result<&mut Key, StoreError> {
        if name.is_empty() {
            return Err(StoreError::Parse(
                "error creating new key: empty key name".into(),
            ));
        }
        let position = match self.index.get(&name) {
            Some(&position) => position,
            None => {
                self.index.insert(name.clone(), self.keys.len());
                self.keys.push(Key {
                    name,
                    value: Vec::new(),
                    comment: Vec::new(),
                });
                self.keys.len() - 1
            }
        };
        let key = self
            .keys
            .get_mut(position)
            .ok_or_else(|| StoreError::Parse("internal error: lost an INI key".into()))?;
        key.value = value;
        Ok(key)
    }
}

/// A parsed key.
struct Key {
    name: Vec<u8>,
    value: Vec<u8>,
    comment: Vec<u8>,
}

/// Why a key name could not be read.
enum KeyNameError {
    /// No `=` or `:` on the line (ini.v1's `ErrDelimiterNotFound`).
    NoDelimiter,
    /// A quoted key name without its closing quote.
    MissingQuote,
}

/// ini.v1's line-oriented parser, state for one input.
struct Parser<'a> {
    input: &'a [u8],
    /// Offset of the next unread byte.
    pos: usize,
    /// Set once a read hits the end of the input.
    eof: bool,
    /// Number of the line last read (1-based), for error messages.
    line_no: usize,
    /// Comment lines seen since the last key or section.
    comment: Vec<u8>,
    /// Counter for `-` auto-increment keys, reset at each section.
    auto_count: usize,
    /// Sections and keys read so far (each is a name and a value; comments ride along).
    nodes: NodeCount,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Self {
        Parser {
            input: skip_bom(input),
            pos: 0,
            eof: false,
            line_no: 0,
            comment: Vec::new(),
            auto_count: 1,
            nodes: NodeCount::default(),
        }
    }

    /// Reads up to and including the next `\n`, like `bufio.Reader.ReadBytes('\n')`; the last
    /// line may lack it, and reading at the end yields an empty line.
    fn read_line(&mut self) -> &'a [u8] {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        self.line_no += 1;
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                rest.get(..=i).unwrap_or_default()
            }
            None => {
                self.pos = self.input.len();
                self.eof = true;
                rest
            }
        }
    }

    fn error(&self, what: &str) -> StoreError {
        StoreError::Parse(format!("{what} on line {}", self.line_no))
    }

    fn take_comment(&mut self) -> Vec<u8> {
        let comment = trim_space(&self.comment).to_vec();
        self.comment.clear();
        comment
    }

    fn parse(mut self) -> Result<Vec<Section>, StoreError> {
        let mut sections = vec![Section::new(DEFAULT_SECTION.as_bytes().to_vec())];
        while !self.eof {
            let line = trim_left_space(self.read_line());
            let Some(&first) = line.first() else {
                continue;
            };
            if first == b'#' || first == b';' {
                // The line break is kept: it separates this line from the next comment line.
                self.comment.extend_from_slice(line);
                continue;
            }
            if first == b'[' {
                let Some(close) = line.iter().rposition(|&b| b == b']') else {
                    return Err(self.error("unclosed section"));
                };
                let name = line.get(1..close).unwrap_or_default();
                if name.is_empty() {
                    return Err(StoreError::Parse("empty section name".into()));
                }
                if let Some(comment) = clean_comment(line.get(close + 1..).unwrap_or_default()) {
                    self.comment.extend_from_slice(comment);
                }
                self.nodes.add(2)?;
                let mut section = Section::new(name.to_vec());
                section.comment = self.take_comment();
                sections.push(section);
                self.auto_count = 1;
                continue;
            }
            self.nodes.add(2)?;
            let (mut name, offset) = match read_key_name(line) {
                Ok(found) => found,
                Err(KeyNameError::NoDelimiter) => {
                    return Err(self.error("key-value delimiter not found"));
                }
                Err(KeyNameError::MissingQuote) => {
                    return Err(self.error("missing closing key quote"));
                }
            };
            if name == b"-" {
                // ini.v1 names `- = v` keys `#1`, `#2`, … within each section.
                name = format!("#{}", self.auto_count).into_bytes();
                self.auto_count += 1;
            }
            let value = self.read_value(line.get(offset..).unwrap_or_default())?;
            let comment = self.take_comment();
            let section = sections
                .last_mut()
                .ok_or_else(|| StoreError::Parse("internal error: no INI section".into()))?;
            section.set(name, value)?.comment = comment;
        }
        Ok(sections)
    }

    /// ini.v1's `readValue` with sops' options (inline comments on, continuation lines on,
    /// surrounding quotes removed, no escape processing).
    fn read_value(&mut self, raw: &'a [u8]) -> Result<Vec<u8>, StoreError> {
        let line = trim_left_space(raw);
        if line.is_empty() {
            return Ok(Vec::new());
        }
        let quote: Option<&[u8]> = if line.len() > 3 && line.starts_with(b"\"\"\"") {
            Some(b"\"\"\"")
        } else if line.first() == Some(&b'`') {
            Some(b"`")
        } else {
            None
        };
        if let Some(quote) = quote {
            let body = line.get(quote.len()..).unwrap_or_default();
            // Text after the closing quote, an inline comment included, is dropped.
            return match rfind(body, quote) {
                Some(end) => Ok(body.get(..end).unwrap_or_default().to_vec()),
                None => self.read_multiline(body.to_vec(), quote),
            };
        }
        let mut line = trim_space(line);
        if line.last() == Some(&b'\\') {
            return Ok(self.read_continuation(line.get(..line.len() - 1).unwrap_or_default()));
        }
        if let Some(i) = line.iter().position(|&b| b == b'#' || b == b';') {
            self.comment
                .extend_from_slice(line.get(i..).unwrap_or_default());
            line = trim_space(line.get(..i).unwrap_or_default());
        }
        if has_surrounded_quote(line, b'\'') || has_surrounded_quote(line, b'"') {
            line = line.get(1..line.len() - 1).unwrap_or_default();
        }
        Ok(line.to_vec())
    }

    /// Reads the lines of a `"""`/backtick value up to the last closing quote on a line; a
    /// comment after that quote is kept.
    fn read_multiline(&mut self, mut value: Vec<u8>, quote: &[u8]) -> Result<Vec<u8>, StoreError> {
        let start = self.line_no;
        loop {
            let next = self.read_line();
            if let Some(end) = rfind(next, quote) {
                value.extend_from_slice(next.get(..end).unwrap_or_default());
                if let Some(comment) = clean_comment(next.get(end..).unwrap_or_default()) {
                    self.comment.extend_from_slice(trim_space(comment));
                }
                return Ok(value);
            }
            value.extend_from_slice(next);
            if self.eof {
                return Err(StoreError::Parse(format!(
                    "missing closing quote of the value starting on line {start}"
                )));
            }
        }
    }

    /// Joins `\`-continued lines (each trimmed) until a line without the backslash or an
    /// empty line, which is consumed.
    fn read_continuation(&mut self, first: &[u8]) -> Vec<u8> {
        let mut value = first.to_vec();
        loop {
            let next = trim_space(self.read_line());
            if next.is_empty() {
                return value;
            }
            value.extend_from_slice(next);
            if value.last() != Some(&b'\\') {
                return value;
            }
            value.pop();
        }
    }
}

/// Skips a UTF-8 or UTF-16 byte-order mark (ini.v1 drops the UTF-16 ones without decoding).
fn skip_bom(input: &[u8]) -> &[u8] {
    if input.starts_with(&[0xFE, 0xFF]) || input.starts_with(&[0xFF, 0xFE]) {
        input.get(2..).unwrap_or_default()
    } else if input.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input.get(3..).unwrap_or_default()
    } else {
        input
    }
}

/// ini.v1's `readKeyName`: the name and the offset just past its delimiter.
fn read_key_name(line: &[u8]) -> Result<(Vec<u8>, usize), KeyNameError> {
    let quote: Option<&[u8]> = match line.first() {
        Some(b'"') if line.len() > 6 && line.starts_with(b"\"\"\"") => Some(b"\"\"\""),
        Some(b'"') => Some(b"\""),
        Some(b'`') => Some(b"`"),
        _ => None,
    };
    if let Some(quote) = quote {
        let start = quote.len();
        let body = line.get(start..).unwrap_or_default();
        let close = find(body, quote).ok_or(KeyNameError::MissingQuote)? + start;
        let after = line.get(close + start..).unwrap_or_default();
        let delimiter = after
            .iter()
            .position(|b| DELIMITERS.contains(b))
            .ok_or(KeyNameError::NoDelimiter)?;
        let name = trim_space(line.get(start..close).unwrap_or_default());
        return Ok((name.to_vec(), close + start + delimiter + 1));
    }
    let delimiter = line
        .iter()
        .position(|b| DELIMITERS.contains(b))
        .ok_or(KeyNameError::NoDelimiter)?;
    let name = trim_space(line.get(..delimiter).unwrap_or_default());
    Ok((name.to_vec(), delimiter + 1))
}

/// ini.v1's `cleanComment`: the text from the first `#` or `;`, if any.
fn clean_comment(text: &[u8]) -> Option<&[u8]> {
    let start = text.iter().position(|&b| b == b'#' || b == b';')?;
    text.get(start..)
}

/// Whether the text is `q…q` with no other `q` inside.
fn has_surrounded_quote(text: &[u8], quote: u8) -> bool {
    text.len() >= 2
        && text.first() == Some(&quote)
        && text.last() == Some(&quote)
        && text.iter().skip(1).position(|&b| b == quote) == Some(text.len() - 2)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_trim_helpers() {
        assert_eq!(trim_space(" \t\u{a0}x y\u{2003}\r\n".as_bytes()), b"x y");
        assert_eq!(trim_space(b"\xff "), b"\xff");
        assert_eq!(trim_left_space(b" \xc3"), b"\xc3");
        assert_eq!(trim_space(b""), b"");
        assert_eq!(strip_comment_char(b"; # x"), b"# x");
        assert_eq!(strip_comment_char(b"#;x"), b";x");
        assert_eq!(strip_comment_char(b"x"), b"x");
        assert!(has_surrounded_quote(b"\"x\"", b'"'));
        assert!(!has_surrounded_quote(b"\"x\"y\"", b'"'));
        assert!(!has_surrounded_quote(b"\"", b'"'));
    }
}
