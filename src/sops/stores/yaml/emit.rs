//! YAML emitting, byte for byte as go-yaml v3's encoder writes sops' output.
//!
//! sops (`stores/yaml/store.go`, `EmitPlainFile`) turns each document into a `yaml.Node` tree
//! and encodes it with go-yaml v3. Comments are not nodes there: a run of comments becomes the
//! head comment of the next key or sequence item, comments before the first entry become the
//! head comment of the collection itself, and comments after the last entry become the foot
//! comment of the last key (mappings) or last item (sequences). go-yaml's encoder then defers a
//! key's foot comment to the end of the mapping ("tail"). This module reproduces that
//! conversion as a stream of emitter [`Event`]s; `emit_machine` lays them out and
//! `emit_scalar` chooses each scalar's style.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::emit_machine::{Event, Machine, Scalar};
use super::emit_scalar::{Style, analyze, node_style, requested_for_str};
use crate::sops::gonum;
use crate::sops::stores::StoreError;
use crate::sops::tree::{Comment, Document, Item, Mapping, Value};

/// Emits documents as YAML with the given indentation (`stores.yaml.indent`, normally 4),
/// exactly as `sops decrypt` prints them: documents after the first are preceded by `---`,
/// an empty document is `{}`, and the output ends with a newline. No documents at all give
/// empty output (go-yaml writes nothing when no document was encoded).
pub fn emit(documents: &[Document], indent: usize) -> Result<Vec<u8>, StoreError> {
    let mut events = Vec::new();
    for (i, doc) in documents.iter().enumerate() {
        events.push(Event::DocumentStart { first: i == 0 });
        push_mapping(doc, String::new(), String::new(), &mut events)?;
        events.push(Event::DocumentEnd);
    }
    // The output is at least as long as the scalar texts; reserving that avoids regrowth.
    let text_len = events
        .iter()
        .map(|e| match e {
            Event::Scalar(s) => s.value.len() + 8,
            _ => 8,
        })
        .sum();
    let mut machine = Machine::new(indent, text_len);
    for (i, event) in events.iter().enumerate() {
        machine.emit(event, events.get(i + 1))?;
    }
    Ok(machine.finish())
}

/// sops' comment text: `#` before each comment, one per line.
fn comment_block(comments: &[&Comment]) -> String {
    let mut out = String::new();
    for (i, comment) in comments.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push('#');
        out.push_str(&comment.0);
    }
    out
}

/// `addCommentsHead`: the new comments go before a head comment the node already has.
fn prepend(outer: String, own: String) -> String {
    match (outer.is_empty(), own.is_empty()) {
        (true, _) => own,
        (false, true) => outer,
        (false, false) => format!("{outer}\n{own}"),
    }
}

/// A mapping node (`appendTreeBranch`), with a head comment from an enclosing sequence
/// (`outer_head`) and a foot comment when it is the last item of a sequence.
fn push_mapping(
    mapping: &Mapping,
    outer_head: String,
    foot: String,
    events: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let start = events.len();
    events.push(Event::MappingStart {
        head: String::new(),
    });
    let mut pending: Vec<&Comment> = Vec::new();
    let mut own_head = String::new();
    let mut seen_entry = false;
    for item in &mapping.items {
        match item {
            Item::Comment(comment) => pending.push(comment),
            Item::Entry(entry) => {
                let key_head = if seen_entry {
                    comment_block(&pending)
                } else {
                    // Comments before the first entry belong to the mapping itself.
                    own_head = comment_block(&pending);
                    String::new()
                };
                pending.clear();
                seen_entry = true;
                events.push(Event::Scalar(string_scalar(
                    entry.key.as_bytes(),
                    key_head,
                    String::new(),
                )?));
                push_value(&entry.value, String::new(), String::new(), events)?;
            }
        }
    }
    // Trailing comments: the last key's foot, which the encoder moves to the mapping end;
    // with no entries at all they are the mapping's head comment.
    let mut tail = String::new();
    if seen_entry {
        tail = comment_block(&pending);
    } else {
        own_head = comment_block(&pending);
    }
    if let Some(Event::MappingStart { head }) = events.get_mut(start) {
        *head = prepend(outer_head, own_head);
    }
    events.push(Event::MappingEnd { tail, foot });
    Ok(())
}

