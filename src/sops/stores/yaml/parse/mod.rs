//! YAML parsing into sops' tree, following go-yaml v3 and sops 3.11's `stores/yaml`.
//!
//! Structure (documents, collections, scalar styles, tags, anchors) comes from the
//! `saphyr-parser` event stream, which `events` builds into the tree. Scalars are resolved with
//! go-yaml's rules (see [`resolve`]). Comments are not events, so `comments` recovers them from
//! the source text between events and places them where go-yaml and sops put them. Where
//! saphyr rejects text that go-yaml reads, `repair` hands saphyr a corrected copy first.
//!
//! [`resolve`]: super::resolve

mod comments;
mod events;
mod repair;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScanError, Span};

use super::breaks;
use crate::limits::MAX_NODES;
use crate::sops::stores::{MetadataStyle, NodeCount, ParsedFile, StoreError};
use crate::sops::tree::{Document, Item, Value};
use comments::LinePlace;
use repair::{collapse_commented_flow, comments_ending_block_scalars};

/// Parses a YAML file (one or more documents) into sops' tree.
pub fn parse(input: &[u8]) -> Result<ParsedFile, StoreError> {
    let (mut documents, walk_error) = parse_with(input, false)?;
    let Some(first) = documents.first_mut() else {
        return Err(not_found());
    };
    let metadata = take_sops(first)?;
    for doc in documents.iter_mut().skip(1) {
        take_sops(doc)?;
    }
    match metadata {
        Some(Value::Null) | None => Err(not_found()),
        Some(metadata) => Ok(ParsedFile {
            documents,
            metadata: Some(metadata),
            metadata_style: MetadataStyle::Yaml,
            walk_error,
        }),
    }
}

/// Parses every document, keeping any `sops` entries in place (also used for `.sops.yaml`).
pub fn parse_documents(input: &[u8]) -> Result<Vec<Document>, StoreError> {
    without_walk_error(parse_with(input, false)?)
}

/// The documents, or the walk error as a parse error for callers that do not decrypt.
fn without_walk_error(
    (documents, walk_error): (Vec<Document>, Option<String>),
) -> Result<Vec<Document>, StoreError> {
    match walk_error {
        Some(message) => Err(StoreError::Parse(message)),
        None => Ok(documents),
    }
}

/// Parses Kubernetes manifests that are passed through rather than decrypted: plain timestamps
/// stay the text they were written as (Kubernetes has no timestamp type, so to a Kubernetes
/// tool `2024-01-02` is that string; re-printing it as `2024-01-02T00:00:00Z` would change it).
pub fn parse_manifests(input: &[u8]) -> Result<Vec<Document>, StoreError> {
    without_walk_error(parse_with(input, true)?)
}

/// The documents and the first error sops would only meet walking them (see
/// [`Builder::walk_error`]).
fn parse_with(
    input: &[u8],
    timestamps_as_text: bool,
) -> Result<(Vec<Document>, Option<String>), StoreError> {
    let text = std::str::from_utf8(input).map_err(|_| {
        StoreError::Parse("Error unmarshalling input yaml: yaml: invalid UTF-8".into())
    })?;
    let broken = breaks::for_saphyr(text);
    let (copy, flow_closes) = collapse_commented_flow(&broken).unzip();
    let source = copy.as_deref().unwrap_or(&broken);
    let repaired: String;
    let events = match saphyr_events(source) {
        Ok(events) => events,
        Err(e) => {
            repaired = comments_ending_block_scalars(source, e).map_err(scan_error)?;
            saphyr_events(&repaired).map_err(scan_error)?
        }
    };
    if !matches!(events.last(), Some((Event::StreamEnd, _))) {
        return Err(StoreError::too_many_nodes());
    }
    // The builder lays out lines and comments on the copy saphyr read, where every go-yaml
    // line break is a `\n`, and reads LS and PS scalars again from the original.
    let mut builder = Builder::new(&broken);
    builder.timestamps_as_text = timestamps_as_text;
    builder.flow_closes = flow_closes.unwrap_or_default();
    if breaks::has_unicode_breaks(text) {
        builder.raw = Some(text.chars().collect());
    }
    builder.run(&events)?;
    Ok((builder.documents, builder.walk_error))
}

type Events<'a> = Vec<(Event<'a>, Span)>;

/// All of saphyr's events for `source`, or its first error. Reading stops before the node
/// past [`MAX_NODES`], so the events lack the final `StreamEnd`: memory stays bounded.
fn saphyr_events(source: &str) -> Result<Events<'_>, ScanError> {
    let mut nodes = 0;
    Parser::new_from_str(source)
        .take_while(|event| {
            if matches!(event, Ok((event, _)) if is_node(event)) {
                nodes += 1;
            }
            nodes <= MAX_NODES
        })
        .collect()
}

/// Whether an event starts a node (a key, a value or an item), for the [`MAX_NODES`] limit.
fn is_node(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::Scalar(..) | Event::Alias(_) | Event::MappingStart(..) | Event::SequenceStart(..)
    )
}

fn scan_error(e: ScanError) -> StoreError {
    StoreError::Parse(format!(
        "Error unmarshalling input yaml: yaml: line {}: {}",
        e.marker().line(),
        e.info()
    ))
}

fn not_found() -> StoreError {
    StoreError::MetadataNotFound
}

