//! Writes a tree as sops 3.11 prints JSON.
//!
//! sops builds `{"k": v,…}` by hand, with each scalar from `json.Marshal`, and then runs the
//! result through `json.Indent`. The combined effect is produced here directly, in one pass and
//! without recursion: every element on its own line, `": "` after keys, `{}`/`[]` for containers
//! with nothing to print, comments skipped.

use std::fmt;
use std::slice;

use crate::sops::gonum;
use crate::sops::tree::{Item, Mapping, Value};

/// A value `encoding/json` refuses to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UnsupportedValue {
    /// Go's rendering of the value (`NaN`, `+Inf`, `-Inf`).
    text: &'static str,
    /// How many mappings enclose it: sops wraps the error once per mapping level.
    mappings: usize,
}

impl fmt::Display for UnsupportedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..self.mappings {
            f.write_str("Error encoding value : ")?;
        }
        write!(f, "json: unsupported value: {}", self.text)
    }
}

/// A container being written, with what is left of it.
enum Frame<'a> {
    Mapping(slice::Iter<'a, Item>),
    Sequence(slice::Iter<'a, Value>),
}

/// Encodes one document, indented with `indent` per level. No trailing newline.
pub(super) fn encode(document: &Mapping, indent: &str) -> Result<Vec<u8>, UnsupportedValue> {
    let mut out = Vec::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    open_mapping(&mut out, &mut stack, document);
    while let Some(frame) = stack.last_mut() {
        // The next element to print at this level, skipping comments.
        let next = match frame {
            Frame::Mapping(items) => items.by_ref().find_map(|item| match item {
                Item::Entry(entry) => Some((Some(entry.key.as_str()), &entry.value)),
                Item::Comment(_) => None,
            }),
            Frame::Sequence(values) => values
                .by_ref()
                .find(|value| !matches!(value, Value::Comment(_)))
                .map(|value| (None, value)),
        };
        let depth = stack.len();
        let Some((key, value)) = next else {
            let closer = match stack.pop() {
                Some(Frame::Mapping(_)) => b'}',
                _ => b']',
            };
            newline(&mut out, indent, depth - 1);
            out.push(closer);
            continue;
        };
        // Every element but the first follows a comma; a first element directly follows the
        // `{`/`[` just written (no scalar or closed container ends with either byte).
        if !matches!(out.last(), Some(b'{' | b'[')) {
            out.push(b',');
        }
        newline(&mut out, indent, depth);
        if let Some(key) = key {
            write_string(&mut out, key.as_bytes());
            out.extend_from_slice(b": ");
        }
        match value {
            Value::Mapping(mapping) => open_mapping(&mut out, &mut stack, mapping),
            Value::Sequence(values) => {
                if values
                    .iter()
                    .all(|value| matches!(value, Value::Comment(_)))
                {
                    out.extend_from_slice(b"[]");
                } else {
                    out.push(b'[');
                    stack.push(Frame::Sequence(values.iter()));
                }
            }
            scalar => write_scalar(&mut out, scalar).map_err(|text| UnsupportedValue {
                text,
                mappings: stack
                    .iter()
                    .filter(|frame| matches!(frame, Frame::Mapping(_)))
                    .count(),
            })?,
        }
    }
    Ok(out)
}

/// Starts a mapping: `{}` right away if it has no entries, otherwise `{` and a frame.
fn open_mapping<'a>(out: &mut Vec<u8>, stack: &mut Vec<Frame<'a>>, mapping: &'a Mapping) {
    if mapping.entries().next().is_none() {
        out.extend_from_slice(b"{}");
    } else {
        out.push(b'{');
        stack.push(Frame::Mapping(mapping.items.iter()));
    }
}

/// Starts a line indented for `depth`. Like `json.Indent`, the output grows with the square of
/// the nesting depth; the readers bound that depth.
fn newline(out: &mut Vec<u8>, indent: &str, depth: usize) {
    out.push(b'\n');
    if !indent.is_empty() {
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    }
}

/// Writes a non-container value; `Err` carries Go's rendering of a float JSON cannot hold.
fn write_scalar(out: &mut Vec<u8>, value: &Value) -> Result<(), &'static str> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(int) => out.extend_from_slice(int.to_string().as_bytes()),
        Value::Float(float) => match gonum::format_json(*float) {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None if float.is_nan() => return Err("NaN"),
            None if *float > 0.0 => return Err("+Inf"),
            None => return Err("-Inf"),
        },
        Value::Str(bytes) => write_string(out, bytes),
        Value::Time(time) => write_string(out, time.to_rfc3339_nano().as_bytes()),
        // Containers and comments are handled by the caller; nothing else is a scalar.
        Value::Mapping(_) | Value::Sequence(_) | Value::Comment(_) => {}
    }
    Ok(())
}

