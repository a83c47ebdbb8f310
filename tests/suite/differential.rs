//! Differential test: random documents encrypted with the real `sops`, then decrypted by both
//! `sops decrypt` and `ksops decrypt`, which must agree byte for byte (and fail together).
//!
//! The generator is seeded and self-contained (a SplitMix64 PRNG), so a failing run replays
//! exactly: `KSOPS_DIFF_SEED=<seed printed by the run>`. `KSOPS_DIFF_COUNT` sets the number of
//! documents (default 60; CI uses more). Mismatching cases are kept under
//! `target/differential-failures/`; inputs sops refuses to encrypt are counted, skipped, and kept
//! under `target/differential-refused/` to help tune the generator.

use crate::support::{self, require_tools};

use crate::support::{RunOutput, TempDir, compare_outcome, ksops_bin, run};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// SplitMix64: tiny, fast and good enough to drive a test-input generator reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `pct`%.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    /// A random string from a list of literals.
    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    /// A random element.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Input store, from the encrypted file's extension.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Store {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Store {
    /// File extension sops maps to this store.
    fn ext(self) -> &'static str {
        match self {
            Store::Yaml => "yaml",
            Store::Json => "json",
            Store::Dotenv => "env",
            Store::Ini => "ini",
            Store::Binary => "bin",
        }
    }
}

/// The encryption rule, chosen together with key names and comments that exercise it.
#[derive(Clone, Copy, Debug)]
enum Rule {
    Default,
    UnencryptedSuffix,
    EncryptedSuffix,
    UnencryptedRegex,
    EncryptedRegex,
    UnencryptedCommentRegex,
    EncryptedCommentRegex,
}

impl Rule {
    /// The `sops --encrypt` flags for this rule. (The `encrypt` subcommand of 3.11 has no
    /// comment-regex flags, so the legacy top-level form is used throughout.)
    fn flags(self) -> Vec<&'static str> {
        match self {
            Rule::Default => vec![],
            Rule::UnencryptedSuffix => vec!["--unencrypted-suffix", "_clear"],
            Rule::EncryptedSuffix => vec!["--encrypted-suffix", "_secret"],
            Rule::UnencryptedRegex => vec!["--unencrypted-regex", "^(public|meta)"],
            Rule::EncryptedRegex => vec!["--encrypted-regex", "^(data|stringData|secret)"],
            Rule::UnencryptedCommentRegex => vec!["--unencrypted-comment-regex", "sops:noenc"],
            Rule::EncryptedCommentRegex => vec!["--encrypted-comment-regex", "sops:enc"],
        }
    }
}

/// Mapping keys; several match one of the rules above on purpose.
const KEYS: &[&str] = &[
    "name",
    "user",
    "port",
    "host",
    "items",
    "config",
    "value",
    "nested",
    "a",
    "b",
    "Z",
    "key with space",
    "dash-key",
    "dot.key",
    "under_score",
    "y",
    "n",
    "on",
    "off",
    "yes",
    "true",
    "null",
    "123",
    "1.5",
    "x: y",
    "#hash",
    " lead",
    "trail ",
    "ключ",
    "日本",
    "emoji😀",
    "data",
    "stringData",
    "secret",
    "secret_token",
    "public",
    "meta",
    "metadata",
    "pass_unencrypted",
    "host_clear",
    "token_secret",
    "<<",
    "-",
    "?q",
    "'sq'",
    "\"dq\"",
];

