//! The layout engine: go-yaml v3's libyaml-derived emitter, for the events sops produces.
//!
//! sops output depends on the emitter's exact bookkeeping (column, "just wrote whitespace",
//! "at indentation", pending head/foot/tail comments, the foot-comment blank-line rule), so
//! this keeps libyaml's event-driven state machine: [`Event`]s go in, one at a time, and the
//! comment fields of each event overwrite the pending ones only when non-empty, exactly like
//! `yaml_emitter_analyze_event`. Only the block layouts sops uses are needed, plus `{}`/`[]`
//! for empty collections; lines are never folded (go-yaml v3 sets an unlimited width).

use super::emit_scalar::{Analysis, Style, is_break, is_printable, select};
use crate::sops::stores::StoreError;

/// One node event, as go-yaml's encoder feeds them to the emitter.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Event {
    /// Start of a document; `first` documents have no `---`.
    DocumentStart {
        /// Whether this is the first document of the stream.
        first: bool,
    },
    /// End of a document.
    DocumentEnd,
    /// A block mapping starts.
    MappingStart {
        /// Head comment of the mapping node.
        head: String,
    },
    /// The mapping ends.
    MappingEnd {
        /// The last key's foot comment, which go-yaml's encoder defers to here.
        tail: String,
        /// The mapping node's own foot comment.
        foot: String,
    },
    /// A block sequence starts.
    SequenceStart {
        /// Head comment of the sequence node.
        head: String,
    },
    /// The sequence ends.
    SequenceEnd {
        /// The sequence node's foot comment.
        foot: String,
    },
    /// A scalar.
    Scalar(Scalar),
}

/// A scalar event.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Scalar {
    /// The text to write (already base64 for binary data).
    pub value: String,
    /// An explicit tag suffix written as `!!<suffix>` (`merge`, `binary`), if any.
    pub tag: Option<&'static str>,
    /// The style the node asks for.
    pub style: Style,
    /// The emitter's analysis of `value`, computed once.
    pub analysis: Analysis,
    /// Head comment.
    pub head: String,
    /// Foot comment.
    pub foot: String,
}

/// Emitter states (libyaml's `yaml_emitter_state_t`, the subset sops reaches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockSequenceFirstItem,
    BlockSequenceItem,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
    FlowSequenceFirstItem,
    FlowMappingFirstKey,
}

/// The emitter.
pub(super) struct Machine {
    out: Vec<u8>,
    best_indent: i64,
    state: State,
    states: Vec<State>,
    indent: i64,
    indents: Vec<i64>,
    column: i64,
    whitespace: bool,
    indention: bool,
    foot_indent: i64,
    head_comment: String,
    foot_comment: String,
    tail_comment: String,
    simple_key_context: bool,
}

fn internal(what: &str) -> StoreError {
    StoreError::Emit(format!("Error marshaling to yaml: {what}"))
}

impl Machine {
    /// Starts a stream (`yaml_emitter_emit_stream_start`) with go-yaml's indentation rules:
    /// 0 means the default 4, and anything outside 2..=9 falls back to 2. `capacity` is a
    /// size hint for the output.
    pub fn new(indent: usize, capacity: usize) -> Self {
        let best_indent = match indent {
            0 => 4,
            2..=9 => indent as i64,
            _ => 2,
        };
        Machine {
            out: Vec::with_capacity(capacity),
            best_indent,
            state: State::DocumentStart,
            states: Vec::new(),
            indent: -1,
            indents: Vec::new(),
            column: 0,
            whitespace: true,
            indention: true,
            foot_indent: -1,
            head_comment: String::new(),
            foot_comment: String::new(),
            tail_comment: String::new(),
            simple_key_context: false,
        }
    }

