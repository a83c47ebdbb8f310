//! Tests of YAML parsing, and what the comment and repair tests share: a structural dump of
//! parsed documents and the test vectors.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::*;
use crate::sops::tree::Mapping;

/// A structural dump: keys, comments (text only with `texts`), and scalar kinds.
pub(super) fn skeleton(docs: &[Document], texts: bool) -> String {
    fn value(out: &mut String, v: &Value, depth: usize, texts: bool) {
        let pad = "  ".repeat(depth);
        match v {
            Value::Mapping(m) => {
                let _ = writeln!(out, "{{");
                mapping(out, m, depth + 1, texts);
                let _ = writeln!(out, "{pad}}}");
            }
            Value::Sequence(s) => {
                let _ = writeln!(out, "[");
                for item in s {
                    let _ = write!(out, "{pad}  - ");
                    value(out, item, depth + 1, texts);
                }
                let _ = writeln!(out, "{pad}]");
            }
            Value::Comment(c) => {
                let _ = writeln!(out, "#{}", if texts { c.0.as_str() } else { "" });
            }
            Value::Str(s) if is_enc_comment(s) => {
                let _ = writeln!(out, "#");
            }
            Value::Null => {
                let _ = writeln!(out, "null");
            }
            other if texts => {
                let _ = writeln!(out, "{other:?}");
            }
            _ => {
                let _ = writeln!(out, "scalar");
            }
        }
    }
    fn mapping(out: &mut String, m: &Mapping, depth: usize, texts: bool) {
        let pad = "  ".repeat(depth);
        for item in &m.items {
            match item {
                Item::Comment(c) => {
                    let _ = writeln!(out, "{pad}#{}", if texts { c.0.as_str() } else { "" });
                }
                Item::Entry(e) => {
                    let _ = write!(out, "{pad}{}: ", e.key);
                    value(out, &e.value, depth, texts);
                }
            }
        }
    }
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        mapping(&mut out, doc, 0, texts);
    }
    out
}

fn is_enc_comment(s: &[u8]) -> bool {
    s.starts_with(b"ENC[") && s.ends_with(b",type:comment]")
}

pub(super) fn docs(text: &str) -> Vec<Document> {
    let mut docs = parse_documents(text.as_bytes()).unwrap();
    for d in &mut docs {
        take_sops(d).unwrap();
    }
    docs
}

pub(super) fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors")
}

#[test]
fn vectors_match_decrypted_structure() {
    for name in [
        "tiny", "simple", "y1", "y2", "y3", "y4", "clear", "handmade", "macmode", "ecr", "ucr",
    ] {
        let enc = std::fs::read(vectors().join(format!("{name}.yaml.sops"))).unwrap();
        let parsed = parse(&enc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed.metadata.is_some());
        let expected =
            std::fs::read_to_string(vectors().join(format!("{name}.yaml.expected"))).unwrap();
        let clear = docs(&expected);
        assert_eq!(
            skeleton(&parsed.documents, false),
            skeleton(&clear, false),
            "{name}"
        );
    }
}

/// go-yaml's raw LS in single-quoted and literal scalars (as sops writes "x\u{2028}y").
#[test]
fn ls_is_a_line_break_in_scalars() {
    let got = skeleton(
        &docs(
            "a: 'x\u{2028}    y'\nb:\n    - '\u{2028}      $HOME'\nc: |\n    x\u{2028}    y\nd: |4\n\u{2028}    z\ne:\n    - k: 1\n      items: |4+\n\u{2028}\n      s: 2\n",
        ),
        true,
    );
    let ls = "226, 128, 168";
    assert_eq!(
        got,
        format!(
            "---\na: Str([120, {ls}, 121])\nb: [\n  - Str([{ls}, 36, 72, 79, 77, 69])\n]\nc: Str([120, {ls}, 121, 10])\nd: Str([{ls}, 122, 10])\ne: [\n  - {{\n    k: Int(1)\n    items: Str([{ls}, 10])\n    s: Int(2)\n  }}\n]\n"
        )
    );
}

/// A block scalar whose last line break is an LS ends there when the next line is less
/// indented: go-yaml writes the next key or comment right after the LS (sops 3.11's exact
/// output, which reads back and prints unchanged).
#[test]
fn block_scalars_end_at_a_trailing_ls() {
    for sops in [
        "a:\n    - x\n    - |4+\n\n\u{2028}    - \"y\"\nb:\n    \"n\": |\n        p\n        q\u{2028}    m: r\n    # c\n    o: 's\u{2028}\u{2028}'\n    # d\n    z: 1\n",
        "b:\n    \"n\": |\n        p\n        q\u{2028}    # c\n    m: r\n    k:\n        - |\n          p\n          q\u{2029}        # e\n    j: |\n        t\n        u\u{2028}# f\nz: |\n    t\n    u\u{2028}",
    ] {
        let out = crate::sops::stores::yaml::emit::emit(&docs(sops), 4).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), sops);
    }
    let got = skeleton(&docs("a: |\n    x\n    y\u{2028}b: 1\n"), true);
    let ls = "226, 128, 168";
    assert_eq!(
        got,
        format!("---\na: Str([120, 10, 121, {ls}])\nb: Int(1)\n")
    );
}

fn err(text: &str) -> String {
    match parse(text.as_bytes()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted: {text}"),
    }
}