/// Fragments for tricky strings: quoting, YAML indicators and keywords, number- and date-like
/// text, whitespace at the edges, escapes, and Unicode incl. emoji and U+2028.
const FRAGMENTS: &[&str] = &[
    "plain",
    "with space",
    " lead",
    "trail ",
    "a: b",
    "x #y",
    "#start",
    "\"dq\"",
    "'sq'",
    "back\\slash",
    "tab\there",
    "line1\nline2",
    "\n",
    "日本語",
    "héllo",
    "😀",
    "\u{2028}",
    "\u{a0}",
    "yes",
    "No",
    "on",
    "null",
    "~",
    "true",
    "False",
    "123",
    "-7",
    "0x1F",
    "0o17",
    "017",
    "1e3",
    "1.5",
    ".inf",
    "2024-01-02",
    "2024-01-02T03:04:05Z",
    "1:20",
    "-",
    "---",
    "...",
    "<<",
    "{a}",
    "[b]",
    "*star",
    "&amp",
    "!bang",
    "%pct",
    "@at",
    "`tick`",
    "|",
    ">",
    "?",
    ",",
    "=",
    ";",
    "<b>&</b>",
    "\u{1}",
    "\r",
    "  ",
    "\u{feff}",
    "ü",
    "a=b=c",
    "$HOME",
    "${X}",
    "\\n",
];

/// A random tricky string (may be empty).
fn tricky(rng: &mut Rng) -> String {
    if rng.chance(4) {
        return String::new();
    }
    let mut s = String::new();
    for _ in 0..1 + rng.below(3) {
        s.push_str(rng.pick_str(FRAGMENTS));
    }
    s
}

/// A random key from the pool, unique within `used`.
fn key(rng: &mut Rng, used: &mut Vec<String>) -> String {
    for _ in 0..8 {
        let k = rng.pick(KEYS).to_string();
        if !used.contains(&k) {
            used.push(k.clone());
            return k;
        }
    }
    let k = format!("k{}", used.len());
    used.push(k.clone());
    k
}

/// A comment text; sometimes a marker for the comment-regex rules.
fn comment_text(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => " sops:enc".into(),
        1 => " sops:noenc".into(),
        2 => String::new(),
        _ => format!(
            " {}",
            rng.pick(&["note", "a: b", "ünïcode ✓", "#double", "TODO rotate"])
        ),
    }
}

// ------------------------------------------------------------------------------------------
// YAML
// ------------------------------------------------------------------------------------------

/// A YAML node in the generated document.
enum Node {
    /// Already-rendered scalar text (one line), or a literal block when `block` is set.
    Scalar {
        text: String,
        block: Option<String>,
    },
    Map(Vec<Item>),
    List(Vec<Item>),
}

/// A mapping entry or sequence element; `key` is `None` in sequences.
enum Item {
    Comment(String),
    Entry {
        key: Option<String>,
        node: Node,
        line_comment: Option<String>,
    },
}

/// True if `s` can be written as a plain YAML scalar without changing its characters (it may
/// still resolve to a non-string type, which is fine: it is just a different input).
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || " _.-".contains(c))
        && !s.starts_with([' ', '-'])
        && !s.ends_with(' ')
        && !s.contains("  ")
}

/// A double-quoted YAML scalar (always valid).
fn yaml_dq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a string scalar in a random but valid style.
fn yaml_string(rng: &mut Rng, s: &str) -> Node {
    let printable = s.chars().all(|c| c == '\n' || (c >= ' ' && c != '\u{7f}'))
        && !s.contains(['\u{2028}', '\u{feff}', '\u{a0}']);
    if s.contains('\n') {
        let lines_ok = !s.starts_with([' ', '\n']) && printable && !s.contains('\t');
        if lines_ok && rng.chance(60) {
            let body = s.trim_end_matches('\n');
            let trailing = s.len() - body.len();
            let chomp = match trailing {
                0 => "|-",
                1 => "|",
                _ => "|+",
            };
            return Node::Scalar {
                text: chomp.into(),
                block: Some(s.to_string()),
            };
        }
        return Node::Scalar {
            text: yaml_dq(s),
            block: None,
        };
    }
    if plain_ok(s) && rng.chance(50) {
        return Node::Scalar {
            text: s.to_string(),
            block: None,
        };
    }
    if printable && !s.contains('\t') && rng.chance(40) {
        return Node::Scalar {
            text: format!("'{}'", s.replace('\'', "''")),
            block: None,
        };
    }
    Node::Scalar {
        text: yaml_dq(s),
        block: None,
    }
}

