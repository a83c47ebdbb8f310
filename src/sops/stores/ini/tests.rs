//! Tests of the INI store against what sops 3.11 reads and prints.

use super::*;
use crate::sops::gotime::Timestamp;
use crate::sops::stores::{MetadataStyle, StoreError};
use crate::sops::tree::{Document, Item, Mapping, Value};

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
    let parsed =
        parse(b"[sops]\nversion = 3.11.0\nmac_only_encrypted = true\nenc = a\\nb\n[x]\nk = v\n")
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
