//! Builds sops' tree from saphyr's events: documents, mappings and sequences, scalars resolved
//! with go-yaml's rules (and LS/PS breaks read as go-yaml reads them), anchors and aliases,
//! tags and merge keys, the limits on depth and alias expansion, and the errors sops raises
//! only when it walks the tree.

use crate::limits::{MAX_ALIAS_EXPANSION, MAX_NESTING_DEPTH};
use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, ScalarStyle, Span, Tag};

use super::comments::LinePlace;
use super::{Body, Builder, Frame, is_node};
use crate::sops::stores::StoreError;
use crate::sops::stores::yaml::breaks;
use crate::sops::stores::yaml::resolve::{Resolved, resolve};
use crate::sops::tree::{Comment, Entry, Item, Mapping, Value};

impl Builder {
    /// Builds the documents from all of saphyr's events, placing the comments of the source
    /// text between each event and the previous one as it goes.
    pub(super) fn run(&mut self, events: &[(Event<'_>, Span)]) -> Result<(), StoreError> {
        for (i, (event, span)) in events.iter().enumerate() {
            let start = span.start.index().min(self.chars.len());
            let closing = events[i..]
                .iter()
                .take_while(|(e, _)| {
                    matches!(
                        e,
                        Event::MappingEnd
                            | Event::SequenceEnd
                            | Event::DocumentEnd
                            | Event::StreamEnd
                    )
                })
                .filter(|(e, _)| matches!(e, Event::MappingEnd | Event::SequenceEnd))
                .count();
            let doc_ends = matches!(event, Event::DocumentEnd | Event::StreamEnd)
                || events[i..]
                    .iter()
                    .take_while(|(e, _)| {
                        !matches!(
                            e,
                            Event::Scalar(..)
                                | Event::Alias(_)
                                | Event::MappingStart(..)
                                | Event::SequenceStart(..)
                        )
                    })
                    .any(|(e, _)| matches!(e, Event::DocumentEnd));
            if !matches!(event, Event::StreamStart) {
                self.scan_gap(start, span.start.col(), closing, doc_ends);
            }
            self.nodes.add(usize::from(is_node(event)))?;
            match event {
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
                Event::DocumentStart(explicit) => {
                    self.doc_root = None;
                    self.last = None;
                    // `---` ends on its line; a comment after it heads the document.
                    self.cursor = self.cursor.max(start + if *explicit { 3 } else { 0 });
                }
                Event::DocumentEnd => {
                    self.end_document()?;
                    // Skip the `...` marker itself.
                    if self.chars.get(start) == Some(&'.') {
                        self.cursor = self.cursor.max(start + 3).min(self.chars.len());
                    }
                    self.doc_index += 1;
                }
                Event::Alias(id) => {
                    self.flush_pending_here();
                    self.place_carried(false);
                    let (value, count, bad) = self.anchors.get(id).cloned().ok_or_else(|| {
                        StoreError::Parse(
                            "Error unmarshalling input yaml: yaml: unknown anchor".into(),
                        )
                    })?;
                    self.expanded += count;
                    if self.expanded > MAX_ALIAS_EXPANSION {
                        return Err(too_many());
                    }
                    let end_line = self.line_of(span.end.index().saturating_sub(1).max(start));
                    self.cursor = self.cursor.max(start);
                    self.complete(value, bad, false, end_line)?;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    self.flush_pending_here();
                    let end = self.scalar_end(start, *style, span.end.index());
                    self.cursor = self.cursor.max(end);
                    let end_line = self.line_of(end.saturating_sub(1).max(start));
                    let short = tag.as_deref().map(short_tag);
                    let plain = *style == ScalarStyle::Plain;
                    let in_key = self.expects_key();
                    self.place_carried(in_key);
                    let value = self.go_breaks(value, *style, start, end);
                    let value = value.as_ref();
                    // sops' metadata pass decodes the first document's top-level keys and its
                    // `sops` subtree, where a scalar its tag does not fit is an error. Elsewhere
                    // sops ignores the decode error and gets nil: a null value, or a nil key
                    // that fails the walk.
                    let strict = self.doc_index == 0
                        && (self.in_sops_subtree() || (in_key && self.frames.len() == 1));
                    let resolved = match resolve(value, plain, short.as_deref()) {
                        Ok(resolved) => resolved,
                        Err(e) if strict => {
                            return Err(StoreError::Parse(format!(
                                "Error unmarshalling input yaml: yaml: unmarshal errors:\n  line {}: cannot decode a scalar as a {}",
                                span.start.line(),
                                e.tag
                            )));
                        }
                        Err(_) => Resolved::Null,
                    };
                    if in_key {
                        // sops first decodes the first document into its metadata struct, and
                        // go-yaml applies the top-level merge keys there (`<<` plain, or any
                        // `!!merge`-tagged `<<`), checking their values (see `complete`).
                        let merge_key = value == "<<"
                            && (short.as_deref() == Some("!!merge") || (plain && short.is_none()));
                        if let Some(frame) = self.frames.last_mut() {
                            frame.merge_key = merge_key;
                        }
                        self.complete_key(resolved, value, span.start.line())?;
                        let depth = self.frames.len() - 1;
                        self.last = Some((end_line, LinePlace::Append { depth }));
                        continue;
                    }
                    // go-yaml decodes a scalar into a string field of sops' metadata from its
                    // text; the metadata has no float or time fields, so those keep their text.
                    let metadata_text = self.doc_index == 0
                        && self.in_sops_subtree()
                        && matches!(
                            resolved,
                            Resolved::Float(_) | Resolved::Time(_) | Resolved::Uint(_)
                        );
                    let tree = match resolved {
                        _ if metadata_text => Value::Str(value.as_bytes().to_vec()),
                        Resolved::Null => Value::Null,
                        Resolved::Bool(b) => Value::Bool(b),
                        Resolved::Int(i) => Value::Int(i),
                        Resolved::Uint(_) => {
                            self.defer_walk_error(
                                "Error walking tree: Cannot walk value, unknown type: uint64"
                                    .into(),
                            );
                            Value::Null
                        }
                        Resolved::Float(f) => Value::Float(f),
                        Resolved::Str(s) => Value::Str(s),
                        Resolved::Time(_) if self.timestamps_as_text => {
                            Value::Str(value.as_bytes().to_vec())
                        }
                        Resolved::Time(t) => Value::Time(t),
                    };
                    if *anchor != 0 {
                        self.anchors.insert(*anchor, (tree.clone(), 1, false));
                    }
                    self.complete(tree, false, false, end_line)?;
                }
                Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                    if self.frames.len() >= MAX_NESTING_DEPTH {
                        return Err(StoreError::Parse(
                            "Error unmarshalling input yaml: yaml: exceeded max depth".into(),
                        ));
                    }
                    let flow = self
                        .chars
                        .get(start)
                        .is_some_and(|c| matches!(c, '[' | '{'));
                    let is_key = self.expects_key();
                    if flow {
                        // go-yaml gives the carried foot to the flow collection's node, where
                        // sops does not read it.
                        self.carried.clear();
                    }
                    self.flush_pending_before_entry(start);
                    let body = if matches!(event, Event::MappingStart(..)) {
                        let check = self.doc_index == 0
                            && (self.frames.is_empty() || self.in_sops_subtree());
                        Body::Map {
                            items: Vec::new(),
                            key: None,
                            seen: check.then(HashMap::new),
                        }
                    } else {
                        Body::Seq(Vec::new())
                    };
                    self.frames.push(Frame {
                        body,
                        flow,
                        indent: span.start.col(),
                        anchor: *anchor,
                        is_key,
                        deferred: Vec::new(),
                        merge_key: false,
                        bad_merge: false,
                    });
                    if flow {
                        self.cursor = self.cursor.max(start + 1);
                    }
                    // Pending head comments after the item's `-` stay pending: they land in
                    // the innermost collection whose first entry comes next (a comment between
                    // `-` and `k: v` is inside the item mapping).
                    self.last = None;
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if self.frames.last().is_some_and(|f| f.flow) {
                        self.flush_pending_here();
                    }
                    let Some(frame) = self.frames.pop() else {
                        continue;
                    };
                    let end_line = if frame.flow {
                        // The comments of a collapsed collection are dropped, as go-yaml does.
                        let close = self.flow_closes.get(&start).copied().unwrap_or(start);
                        self.cursor = self.cursor.max(close + 1);
                        Some(span.start.line())
                    } else {
                        None
                    };
                    let value = match frame.body {
                        Body::Map { items, .. } => Value::Mapping(Mapping { items }),
                        Body::Seq(items) => Value::Sequence(items),
                    };
                    if frame.is_key {
                        let go_type = if matches!(value, Value::Mapping(_)) {
                            "map[string]interface {}"
                        } else {
                            "[]interface {}"
                        };
                        return Err(non_string_key(go_type, "…".into()));
                    }
                    if frame.anchor != 0 {
                        let count = count_nodes(&value);
                        self.expanded += count;
                        if self.expanded > MAX_ALIAS_EXPANSION {
                            return Err(too_many());
                        }
                        self.anchors
                            .insert(frame.anchor, (value.clone(), count, frame.bad_merge));
                    }
                    match end_line {
                        Some(line) => self.complete(value, frame.bad_merge, true, line)?,
                        None => {
                            self.complete(value, frame.bad_merge, false, 0)?;
                            self.last = None;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the innermost frame is a mapping waiting for a key.
    fn expects_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                body: Body::Map { key: None, .. },
                ..
            })
        )
    }

    /// Whether the open frames lie under the first document's top-level `sops` key.
    fn in_sops_subtree(&self) -> bool {
        matches!(
            self.frames.first(),
            Some(Frame { body: Body::Map { key: Some(k), .. }, .. }) if k == "sops"
        )
    }

    /// The char index just past a scalar's text. Quoted scalars are scanned to their closing
    /// quote because the event span also covers a trailing comment.
    fn scalar_end(&self, start: usize, style: ScalarStyle, span_end: usize) -> usize {
        let quote = match style {
            ScalarStyle::SingleQuoted => '\'',
            ScalarStyle::DoubleQuoted => '"',
            ScalarStyle::Literal | ScalarStyle::Folded => return span_end.min(self.chars.len()),
            _ => return start,
        };
        // Skip properties (anchor, tag) before the opening quote.
        let mut i = start;
        while i < self.chars.len() && self.chars[i] != quote {
            i += 1;
        }
        i += 1;
        while i < self.chars.len() {
            match self.chars[i] {
                '\\' if quote == '"' => i += 2,
                '\'' if quote == '\'' && self.chars.get(i + 1) == Some(&'\'') => i += 2,
                c if c == quote => return i + 1,
                _ => i += 1,
            }
        }
        self.chars.len()
    }

    /// A scalar's value with go-yaml's reading of LS and PS breaks, where its source has any
    /// (`start`..`end`: saphyr's span of it, in chars).
    fn go_breaks<'v>(
        &self,
        value: &'v str,
        style: ScalarStyle,
        start: usize,
        end: usize,
    ) -> Cow<'v, str> {
        let Some(raw) = self.raw.as_deref() else {
            return Cow::Borrowed(value);
        };
        // saphyr's span may stop short of the last line breaks of a block scalar, and go-yaml
        // keeps an LS or PS there too: look on through the blanks and breaks after the span.
        let end = end.min(raw.len());
        let end = end
            + raw[end..]
                .iter()
                .take_while(|c| {
                    matches!(
                        c,
                        ' ' | '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
                    )
                })
                .count();
        let has = |from: usize, nel: bool| {
            raw.get(from..end).is_some_and(|s| {
                s.iter()
                    .any(|c| matches!(c, '\u{2028}' | '\u{2029}') || (nel && *c == '\u{85}'))
            })
        };
        match style {
            // A NEL may have been read as a space (see `breaks::for_saphyr`), so it counts here.
            ScalarStyle::SingleQuoted if has(start, true) => {
                let open = (start..end).find(|&i| raw[i] == '\'').unwrap_or(start);
                Cow::Owned(breaks::single_quoted(raw, open))
            }
            // saphyr's span starts at the content, which may follow an LS: look from the header.
            ScalarStyle::Literal | ScalarStyle::Folded => match breaks::block_header(raw, start) {
                Some(header) if has(header, false) => {
                    let parent = self
                        .frames
                        .last()
                        .and_then(|f| isize::try_from(f.indent).ok())
                        .unwrap_or(-1);
                    Cow::Owned(breaks::block(raw, header, parent))
                }
                _ => Cow::Borrowed(value),
            },
            _ => Cow::Borrowed(value),
        }
    }

    /// Keeps the first error sops would meet walking the tree (see [`Builder::walk_error`]).
    fn defer_walk_error(&mut self, message: String) {
        self.walk_error.get_or_insert(message);
    }

    /// Records a key read in the innermost mapping.
    fn complete_key(
        &mut self,
        resolved: Resolved,
        raw: &str,
        line: usize,
    ) -> Result<(), StoreError> {
        let key = match resolved {
            Resolved::Str(bytes) => {
                String::from_utf8(bytes).map_err(|_| non_string_key("[]uint8", "…".into()))?
            }
            // sops erases `sops` subtrees before walking, and its metadata pass skips keys
            // that name no field, so only a data key that is not a string fails, and only
            // when sops walks the tree.
            other => {
                if !self.in_sops_subtree() {
                    let shown = match other {
                        Resolved::Null => "%!s(<nil>)".to_owned(),
                        _ => format!("%!s({}={raw})", other.go_type()),
                    };
                    self.defer_walk_error(non_string_key(other.go_type(), shown).to_string());
                }
                raw.to_owned()
            }
        };
        if let Some(Frame {
            body: Body::Map {
                key: slot, seen, ..
            },
            ..
        }) = self.frames.last_mut()
        {
            if let Some(seen) = seen {
                if let Some(first) = seen.get(raw) {
                    return Err(StoreError::Parse(format!(
                        "Error unmarshalling input yaml: yaml: unmarshal errors:\n  line {line}: mapping key {raw:?} already defined at line {first}"
                    )));
                }
                seen.insert(raw.to_owned(), line);
            }
            *slot = Some(key);
        }
        Ok(())
    }

    /// Attaches a finished value to its parent (or makes it the document root). `bad_merge`:
    /// the value is a collection that fails go-yaml's merge when merged (see [`Frame`]).
    fn complete(
        &mut self,
        value: Value,
        bad_merge: bool,
        is_flow_collection: bool,
        end_line: usize,
    ) -> Result<(), StoreError> {
        let depth = self.frames.len().checked_sub(1);
        let doc_index = self.doc_index;
        if let Some(frame) = self.frames.last_mut() {
            let fails = match frame.body {
                Body::Map { .. } => {
                    std::mem::take(&mut frame.merge_key) && (bad_merge || !merges_maps(&value))
                }
                // An item of a merged sequence is merged itself.
                Body::Seq(_) => bad_merge,
            };
            // go-yaml merges into sops' metadata struct what the first document's top-level
            // merge keys name, and goes on into the merge keys of the mappings merged so.
            let top_map =
                depth == Some(0) && doc_index == 0 && matches!(frame.body, Body::Map { .. });
            if fails && top_map {
                return Err(StoreError::Parse(
                    "Error unmarshalling input yaml: yaml: map merge requires map or sequence of maps as the value".into(),
                ));
            }
            frame.bad_merge |= fails;
        }
        let place;
        match self.frames.last_mut() {
            None => {
                self.doc_root = Some(value);
                place = LinePlace::IntoLast { depth: None };
            }
            Some(Frame {
                body: Body::Map { items, key, .. },
                ..
            }) => {
                let Some(k) = key.take() else {
                    return Err(non_string_key("<nil>", "%!s(<nil>)".into()));
                };
                let index = items.len();
                items.push(Item::Entry(Entry { key: k, value }));
                place = if is_flow_collection {
                    LinePlace::IntoLast { depth }
                } else {
                    LinePlace::Before {
                        depth: depth.unwrap_or(0),
                        index,
                    }
                };
            }
            Some(Frame {
                body: Body::Seq(items),
                ..
            }) => {
                let index = items.len();
                items.push(value);
                place = if is_flow_collection {
                    LinePlace::IntoLast { depth }
                } else {
                    LinePlace::Before {
                        depth: depth.unwrap_or(0),
                        index,
                    }
                };
            }
        }
        let after = match self.after_node.take() {
            Some((d, texts)) if Some(d) == depth => texts,
            other => {
                self.after_node = other;
                Vec::new()
            }
        };
        if let Some(frame) = self.frames.last_mut() {
            let mut deferred = std::mem::take(&mut frame.deferred);
            deferred.extend(after);
            match &mut frame.body {
                Body::Map { items, .. } => {
                    items.extend(deferred.into_iter().map(|t| Item::Comment(Comment(t))));
                }
                Body::Seq(items) => {
                    items.extend(deferred.into_iter().map(|t| Value::Comment(Comment(t))));
                }
            }
        }
        self.last = Some((end_line, place));
        Ok(())
    }

    /// Finishes the current document.
    fn end_document(&mut self) -> Result<(), StoreError> {
        // Comments still waiting (document foot) go to the end of the top-level mapping.
        // A carried foot with no node left to take it (a document marker came next).
        let carried = std::mem::take(&mut self.carried);
        self.after_node = None;
        self.pending
            .extend(carried.into_iter().map(|t| (usize::MAX, t)));
        let mut tail = std::mem::take(&mut self.pending);
        let mut head = std::mem::take(&mut self.doc_comments);
        self.frames.clear();
        let mut mapping = match self.doc_root.take() {
            None | Some(Value::Null) => Mapping::new(),
            Some(Value::Mapping(m)) => m,
            Some(Value::Sequence(_)) => {
                return Err(StoreError::Parse(
                    "Error unmarshaling input YAML: YAML documents that are sequences are not supported".into(),
                ));
            }
            Some(_) => {
                return Err(StoreError::Parse(
                    "Error unmarshaling input YAML: YAML documents that are values are not supported".into(),
                ));
            }
        };
        let mut items: Vec<Item> = head.drain(..).map(|t| Item::Comment(Comment(t))).collect();
        items.append(&mut mapping.items);
        items.extend(tail.drain(..).map(|(_, t)| Item::Comment(Comment(t))));
        self.documents.push(Mapping { items });
        Ok(())
    }
}

/// Whether go-yaml accepts `value` as what a merge key merges: a mapping or a sequence of
/// mappings (aliases are already expanded here; comments are not nodes).
fn merges_maps(value: &Value) -> bool {
    match value {
        Value::Mapping(_) => true,
        Value::Sequence(items) => items
            .iter()
            .all(|v| matches!(v, Value::Mapping(_) | Value::Comment(_))),
        _ => false,
    }
}

/// `!!str`-style short form of a tag.
fn short_tag(tag: &Tag) -> String {
    if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

fn non_string_key(go_type: &str, shown: String) -> StoreError {
    StoreError::Parse(format!(
        "Error walking tree: Tree contains a non-string key (type {go_type}): {shown}. Only string keys aresupported"
    ))
}

fn too_many() -> StoreError {
    StoreError::Parse(
        "Error unmarshalling input yaml: yaml: document contains excessive aliasing".into(),
    )
}

/// Number of nodes in a value, for the alias expansion budget.
fn count_nodes(value: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        count += 1;
        match v {
            Value::Mapping(m) => stack.extend(m.entries().map(|e| &e.value)),
            Value::Sequence(s) => stack.extend(s.iter()),
            _ => {}
        }
    }
    count
}