/// Removes the top-level `sops` entries of a document, returning the first one's value, with
/// the quirks of sops' loop `for i, elt := range branch { if elt.Key == "sops" { branch =
/// append(branch[:i], branch[i+1:]...) } }`: `range` keeps reading the shifted backing array
/// (skipping the item after a removed one, re-reading stale items at the end) and a removal
/// past the shortened length panics. Only documents after the first can hold two `sops` keys
/// (the first one's are checked for duplicates).
fn take_sops(doc: &mut Document) -> Result<Option<Value>, StoreError> {
    let is_sops = |item: &Item| matches!(item, Item::Entry(e) if e.key == "sops");
    if !doc.items.iter().any(is_sops) {
        return Ok(None);
    }
    let mut slots: Vec<Option<Item>> = std::mem::take(&mut doc.items)
        .into_iter()
        .map(Some)
        .collect();
    // Go's backing array, as indices into `slots`; `len` is the slice's current length.
    let mut array: Vec<usize> = (0..slots.len()).collect();
    let mut len = array.len();
    let mut removed = Vec::new();
    for i in 0..array.len() {
        let at = array[i];
        if !slots[at].as_ref().is_some_and(is_sops) {
            continue;
        }
        if i >= len {
            return Err(StoreError::Parse(
                "a document holds several top-level `sops` keys, which sops cannot read \
                 (it crashes: slice bounds out of range)"
                    .into(),
            ));
        }
        array.copy_within(i + 1..len, i);
        len -= 1;
        removed.push(at);
    }
    let metadata = removed.first().and_then(|&at| match slots[at].take() {
        Some(Item::Entry(entry)) => Some(entry.value),
        _ => None,
    });
    doc.items = array[..len]
        .iter()
        .filter_map(|&at| slots[at].take())
        .collect();
    Ok(metadata)
}

/// What a collection under construction holds.
enum Body {
    Map {
        items: Vec<Item>,
        /// The key read and waiting for its value.
        key: Option<String>,
        /// Duplicate-key check (first document's top level and its `sops` subtree only,
        /// where sops' metadata pre-parse decodes mappings): raw key text → line.
        seen: Option<HashMap<String, usize>>,
    },
    Seq(Vec<Value>),
}

/// An open collection.
struct Frame {
    body: Body,
    flow: bool,
    /// Column of the collection's first token (block indentation).
    indent: usize,
    anchor: usize,
    /// Whether this collection is in key position of its parent mapping.
    is_key: bool,
    /// Foot comments read while a child collection is still open: they follow that child.
    deferred: Vec<String>,
    /// The mapping key just read is a go-yaml merge key (`<<` plain, or tagged `!!merge`).
    merge_key: bool,
    /// Decoding this collection into a struct fails with go-yaml's merge error: one of its
    /// merge keys (a mapping's, or an item mapping's) merges something other than mappings,
    /// or mappings that fail so themselves.
    bad_merge: bool,
}

/// The parser's state for one input: the tree under construction (see `events`) and the
/// comments still waiting for their place (see `comments`).
struct Builder {
    /// Keep plain timestamps as their text (see [`parse_manifests`]).
    timestamps_as_text: bool,
    /// The source as saphyr read it: go-yaml's line breaks are all `\n` (see [`breaks`]).
    chars: Vec<char>,
    /// Source line of each char index is computed from these starts (char indices).
    line_starts: Vec<usize>,
    /// Char index up to which the source has been scanned for comments.
    cursor: usize,
    frames: Vec<Frame>,
    /// Head comments waiting for the next node, with their source lines.
    pending: Vec<(usize, String)>,
    /// Last node end line and where its same-line comment goes.
    last: Option<(usize, LinePlace)>,
    /// Anchored values with their node counts and whether they fail a merge (`bad_merge`).
    anchors: HashMap<usize, (Value, usize, bool)>,
    expanded: usize,
    /// Nodes and comments read so far, against [`MAX_NODES`].
    nodes: NodeCount,
    doc_root: Option<Value>,
    /// Comments for the document when it has no mapping yet.
    doc_comments: Vec<String>,
    doc_index: usize,
    documents: Vec<Document>,
    /// The original source when it has line breaks saphyr does not know (see [`breaks`]),
    /// char for char with `chars`.
    raw: Option<Vec<char>>,
    /// Collapsed comment-only flow collections: fake closing bracket → real one (char indices).
    flow_closes: HashMap<usize, usize>,
    /// Comment blocks go-yaml scans as foot comments but hands to the next node event (see
    /// [`Builder::carry_or_head`]).
    carried: Vec<String>,
    /// Comments that follow the node completed at this frame depth (a carried foot that
    /// landed on a first key or a sequence item: sops prints it after that entry or item).
    after_node: Option<(usize, Vec<String>)>,
    /// The first error sops meets only when it walks the data tree (a key that is not a
    /// string, a value of a type it cannot walk): decryption raises it once the data key is
    /// recovered, with the walk's exit code, as sops does.
    walk_error: Option<String>,
}

impl Builder {
    fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mut line_starts = vec![0];
        line_starts.extend(
            chars
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == '\n')
                .map(|(i, _)| i + 1),
        );
        Builder {
            timestamps_as_text: false,
            chars,
            line_starts,
            cursor: 0,
            frames: Vec::new(),
            pending: Vec::new(),
            last: None,
            anchors: HashMap::new(),
            expanded: 0,
            nodes: NodeCount::default(),
            doc_root: None,
            doc_comments: Vec::new(),
            doc_index: 0,
            documents: Vec::new(),
            flow_closes: HashMap::new(),
            carried: Vec::new(),
            after_node: None,
            raw: None,
            walk_error: None,
        }
    }

    fn line_of(&self, index: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= index)
    }
}