/// A random YAML scalar of any type.
fn yaml_scalar(rng: &mut Rng) -> Node {
    let text = match rng.below(12) {
        0 => (rng.next() as i64 >> rng.below(60)).to_string(),
        1 => rng
            .pick(&["0x1F", "0o17", "017", "0b101", "1_000", "-42", "+7", "0"])
            .to_string(),
        2 => rng
            .pick(&[
                "1.5", "-0.0", "1e+300", "2.5e-300", "6.02e23", "1e6", "0.1", "3.0", "-2.75",
            ])
            .to_string(),
        3 => rng.pick(&[".inf", "-.inf", ".nan", ".Inf"]).to_string(),
        4 => rng.pick(&["true", "false", "True", "FALSE"]).to_string(),
        5 => rng.pick(&["null", "~", ""]).to_string(),
        6 => rng
            .pick(&[
                "2024-01-02",
                "2024-01-02T03:04:05Z",
                "2001-12-14t21:59:43.10-05:00",
                "2001-12-14 21:59:43.10 -5",
                "2024-02-29T23:59:59.999999999+01:00",
            ])
            .to_string(),
        _ => {
            let s = tricky(rng);
            return yaml_string(rng, &s);
        }
    };
    Node::Scalar { text, block: None }
}

/// A random node; containers get smaller with depth.
fn yaml_node(rng: &mut Rng, depth: usize) -> Node {
    match rng.below(if depth >= 3 { 1 } else { 6 }) {
        0..=2 => yaml_scalar(rng),
        3 | 4 => Node::Map(yaml_items(rng, depth + 1, true)),
        _ => Node::List(yaml_items(rng, depth + 1, false)),
    }
}

/// Entries of a mapping (`keyed`) or sequence, with comments sprinkled in.
fn yaml_items(rng: &mut Rng, depth: usize, keyed: bool) -> Vec<Item> {
    let n = if rng.chance(8) { 0 } else { 1 + rng.below(5) };
    let mut used = Vec::new();
    let mut items = Vec::new();
    for _ in 0..n {
        if rng.chance(20) {
            items.push(Item::Comment(comment_text(rng)));
        }
        let key = keyed.then(|| key(rng, &mut used));
        let node = yaml_node(rng, depth);
        let line_comment = rng.chance(10).then(|| comment_text(rng));
        items.push(Item::Entry {
            key,
            node,
            line_comment,
        });
    }
    if n > 0 && rng.chance(10) {
        items.push(Item::Comment(comment_text(rng)));
    }
    items
}

/// Renders a key: plain when safe, else double-quoted.
fn yaml_key(rng: &mut Rng, k: &str) -> String {
    // A plain `null:` or `true:` key is not a string and sops refuses it.
    let keyword = ["null", "true", "false"].contains(&k.to_lowercase().as_str());
    if plain_ok(k) && !keyword && k.starts_with(char::is_alphabetic) && rng.chance(80) {
        k.to_string()
    } else {
        yaml_dq(k)
    }
}