/// A sequence node (`appendSequence`); [`Value::Comment`] elements are its comments.
fn push_sequence(
    items: &[Value],
    outer_head: String,
    foot: String,
    events: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let start = events.len();
    events.push(Event::SequenceStart {
        head: String::new(),
    });
    // Comments after the last real item become that item's foot comment.
    let last_item = items.iter().rposition(|v| !matches!(v, Value::Comment(_)));
    let mut pending: Vec<&Comment> = Vec::new();
    let mut own_head = String::new();
    for (i, value) in items.iter().enumerate() {
        if let Value::Comment(comment) = value {
            pending.push(comment);
            continue;
        }
        let head = if own_head.is_empty() && events.len() == start + 1 {
            // Comments before the first item belong to the sequence itself.
            own_head = comment_block(&pending);
            String::new()
        } else {
            comment_block(&pending)
        };
        pending.clear();
        let item_foot = if Some(i) == last_item {
            let rest: Vec<&Comment> = items
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| match v {
                    Value::Comment(c) => Some(c),
                    _ => None,
                })
                .collect();
            comment_block(&rest)
        } else {
            String::new()
        };
        push_value(value, head, item_foot, events)?;
        if Some(i) == last_item {
            break;
        }
    }
    if last_item.is_none() {
        own_head = comment_block(&pending);
    }
    if let Some(Event::SequenceStart { head }) = events.get_mut(start) {
        *head = prepend(outer_head, own_head);
    }
    events.push(Event::SequenceEnd { foot });
    Ok(())
}

/// Any value node, with comments handed down by an enclosing sequence.
fn push_value(
    value: &Value,
    head: String,
    foot: String,
    events: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let plain = |text: String, head: String, foot: String| {
        Event::Scalar(Scalar {
            analysis: analyze(&text),
            value: text,
            tag: None,
            style: Style::Plain,
            head,
            foot,
        })
    };
    let event = match value {
        Value::Mapping(mapping) => return push_mapping(mapping, head, foot, events),
        Value::Sequence(items) => return push_sequence(items, head, foot, events),
        Value::Comment(comment) => {
            // Outside a sequence sops has no comment slot for it: go-yaml encodes the
            // `sops.Comment` struct itself, a mapping with one `value` field.
            let mut mapping = Mapping::new();
            mapping.push("value", Value::str(comment.0.clone()));
            return push_mapping(&mapping, head, foot, events);
        }
        Value::Null => plain("null".to_owned(), head, foot),
        Value::Bool(b) => plain(b.to_string(), head, foot),
        Value::Int(i) => plain(i.to_string(), head, foot),
        Value::Float(f) => plain(format_float(*f), head, foot),
        Value::Time(t) => plain(t.to_rfc3339_nano(), head, foot),
        Value::Str(bytes) => Event::Scalar(string_scalar(bytes, head, foot)?),
    };
    events.push(event);
    Ok(())
}

/// go-yaml's `floatv`: `%g` with the YAML spellings of the specials.
fn format_float(v: f64) -> String {
    match gonum::format_g(v, false).as_str() {
        "+Inf" => ".inf".to_owned(),
        "-Inf" => "-.inf".to_owned(),
        "NaN" => ".nan".to_owned(),
        other => other.to_owned(),
    }
}

