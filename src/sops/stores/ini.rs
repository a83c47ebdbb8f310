//! The INI store (`.ini`), reproducing sops 3.11 on top of `gopkg.in/ini.v1` (v1.67).
//!
//! sops loads INI files with ini.v1's default options plus `AllowNonUniqueSections`, and writes
//! them with ini.v1's pretty printer. Both sides have many quirks that change what a decrypted
//! file looks like, so this module follows ini.v1 rather than any INI "standard":
//!
//! - The tree is one document whose entries are the sections, in file order, always starting
//!   with `DEFAULT` (the keys before the first header). A repeated `[name]`, even `[DEFAULT]`,
//!   starts a new section. Every value is a string.
//! - A repeated key inside a section keeps its first position and takes the last value.
//! - Comment lines gather until the next key or section header and become that key's or
//!   section's comment; an inline `#`/`;` comment is appended to it. In the tree, a section's
//!   comment is its first item and a key's comment follows the key.
//! - The `[sops]` section holds the flattened metadata.

use std::collections::HashMap;

use crate::sops::stores::flatten::{unflatten, val_to_string};
use crate::sops::stores::{MetadataStyle, NodeCount, ParsedFile, StoreError};
use crate::sops::tree::{Document, Item, Mapping, Value};

/// The name ini.v1 gives to the keys before the first section header.
const DEFAULT_SECTION: &str = "DEFAULT";
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

/// The first character of the bytes, if they start with valid UTF-8.
fn first_char(bytes: &[u8]) -> Option<(char, usize)> {
    let len = match *bytes.first()? {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    };
    let text = std::str::from_utf8(bytes.get(..len)?).ok()?;
    text.chars().next().map(|c| (c, len))
}

/// The last character of the bytes, if they end with valid UTF-8.
fn last_char(bytes: &[u8]) -> Option<(char, usize)> {
    let floor = bytes.len().saturating_sub(4);
    let start = (floor..bytes.len())
        .rev()
        .find(|&i| bytes.get(i).is_some_and(|b| b & 0xC0 != 0x80))?;
    let text = std::str::from_utf8(bytes.get(start..)?).ok()?;
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some((c, bytes.len() - start))
}

/// Go's `TrimLeftFunc(s, unicode.IsSpace)`: stops at the first non-space or invalid byte.
fn trim_left_space(mut bytes: &[u8]) -> &[u8] {
    while let Some((c, len)) = first_char(bytes) {
        if !c.is_whitespace() {
            break;
        }
        bytes = bytes.get(len..).unwrap_or_default();
    }
    bytes
}

/// Go's `strings.TrimSpace` (Unicode white space, both ends).
fn trim_space(bytes: &[u8]) -> &[u8] {
    let mut bytes = trim_left_space(bytes);
    while let Some((c, len)) = last_char(bytes) {
        if !c.is_whitespace() {
            break;
        }
        bytes = bytes.get(..bytes.len() - len).unwrap_or_default();
    }
    bytes
}

/// A section being assembled for output.
struct OutSection {
    name: String,
    comment: String,
    keys: Vec<OutKey>,
    index: HashMap<String, usize>,
}

/// A key being assembled for output.
struct OutKey {
    name: String,
    value: Vec<u8>,
    comment: String,
}

fn marshal_error(what: &str) -> StoreError {
    StoreError::Emit(format!("Error marshaling to ini: {what}"))
}

/// Emits documents as INI, byte for byte as `sops decrypt` prints them.
///
/// Every top-level entry of every document is a section and must hold a mapping; top-level
/// comments are dropped. A section's leading comment is written before its header; any other
/// comment replaces the comment of the key before it (sops keeps one comment per key) and is
/// written before that key. Repeated sections stay separate; a repeated key keeps its first
/// place and takes the last value.
pub fn emit(documents: &[Document]) -> Result<Vec<u8>, StoreError> {
    let mut sections = Vec::new();
    for document in documents {
        for item in &document.items {
            let Item::Entry(entry) = item else {
                continue;
            };
            if entry.key.is_empty() {
                return Err(marshal_error("Error encoding section : empty section name"));
            }
            let Value::Mapping(mapping) = &entry.value else {
                return Err(marshal_error(
                    "Error encoding section: Section values should always be TreeBranches",
                ));
            };
            sections.push(build_section(&entry.key, mapping)?);
        }
    }
    write_sections(&sections)
}