/// Renders mapping or sequence items at `indent` spaces.
fn yaml_render(rng: &mut Rng, items: &[Item], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Item::Comment(c) => {
                let _ = writeln!(out, "{pad}#{c}");
            }
            Item::Entry {
                key,
                node,
                line_comment,
            } => {
                let lead = match key {
                    Some(k) => format!("{pad}{}:", yaml_key(rng, k)),
                    None => format!("{pad}-"),
                };
                let lc = line_comment
                    .as_ref()
                    .map(|c| format!(" #{c}"))
                    .unwrap_or_default();
                match node {
                    Node::Scalar { text, block: None } => {
                        let sp = if text.is_empty() { "" } else { " " };
                        let _ = writeln!(out, "{lead}{sp}{text}{lc}");
                    }
                    Node::Scalar {
                        text,
                        block: Some(body),
                    } => {
                        let _ = writeln!(out, "{lead} {text}{lc}");
                        let inner = " ".repeat(indent + 2);
                        for line in body.trim_end_matches('\n').split('\n') {
                            if line.is_empty() {
                                out.push('\n');
                            } else {
                                let _ = writeln!(out, "{inner}{line}");
                            }
                        }
                        // `|+` keeps the extra trailing newlines as empty lines.
                        let extra = body.len() - body.trim_end_matches('\n').len();
                        for _ in 1..extra {
                            out.push('\n');
                        }
                    }
                    Node::Map(children) | Node::List(children) if children.is_empty() => {
                        let empty = if matches!(node, Node::Map(_)) {
                            "{}"
                        } else {
                            "[]"
                        };
                        let _ = writeln!(out, "{lead} {empty}{lc}");
                    }
                    Node::List(children) if rng.chance(15) && flow_ok(children) => {
                        let parts: Vec<&str> = children
                            .iter()
                            .filter_map(|c| match c {
                                Item::Entry {
                                    node: Node::Scalar { text, .. },
                                    ..
                                } => Some(text.as_str()),
                                _ => None,
                            })
                            .collect();
                        let _ = writeln!(out, "{lead} [{}]{lc}", parts.join(", "));
                    }
                    Node::Map(children) | Node::List(children) => {
                        let _ = writeln!(out, "{lead}{lc}");
                        // Sequences under a key may sit at the key's own indentation.
                        let same = key.is_some() && matches!(node, Node::List(_)) && rng.chance(30);
                        yaml_render(rng, children, if same { indent } else { indent + 2 }, out);
                    }
                }
            }
        }
    }
}

/// A sequence can be written in flow style if it holds only simple one-line scalars.
fn flow_ok(items: &[Item]) -> bool {
    items.iter().all(|i| match i {
        Item::Entry {
            node: Node::Scalar { text, block: None },
            line_comment: None,
            ..
        } => {
            !text.is_empty()
                && !text.contains([',', '[', ']', '{', '}', '#', '\''])
                && (text.starts_with('"') || plain_ok(text))
        }
        _ => false,
    })
}