/// A string scalar as it comes out of sops' `Node.Encode` round trip: the style the first
/// encoding settled on, the `!!merge` tag the parser gives a plain `<<`, and `!!binary` with
/// base64 text for bytes that are not UTF-8.
///
/// One string does not survive the round trip: a literal block whose first line starts with a
/// tab, which go-yaml's scanner rejects ("found a tab character where an indentation space is
/// expected"). sops ignores that error and keeps an empty node, which go-yaml writes as `null`,
/// unless sops has attached a comment to it, in which case encoding fails.
fn string_scalar(bytes: &[u8], head: String, foot: String) -> Result<Scalar, StoreError> {
    let (value, tag) = match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(_) => (encode_base64(bytes), Some("binary")),
    };
    let requested = match tag {
        None => requested_for_str(&value),
        Some(_) if value.contains('\n') => Style::Literal,
        Some(_) => Style::Plain,
    };
    let analysis = analyze(&value);
    let style = node_style(requested, &analysis, value.is_empty());
    if style == Style::Literal && value.starts_with('\t') {
        if !head.is_empty() || !foot.is_empty() {
            return Err(StoreError::Emit(
                "Error marshaling to yaml: yaml: cannot encode node with unknown kind 0".into(),
            ));
        }
        return Ok(Scalar {
            analysis: analyze("null"),
            value: "null".to_owned(),
            tag: None,
            style: Style::Plain,
            head,
            foot,
        });
    }
    let tag = if tag.is_none() && style == Style::Plain && value == "<<" {
        Some("merge")
    } else {
        tag
    };
    Ok(Scalar {
        value,
        tag,
        style,
        analysis,
        head,
        foot,
    })
}

