//! Line numbers for findings: where a node sits in a YAML (or JSON) file.
//!
//! The document tree carries no positions, so the file is scanned once more with the YAML event
//! parser, following mapping keys and sequence indexes to the node. Only used to point at a
//! line; a file the scanner cannot read simply gets no line.

use saphyr_parser::{Event, Parser};

use crate::sops::Segment;

/// Parses a field path as the generator schema and the config reader write them
/// (`secretFrom[1].envs[0]`, `creation_rules[0].age`) into segments.
pub fn field_path(field: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for part in field.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            segments.push(Segment::Key(rest[..open].to_owned()));
            rest = &rest[open..];
            while let Some(index) = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .and_then(|(n, tail)| Some((n.parse().ok()?, tail)))
            {
                segments.push(Segment::Index(index.0));
                rest = index.1;
            }
        } else {
            segments.push(Segment::Key(rest.to_owned()));
        }
    }
    segments
}

/// Where the parser is inside one collection.
enum Frame {
    /// A mapping: the current key, and whether the next node is its value.
    Mapping { key: Option<String>, in_value: bool },
    /// A sequence: the index of the next element.
    Sequence { next: usize },
}

/// The 1-based line of the node at `path` in the `document`-th document (0-based) of `text`:
/// the line of its key for a mapping entry. An empty path gives the document's first line.
pub fn line_of(text: &str, document: usize, path: &[Segment]) -> Option<usize> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut current_document: Option<usize> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        let line = span.start.line();
        match event {
            Event::DocumentStart(_) => {
                current_document = Some(current_document.map_or(0, |d| d + 1));
                stack.clear();
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                finish_node(&mut stack);
                continue;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                continue;
            }
            _ => {}
        }
        if current_document != Some(document) {
            if current_document.is_some_and(|d| d > document) {
                return None;
            }
            track(&mut stack, &event);
            continue;
        }
        // A node: is it a key, and where does it sit?
        let is_key = matches!(
            stack.last(),
            Some(Frame::Mapping {
                in_value: false,
                ..
            })
        );
        if is_key {
            if let (Event::Scalar(key, ..), Some(Frame::Mapping { key: slot, .. })) =
                (&event, stack.last_mut())
            {
                *slot = Some(key.to_string());
            }
            if at(&stack, path) {
                return Some(line);
            }
        } else if (stack.is_empty() && path.is_empty()) || (!stack.is_empty() && at(&stack, path)) {
            return Some(line);
        }
        track(&mut stack, &event);
    }
    None
}

/// Whether the stack's current position is `path`.
fn at(stack: &[Frame], path: &[Segment]) -> bool {
    stack.len() == path.len()
        && stack
            .iter()
            .zip(path)
            .all(|(frame, segment)| match (frame, segment) {
                (Frame::Mapping { key: Some(k), .. }, Segment::Key(want)) => k == want,
                (Frame::Sequence { next }, Segment::Index(want)) => next == want,
                _ => false,
            })
}

/// Updates the stack for a node event (not an end event).
fn track(stack: &mut Vec<Frame>, event: &Event<'_>) {
    let is_key = matches!(
        stack.last(),
        Some(Frame::Mapping {
            in_value: false,
            ..
        })
    );
    match event {
        Event::MappingStart(..) => stack.push(Frame::Mapping {
            key: None,
            in_value: false,
        }),
        Event::SequenceStart(..) => stack.push(Frame::Sequence { next: 0 }),
        Event::Scalar(key, ..) if is_key => {
            if let Some(Frame::Mapping {
                key: slot,
                in_value,
            }) = stack.last_mut()
            {
                *slot = Some(key.to_string());
                *in_value = true;
            }
        }
        _ => finish_node(stack),
    }
}

/// A node of the innermost collection is complete: a mapping expects its next key, a sequence
/// moves to its next index. (A collection used as a mapping key also lands here, as a key.)
fn finish_node(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Mapping { in_value, .. }) => *in_value = !*in_value,
        Some(Frame::Sequence { next }) => *next += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Segment {
        Segment::Key(k.into())
    }

    #[test]
    fn parses_field_paths() {
        assert_eq!(
            field_path("secretFrom[1].envs[0]"),
            [
                key("secretFrom"),
                Segment::Index(1),
                key("envs"),
                Segment::Index(0)
            ]
        );
        assert_eq!(field_path("files"), [key("files")]);
    }

    #[test]
    fn finds_keys_items_and_documents() {
        let text = "a: 1\n---\n# c\nkind: Secret\ndata:\n  user: x\n  pass: |\n    y\nlist:\n  - {k: v}\n  - - n\n    - m\n";
        assert_eq!(line_of(text, 0, &[key("a")]), Some(1));
        assert_eq!(line_of(text, 1, &[]), Some(4));
        assert_eq!(line_of(text, 1, &[key("kind")]), Some(4));
        assert_eq!(line_of(text, 1, &[key("data"), key("pass")]), Some(7));
        assert_eq!(
            line_of(
                text,
                1,
                &[key("list"), Segment::Index(1), Segment::Index(1)]
            ),
            Some(12)
        );
        assert_eq!(
            line_of(text, 1, &[key("list"), Segment::Index(0), key("k")]),
            Some(10)
        );
        assert_eq!(line_of(text, 1, &[key("missing")]), None);
        assert_eq!(line_of(text, 2, &[]), None);
    }

    #[test]
    fn reads_json_and_survives_garbage() {
        let json = "{\n  \"kind\": \"Secret\",\n  \"data\": {\n    \"k\": \"v\"\n  }\n}\n";
        assert_eq!(line_of(json, 0, &[key("data"), key("k")]), Some(4));
        assert_eq!(line_of("a: [\n", 0, &[key("b")]), None);
    }
}