    /// The bytes written so far.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// Feeds one event; `next` is the following event (the emitter's look-ahead, used to
    /// spot empty collections).
    pub fn emit(&mut self, event: &Event, next: Option<&Event>) -> Result<(), StoreError> {
        // yaml_emitter_analyze_event: only non-empty comments replace the pending ones.
        match event {
            Event::MappingStart { head } | Event::SequenceStart { head } => {
                set_if_some(&mut self.head_comment, head);
            }
            Event::MappingEnd { tail, foot } => {
                set_if_some(&mut self.foot_comment, foot);
                set_if_some(&mut self.tail_comment, tail);
            }
            Event::SequenceEnd { foot } => set_if_some(&mut self.foot_comment, foot),
            Event::Scalar(s) => {
                set_if_some(&mut self.head_comment, &s.head);
                set_if_some(&mut self.foot_comment, &s.foot);
            }
            Event::DocumentStart { .. } | Event::DocumentEnd => {}
        }
        match self.state {
            State::DocumentStart => self.document_start(event),
            State::DocumentContent => self.document_content(event, next),
            State::DocumentEnd => self.document_end(event),
            State::BlockSequenceFirstItem => self.block_sequence_item(event, next, true),
            State::BlockSequenceItem => self.block_sequence_item(event, next, false),
            State::BlockMappingFirstKey => self.block_mapping_key(event, next, true),
            State::BlockMappingKey => self.block_mapping_key(event, next, false),
            State::BlockMappingSimpleValue => self.block_mapping_value(event, next, true),
            State::BlockMappingValue => self.block_mapping_value(event, next, false),
            State::FlowSequenceFirstItem => self.flow_sequence_end(event),
            State::FlowMappingFirstKey => self.flow_mapping_end(event),
        }
    }

    fn pop_state(&mut self) -> Result<(), StoreError> {
        self.state = self
            .states
            .pop()
            .ok_or_else(|| internal("unbalanced events"))?;
        Ok(())
    }

    fn pop_indent(&mut self) -> Result<(), StoreError> {
        self.indent = self
            .indents
            .pop()
            .ok_or_else(|| internal("unbalanced events"))?;
        Ok(())
    }

    fn document_start(&mut self, event: &Event) -> Result<(), StoreError> {
        let Event::DocumentStart { first } = event else {
            return Err(internal("expected DOCUMENT-START"));
        };
        if !first {
            self.write_indent();
            self.write_indicator("---", true, false, false);
            self.write_indent();
        }
        if !self.head_comment.is_empty() {
            self.process_head_comment();
            self.put_break();
        }
        self.state = State::DocumentContent;
        Ok(())
    }

    fn document_content(&mut self, event: &Event, next: Option<&Event>) -> Result<(), StoreError> {
        self.states.push(State::DocumentEnd);
        self.process_head_comment();
        self.node(event, next, false)?;
        self.process_foot_comment();
        Ok(())
    }

    fn document_end(&mut self, event: &Event) -> Result<(), StoreError> {
        if *event != Event::DocumentEnd {
            return Err(internal("expected DOCUMENT-END"));
        }
        // go-yaml forces a separation after a document's foot comment.
        self.foot_indent = 0;
        self.process_foot_comment();
        self.foot_indent = -1;
        self.write_indent();
        self.state = State::DocumentStart;
        Ok(())
    }

    fn block_sequence_item(
        &mut self,
        event: &Event,
        next: Option<&Event>,
        first: bool,
    ) -> Result<(), StoreError> {
        if first {
            self.increase_indent(false);
        }
        if let Event::SequenceEnd { .. } = event {
            self.pop_indent()?;
            return self.pop_state();
        }
        self.process_head_comment();
        self.write_indent();
        self.write_indicator("-", true, false, true);
        self.states.push(State::BlockSequenceItem);
        self.node(event, next, false)?;
        self.process_foot_comment();
        Ok(())
    }

    fn block_mapping_key(
        &mut self,
        event: &Event,
        next: Option<&Event>,
        first: bool,
    ) -> Result<(), StoreError> {
        if first {
            self.increase_indent(false);
        }
        self.process_head_comment();
        if let Event::MappingEnd { .. } = event {
            self.pop_indent()?;
            return self.pop_state();
        }
        self.write_indent();
        if is_simple_key(event, next) {
            self.states.push(State::BlockMappingSimpleValue);
            self.node(event, next, true)
        } else {
            self.write_indicator("?", true, false, true);
            self.states.push(State::BlockMappingValue);
            self.node(event, next, false)
        }
    }