/// Mirrors sops' `encodeTree` for one section.
fn build_section(name: &str, mapping: &Mapping) -> Result<OutSection, StoreError> {
    let mut section = OutSection {
        name: name.to_owned(),
        comment: String::new(),
        keys: Vec::new(),
        index: HashMap::new(),
    };
    let mut items = mapping.items.iter().peekable();
    if let Some(Item::Comment(comment)) = items.peek() {
        section.comment = comment.0.clone();
        items.next();
    }
    let mut last: Option<usize> = None;
    for item in items {
        match item {
            Item::Comment(comment) => {
                if let Some(key) = last.and_then(|i| section.keys.get_mut(i)) {
                    key.comment = comment.0.clone();
                }
            }
            Item::Entry(entry) => {
                if entry.key.is_empty() {
                    return Err(marshal_error(
                        "Error encoding key: error creating new key: empty key name",
                    ));
                }
                let value = val_to_string(&entry.value);
                let position = match section.index.get(&entry.key) {
                    Some(&position) => position,
                    None => {
                        section.index.insert(entry.key.clone(), section.keys.len());
                        section.keys.push(OutKey {
                            name: entry.key.clone(),
                            value: Vec::new(),
                            comment: String::new(),
                        });
                        section.keys.len() - 1
                    }
                };
                if let Some(key) = section.keys.get_mut(position) {
                    key.value = value;
                }
                last = Some(position);
            }
        }
    }
    Ok(section)
}