/// A whole YAML file: one or more mapping documents, sometimes with anchors and merge keys.
fn gen_yaml(rng: &mut Rng) -> String {
    let docs = if rng.chance(15) { 2 + rng.below(2) } else { 1 };
    let mut out = String::new();
    for d in 0..docs {
        if d > 0 {
            out.push_str("---\n");
        }
        let mut items = yaml_items(rng, 0, true);
        if !items.iter().any(|i| matches!(i, Item::Entry { .. })) {
            let mut used = Vec::new();
            items.push(Item::Entry {
                key: Some(key(rng, &mut used)),
                node: yaml_scalar(rng),
                line_comment: None,
            });
        }
        if rng.chance(10) {
            out.push_str("{}\n");
            continue;
        }
        yaml_render(rng, &items, 0, &mut out);
        if rng.chance(12) {
            // Anchors are expanded and `<<` stays a literal key in sops; keys cannot clash with
            // the pool above.
            out.push_str("anchor_src: &anc\n  k1: v1\n  k2: 2\nalias_use: *anc\n");
            out.push_str("merge_use:\n  <<: *anc\n  k3: three\nsa: &s scalar\nsb: *s\n");
        }
        if rng.chance(15) {
            let _ = writeln!(out, "#{}", comment_text(rng));
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// JSON
// ------------------------------------------------------------------------------------------

/// A JSON string literal with random escaping choices (`\uXXXX`, surrogate pairs, `\/`).
fn json_string(rng: &mut Rng, s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '/' if rng.chance(50) => out.push_str("\\/"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if !c.is_ascii() && rng.chance(30) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A random JSON value.
fn json_value(rng: &mut Rng, depth: usize, out: &mut String) {
    match rng.below(if depth >= 3 { 5 } else { 8 }) {
        0 => {
            let n = match rng.below(4) {
                0 => (rng.next() as i64 >> rng.below(64)).to_string(),
                1 => rng.below(100_000).to_string(),
                2 => format!("{}", rng.next() >> 1),
                _ => rng
                    .pick(&["12345678901234567890", "-0", "9007199254740993", "1E2", "0"])
                    .to_string(),
            };
            out.push_str(&n);
        }
        1 => out.push_str(rng.pick_str(&[
            "1.5",
            "-2.25e-10",
            "1e21",
            "1E-7",
            "0.000001",
            "3.0",
            "6.02e+23",
            "1.7976931348623157e308",
            "5e-324",
            "0.1",
            "-0.0",
        ])),
        2 => out.push_str(rng.pick_str(&["true", "false", "null"])),
        3 | 4 => {
            let s = tricky(rng);
            out.push_str(&json_string(rng, &s));
        }
        5 | 6 => json_object(rng, depth + 1, out),
        _ => {
            out.push('[');
            let n = if rng.chance(15) { 0 } else { 1 + rng.below(4) };
            for i in 0..n {
                if i > 0 {
                    out.push_str(rng.pick_str(&[",", ", ", ",\n  "]));
                }
                json_value(rng, depth + 1, out);
            }
            out.push(']');
        }
    }
}

/// A JSON object, sometimes with duplicate keys (sops keeps both).
fn json_object(rng: &mut Rng, depth: usize, out: &mut String) {
    out.push('{');
    let n = if rng.chance(10) && depth > 0 {
        0
    } else {
        1 + rng.below(5)
    };
    let mut used: Vec<String> = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.push_str(rng.pick_str(&[",", ",\n", ",\n\t"]));
        }
        let k = if rng.chance(5) && !used.is_empty() {
            rng.pick(&used).clone()
        } else {
            key(rng, &mut used)
        };
        out.push_str(&json_string(rng, &k));
        out.push_str(rng.pick_str(&[":", ": ", " : "]));
        json_value(rng, depth, out);
    }
    out.push('}');
}

/// A whole JSON file (the top level must be an object).
fn gen_json(rng: &mut Rng) -> String {
    let mut out = String::new();
    json_object(rng, 0, &mut out);
    out.push('\n');
    out
}

// ------------------------------------------------------------------------------------------
// dotenv, INI, binary
// ------------------------------------------------------------------------------------------

/// A dotenv file: `KEY=value` lines (no quoting; `\n` escapes), comments and blank lines.
fn gen_dotenv(rng: &mut Rng) -> String {
    const ENV_KEYS: &[&str] = &[
        "KEY",
        "DB_USER",
        "DB_PASS",
        "PORT",
        "export EXPORTED",
        "SPACED ",
        "lower",
        "dot.key",
        "data",
        "secret_x",
        "public_url",
        "PASS_unencrypted",
        "TOKEN_secret",
        "HOST_clear",
        "ÜNÏ",
        "meta",
    ];
    let mut out = String::new();
    let mut used: Vec<String> = Vec::new();
    for _ in 0..1 + rng.below(7) {
        match rng.below(10) {
            0 => {
                let _ = writeln!(out, "#{}", comment_text(rng));
            }
            1 => out.push('\n'),
            _ => {
                let k = rng.pick(ENV_KEYS).to_string();
                if used.contains(&k) && !rng.chance(10) {
                    continue;
                }
                used.push(k.clone());
                let v = tricky(rng).replace('\n', "\\n");
                let _ = writeln!(out, "{k}={v}");
            }
        }
    }
    if used.is_empty() {
        out.push_str("FALLBACK=value\n");
    }
    out
}

/// An INI file: optional DEFAULT keys, sections (names may repeat), `;`/`#` comments.
fn gen_ini(rng: &mut Rng) -> String {
    const INI_KEYS: &[&str] = &[
        "user",
        "password",
        "port",
        "host",
        "name",
        "data",
        "secret",
        "public",
        "meta",
        "debug_unencrypted",
        "token_secret",
        "path_clear",
        "key.with.dots",
        "dash-key",
    ];
    const SECTIONS: &[&str] = &[
        "database", "server", "data", "public", "meta", "secret", "a b", "x.y",
    ];
    /// INI values stay on one line; a trailing backslash would continue the line in ini.v1.
    fn value(rng: &mut Rng) -> String {
        let v: String = tricky(rng)
            .chars()
            .filter(|c| !"\n\r\u{2028}".contains(*c))
            .collect();
        let v = v.trim_end_matches('\\').to_string();
        match rng.below(6) {
            0 => format!("\"{}\"", v.replace('"', "")),
            _ => v,
        }
    }
    let mut out = String::new();
    let emit = |rng: &mut Rng, out: &mut String| {
        let mut used = Vec::new();
        for _ in 0..1 + rng.below(4) {
            if rng.chance(15) {
                let _ = writeln!(out, "{}{}", rng.pick(&[";", "#"]), comment_text(rng));
            }
            let k = rng.pick(INI_KEYS).to_string();
            if used.contains(&k) {
                continue;
            }
            used.push(k.clone());
            let sep = rng.pick(&[" = ", "=", ": ", " =  "]);
            let v = value(rng);
            let _ = writeln!(out, "{k}{sep}{v}");
        }
    };
    if rng.chance(40) {
        emit(rng, &mut out);
        out.push('\n');
    }
    for _ in 0..1 + rng.below(3) {
        if rng.chance(20) {
            let _ = writeln!(
                out,
                "; {}",
                rng.pick(&["section note", "sops:enc", "sops:noenc"])
            );
        }
        let _ = writeln!(out, "[{}]", rng.pick(SECTIONS));
        emit(rng, &mut out);
        out.push('\n');
    }
    out
}

/// Binary content: random bytes (often invalid UTF-8), text, or nothing.
fn gen_binary(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => Vec::new(),
        1 => tricky(rng).into_bytes(),
        _ => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
    }
}

// ------------------------------------------------------------------------------------------
// Cases
// ------------------------------------------------------------------------------------------

/// One generated case: the plaintext plus the options sops encrypts it with.
struct Spec {
    store: Store,
    plain: Vec<u8>,
    rule: Rule,
    mac_only: bool,
    /// Key groups (3 groups, threshold 2) instead of a recipient list.
    groups: bool,
    /// Indices into the test keys: recipients (no groups) and identities given to both tools.
    recipients: Vec<usize>,
    identities: Vec<usize>,
    decrypt_args: Vec<String>,
}

/// Builds case `index` of the run deterministically from the seed.
fn gen_spec(seed: u64, index: usize) -> Spec {
    let mut rng = Rng(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let store = *rng.pick(&[
        Store::Yaml,
        Store::Yaml,
        Store::Yaml,
        Store::Yaml,
        Store::Json,
        Store::Json,
        Store::Json,
        Store::Dotenv,
        Store::Ini,
        Store::Binary,
    ]);
    let plain = match store {
        Store::Yaml => gen_yaml(&mut rng).into_bytes(),
        Store::Json => gen_json(&mut rng).into_bytes(),
        Store::Dotenv => gen_dotenv(&mut rng).into_bytes(),
        Store::Ini => gen_ini(&mut rng).into_bytes(),
        Store::Binary => gen_binary(&mut rng),
    };
    let rule = if rng.chance(45) {
        Rule::Default
    } else {
        *rng.pick(&[
            Rule::UnencryptedSuffix,
            Rule::EncryptedSuffix,
            Rule::UnencryptedRegex,
            Rule::EncryptedRegex,
            Rule::UnencryptedCommentRegex,
            Rule::EncryptedCommentRegex,
        ])
    };
    let mac_only = rng.chance(20);
    let groups = rng.chance(15);
    let mut recipients = vec![0];
    if rng.chance(30) {
        recipients.push(1 + rng.below(2));
    }
    let identities = if groups {
        // Two of the three groups usually; sometimes only one (sops must fail: 128).
        match rng.below(8) {
            0 => vec![rng.below(3)],
            1 => vec![0, 1, 2],
            _ => {
                let skip = rng.below(3);
                (0..3).filter(|i| *i != skip).collect()
            }
        }
    } else if rng.chance(4) {
        vec![3] // a key that is not a recipient
    } else {
        vec![*rng.pick(&recipients)]
    };
    let mut decrypt_args = Vec::new();
    if rng.chance(15) {
        let to = *rng.pick(&["yaml", "json", "dotenv", "ini", "binary"]);
        decrypt_args.extend(["--output-type".to_string(), to.to_string()]);
    }
    if rng.chance(5) {
        decrypt_args.push("--ignore-mac".into());
    }
    Spec {
        store,
        plain,
        rule,
        mac_only,
        groups,
        recipients,
        identities,
        decrypt_args,
    }
}

/// The outcome of one case.
enum Outcome {
    /// Both tools agreed; carries sops' exit code (0 = decrypted).
    Match(i32),
    Refused,
    /// The tools disagreed: description (no contents) and sops' exit code.
    Mismatch(String, i32),
}

/// Test keys (TEST ONLY, from the committed fixtures): a, b, c are recipients, `wrong` is not.
fn key_files() -> Vec<PathBuf> {
    let keys = support::generated_dir().join("keys");
    ["a.txt", "b.txt", "c.txt", "wrong.txt"]
        .iter()
        .map(|k| keys.join(k))
        .collect()
}

/// Encrypts, decrypts with both tools and compares. Keeps the case directory on mismatch.
fn run_case(sops: &Path, seed: u64, index: usize) -> Outcome {
    let spec = gen_spec(seed, index);
    let dir = TempDir::new("diff");
    let home = TempDir::new("diff-home");
    let keys = key_files();
    let plain_path = dir.path().join(format!("plain.{}", spec.store.ext()));
    fs::write(&plain_path, &spec.plain).expect("write plaintext");

    let mut enc = support::controlled_command(sops, home.path());
    enc.current_dir(dir.path()).arg("--encrypt");
    if spec.groups {
        let r: Vec<String> = keys[..3]
            .iter()
            .map(|k| support::age_recipient(k))
            .collect();
        let cfg = format!(
            "# TEST ONLY\ncreation_rules:\n  - shamir_threshold: 2\n    key_groups:\n\
             \x20     - age: [{}]\n      - age: [{}]\n      - age: [{}]\n",
            r[0], r[1], r[2]
        );
        fs::write(dir.path().join("groups.sops.yaml"), cfg).expect("write config");
        enc.args(["--config", "groups.sops.yaml"]);
    } else {
        let r: Vec<String> = spec
            .recipients
            .iter()
            .map(|i| support::age_recipient(&keys[*i]))
            .collect();
        enc.args(["--age", &r.join(",")]);
    }
    enc.args(spec.rule.flags());
    if spec.mac_only {
        enc.arg("--mac-only-encrypted");
    }
    enc.arg(&plain_path);
    let encrypted = run(&mut enc).expect("run sops --encrypt");
    if !encrypted.success() {
        let why = String::from_utf8_lossy(&encrypted.stderr).into_owned();
        keep(
            dir.path(),
            "differential-refused",
            seed,
            index,
            &spec,
            Some(&why),
        );
        return Outcome::Refused;
    }
    let enc_path = dir.path().join(format!("enc.{}", spec.store.ext()));
    fs::write(&enc_path, &encrypted.stdout).expect("write encrypted file");

    let identity: String = spec
        .identities
        .iter()
        .map(|i| fs::read_to_string(&keys[*i]).expect("read key"))
        .collect();
    let id_path = dir.path().join("identity.txt");
    fs::write(&id_path, identity).expect("write identity");

    let decrypt = |program: &Path| -> RunOutput {
        let home = TempDir::new("diff-home");
        let mut cmd = support::controlled_command(program, home.path());
        cmd.current_dir(dir.path())
            .env("SOPS_AGE_KEY_FILE", &id_path)
            .arg("decrypt")
            .args(&spec.decrypt_args)
            .arg(&enc_path);
        run(&mut cmd).expect("run decrypt")
    };
    let want = decrypt(sops);
    let got = decrypt(&ksops_bin());
    let expected = if want.success() {
        Ok(want.stdout.as_slice())
    } else {
        Err(want.code.unwrap_or(-1))
    };
    match compare_outcome(expected, &got) {
        Ok(()) => Outcome::Match(want.code.unwrap_or(-1)),
        Err(why) => {
            let kept = keep(
                dir.path(),
                "differential-failures",
                seed,
                index,
                &spec,
                Some(&why),
            );
            Outcome::Mismatch(
                format!(
                    "case {index} ({:?}): {why}; kept in {}",
                    spec.store,
                    kept.display()
                ),
                want.code.unwrap_or(-1),
            )
        }
    }
}

/// Copies a case directory under `target/<kind>/seed-<seed>/case-<index>/` with a note on how
/// to replay it, and returns that path.
fn keep(
    dir: &Path,
    kind: &str,
    seed: u64,
    index: usize,
    spec: &Spec,
    why: Option<&str>,
) -> PathBuf {
    let dest = support::crate_root()
        .join("target")
        .join(kind)
        .join(format!("seed-{seed}"))
        .join(format!("case-{index}"));
    let _ = fs::create_dir_all(&dest);
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = fs::copy(e.path(), dest.join(e.file_name()));
        }
    }
    let note = format!(
        "store: {:?}\nrule: {:?}\nmac_only: {}\ngroups: {}\nrecipients: {:?}\nidentities: {:?}\n\
         decrypt args: {:?}\nresult: {}\nreplay: KSOPS_DIFF_SEED={seed} (case {index})\n\
         decrypt: SOPS_AGE_KEY_FILE=identity.txt sops decrypt {} enc.{}\n",
        spec.store,
        spec.rule,
        spec.mac_only,
        spec.groups,
        spec.recipients,
        spec.identities,
        spec.decrypt_args,
        why.unwrap_or("sops refused to encrypt"),
        spec.decrypt_args.join(" "),
        spec.store.ext(),
    );
    let _ = fs::write(dest.join("CASE.txt"), note);
    dest
}

#[test]
fn ksops_matches_sops_on_random_documents() {
    let [sops] = require_tools!("sops");
    let seed = std::env::var("KSOPS_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let count: usize = std::env::var("KSOPS_DIFF_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    eprintln!("differential: seed {seed}, {count} documents (replay with KSOPS_DIFF_SEED={seed})");

    let indices: Vec<usize> = (0..count).collect();
    let outcomes = support::par_map(&indices, 2, |i| run_case(&sops, seed, *i));
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Refused))
        .count();
    let mismatches: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Mismatch(m, _) => Some(m),
            _ => None,
        })
        .collect();
    eprintln!(
        "differential: seed {seed}: {} compared, {refused} refused by sops encrypt, {} mismatches",
        count - refused,
        mismatches.len()
    );
    // How often the sops side itself fails, by exit code: a sanity check that the generator
    // exercises failure paths (wrong keys, Shamir below threshold, list-comment MAC bug) too.
    let mut codes: std::collections::BTreeMap<i32, usize> = Default::default();
    for o in &outcomes {
        if let Outcome::Match(c) | Outcome::Mismatch(_, c) = o {
            *codes.entry(*c).or_default() += 1;
        }
    }
    eprintln!("differential: sops decrypt exit codes: {codes:?}");
    assert!(
        refused * 10 <= count,
        "seed {seed}: sops refused {refused} of {count} generated inputs (see target/differential-refused)"
    );
    assert!(
        mismatches.is_empty(),
        "seed {seed}: {} of {} cases differ (replay with KSOPS_DIFF_SEED={seed}):\n  {}",
        mismatches.len(),
        count - refused,
        mismatches
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The generator itself is deterministic: the same seed gives the same documents.
#[test]
fn generator_is_reproducible() {
    for i in 0..20 {
        assert_eq!(gen_spec(42, i).plain, gen_spec(42, i).plain, "case {i}");
    }
}