/// What sops only notices when it walks the data tree is kept for the decryption to
/// raise once the data key is recovered; elsewhere sops ignores decode errors.
#[test]
fn walk_errors_wait_for_the_walk() {
    let walk_error = |text: &str| parse(text.as_bytes()).unwrap().walk_error;
    assert!(
        walk_error("1: a\nsops: {}\n")
            .unwrap()
            .contains("non-string key (type int)")
    );
    assert!(
        walk_error("a:\n  null: a\nsops: {}\n")
            .unwrap()
            .contains("non-string key (type <nil>): %!s(<nil>)")
    );
    assert!(
        walk_error("a: 18446744073709551615\nsops: {}\n")
            .unwrap()
            .contains("unknown type: uint64")
    );
    // Inside `sops` subtrees (erased before the walk) nothing is deferred.
    assert_eq!(walk_error("sops: {1: a}\n---\nb: 1\nsops: {2: b}\n"), None);
    // A value its tag does not fit is null, as sops ignores the decode error.
    let parsed = parse(b"a: !!int abc\nb:\n  c: !!binary x\nsops: {}\n").unwrap();
    assert_eq!(parsed.walk_error, None);
    assert_eq!(parsed.documents[0].get("a"), Some(&Value::Null));
    // Metadata floats and timestamps keep their text, as go-yaml gives a string field.
    let parsed = parse(b"sops: {version: 1.0, lastmodified: 2026-11-23 11:37:29}\n").unwrap();
    let Some(Value::Mapping(meta)) = parsed.metadata else {
        panic!("no metadata")
    };
    assert_eq!(meta.get("version"), Some(&Value::str("1.0")));
    assert_eq!(
        meta.get("lastmodified"),
        Some(&Value::str("2026-11-23 11:37:29"))
    );
    // sops' erase loop skips the item after a removed `sops` key.
    let parsed = parse(b"sops: {}\n---\nsops: 1\nsops: 2\nc: 3\n").unwrap();
    let keys: Vec<&str> = parsed.documents[1]
        .entries()
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(keys, ["sops", "c"]);
}

#[test]
fn rejects_what_sops_rejects() {
    assert_eq!(err("a: 1\n"), "sops metadata not found");
    assert_eq!(err(""), "sops metadata not found");
    assert_eq!(err("sops: null\n"), "sops metadata not found");
    assert!(err("sops: {}\n---\n- a\n").contains("sequences are not supported"));
    assert!(err("sops: {}\n---\nhello\n").contains("are not supported"));
    assert!(
        err("a: 1\nsops: {}\na: 2\n")
            .contains("line 3: mapping key \"a\" already defined at line 1")
    );
    // A tag a scalar does not fit fails where sops' metadata pass decodes it: the first
    // document's top-level keys and its `sops` subtree.
    assert!(err("!!int a: 1\nsops: {}\n").contains("!!int"));
    assert!(err("sops: {version: !!int abc}\n").contains("!!int"));
    // Two `sops` keys in a later document crash sops' erase loop.
    assert!(err("sops: {}\n---\nsops: 1\nc: 2\nsops: 3\n").contains("several top-level"));
    for merge in [
        "!!merge <<: x",
        "<<: x",
        "!!merge '<<': x",
        "!!merge <<:",
        "!!merge <<:\n    - x",
        "!!merge <<:\n    - a:\n        b: 1\n    - x",
    ] {
        assert!(
            err(&format!("{merge}\nsops: {{}}\n")).contains("map merge requires map"),
            "{merge}"
        );
    }
    for merge in [
        "!!merge <<:\n    a: 1\n    <<: x",
        "<<:\n    - a: 1\n    - !!merge <<: [{b: 1}, x]",
        "a: &a\n    <<: 3\n<<: *a",
        "<<:\n    <<:\n        <<: true",
    ] {
        assert!(
            err(&format!("{merge}\nsops: {{}}\n")).contains("map merge requires map"),
            "{merge}"
        );
    }
    for fine in [
        "a:\n    !!merge <<: x\n",
        "<<:\n    a:\n        <<: x\n",
        "<<:\n    '<<': x\n",
        "a: &a\n    <<: 3\n<<: {b: *a}\n",
        "\"<<\": x\n",
        "!!merge <<: {}\n",
        "!!merge <<: []\n",
        "!!merge <<:\n    - a: 1\n",
        "sops: {}\n---\n!!merge <<: x\n",
    ] {
        assert!(
            parse(format!("{fine}sops: {{}}\n").as_bytes()).is_ok(),
            "{fine}"
        );
    }
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nsops: {}\n";
    assert!(err(laughs).contains("excessive aliasing"));
    assert!(err(&"[".repeat(5000)).contains("yaml"));
}

#[test]
fn keeps_string_keys_merge_keys_and_later_documents_without_sops() {
    let parsed = parse(b"\"1\": a\n'true': b\n!!str 2: c\nm:\n  <<: &x {k: v}\n  k2: *x\nsops:\n  version: 3.11.0\n---\n---\nnull\n").unwrap();
    assert_eq!(parsed.documents.len(), 3);
    assert!(parsed.documents[1].is_empty() && parsed.documents[2].is_empty());
    let doc = &parsed.documents[0];
    let keys: Vec<_> = doc.entries().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["1", "true", "2", "m"]);
    let Some(Value::Mapping(m)) = doc.get("m") else {
        panic!()
    };
    assert_eq!(m.get("<<"), m.get("k2"));
    assert!(matches!(parsed.metadata, Some(Value::Mapping(_))));
}

/// A megabyte of comments and sequences: a quadratic path here would make this test hang
/// (no timing assertion; scripts/bench.sh measures speed).
#[test]
fn parses_a_megabyte() {
    let mut text = String::from("sops:\n  version: 3.11.0\n");
    for i in 0..20_000 {
        let _ = writeln!(
            text,
            "# c{i}\nkey{i}:\n  - \"value {i} with some text\"\n  - {i}.5 # n"
        );
    }
    let parsed = parse(text.as_bytes()).unwrap();
    assert_eq!(parsed.documents[0].items.len(), 40_000);
}