/// ini.v1's `writeToBuffer` with `PrettyFormat` and `PrettySection`, minus the final line
/// break sops' output lacks.
fn write_sections(sections: &[OutSection]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        if !section.comment.is_empty() {
            write_comment(&mut out, &section.comment, false)?;
        }
        if i > 0 || section.name.to_uppercase() != DEFAULT_SECTION {
            out.push(b'[');
            out.extend_from_slice(section.name.as_bytes());
            out.extend_from_slice(b"]\n");
        } else if section.keys.is_empty() {
            continue;
        }
        let names: Vec<String> = section.keys.iter().map(|k| quote_key(&k.name)).collect();
        let align = names.iter().map(String::len).max().unwrap_or(0);
        for (key, name) in section.keys.iter().zip(&names) {
            if !key.comment.is_empty() {
                write_comment(&mut out, &key.comment, true)?;
            }
            out.extend_from_slice(name.as_bytes());
            out.resize(out.len() + (align - name.len()), b' ');
            out.extend_from_slice(b" = ");
            out.extend_from_slice(&quote_value(&key.value));
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    // ini.v1 ends every section with a blank line; sops' output has none after the last one.
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    Ok(out)
}

/// Writes a (possibly multi-line) comment as ini.v1 does. Lines starting with `#`/`;` keep
/// that character followed by one space; other lines get `; ` (key comments are also
/// trimmed, section comments are not). ini.v1 crashes on an empty line inside a multi-line
/// comment (sops exits with a panic), so that is refused: decryption fails where sops fails.
fn write_comment(out: &mut Vec<u8>, comment: &str, trim_plain: bool) -> Result<(), StoreError> {
    for line in comment.split('\n') {
        match line.as_bytes().first() {
            None => {
                return Err(marshal_error(
                    "a multi-line comment has an empty line, which sops 3.11 cannot write (it crashes)",
                ));
            }
            Some(&marker @ (b'#' | b';')) => {
                out.push(marker);
                out.push(b' ');
                out.extend_from_slice(trim_space(line.get(1..).unwrap_or_default().as_bytes()));
            }
            Some(_) => {
                out.extend_from_slice(b"; ");
                let text = if trim_plain {
                    trim_space(line.as_bytes())
                } else {
                    line.as_bytes()
                };
                out.extend_from_slice(text);
            }
        }
        out.push(b'\n');
    }
    Ok(())
}

/// Wraps a key name that would not read back: in backticks if it holds `"` or a delimiter,
/// else in `"""` if it holds a backtick.
fn quote_key(name: &str) -> String {
    if name.contains('"') || name.contains(['=', ':']) {
        format!("`{name}`")
    } else if name.contains('`') {
        format!("\"\"\"{name}\"\"\"")
    } else {
        name.to_owned()
    }
}

/// Wraps a value that would not read back: `"""` for newlines or backticks, backticks for
/// comment characters, double quotes for surrounding white space.
fn quote_value(value: &[u8]) -> Vec<u8> {
    let wrap = |open: &[u8], close: &[u8]| [open, value, close].concat();
    if value.iter().any(|&b| b == b'\n' || b == b'`') {
        wrap(b"\"\"\"", b"\"\"\"")
    } else if value.iter().any(|&b| b == b'#' || b == b';') {
        wrap(b"`", b"`")
    } else if trim_space(value).len() != value.len() {
        wrap(b"\"", b"\"")
    } else {
        value.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::gotime::Timestamp;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vectors/");

    fn vector(name: &str) -> Vec<u8> {
        std::fs::read(format!("{VECTORS}{name}")).unwrap()
    }

    fn roundtrip(input: &[u8]) -> Vec<u8> {
        let parsed = parse(input).unwrap();
        emit(&parsed.documents).unwrap()
    }

    fn section<'a>(doc: &'a Document, name: &str) -> &'a Mapping {
        match doc.get(name) {
            Some(Value::Mapping(m)) => m,
            other => panic!("section {name}: {other:?}"),
        }
    }

    #[test]
    fn expected_vector_round_trips() {
        let plain = vector("i1.ini.expected");
        assert_eq!(
            String::from_utf8(roundtrip(&plain)).unwrap(),
            String::from_utf8(plain).unwrap()
        );
    }

    #[test]
    fn encrypted_vector_structure() {
        let parsed = parse(&vector("i1.ini.sops")).unwrap();
        assert_eq!(parsed.metadata_style, MetadataStyle::Flat);
        let doc = &parsed.documents[0];
        let names: Vec<&str> = doc.entries().map(|e| e.key.as_str()).collect();
        assert_eq!(names, ["DEFAULT", "database", "server"]);
        let db = section(doc, "database");
        let shape: Vec<String> = db
            .items
            .iter()
            .map(|item| match item {
                Item::Entry(e) => e.key.clone(),
                Item::Comment(c) => format!("#{}", &c.0[..20]),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "#ENC[AES256_GCM,data:",
                "user",
                "password",
                "#ENC[AES256_GCM,data:",
                "port",
                "#ENC[AES256_GCM,data:",
                "empty",
                "quoted"
            ]
        );
        assert_eq!(db.get("empty"), Some(&Value::str("")));
        assert_eq!(
            section(doc, "server").get("debug_unencrypted"),
            Some(&Value::str("true"))
        );

        let Some(Value::Mapping(md)) = parsed.metadata else {
            panic!("metadata is not a mapping");
        };
        let keys: Vec<&str> = md.entries().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "age",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
        assert_eq!(md.get("version"), Some(&Value::str("3.11.0")));
        let Some(Value::Sequence(age)) = md.get("age") else {
            panic!("age is not a list");
        };
        let Some(Value::Mapping(key)) = age.first() else {
            panic!("age[0] is not a mapping");
        };
        let enc = key.get("enc").and_then(Value::as_bytes).unwrap();
        assert!(enc.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl"));
        assert!(enc.ends_with(b"\n-----END AGE ENCRYPTED FILE-----\n"));
        assert!(!enc.windows(2).any(|w| w == b"\\n"));
    }

    #[test]
    fn to_ini_vector() {
        // `toini.json.sops` decrypted with `--output-type ini`: JSON numbers are floats.
        let mut sec = Mapping::new();
        sec.push("i", Value::Float(5.0));
        sec.push("f", Value::Float(1.0));
        sec.push("f2", Value::Float(2e-10));
        sec.push("b", Value::Bool(true));
        sec.push("nl", Value::str("a\nb"));
        sec.push("n", Value::Null);
        let mut doc = Mapping::new();
        doc.push("sec", Value::Mapping(sec));
        assert_eq!(emit(&[doc]).unwrap(), vector("toini.to-ini.expected"));
    }

    /// Plaintexts and what `sops decrypt` prints after `sops encrypt` of them.
    #[test]
    fn edge_cases_verified_against_sops() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a = 1\n[s]\nb=2\n", b"a = 1\n\n[s]\nb = 2\n"), // basic
            (b"a: 1\n", b"a = 1\n"),                          // colon
            (b"a = \"x y\"\n", b"a = x y\n"),                 // dq
            (b"a = 'x y'\n", b"a = x y\n"),                   // sq
            (b"a = `x;y`\n", b"a = `x;y`\n"),                 // bq
            (b"a = \"x\"y\"\n", b"a = \"x\"y\"\n"),           // dq_inner
            (b"a = \"x\" ; c\n", b"; c\na = x\n"),            // dq_comment
            (b"a = \"\"\"l1\nl2\"\"\"\n", b"a = \"\"\"l1\nl2\"\"\"\n"), // triple
            (b"a = \"\"\"one\"\"\"\n", b"a = one\n"),         // triple_one
            (
                b"a = \"\"\"l1\nl2\"\"\" ; cm\nb = 2\n",
                b"; cm\na = \"\"\"l1\nl2\"\"\"\nb = 2\n",
            ), // triple_after
            (b"a = x # c\n", b"; c\na = x\n"),                // inline_hash
            (b"a = x#c\n", b"; c\na = x\n"),                  // inline_nospace
            (b"a = x;c\n", b"; c\na = x\n"),                  // inline_semi
            (b"a = x \\\n  y\nb = 2\n", b"a = x y\nb = 2\n"), // cont
            (b"   a = 1\n  [s]\n b = 2\n", b"a = 1\n\n[s]\nb = 2\n"), // lead_ws
            (b"a =\nb = \n", b"a = \nb = \n"),                // empty_val
            (b"my key = 1\n", b"my key = 1\n"),               // key_space
            (b"\"k=v\" = 1\n`k:w` = 2\n", b"`k=v` = 1\n`k:w` = 2\n"), // quoted_key
            (b"a = 1\nb = 2\na = 3\n", b"a = 3\nb = 2\n"),    // dup_key
            (
                b"[s]\na = 1\n[t]\nb = 1\n[s]\nc = 1\n",
                b"[s]\na = 1\n\n[t]\nb = 1\n\n[s]\nc = 1\n",
            ), // dup_sec
            (b"x = 1\n[DEFAULT]\ny = 2\n", b"x = 1\n\n[DEFAULT]\ny = 2\n"), // default_hdr
            (b"[ my sec ]\na = 1\n", b"[ my sec ]\na = 1\n"), // sec_space
            (
                b"; c1\n# c2\n[s] ; trailing\na = 1\n",
                b"; c1\n# c2\n; trailing\n[s]\na = 1\n",
            ), // sec_comment
            (
                b"[s]\n; before a\na = 1 ; inline\n;after\nb = 2\n",
                b"[s]\n; before a\n; inline\na = 1\n; after\nb = 2\n",
            ), // key_comments
            (b"[s]\na = 1\n; dangling\n", b"[s]\na = 1\n"),   // comment_end
            (b"; only\n", b""),                               // comment_only
            (b"a = 1\r\n[s]\r\nb = x y \r\n", b"a = 1\n\n[s]\nb = x y\n"), // crlf
            (b"\xef\xbb\xbfa = 1\n", b"a = 1\n"),             // bom
            (b"[s]x\na=1\n", b"[s]\na = 1\n"),                // sec_after_bracket
            (b"a = b = c\n", b"a = b = c\n"),                 // eq_in_val
            (b"a =\tx\t\n", b"a = x\n"),                      // tab_val
            (b"a#b = 1\n", b"a#b = 1\n"),                     // hash_key
            (b"a = \"  x  \"\n", b"a = \"  x  \"\n"),         // sp_val
            (b"", b""),                                       // empty_file
            (b"; c\na = 1\n", b"; c\na = 1\n"),               // only_default_comment
            (b"a = `l1\nl2`\nb = 1\n", b"a = \"\"\"l1\nl2\"\"\"\nb = 1\n"), // bq_multi
            (
                b"a = `l1\nl2` # tail\nb = 1\n",
                b"; tail\na = \"\"\"l1\nl2\"\"\"\nb = 1\n",
            ), // bq_multi_comment
            (b"a = \"\"\"x\"\"\" ; dropped\nb = 1\n", b"a = x\nb = 1\n"), // triple_trailing_text
            (
                b"; c1\r\n; c2\r\n[s]\r\n; k1\r\n; k2\r\na = 1\r\n",
                b"; c1\r\n; c2\n[s]\n; k1\n; k2\na = 1\n",
            ), // crlf_comments
            (b"a = x\xc2\xa0\n", b"a = x\n"),                 // nbsp_val
            (b"[a]b]\nk = 1\n", b"[a]b]\nk = 1\n"),           // sec_bracket_in_name
            (b"a:b=c\n", b"a = b=c\n"),                       // colon_first
            (
                b"; first\na = 1\n; second\na = 2\nb = 3\n",
                b"; second\na = 2\nb = 3\n",
            ), // dup_key_comments
            (b"; first\na = 1\na = 2\n", b"a = 2\n"),         // dup_key_nocomment
            (
                b"a_unencrypted = \"  x  \"\nb_unencrypted = x;y\nc_unencrypted = `q`\n",
                b"a_unencrypted = \"  x  \"\n; y\nb_unencrypted = x\nc_unencrypted = q\n",
            ), // unenc_quote
            (b"a = 'it''s'\n", b"a = 'it''s'\n"),             // sq_inner
            (b"a = \"\nb = \"\"\nc = ''\n", b"a = \"\nb = \nc = \n"), // only_quote
            (b"a = x ; c \\\n y\n", b"a = `x ; c y`\n"),      // cont_comment
            (b"a = x\\\n\nb = 1\n", b"a = x\nb = 1\n"),       // cont_blank
            (b"a = x\\", b"a = x\n"),                         // cont_eof
            (b"\"\"\"k`x\"\"\" = 1\n", b"\"\"\"k`x\"\"\" = 1\n"), // key_tq
            (b"\" k \" = 1\n", b"k = 1\n"),                   // key_dq_spaces
            (
                b"[s]\n# a\n;  b\n#c\nk = v\n",
                b"[s]\n; a\n; b\n# c\nk = v\n",
            ), // multi_comment_key
            (b"#  spaced\n[s]\nk = v\n", b"; spaced\n[s]\nk = v\n"), // hash_first_sec_comment
            (b";\n[s]\n;\nk = v\n", b"[s]\nk = v\n"),         // semi_only
            (b"\tk\t=\tv\n", b"k = v\n"),                     // tab_key
            (
                b"[s\xc3\xabc]\nk\xc3\xa9y = v\xc3\xa4lue \xe2\x9c\x93\nlong_k\xc3\xa9y = x\n",
                b"[s\xc3\xabc]\nk\xc3\xa9y      = v\xc3\xa4lue \xe2\x9c\x93\nlong_k\xc3\xa9y = x\n",
            ), // unicode
            (b"[s]\n", b"[s]\n"),                             // empty_then_default_keys
            (b"[default]\nk = v\n", b"[default]\nk = v\n"),   // default_lower
            (
                b"[a]\nk = 1\n; goes to b\n[b]\nj = 2\n",
                b"[a]\nk = 1\n\n; goes to b\n[b]\nj = 2\n",
            ), // comment_between_sections
            (b"k=v\nlonger=w\n", b"k      = v\nlonger = w\n"), // key_eq_no_space
            (b"a = x\\y\n", b"a = x\\y\n"),                   // val_backslash_mid
            (b"a = \"x;y\"\n", b"; y\"\na = \"x\n"),          // val_leading_quote_semicolon
        ];
        for (input, want) in cases {
            let got = roundtrip(input);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn parse_errors_do_not_echo_the_input() {
        // sops: `key-value delimiter not found: a`, `unclosed section: [s`, `empty section name`,
        // `missing closing key quote from …`.
        let cases: &[(&[u8], &str)] = &[
            (
                b"k = 1\nsecret\n",
                "key-value delimiter not found on line 2",
            ),
            (b"[secret\na=1\n", "unclosed section on line 1"),
            (b"[]\na=1\n", "empty section name"),
            (
                b"a = \"\"\"\n",
                "missing closing quote of the value starting on line 1",
            ),
            (
                b"a = `secret\nmore\n",
                "missing closing quote of the value starting on line 1",
            ),
            (b"\"secret = 1\n", "missing closing key quote on line 1"),
            (b"= secret\n", "error creating new key: empty key name"),
            (
                b"[sops]\nx__list_-1 = 1\n",
                "metadata list index -1 is negative",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse(input).unwrap_err(),
                StoreError::Parse((*want).into()),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn tree_shape_follows_sops() {
        let parsed = parse(b"top = 1 ; t\n; sc\n[s]\n; kc\nk = \"v\"\n[s]\nj = 2\n").unwrap();
        assert_eq!(parsed.metadata, None);
        let doc = &parsed.documents[0];
        let mut default = Mapping::new();
        default.push("top", Value::str("1"));
        default.push_comment("t");
        let mut first = Mapping::new();
        first.push_comment("sc");
        first.push("k", Value::str("v"));
        first.push_comment("kc");
        let mut second = Mapping::new();
        second.push("j", Value::str("2"));
        let mut want = Mapping::new();
        want.push("DEFAULT", Value::Mapping(default));
        want.push("s", Value::Mapping(first));
        want.push("s", Value::Mapping(second));
        assert_eq!(doc, &want);
        // An empty file still has its DEFAULT section.
        let mut empty = Mapping::new();
        empty.push("DEFAULT", Value::Mapping(Mapping::new()));
        assert_eq!(parse(b"").unwrap().documents, vec![empty]);
    }

    #[test]
    fn sops_section_is_metadata_wherever_it_is() {
        let parsed = parse(
            b"[sops]\nversion = 3.11.0\nmac_only_encrypted = true\nenc = a\\nb\n[x]\nk = v\n",
        )
        .unwrap();
        let names: Vec<&str> = parsed.documents[0]
            .entries()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(names, ["DEFAULT", "x"]);
        let Some(Value::Mapping(md)) = parsed.metadata else {
            panic!("no metadata");
        };
        assert_eq!(md.get("enc"), Some(&Value::str("a\nb")));
        assert_eq!(md.get("mac_only_encrypted"), Some(&Value::str("true")));
        assert!(parse(b"[sops]\na = 1\n[sops]\nb = 2\n").is_err());
    }

    #[test]
    fn bom_variants_and_auto_increment() {
        assert_eq!(roundtrip(b"\xfe\xffa = 1\n"), b"a = 1\n");
        assert_eq!(roundtrip(b"\xff\xfea = 1\n"), b"a = 1\n");
        let parsed = parse(b"[s]\n- = a\n- = b\n[t]\n- = c\n").unwrap();
        let doc = &parsed.documents[0];
        assert_eq!(section(doc, "s").get("#2"), Some(&Value::str("b")));
        assert_eq!(section(doc, "t").get("#1"), Some(&Value::str("c")));
    }

    /// Trees from other formats, checked with `sops decrypt --output-type ini`.
    #[test]
    fn emits_foreign_trees_like_sops() {
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05.5Z").unwrap();
        let mut sec = Mapping::new();
        sec.push_comment(" c1");
        sec.push("a", Value::Int(1));
        sec.push_comment(" c2");
        sec.push_comment(" c3");
        sec.push("l", Value::Sequence(vec![Value::Int(1), Value::Int(2)]));
        let mut m = Mapping::new();
        m.push("x", Value::Int(1));
        sec.push("m", Value::Mapping(m));
        sec.push("f", Value::Float(5.0));
        sec.push("t", Value::Time(t));
        sec.push("n", Value::Null);
        sec.push("s", Value::str("  spaced "));
        sec.push("h", Value::str("a#b"));
        sec.push("bt", Value::str("a`b"));
        sec.push("q", Value::str("\"quoted\""));
        sec.push("e", Value::str(""));
        sec.push("k=v", Value::Int(1));
        sec.push("k:v", Value::Int(2));
        sec.push("k\"q", Value::Int(3));
        sec.push("k`b", Value::Int(4));
        sec.push("sp ace", Value::Int(5));
        let mut doc = Mapping::new();
        doc.push_comment(" top comment");
        doc.push("sec", Value::Mapping(sec));
        doc.push("sec2", Value::Mapping(Mapping::new()));
        let want = ";  c1\n[sec]\n; c3\n\
            a         = 1\n\
            l         = [1 2]\n\
            m         = [{x 1}]\n\
            f         = 5.0\n\
            t         = 2024-01-02T03:04:05Z\n\
            n         = <nil>\n\
            s         = \"  spaced \"\n\
            h         = `a#b`\n\
            bt        = \"\"\"a`b\"\"\"\n\
            q         = \"quoted\"\n\
            e         = \n\
            `k=v`     = 1\n\
            `k:v`     = 2\n\
            `k\"q`     = 3\n\
            \"\"\"k`b\"\"\" = 4\n\
            sp ace    = 5\n\
            \n\
            [sec2]\n";
        assert_eq!(String::from_utf8(emit(&[doc]).unwrap()).unwrap(), want);
    }

    #[test]
    fn emit_keeps_repeated_sections_and_merges_repeated_keys() {
        // JSON `{"a": {"x": "1", "k": "first"}, "default": {"d": "1"}, "b": {},
        //        "a": {"y": "2", "x": "3", "x": "4", "longer_key": ""}}`.
        let mk = |pairs: &[(&str, &str)]| {
            let mut m = Mapping::new();
            for (k, v) in pairs {
                m.push(*k, Value::str(*v));
            }
            Value::Mapping(m)
        };
        let mut doc = Mapping::new();
        doc.push("a", mk(&[("x", "1"), ("k", "first")]));
        doc.push("default", mk(&[("d", "1")]));
        doc.push("b", mk(&[]));
        doc.push(
            "a",
            mk(&[("y", "2"), ("x", "3"), ("x", "4"), ("longer_key", "")]),
        );
        assert_eq!(
            String::from_utf8(emit(&[doc]).unwrap()).unwrap(),
            "[a]\nx = 1\nk = first\n\n[default]\nd = 1\n\n[b]\n\n[a]\n\
             y          = 2\nx          = 4\nlonger_key = \n"
        );
        // A leading `default` (any case) section has no header; an empty one prints nothing.
        let mut doc = Mapping::new();
        doc.push("default", mk(&[("d", "1")]));
        doc.push(
            "b",
            mk(&[("v", "a\"b"), ("w", "'x'"), ("z", " lead"), ("c", "a;b#")]),
        );
        assert_eq!(
            String::from_utf8(emit(&[doc]).unwrap()).unwrap(),
            "d = 1\n\n[b]\nv = a\"b\nw = 'x'\nz = \" lead\"\nc = `a;b#`\n"
        );
        let mut doc = Mapping::new();
        doc.push("DEFAULT", mk(&[]));
        doc.push("x", mk(&[]));
        assert_eq!(emit(&[doc]).unwrap(), b"[x]\n");
        let mut doc = Mapping::new();
        doc.push("x", mk(&[]));
        doc.push("DEFAULT", mk(&[("a", "1")]));
        assert_eq!(emit(&[doc]).unwrap(), b"[x]\n\n[DEFAULT]\na = 1\n");
        assert_eq!(emit(&[Mapping::new()]).unwrap(), b"");
    }

    #[test]
    fn emit_comment_rules() {
        let mut sec = Mapping::new();
        sec.push_comment("c1\r\n; c2\n#  c3");
        sec.push_comment("dropped: no key before it");
        sec.push("k", Value::str("v"));
        sec.push_comment("  k1\n;k2");
        let mut doc = Mapping::new();
        doc.push("s", Value::Mapping(sec));
        assert_eq!(
            String::from_utf8(emit(&[doc]).unwrap()).unwrap(),
            "; c1\r\n; c2\n# c3\n[s]\n; k1\n; k2\nk = v\n"
        );
        // ini.v1 crashes on an empty comment line (sops exits 2): refuse, never print.
        let mut sec = Mapping::new();
        sec.push("k", Value::str("v"));
        sec.push_comment("\n#start");
        let mut doc = Mapping::new();
        doc.push("s", Value::Mapping(sec));
        assert!(matches!(emit(&[doc]), Err(StoreError::Emit(_))));
    }

    #[test]
    fn emit_errors_match_sops() {
        let mut doc = Mapping::new();
        doc.push("a", Value::Int(1));
        assert_eq!(
            emit(&[doc]).unwrap_err(),
            StoreError::Emit(
                "Error marshaling to ini: Error encoding section: \
                 Section values should always be TreeBranches"
                    .into()
            )
        );
        let mut doc = Mapping::new();
        doc.push("", Value::Mapping(Mapping::new()));
        assert!(emit(&[doc]).is_err());
        let mut sec = Mapping::new();
        sec.push("", Value::str("x"));
        let mut doc = Mapping::new();
        doc.push("s", Value::Mapping(sec));
        assert!(emit(&[doc]).is_err());
    }

    #[test]
    fn hostile_inputs_terminate() {
        // Long lines, many keys with the same name, unterminated quotes and continuations.
        let mut big = b"k = ".to_vec();
        big.extend(std::iter::repeat_n(b'x', 1 << 20));
        big.extend_from_slice(b"\\\n");
        assert!(parse(&big).is_ok());
        let many: Vec<u8> = (0..100_000)
            .flat_map(|i| format!("k{} = v\nk0 = w\n", i % 50_000).into_bytes())
            .collect();
        let parsed = parse(&many).unwrap();
        assert_eq!(section(&parsed.documents[0], "DEFAULT").items.len(), 50_000);
        assert!(parse(&[b'`'; 100_000]).is_err());
        assert!(parse(b"k = \"\"\"\n\"\"\"\"\"\"\n").is_ok());
        // Invalid UTF-8 anywhere: no panic, names are replaced, values kept as bytes.
        let parsed = parse(b"[\xc3]\n\xe2\x80 = \xc3\x28\n").unwrap();
        let sec = section(&parsed.documents[0], "\u{fffd}");
        assert_eq!(sec.get("\u{fffd}"), Some(&Value::Str(b"\xc3\x28".to_vec())));
        assert!(parse(b"\xff\xfe\xff[\xc3]\n").is_err());
    }

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

    /// A file sops wrote with two key groups, `encrypted_regex: '^(a|#;)'` (backtick-quoted in
    /// the `[sops]` section) and `mac_only_encrypted`.
    const KEY_GROUPS_INI: &str = r#"a = ENC[AES256_GCM,data:8A==,iv:iY0/bNK44akD716D/GjMpmsuOBy8+7LJa82tb05NuAE=,tag:UcxUP214C3e5dzwpP7Y8NA==,type:str]

[s]
b = 2

[sops]
lastmodified                                       = 2026-11-23T11:50:00Z
mac                                                = ENC[AES256_GCM,data:qY5cIFID1a7IR/RUKVCQpkZZH6hv0I2G08dqx3rYUDmICcYKmeNM/75HUKWdP4JCeHvxRJ9QIBQXF5Xl4306R2TdxG9Maavj0E4yhOQXCHgbAgJ73D26m44MUL4zd/KlUBaLzEYuDjlyvzLlG4rItIPortW2aSr1J9L9YueC9TE=,iv:RGsCcoz5PgmSJOfeMcuuyW7KnjgVcg0DICEIyKZE6Ck=,tag:eGvZdaZpP7Ku7R/bV9jWzw==,type:str]
encrypted_regex                                    = `^(a|#;)`
version                                            = 3.11.0
shamir_threshold                                   = 2
key_groups__list_0__map_age__list_0__map_recipient = age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry
key_groups__list_0__map_age__list_0__map_enc       = -----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBPUWgxTU1iMitkdzdoc3dt\nUHd3djd4OVVXWnljQ1ZTVHF4anVpeG9IS2k4Cml1Z2xjNVNkVGEzOVZISWM5MHpx\nTGlmWEY0UzlINjhEaUFoU2F0dzJ4UUUKLS0tIG9rcGQvRjVjd00wWVg5YU9XT1Vt\nOS9WQ1JCQzJYZ3JoVkJpNTI1U3Zhbk0Kdu25I0Mp9Ylr0l8whNl0dHSB2jDiQnwA\nMCS4m32jha7Cht4OKc0To3yy1drp46sX+h1mT7t8tmUt981JCcRdHJs=\n-----END AGE ENCRYPTED FILE-----\n
key_groups__list_1__map_age__list_0__map_recipient = age1upycxczex8fsvsa0t4rc9y8ghmjf5ku2shffu7zxrpvz49hkcydqmv7xla
mac_only_encrypted                                 = true
key_groups__list_1__map_age__list_0__map_enc       = -----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSByU25haXIzSWNHM0QzYS9l\nSDduaDFONlBUem1ySHVobG95VHFBZFFQdUE4CjNXLzJHL0psbitPVUpxT1FZODhl\naDd1V2FJeStsRU8xVk5iVGlZQ1ZrWG8KLS0tIFZmWVEyZU5wMnJsL3VpUDZtdmwx\nQXpFdzV0SWh1My9XSWtFQ2hhTGxpZjQK27DLC8t266KDSblm2DL86nvbVpR4ts4E\nXXabBQJWW3kAVG5BtBdOIFc4FWg7M3Jf2qSDqlpCXtz1saZDUjOFAH4=\n-----END AGE ENCRYPTED FILE-----\n
"#;

    #[test]
    fn key_group_metadata() {
        let parsed = parse(KEY_GROUPS_INI.as_bytes()).unwrap();
        let doc = &parsed.documents[0];
        let names: Vec<&str> = doc.entries().map(|e| e.key.as_str()).collect();
        assert_eq!(names, ["DEFAULT", "s"]);
        assert_eq!(section(doc, "s").get("b"), Some(&Value::str("2")));
        let Some(Value::Mapping(md)) = parsed.metadata else {
            panic!("no metadata");
        };
        assert_eq!(md.get("encrypted_regex"), Some(&Value::str("^(a|#;)")));
        assert_eq!(md.get("shamir_threshold"), Some(&Value::str("2")));
        assert_eq!(md.get("mac_only_encrypted"), Some(&Value::str("true")));
        let Some(Value::Sequence(groups)) = md.get("key_groups") else {
            panic!("key_groups");
        };
        assert_eq!(groups.len(), 2);
        for group in groups {
            let Value::Mapping(group) = group else {
                panic!("group");
            };
            let Some(Value::Sequence(age)) = group.get("age") else {
                panic!("age");
            };
            let Some(Value::Mapping(key)) = age.first() else {
                panic!("age[0]");
            };
            let enc = key.get("enc").and_then(Value::as_bytes).unwrap();
            assert!(enc.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\n"));
            assert!(key.get("recipient").is_some());
        }
    }
}