/// go-yaml's `encodeBase64`: 70-column lines, each followed by a newline (the last one
/// included) once the text reaches 70 characters.
fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(LINE));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::gotime::Timestamp;
    use crate::sops::tree::Entry;

    /// Test-only tree builder pieces.
    enum B {
        E(&'static str, Value),
        C(&'static str),
    }

    fn m(items: Vec<B>) -> Mapping {
        Mapping {
            items: items
                .into_iter()
                .map(|b| match b {
                    B::E(k, v) => Item::Entry(Entry {
                        key: k.to_owned(),
                        value: v,
                    }),
                    B::C(c) => Item::Comment(Comment(c.to_owned())),
                })
                .collect(),
        }
    }

    fn mv(items: Vec<B>) -> Value {
        Value::Mapping(m(items))
    }

    fn s(text: &str) -> Value {
        Value::str(text)
    }

    fn c(text: &str) -> Value {
        Value::Comment(Comment(text.to_owned()))
    }

    fn yaml(docs: &[Mapping]) -> String {
        String::from_utf8(emit(docs, 4).expect("emit")).expect("utf8")
    }

    fn vector(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/vectors/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).expect("vector file")
    }

    use B::{C, E};

    #[test]
    fn y4_nested_collections() {
        let doc = m(vec![
            E(
                "lol",
                Value::Sequence(vec![
                    Value::Sequence(vec![s("a"), s("b")]),
                    Value::Sequence(vec![]),
                    mv(vec![]),
                    Value::Null,
                    Value::Null,
                    mv(vec![E("k1", s("v1")), E("k2", s("v2"))]),
                    Value::Sequence(vec![Value::Sequence(vec![s("deep")])]),
                ]),
            ),
            E(
                "map_in_map",
                mv(vec![E(
                    "inner",
                    mv(vec![E("innermost", mv(vec![E("x", Value::Int(1))]))]),
                )]),
            ),
        ]);
        assert_eq!(yaml(&[doc]), vector("y4.yaml.expected"));
    }

    #[test]
    fn y2_comments_and_documents() {
        let doc1 = m(vec![
            C(" head comment of doc 1"),
            C(" line comment on a"),
            E("a", Value::Int(1)),
            C(" comment before b"),
            E(
                "b",
                mv(vec![
                    C(" inside b"),
                    E("c", s("x")),
                    E(
                        "d",
                        Value::Sequence(vec![
                            c(" flow list comment"),
                            Value::Int(1),
                            Value::Int(2),
                        ]),
                    ),
                ]),
            ),
            E(
                "list",
                Value::Sequence(vec![
                    c(" before first item"),
                    c(" after p"),
                    s("p"),
                    s("q"),
                    c(" trailing list comment"),
                ]),
            ),
            E("yes_word", s("yes")),
            E("on_word", s("on")),
            E("True_word", Value::Bool(true)),
            C(" foot comment of doc 1"),
        ]);
        let doc2 = m(vec![
            C(" doc 2 head"),
            E("second", s("doc")),
            E("nested", mv(vec![E("k", s("v"))])),
        ]);
        assert_eq!(yaml(&[doc1, doc2]), vector("y2.yaml.expected"));
    }

    #[test]
    fn y1_scalars() {
        let ts = |text: &str| Value::Time(Timestamp::parse_rfc3339(text).expect("time"));
        let doc = m(vec![
            E("lit", s("line1\nline2\n")),
            E("fold", s("folded text\n")),
            E("trail", s("ends with newline\n")),
            E("nofinal", s("a\nb")),
            E("quoted_yes", s("yes")),
            E("quoted_num", s("123")),
            E("quoted_true", s("true")),
            E("quoted_null", s("null")),
            E("tilde", Value::Null),
            E("emptyval", Value::Null),
            E("emptymap", mv(vec![])),
            E("emptylist", Value::Sequence(vec![])),
            E(
                "flow",
                mv(vec![
                    E("a", Value::Int(1)),
                    E("b", Value::Sequence(vec![Value::Int(1), Value::Int(2)])),
                ]),
            ),
            E("colon", s("a: b")),
            E("hash", s("a #b")),
            E("lead", s("  spaced")),
            E("uni", s("héllo ✓ 日本")),
            E("ts", ts("2024-01-02T03:04:05Z")),
            E("date", ts("2024-01-02T00:00:00Z")),
            E("hex", Value::Int(31)),
            E("under", Value::Int(1000)),
            E("oct", Value::Int(15)),
            E("big", Value::Int(1234567890123456789)),
            E("f1", Value::Float(1.0)),
            E("f2", Value::Float(1000.0)),
            E("f3", Value::Float(f64::INFINITY)),
            E("f4", s("-.nan")),
            E("f5", Value::Float(1.5e-7)),
            E("single", s("single")),
            E("key with space", s("v")),
            E("quoted key", s("v")),
        ]);
        assert_eq!(yaml(&[doc]), vector("y1.yaml.expected"));
    }

    #[test]
    fn y3_merge_key() {
        let base = || mv(vec![E("user", s("admin")), E("port", Value::Int(5432))]);
        let doc = m(vec![
            E("base", base()),
            E("copy", base()),
            E(
                "merged",
                mv(vec![E("<<", base()), E("port", Value::Int(6543))]),
            ),
            E("scalar_anchor", s("hello")),
            E("scalar_alias", s("hello")),
        ]);
        assert_eq!(yaml(&[doc]), vector("y3.yaml.expected"));
    }

    #[test]
    fn simple_and_clear_vectors() {
        let doc = m(vec![
            C(" top comment"),
            E("name", s("Alice")),
            E("age", Value::Int(30)),
            E("pi", Value::Float("3.14".parse().expect("float"))),
            E("admin", Value::Bool(true)),
            E("empty", s("")),
            E("nothing", Value::Null),
            E(
                "list",
                Value::Sequence(vec![s("one"), Value::Int(2), mv(vec![E("nested", s("x"))])]),
            ),
            E("db_unencrypted", mv(vec![E("pass", s("clear"))])),
        ]);
        assert_eq!(yaml(&[doc]), vector("simple.yaml.expected"));

        let ts = |text: &str| Value::Time(Timestamp::parse_rfc3339(text).expect("time"));
        let inner = mv(vec![
            E("a", Value::Int(15)),
            E("b", Value::Int(15)),
            E("c", Value::Int(31)),
            E("d", Value::Int(1000)),
            E("e", Value::Int(5)),
            E("f", Value::Float(0.5)),
            E("g", Value::Float(1.0)),
            E("h", Value::Float(1000.0)),
            E("i", Value::Int(5)),
            E("j", Value::Bool(true)),
            E("k", Value::Bool(true)),
            E("l", s("yes")),
            E("m", Value::Null),
            E("n", Value::Null),
            E("o", ts("2001-12-14T21:59:43.1-05:00")),
            E("p", ts("2002-12-14T00:00:00Z")),
            E("q", s("1:20")),
            E("r", Value::Int(0)),
            E("s", Value::Float(0.0)),
            E("t", Value::Int(i64::MAX)),
            E("u", Value::Float(f64::NEG_INFINITY)),
            E("v", Value::Float(f64::NAN)),
            E("w", s("1e400")),
        ]);
        assert_eq!(
            yaml(&[m(vec![E("x_unencrypted", inner)])]),
            vector("clear.yaml.expected")
        );
    }

    #[test]
    fn ecr_comment_vector() {
        let doc = m(vec![
            E("public", s("a")),
            C(" sops:enc"),
            E("secret", s("b")),
            C(" plain comment"),
            E("another", s("c")),
            E(
                "nested",
                mv(vec![
                    C(" sops:enc"),
                    E("x", Value::Int(1)),
                    E("y", Value::Int(2)),
                ]),
            ),
        ]);
        assert_eq!(yaml(&[doc]), vector("ecr.yaml.expected"));
    }

    #[test]
    fn comments_in_nested_positions() {
        let doc = m(vec![
            C(" top"),
            E("a", Value::Int(1)),
            E("b", mv(vec![E("c", s("x")), C(" trailing in b")])),
            E(
                "d",
                Value::Sequence(vec![
                    Value::Int(1),
                    c(" between"),
                    Value::Int(2),
                    c(" trailing in d"),
                ]),
            ),
            E(
                "e",
                Value::Sequence(vec![
                    mv(vec![
                        E("k", s("v")),
                        C(" inside item"),
                        E("k2", s("v2")),
                        C(" trailing in item map"),
                    ]),
                    c(" after item"),
                    s("z"),
                ]),
            ),
            E(
                "f",
                Value::Sequence(vec![Value::Sequence(vec![
                    s("x"),
                    c(" trailing inner seq"),
                ])]),
            ),
            E("g", Value::Int(1)),
            C(" foot"),
        ]);
        let want = "# top\na: 1\nb:\n    c: x\n    # trailing in b\nd:\n    - 1\n    # between\n    - 2\n    # trailing in d\ne:\n    - k: v\n      # inside item\n      k2: v2\n      # trailing in item map\n    # after item\n    - z\nf:\n    - - x\n      # trailing inner seq\ng: 1\n# foot\n";
        assert_eq!(yaml(&[doc]), want);
    }

    #[test]
    fn pending_foot_comment_lands_after_next_value() {
        // go-yaml leaves a sequence's foot comment pending until the next value is written.
        let doc = m(vec![
            E(
                "a",
                mv(vec![C(" only comment in a"), E("x", Value::Int(1))]),
            ),
            E(
                "s",
                Value::Sequence(vec![mv(vec![E("m", Value::Int(1)), E("n", Value::Int(2))])]),
            ),
            C(" after s at top"),
            E("t", Value::Int(2)),
            E(
                "u",
                Value::Sequence(vec![
                    Value::Sequence(vec![Value::Int(1)]),
                    c(" trailing after nested seq item"),
                ]),
            ),
            E("v", Value::Int(3)),
        ]);
        let want = "a:\n    # only comment in a\n    x: 1\ns:\n    - m: 1\n      \"n\": 2\n# after s at top\nt: 2\nu:\n    - - 1\nv: 3\n# trailing after nested seq item\n";
        assert_eq!(yaml(&[doc]), want);
    }

    #[test]
    fn comments_on_empty_collections() {
        // A comment-only mapping keeps its comment inside the braces (as in sops' encrypted
        // output); a comment-only sequence's comment waits for the next key or the end.
        let doc = m(vec![E("k", mv(vec![C(" c")])), E("j", Value::Int(1))]);
        assert_eq!(yaml(&[doc]), "k: {\n    # c\n}\nj: 1\n");
        let doc = m(vec![
            E("k", Value::Sequence(vec![c(" c")])),
            E("j", Value::Int(1)),
        ]);
        assert_eq!(yaml(&[doc]), "k: []\n# c\nj: 1\n");
        let doc = m(vec![
            E("j", Value::Int(1)),
            E("k", Value::Sequence(vec![c(" c")])),
        ]);
        assert_eq!(yaml(&[doc]), "j: 1\nk: []\n# c\n");
        let doc = m(vec![E(
            "j",
            Value::Sequence(vec![Value::Int(1), c(" c"), mv(vec![]), Value::Int(2)]),
        )]);
        assert_eq!(yaml(&[doc]), "j:\n    - 1\n    # c\n    - {}\n    - 2\n");
        let doc = m(vec![E(
            "j",
            Value::Sequence(vec![Value::Int(1), c(" c"), Value::Sequence(vec![])]),
        )]);
        assert_eq!(yaml(&[doc]), "j:\n    - 1\n    # c\n    - []\n");
    }

    #[test]
    fn documents_and_empty_input() {
        assert_eq!(yaml(&[]), "");
        assert_eq!(yaml(&[Mapping::new()]), "{}\n");
        assert_eq!(
            yaml(&[
                Mapping::new(),
                m(vec![E("a", Value::Int(1))]),
                Mapping::new()
            ]),
            "{}\n---\na: 1\n---\n{}\n"
        );
    }

    #[test]
    fn tab_led_literal_is_null_or_an_error_with_comments() {
        let doc = m(vec![E("k", s("\tx\ny")), E("\tx\nz", Value::Int(2))]);
        assert_eq!(yaml(&[doc]), "k: null\nnull: 2\n");
        let doc = m(vec![
            E("a", Value::Int(1)),
            C(" c"),
            E("\tx\nz", Value::Int(3)),
        ]);
        assert!(matches!(emit(&[doc], 4), Err(StoreError::Emit(_))));
        let doc = m(vec![E("l", Value::Sequence(vec![s("\tx\ny"), c(" c")]))]);
        assert!(matches!(emit(&[doc], 4), Err(StoreError::Emit(_))));
    }

    #[test]
    fn indentation_settings() {
        let doc = m(vec![E(
            "a",
            mv(vec![E(
                "b",
                Value::Sequence(vec![
                    s("x"),
                    mv(vec![E("k", s("v")), E("l", s("m\nn"))]),
                    Value::Sequence(vec![s("y")]),
                ]),
            )]),
        )]);
        let two =
            "a:\n  b:\n    - x\n    - k: v\n      l: |-\n        m\n        n\n    - - \"y\"\n";
        let three = "a:\n   b:\n      - x\n      - k: v\n        l: |-\n         m\n         n\n      - - \"y\"\n";
        for (indent, want) in [(2, two), (1, two), (10, two), (3, three)] {
            let got = String::from_utf8(emit(std::slice::from_ref(&doc), indent).expect("emit"));
            assert_eq!(got.expect("utf8"), want, "indent {indent}");
        }
        let four = String::from_utf8(emit(std::slice::from_ref(&doc), 0).expect("emit"));
        assert!(four.expect("utf8").starts_with("a:\n    b:\n        - x\n"));
    }

    #[test]
    fn large_documents_are_linear() {
        // About 1.5 MB of output: long lines, many keys, deep-ish nesting and comments.
        let mut doc = Mapping::new();
        for i in 0..2000 {
            let mut inner = Mapping::new();
            inner.push_comment(format!(" entry {i}"));
            inner.push("text", Value::str("word ".repeat(100)));
            inner.push("multi", Value::str("line\n".repeat(50)));
            inner.push(
                "list",
                Value::Sequence(vec![Value::Int(i), Value::Float(1.5), c(" end")]),
            );
            doc.push(format!("key{i}"), Value::Mapping(inner));
        }
        doc.push("huge", Value::str("x".repeat(200_000)));
        // A quadratic path would make this hang (no timing assertion; see scripts/bench.sh).
        let out = emit(&[doc], 4).expect("emit");
        assert!(out.len() > 1_500_000);
    }

    #[test]
    fn invalid_utf8_is_binary() {
        let all: Vec<u8> = (0..=255).collect();
        let doc = m(vec![
            E("k", Value::Str(vec![0xFF])),
            E("l", Value::Str(all)),
            E("m", s("x")),
        ]);
        let want = "k: !!binary /w==\nl: !!binary |\n    AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMz\n    Q1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdo\n    aWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ\n    2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR\n    0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\nm: x\n";
        assert_eq!(yaml(&[doc]), want);
        // Below 70 base64 characters the text stays on one line; from 70 on, every line
        // (the last included) ends with a newline, which makes a clipped `|` block.
        assert!(!encode_base64(&[0u8; 51]).contains('\n'));
        assert!(encode_base64(&[0u8; 52]).ends_with('\n'));
    }
}