/// Writes a string as Go's `json.Marshal` does (HTML-safe escaping, invalid UTF-8 as `\ufffd`).
pub(super) fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        // Copy runs of bytes that need no escaping in one go.
        let mut run_start = 0;
        let mut index = 0;
        while let Some(&byte) = valid.get(index) {
            // The escape text and how many input bytes it replaces.
            let (escape, width): (&[u8], usize) = match byte {
                b'"' => (b"\\\"", 1),
                b'\\' => (b"\\\\", 1),
                b'\n' => (b"\\n", 1),
                b'\r' => (b"\\r", 1),
                b'\t' => (b"\\t", 1),
                0x08 => (b"\\b", 1),
                0x0c => (b"\\f", 1),
                0x00..=0x1f | b'<' | b'>' | b'&' => (b"", 1),
                // U+2028 and U+2029 (E2 80 A8 / E2 80 A9) break JavaScript string literals.
                0xe2 => match valid.get(index + 1..index + 3) {
                    Some([0x80, 0xa8]) => (b"\\u2028", 3),
                    Some([0x80, 0xa9]) => (b"\\u2029", 3),
                    _ => {
                        index += 1;
                        continue;
                    }
                },
                _ => {
                    // Skip to the next byte that may need escaping.
                    let rest = valid.get(index..).unwrap_or_default();
                    index += rest
                        .iter()
                        .position(|&b| {
                            b < 0x20 || matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xe2)
                        })
                        .unwrap_or(rest.len());
                    continue;
                }
            };
            out.extend_from_slice(valid.get(run_start..index).unwrap_or_default());
            if escape.is_empty() {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            } else {
                out.extend_from_slice(escape);
            }
            index += width;
            run_start = index;
        }
        out.extend_from_slice(valid.get(run_start..).unwrap_or_default());
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        write_string(&mut out, bytes);
        String::from_utf8(out).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn strings_are_escaped_like_json_marshal() {
        assert_eq!(quoted(b"plain"), r#""plain""#);
        assert_eq!(quoted(b"\"\\/\x08\x0c\n\r\t"), r#""\"\\/\b\f\n\r\t""#);
        assert_eq!(
            quoted(b"\x00\x01\x1f\x7f"),
            "\"\\u0000\\u0001\\u001f\u{7f}\""
        );
        assert_eq!(
            quoted(b"<b>&amp;</b>"),
            r#""\u003cb\u003e\u0026amp;\u003c/b\u003e""#
        );
        assert_eq!(quoted("\u{2028}x\u{2029}".as_bytes()), r#""\u2028x\u2029""#);
        assert_eq!(
            quoted("é😀\u{a0}\u{fffd}\u{2027}".as_bytes()),
            "\"é😀\u{a0}\u{fffd}\u{2027}\""
        );
        assert_eq!(quoted(b"a\xffb\xe2\x82"), r#""a\ufffdb\ufffd\ufffd""#);
    }

    #[test]
    fn nan_and_infinities_are_refused_with_sops_wrapping() {
        let mut inner = Mapping::new();
        inner.push("z", Value::Float(f64::INFINITY));
        let mut middle = Mapping::new();
        middle.push(
            "y",
            Value::Sequence(vec![Value::Float(1.0), Value::Mapping(inner)]),
        );
        let mut top = Mapping::new();
        top.push("x", Value::Mapping(middle));
        let err = encode(&top, "\t").err().map(|err| err.to_string());
        let want = "Error encoding value : Error encoding value : Error encoding value : json: unsupported value: +Inf";
        assert_eq!(err.as_deref(), Some(want));

        let mut top = Mapping::new();
        top.push("a", Value::Sequence(vec![Value::Float(f64::NAN)]));
        let err = encode(&top, "\t").err().map(|err| err.to_string());
        assert_eq!(
            err.as_deref(),
            Some("Error encoding value : json: unsupported value: NaN")
        );
        let mut top = Mapping::new();
        top.push("a", Value::Float(f64::NEG_INFINITY));
        let err = encode(&top, "\t").err().map(|err| err.to_string());
        assert_eq!(
            err.as_deref(),
            Some("Error encoding value : json: unsupported value: -Inf")
        );
    }

    #[test]
    fn deep_trees_are_written_without_recursion() {
        let mut value = Value::Null;
        for _ in 0..50_000 {
            value = Value::Sequence(vec![value]);
        }
        let mut top = Mapping::new();
        top.push("deep", value);
        let out = encode(&top, "").unwrap_or_else(|err| panic!("{err}"));
        assert!(out.starts_with(b"{\n\"deep\": [\n[\n"));
        assert!(out.ends_with(b"]\n]\n}"));
        // Dropping a tree this deep recurses in Rust's drop glue; take it apart iteratively.
        let mut pending: Vec<Value> = top
            .items
            .into_iter()
            .filter_map(|item| match item {
                Item::Entry(entry) => Some(entry.value),
                Item::Comment(_) => None,
            })
            .collect();
        while let Some(value) = pending.pop() {
            if let Value::Sequence(values) = value {
                pending.extend(values);
            }
        }
    }
}