    fn block_mapping_value(
        &mut self,
        event: &Event,
        next: Option<&Event>,
        simple: bool,
    ) -> Result<(), StoreError> {
        if simple {
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
        self.states.push(State::BlockMappingKey);
        self.node(event, next, false)?;
        self.process_foot_comment();
        Ok(())
    }

    /// An empty sequence, written `[]` (`yaml_emitter_emit_flow_sequence_item`).
    fn flow_sequence_end(&mut self, event: &Event) -> Result<(), StoreError> {
        if !matches!(event, Event::SequenceEnd { .. }) {
            return Err(internal("expected SEQUENCE-END"));
        }
        self.write_indicator("[", true, true, false);
        self.increase_indent(true);
        self.pop_indent()?;
        if self.column == 0 {
            self.write_indent();
        }
        self.write_indicator("]", false, false, false);
        self.process_foot_comment();
        self.pop_state()
    }

    /// An empty mapping, written `{}` (`yaml_emitter_emit_flow_mapping_key`). A pending head
    /// comment is written inside the braces, as go-yaml does.
    fn flow_mapping_end(&mut self, event: &Event) -> Result<(), StoreError> {
        if !matches!(event, Event::MappingEnd { .. }) {
            return Err(internal("expected MAPPING-END"));
        }
        self.write_indicator("{", true, true, false);
        self.increase_indent(true);
        self.process_head_comment();
        self.pop_indent()?;
        self.write_indicator("}", false, false, false);
        self.process_foot_comment();
        self.pop_state()
    }

    /// `yaml_emitter_emit_node`; `simple_key` is set for a key written as `key:`.
    fn node(
        &mut self,
        event: &Event,
        next: Option<&Event>,
        simple_key: bool,
    ) -> Result<(), StoreError> {
        self.simple_key_context = simple_key;
        match event {
            Event::Scalar(s) => self.scalar(s),
            Event::SequenceStart { .. } => {
                self.state = if matches!(next, Some(Event::SequenceEnd { .. })) {
                    State::FlowSequenceFirstItem
                } else {
                    State::BlockSequenceFirstItem
                };
                Ok(())
            }
            Event::MappingStart { .. } => {
                self.state = if matches!(next, Some(Event::MappingEnd { .. })) {
                    State::FlowMappingFirstKey
                } else {
                    State::BlockMappingFirstKey
                };
                Ok(())
            }
            _ => Err(internal(
                "expected SCALAR, SEQUENCE-START, MAPPING-START, or ALIAS",
            )),
        }
    }

    fn scalar(&mut self, s: &Scalar) -> Result<(), StoreError> {
        let style = select(
            s.style,
            &s.analysis,
            s.value.is_empty(),
            self.simple_key_context,
        );
        if let Some(suffix) = s.tag {
            // yaml_emitter_write_tag_handle + yaml_emitter_write_tag_content.
            if !self.whitespace {
                self.put(b' ');
            }
            self.write_str("!!");
            self.write_str(suffix);
            self.whitespace = false;
            self.indention = false;
        }
        self.increase_indent(true);
        match style {
            Style::Plain => self.write_plain(&s.value),
            Style::Single => self.write_single_quoted(&s.value),
            Style::Double => self.write_double_quoted(&s.value),
            Style::Literal => self.write_literal(&s.value),
        }
        self.pop_indent()?;
        self.pop_state()
    }

    /// `yaml_emitter_increase_indent` (never indentless, never compact).
    fn increase_indent(&mut self, flow: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if self.states.last() == Some(&State::BlockSequenceItem) {
            // The first indentation inside a sequence item only skips the "- ".
            self.indent += 2;
        } else {
            self.indent = self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
        }
    }

    fn put(&mut self, b: u8) {
        self.out.push(b);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push(b'\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        self.column += 1;
    }

    /// Writes text holding no line breaks; the column counts characters, not bytes.
    fn write_str(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
        let chars = if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        };
        self.column += chars as i64;
    }

    /// `write_break`: `\n` becomes the configured line break, other breaks are copied.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.write_char(c);
            self.column = 0;
            self.indention = true;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.foot_indent == indent {
            self.put_break();
        }
        while self.column < indent {
            self.put(b' ');
        }
        self.whitespace = true;
        self.foot_indent = -1;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(b' ');
        }
        self.write_str(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn process_head_comment(&mut self) {
        if !self.tail_comment.is_empty() {
            self.write_indent();
            let tail = std::mem::take(&mut self.tail_comment);
            self.write_comment(&tail);
            self.foot_indent = self.indent.max(0);
        }
        if self.head_comment.is_empty() {
            return;
        }
        self.write_indent();
        let head = std::mem::take(&mut self.head_comment);
        self.write_comment(&head);
    }

    fn process_foot_comment(&mut self) {
        if self.foot_comment.is_empty() {
            return;
        }
        self.write_indent();
        let foot = std::mem::take(&mut self.foot_comment);
        self.write_comment(&foot);
        self.foot_indent = self.indent.max(0);
    }

    /// `yaml_emitter_write_comment`: each line gets a `# ` unless it already starts with `#`.
    fn write_comment(&mut self, comment: &str) {
        let mut breaks = false;
        let mut pound = false;
        for c in comment.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
                pound = false;
            } else {
                if breaks {
                    self.write_indent();
                }
                if !pound {
                    if c != '#' {
                        self.put(b'#');
                        self.put(b' ');
                    }
                    pound = true;
                }
                self.write_char(c);
                self.indention = false;
                breaks = false;
            }
        }
        if !breaks {
            self.put_break();
        }
        self.whitespace = true;
    }

    fn write_plain(&mut self, value: &str) {
        if !value.is_empty() && !self.whitespace {
            self.put(b' ');
        }
        // Plain scalars never hold line breaks (the analysis forbids it), and the width is
        // unlimited, so the text goes out as it is.
        self.write_str(value);
        if !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str) {
        self.write_indicator("'", true, false, false);
        let mut breaks = false;
        for c in value.chars() {
            if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put(b'\'');
                }
                self.write_char(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str) {
        self.write_indicator("\"", true, false, false);
        // libyaml's `is_bom` looks at the start of the value whatever the position, so a
        // leading BOM makes every character of the value come out escaped.
        let bom = value.starts_with('\u{FEFF}');
        let needs_escape =
            |c: char| bom || !is_printable(c) || is_break(c) || c == '"' || c == '\\';
        let mut rest = value;
        while !rest.is_empty() {
            // Copy the run of characters that need no escape in one go.
            let run = rest.find(needs_escape).unwrap_or(rest.len());
            let (clean, tail) = rest.split_at(run);
            self.write_str(clean);
            let mut chars = tail.chars();
            let Some(c) = chars.next() else {
                break;
            };
            rest = chars.as_str();
            {
                self.put(b'\\');
                match c {
                    '\0' => self.put(b'0'),
                    '\u{7}' => self.put(b'a'),
                    '\u{8}' => self.put(b'b'),
                    '\t' => self.put(b't'),
                    '\n' => self.put(b'n'),
                    '\u{b}' => self.put(b'v'),
                    '\u{c}' => self.put(b'f'),
                    '\r' => self.put(b'r'),
                    '\u{1b}' => self.put(b'e'),
                    '"' => self.put(b'"'),
                    '\\' => self.put(b'\\'),
                    '\u{85}' => self.put(b'N'),
                    '\u{a0}' => self.put(b'_'),
                    '\u{2028}' => self.put(b'L'),
                    '\u{2029}' => self.put(b'P'),
                    _ => {
                        let v = u32::from(c);
                        let (letter, width) = match v {
                            0..=0xFF => (b'x', 2),
                            0x100..=0xFFFF => (b'u', 4),
                            _ => (b'U', 8),
                        };
                        self.put(letter);
                        for k in (0..width).rev() {
                            let digit = (v >> (4 * k)) & 0xF;
                            let hex = b"0123456789ABCDEF";
                            self.put(hex.get(digit as usize).copied().unwrap_or(b'0'));
                        }
                    }
                }
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // yaml_emitter_write_block_scalar_hints.
        if value.starts_with(' ') || value.chars().next().is_some_and(is_break) {
            let hint = char::from_digit(self.best_indent as u32, 10).unwrap_or('4');
            self.write_indicator(hint.encode_utf8(&mut [0u8; 4]), false, false, false);
        }
        let mut tail = value.chars().rev();
        let chomp = match (tail.next(), tail.next()) {
            (Some(last), _) if !is_break(last) => Some("-"),
            (None, _) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.whitespace = true;
        let mut rest = value;
        while !rest.is_empty() {
            // Each line: indentation, then the text up to the next break, then the break.
            let run = rest.find(is_break).unwrap_or(rest.len());
            let (line, tail) = rest.split_at(run);
            if !line.is_empty() {
                self.write_indent();
                self.write_str(line);
                self.indention = false;
            }
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                self.write_break(c);
            }
            rest = chars.as_str();
        }
    }
}

fn set_if_some(slot: &mut String, value: &str) {
    if !value.is_empty() {
        value.clone_into(slot);
    }
}

/// `yaml_emitter_check_simple_key`: a one-line scalar of at most 128 bytes (tag included), or
/// an empty collection.
fn is_simple_key(event: &Event, next: Option<&Event>) -> bool {
    match event {
        Event::Scalar(s) => {
            let tag_len = s.tag.map_or(0, |t| 2 + t.len());
            !s.analysis.multiline && tag_len + s.value.len() <= 128
        }
        Event::SequenceStart { .. } => matches!(next, Some(Event::SequenceEnd { .. })),
        Event::MappingStart { .. } => matches!(next, Some(Event::MappingEnd { .. })),
        _ => false,
    }
}
