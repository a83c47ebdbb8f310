//! Writing: a tree turned into sections as sops' `encodeTree` does, then printed by ini.v1's
//! pretty printer.

use std::collections::HashMap;

use super::{DEFAULT_SECTION, trim_space};
use crate::sops::stores::StoreError;
use crate::sops::stores::flatten::val_to_string;
use crate::sops::tree::{Document, Item, Mapping, Value};

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
