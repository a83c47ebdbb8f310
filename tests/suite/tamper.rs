//! The differential tamper matrix: systematic mutations of committed sops-encrypted fixtures
//! (every store, key groups, `mac_only_encrypted`, comment and key rules, output conversions,
//! `--ignore-mac`) and of the key entries of PGP, AWS KMS and Vault transit files (KMS and
//! Vault ones encrypted at test time against moto and OpenBao), each decrypted by both
//! `sops decrypt` and `ksops decrypt`.
//!
//! ksops must fail whenever sops fails (with the same exit code for 25, 51 and 128), print
//! identical bytes when both succeed, never panic, and when failing print nothing on stdout and
//! no plaintext value of the file on stderr.
//!
//! Each mutation family lists every edit it can make to a file; a deterministic, evenly spread
//! sample of at most `cap × KSOPS_TAMPER_SCALE` edits per file and family is run
//! (`KSOPS_TAMPER_SCALE=all` runs every edit; the default of 1 is the CI set). Byte-identical
//! mutants are run once. Divergent mutants are kept under `target/tamper-divergences/`.

use crate::aws_kms::{self, Moto};
use crate::support::{self, require_tools};
use crate::vault::{self, Bao};

use crate::support::{Case, RunOutput, TempDir, compare_outcome, ksops_bin};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Cases (names in `tests/fixtures/generated/`) whose files are mutated: every store, multiple
/// documents, anchors, scalar styles, key groups (including an SSH group member),
/// `mac_only_encrypted`, every encryption rule, several recipients, output conversions, a forced
/// input type, a stores config and `--ignore-mac`.
const CASES: &[&str] = &[
    "yaml-basic.yaml",
    "yaml-scalars.yaml",
    "yaml-anchors.yaml",
    "yaml-multidoc.yaml",
    "json-basic.json",
    "json-flat.json",
    "dotenv-basic.env",
    "ini-basic.ini",
    "binary-text.bin",
    "binary-raw.bin",
    "shamir-2of3.yaml",
    "shamir-2of3.json",
    "shamir-2of3.env",
    "shamir-2of3.ini",
    "shamir-2of3.bin",
    "shamir-2of3.c-and-ssh",
    "mac-only-encrypted.yaml",
    "mac-only-encrypted.json",
    "rule-encrypted-comment-regex.yaml",
    "rule-unencrypted-comment-regex.yaml",
    "rule-unencrypted-suffix.yaml",
    "rule-encrypted-suffix.yaml",
    "rule-unencrypted-regex.yaml",
    "rule-encrypted-regex.yaml",
    "rule-encrypted-regex.json",
    "rule-unencrypted-regex.env",
    "rule-encrypted-suffix.ini",
    "multi-recipient.yaml",
    "ssh-ed25519.yaml",
    "bad-mac.ignore-mac",
    "yaml-basic.to-json",
    "yaml-multidoc.to-json",
    "json-basic.to-yaml",
    "dotenv-basic.to-yaml",
    "ini-basic.to-json",
    "binary-raw.to-yaml",
    "forced-types.sops",
    "indent2.yaml",
];

/// The syntax of the file being mutated (binary files are JSON envelopes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Yaml,
    Json,
    Dotenv,
    Ini,
}

impl Syntax {
    /// The input store sops picks for a case: `--input-type`, else the file name.
    fn of(case: &Case) -> Syntax {
        let forced = case
            .args
            .iter()
            .position(|a| a == "--input-type")
            .and_then(|i| case.args.get(i + 1));
        let ext = case.file.extension().and_then(|e| e.to_str()).unwrap_or("");
        match forced.map_or(ext, String::as_str) {
            "yaml" | "yml" => Syntax::Yaml,
            "env" | "dotenv" => Syntax::Dotenv,
            "ini" => Syntax::Ini,
            _ => Syntax::Json,
        }
    }
}

/// One edit: replace `at` by `with`. `what` says where, for reports; `sops_must_fail` marks
/// edits sops itself must reject (a check on the test).
struct Edit {
    at: Range<usize>,
    with: Vec<u8>,
    what: String,
    sops_must_fail: bool,
}

impl Edit {
    fn new(at: Range<usize>, with: impl Into<Vec<u8>>, what: impl Into<String>) -> Edit {
        Edit {
            at,
            with: with.into(),
            what: what.into(),
            sops_must_fail: false,
        }
    }

    fn apply(&self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() + self.with.len());
        out.extend_from_slice(&text.as_bytes()[..self.at.start]);
        out.extend_from_slice(&self.with);
        out.extend_from_slice(&text.as_bytes()[self.at.end..]);
        out
    }
}

/// The file under mutation.
struct Subject<'a> {
    text: &'a str,
    syntax: Syntax,
    /// A valid recipient that is not in the file (from the TEST ONLY `keys/wrong.txt`).
    other_recipient: &'a str,
}

/// What an `ENC[…]` value is used for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EncRole {
    Value,
    Mac,
    Comment,
}

/// One `ENC[AES256_GCM,…]` value: its byte range and the ranges of its four fields.
#[derive(Clone)]
struct Enc {
    span: Range<usize>,
    data: Range<usize>,
    iv: Range<usize>,
    tag: Range<usize>,
    kind: Range<usize>,
    role: EncRole,
}

impl Enc {
    fn field(&self, name: &str) -> Range<usize> {
        match name {
            "data" => self.data.clone(),
            "iv" => self.iv.clone(),
            _ => self.tag.clone(),
        }
    }
}

/// Every well-formed `ENC[AES256_GCM,…]` value of the file.
fn enc_values(text: &str) -> Vec<Enc> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("ENC[AES256_GCM,data:") {
        let start = from + pos;
        let Some(len) = text[start..].find(']') else {
            break;
        };
        let end = start + len + 1;
        let value = &text[start..end];
        let locate = |a: &str, b: &str| {
            let s = value.find(a)? + a.len();
            let e = s + value[s..].find(b)?;
            Some(start + s..start + e)
        };
        let fields = (
            locate("data:", ",iv:"),
            locate(",iv:", ",tag:"),
            locate(",tag:", ",type:"),
            locate(",type:", "]"),
        );
        if let (Some(data), Some(iv), Some(tag), Some(kind)) = fields {
            let (line, _) = line_of(text, start);
            let before = text[line..start].trim_end_matches(['"', ':', '=', ' ', '\t']);
            let role = if before.ends_with("mac") {
                EncRole::Mac
            } else if &text[kind.clone()] == "comment" {
                EncRole::Comment
            } else {
                EncRole::Value
            };
            out.push(Enc {
                span: start..end,
                data,
                iv,
                tag,
                kind,
                role,
            });
        }
        from = end;
    }
    out
}

/// The range of the line containing byte `at`: (start, end including the newline).
fn line_of(text: &str, at: usize) -> (usize, usize) {
    let s = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let e = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    (s, e)
}

/// Every line as (start, end including the newline).
fn lines(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let (s, e) = line_of(text, start);
        out.push(s..e);
        start = e;
    }
    out
}

/// A different ASCII character of the same class, so base64 stays base64 and digits digits.
fn flipped(c: u8) -> u8 {
    match c {
        b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => c + 1,
        b'9' => b'0',
        b'z' => b'a',
        b'Z' => b'A',
        _ => b'A',
    }
}

/// An edit replacing the character at `at` by [`flipped`].
fn flip_edit(text: &str, at: usize, what: String) -> Edit {
    Edit::new(at..at + 1, [flipped(text.as_bytes()[at])], what)
}

/// The key of a line (its byte range), for the line's syntax: YAML `key:` (also after `- `),
/// JSON `"key":`, dotenv `[export ]KEY=`, INI `key =` and `[section]`.
fn key_of(text: &str, line: &Range<usize>, syntax: Syntax) -> Option<Range<usize>> {
    let l = &text[line.clone()];
    let body = l.trim_start_matches([' ', '\t']);
    let mut at = line.start + (l.len() - body.len());
    let body = body.trim_end_matches(['\n', '\r']);
    if body.is_empty() || body.starts_with(['#', ';']) {
        return None;
    }
    let range = match syntax {
        Syntax::Yaml => {
            let mut rest = body;
            while let Some(r) = rest.strip_prefix("- ") {
                rest = r;
                at += 2;
            }
            let end = rest
                .find(": ")
                .or_else(|| rest.ends_with(':').then(|| rest.len() - 1))?;
            let key = rest[..end].trim_matches('"');
            let skip = rest[..end].find(key)?;
            at + skip..at + skip + key.len()
        }
        Syntax::Json => {
            let rest = body.strip_prefix('"')?;
            let end = rest.find("\":")?;
            at + 1..at + 1 + end
        }
        Syntax::Dotenv => {
            let (rest, skip) = match body.strip_prefix("export ") {
                Some(r) => (r, 7),
                None => (body, 0),
            };
            let end = rest.find('=')?;
            at + skip..at + skip + rest[..end].trim_end().len()
        }
        Syntax::Ini => match body.strip_prefix('[') {
            Some(rest) => at + 1..at + 1 + rest.find(']')?,
            None => at..at + body[..body.find(['=', ':'])?].trim_end().len(),
        },
    };
    (!range.is_empty()).then_some(range)
}

/// The value of a keyed line: what follows the separator, without quotes, a JSON comma or the
/// newline.
fn value_of(text: &str, line: &Range<usize>, key: &Range<usize>) -> Option<Range<usize>> {
    let after = &text[key.end..line.end];
    let skip = after.find(|c: char| !matches!(c, '"' | ':' | '=' | ' ' | '\t'))?;
    let value = after[skip..].trim_end_matches(['\n', '\r', ',', '"', ' ']);
    let start = key.end + skip;
    (!value.is_empty()).then_some(start..start + value.len())
}

/// Keyed lines with their key range.
fn keyed_lines(s: &Subject) -> Vec<(Range<usize>, Range<usize>)> {
    lines(s.text)
        .into_iter()
        .filter_map(|l| Some((key_of(s.text, &l, s.syntax)?, l)))
        .map(|(k, l)| (l, k))
        .collect()
}

/// The text of a new clear line in the file's syntax, indented like `like`.
fn new_line(s: &Subject, like: &Range<usize>, key: &str, value: &str) -> String {
    let l = &s.text[like.clone()];
    let mut indent: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let mut rest = &l[indent.len()..];
    while let Some(r) = rest.strip_prefix("- ") {
        indent.push_str("  ");
        rest = r;
    }
    match s.syntax {
        Syntax::Yaml => format!("{indent}{key}: {value}\n"),
        Syntax::Json => format!("{indent}\"{key}\": {value},\n"),
        Syntax::Dotenv => format!("{key}={value}\n"),
        Syntax::Ini => format!("{key} = {value}\n"),
    }
}

/// The metadata line holding `name` (YAML/JSON/INI `name`, dotenv `sops_name`).
fn meta_line(s: &Subject, name: &str) -> Option<(Range<usize>, Range<usize>)> {
    let wanted = match s.syntax {
        Syntax::Dotenv => format!("sops_{name}"),
        _ => name.to_owned(),
    };
    keyed_lines(s)
        .into_iter()
        .find(|(_, k)| s.text[k.clone()] == *wanted)
}

/// An edit inserting a metadata entry `name: value` (in the file's syntax) at the top of the
/// metadata.
fn insert_meta(s: &Subject, name: &str, value: &str, what: String) -> Option<Edit> {
    let (line, _) = meta_line(s, "lastmodified")?;
    let text = match s.syntax {
        Syntax::Dotenv => format!("sops_{name}={value}\n"),
        _ => new_line(s, &line, name, value),
    };
    Some(Edit::new(line.start..line.start, text, what))
}

// ---------------------------------------------------------------------------------------------
// Mutation families
// ---------------------------------------------------------------------------------------------

/// A family: its name, how many of its edits run per file at scale 1, and the edits.
struct Family {
    name: &'static str,
    cap: usize,
    edits: fn(&Subject) -> Vec<Edit>,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "data-bits",
        cap: 6,
        edits: |s| bit_flips(s, "data"),
    },
    Family {
        name: "iv-bits",
        cap: 4,
        edits: |s| bit_flips(s, "iv"),
    },
    Family {
        name: "tag-bits",
        cap: 4,
        edits: |s| bit_flips(s, "tag"),
    },
    Family {
        name: "base64",
        cap: 7,
        edits: base64_edits,
    },
    Family {
        name: "enc-syntax",
        cap: 5,
        edits: enc_syntax_edits,
    },
    Family {
        name: "type",
        cap: 6,
        edits: type_edits,
    },
    Family {
        name: "lastmodified",
        cap: 8,
        edits: lastmodified_edits,
    },
    Family {
        name: "mac",
        cap: 5,
        edits: mac_edits,
    },
    Family {
        name: "metadata",
        cap: 5,
        edits: metadata_edits,
    },
    Family {
        name: "recipient",
        cap: 6,
        edits: recipient_edits,
    },
    Family {
        name: "key-rename",
        cap: 6,
        edits: key_renames,
    },
    Family {
        name: "clear-value",
        cap: 4,
        edits: clear_value_edits,
    },
    Family {
        name: "move-value",
        cap: 4,
        edits: move_value_edits,
    },
    Family {
        name: "add-line",
        cap: 3,
        edits: add_line_edits,
    },
    Family {
        name: "documents",
        cap: usize::MAX,
        edits: document_edits,
    },
    Family {
        name: "delete-line",
        cap: 8,
        edits: |s| {
            lines(s.text)
                .into_iter()
                .enumerate()
                .map(|(n, l)| Edit::new(l, "", format!("line {}", n + 1)))
                .collect()
        },
    },
    Family {
        name: "duplicate-line",
        cap: 6,
        edits: |s| {
            lines(s.text)
                .into_iter()
                .enumerate()
                .map(|(n, l)| {
                    let copy = s.text[l.clone()].to_owned();
                    let copy = if copy.ends_with('\n') {
                        copy
                    } else {
                        format!("\n{copy}")
                    };
                    Edit::new(l.end..l.end, copy, format!("line {}", n + 1))
                })
                .collect()
        },
    },
    Family {
        name: "truncate",
        cap: 6,
        edits: |s| {
            (0..s.text.len())
                .map(|at| Edit::new(at..s.text.len(), "", format!("at byte {at}")))
                .collect()
        },
    },
];

/// Families over the PGP key entries of PGP-encrypted files. Not part of [`FAMILIES`]: the
/// generated cases are age-only.
const PGP_FAMILIES: &[Family] = &[
    Family {
        name: "pgp-entry",
        cap: usize::MAX,
        edits: |s| key_entry_edits(s, "pgp"),
    },
    Family {
        name: "pgp-armor",
        cap: usize::MAX,
        edits: |s| armor_edits(s, PGP_BEGIN, PGP_END),
    },
];

/// Families over the AWS KMS key entries of files encrypted at test time against moto.
const KMS_FAMILIES: &[Family] = &[Family {
    name: "kms-entry",
    cap: usize::MAX,
    edits: |s| key_entry_edits(s, "kms"),
}];

/// Families over the Vault transit key entries of files encrypted at test time against OpenBao.
const VAULT_FAMILIES: &[Family] = &[Family {
    name: "vault-entry",
    cap: usize::MAX,
    edits: |s| key_entry_edits(s, "hc_vault"),
}];

/// Every bit position of a decoded base64 field of every `ENC` value: flips bit `i % 8` of byte
/// `i` and re-encodes. sops must reject these for data values; a comment that does not decrypt
/// is kept as it is, and the MAC is not checked with `--ignore-mac`.
fn bit_flips(s: &Subject, field: &'static str) -> Vec<Edit> {
    let mut out = Vec::new();
    for (n, e) in enc_values(s.text).iter().enumerate() {
        let range = e.field(field);
        let Ok(bytes) = BASE64.decode(&s.text[range.clone()]) else {
            continue;
        };
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << (i % 8);
            let mut edit = Edit::new(
                range.clone(),
                BASE64.encode(&flipped),
                format!("ENC #{n} {field} byte {i}"),
            );
            edit.sops_must_fail = e.role == EncRole::Value;
            out.push(edit);
        }
    }
    out
}

/// Raw edits of the base64 text: non-zero trailing bits (Go ignores them), missing, extra or
/// misplaced padding, characters outside the alphabet, an empty field, and (JSON) escapes that
/// decode to the same text or to a carriage return (which Go's base64 skips).
fn base64_edits(s: &Subject) -> Vec<Edit> {
    let mut out = Vec::new();
    for (n, e) in enc_values(s.text).iter().enumerate() {
        for field in ["data", "iv", "tag"] {
            let r = e.field(field);
            let b64 = &s.text[r.clone()];
            let what = |how: &str| format!("ENC #{n} {field}: {how}");
            let pad = b64.len() - b64.trim_end_matches('=').len();
            if pad > 0 {
                let last = r.end - pad - 1;
                let c = s.text.as_bytes()[last];
                let index = base64::alphabet::STANDARD
                    .as_str()
                    .bytes()
                    .position(|a| a == c)
                    .unwrap_or(0);
                let alphabet = base64::alphabet::STANDARD.as_str().as_bytes();
                out.push(Edit::new(
                    last..last + 1,
                    [alphabet[index ^ 1]],
                    what("non-zero trailing bits"),
                ));
                out.push(Edit::new(r.end - 1..r.end, "", what("one `=` less")));
            }
            let mid = r.start + b64.len() / 2;
            out.push(Edit::new(r.end..r.end, "=", what("extra `=`")));
            out.push(Edit::new(r.end..r.end, "====", what("four extra `=`")));
            out.push(Edit::new(mid..mid, "=", what("`=` inside")));
            out.push(Edit::new(mid..mid, " ", what("space inside")));
            out.push(Edit::new(mid..mid + 1, "-", what("URL alphabet `-`")));
            out.push(Edit::new(mid..mid + 1, "*", what("`*`")));
            out.push(Edit::new(mid..mid, "AAAA", what("four more characters")));
            out.push(Edit::new(mid..mid, "A", what("one more character")));
            out.push(Edit::new(r.clone(), "", what("empty")));
            if s.syntax == Syntax::Json {
                out.push(Edit::new(mid..mid, "\\r", what("JSON `\\r` escape")));
                out.push(Edit::new(mid..mid, "\\n", what("JSON `\\n` escape")));
                let c = s.text.as_bytes()[mid];
                let escaped = format!("\\u{:04x}", c);
                out.push(Edit::new(mid..mid + 1, escaped, what("JSON `\\u` escape")));
                if let Some(slash) = b64.find('/') {
                    let at = r.start + slash;
                    out.push(Edit::new(at..at + 1, "\\/", what("JSON `\\/` escape")));
                }
            }
        }
    }
    out
}

/// Edits of the `ENC[…]` frame: text after the closing bracket, a missing bracket, extra or
/// reordered fields, a different cipher name, case changes, and (YAML) quoting.
fn enc_syntax_edits(s: &Subject) -> Vec<Edit> {
    let mut out = Vec::new();
    for (n, e) in enc_values(s.text).iter().enumerate() {
        let what = |how: &str| format!("ENC #{n}: {how}");
        let end = e.span.end;
        out.push(Edit::new(end..end, "x", what("text after `]`")));
        out.push(Edit::new(end..end, "]", what("second `]`")));
        out.push(Edit::new(end - 1..end, "", what("no `]`")));
        out.push(Edit::new(
            e.kind.end..e.kind.end,
            ",extra:1",
            what("extra field"),
        ));
        out.push(Edit::new(
            e.iv.start - 4..e.tag.end,
            format!(
                ",tag:{},iv:{}",
                &s.text[e.tag.clone()],
                &s.text[e.iv.clone()]
            ),
            what("iv and tag swapped"),
        ));
        out.push(Edit::new(
            e.span.start..e.span.start + 14,
            "ENC[AES128_GCM",
            what("cipher name"),
        ));
        out.push(Edit::new(
            e.span.start..e.span.start + 3,
            "enc",
            what("lower-case ENC"),
        ));
        out.push(Edit::new(
            e.span.start..e.span.start,
            " ",
            what("leading space"),
        ));
        if s.syntax == Syntax::Yaml && e.role != EncRole::Comment {
            let value = &s.text[e.span.clone()];
            out.push(Edit::new(
                e.span.clone(),
                format!("'{value}'"),
                what("single-quoted"),
            ));
            out.push(Edit::new(
                e.span.clone(),
                format!("\"{value}\""),
                what("double-quoted"),
            ));
            for tag in ["!!binary", "!!str", "!!int"] {
                out.push(Edit::new(
                    e.span.clone(),
                    format!("{tag} {value}"),
                    what(&format!("{tag} tag")),
                ));
            }
        }
    }
    out
}

/// Every value's `type:` changed to every other type sops knows, and to unknown ones.
fn type_edits(s: &Subject) -> Vec<Edit> {
    const TYPES: &[&str] = &[
        "str", "int", "float", "bool", "time", "bytes", "comment", "", "STR", "binary",
    ];
    let mut out = Vec::new();
    for (n, e) in enc_values(s.text).iter().enumerate() {
        let current = &s.text[e.kind.clone()];
        for t in TYPES.iter().filter(|t| **t != current) {
            out.push(Edit::new(
                e.kind.clone(),
                *t,
                format!("ENC #{n} type {current} -> {t:?}"),
            ));
        }
    }
    out
}

/// `lastmodified` rewritten (see [`timestamp_edits`]).
fn lastmodified_edits(s: &Subject) -> Vec<Edit> {
    meta_line(s, "lastmodified")
        .map(|(line, key)| timestamp_edits(s, &line, &key))
        .unwrap_or_default()
}

/// A timestamp entry (`lastmodified`, a key's `created_at`) rewritten: the same instant in
/// other notations (offsets, fractions), other instants, invalid and out-of-range timestamps,
/// a different YAML type, or no entry at all.
fn timestamp_edits(s: &Subject, line: &Range<usize>, key: &Range<usize>) -> Vec<Edit> {
    let Some(value) = value_of(s.text, line, key) else {
        return Vec::new();
    };
    let ts = &s.text[value.clone()];
    let (date, time) = ts.split_once('T').unwrap_or((ts, ""));
    let clock = time.trim_end_matches('Z');
    let hour: u32 = clock.get(..2).and_then(|h| h.parse().ok()).unwrap_or(0);
    let shifted = format!(
        "{date}T{:02}{}+01:00",
        (hour + 1) % 24,
        clock.get(2..).unwrap_or("")
    );
    let mut variants = vec![
        format!("{date}T{clock}+00:00"),
        format!("{date}T{clock}-00:00"),
        shifted,
        format!("{date}T{clock}.0Z"),
        format!("{date}T{clock}.000000001Z"),
        format!("{date}T{clock}.5Z"),
        format!("{date}t{clock}z"),
        format!("{date} {clock}Z"),
        format!("{date}T{clock}"),
        format!("{date}T{}Z", clock.get(..5).unwrap_or(clock)),
        format!("{date}T{}Z", clock.get(1..).unwrap_or(clock)),
        format!("{date}T24:00:00Z"),
        format!("{date}T23:59:60Z"),
        format!("{date}T{clock}+24:00"),
        format!("{date}T{clock}+23:59"),
        format!("1{date}T{clock}Z"),
        date.to_owned(),
        format!("{ts} "),
        format!(" {ts}"),
        String::new(),
        "0".to_owned(),
    ];
    variants.retain(|v| v != ts);
    let mut out: Vec<Edit> = variants
        .into_iter()
        .map(|v| Edit::new(value.clone(), v.clone(), format!("{v:?}")))
        .collect();
    out.push(Edit::new(line.clone(), "", "entry removed"));
    if s.syntax == Syntax::Yaml {
        // Unquoted, YAML reads a timestamp rather than a string.
        let (q0, q1) = (value.start - 1, value.end + 1);
        if s.text.as_bytes()[q0] == b'"' {
            out.push(Edit::new(q0..q1, ts, "unquoted"));
            out.push(Edit::new(
                q0..q1,
                format!("{date} {clock}"),
                "unquoted, space",
            ));
            out.push(Edit::new(q0..q1, date, "unquoted date"));
            out.push(Edit::new(q0..q1, "[]", "a sequence"));
        }
    }
    if s.syntax == Syntax::Json {
        out.push(Edit::new(
            value.start - 1..value.end + 1,
            "null",
            "JSON null",
        ));
        out.push(Edit::new(
            value.start - 1..value.end + 1,
            "1",
            "JSON number",
        ));
    }
    out
}

/// The MAC removed, emptied, in clear, swapped with a value's ciphertext, or with its type
/// changed; `--ignore-mac` cases show these must not matter there.
fn mac_edits(s: &Subject) -> Vec<Edit> {
    let encs = enc_values(s.text);
    let Some(mac) = encs.iter().find(|e| e.role == EncRole::Mac) else {
        return Vec::new();
    };
    let (line_start, line_end) = line_of(s.text, mac.span.start);
    let mut out = vec![
        Edit::new(line_start..line_end, "", "entry removed"),
        Edit::new(mac.span.clone(), "", "empty"),
        Edit::new(mac.span.clone(), "0123456789ABCDEF", "clear text"),
        Edit::new(mac.kind.clone(), "int", "type int"),
        Edit::new(mac.data.clone(), "", "no data"),
        Edit::new(
            mac.data.clone(),
            BASE64.encode([0u8; 128]),
            "zero ciphertext",
        ),
    ];
    if let Some(value) = encs.iter().find(|e| e.role == EncRole::Value) {
        out.push(Edit::new(
            mac.span.clone(),
            s.text[value.span.clone()].to_owned(),
            "a value's ciphertext",
        ));
    }
    if s.syntax == Syntax::Yaml {
        out.push(Edit::new(mac.span.clone(), "null", "YAML null"));
    }
    out
}

/// Metadata values changed (version, rules, `shamir_threshold`, `mac_only_encrypted`) and
/// metadata entries added (a second rule, `mac_only_encrypted`, an unknown key).
fn metadata_edits(s: &Subject) -> Vec<Edit> {
    let replacements: &[(&str, &[&str])] = &[
        ("version", &["3.0.0", "2.0.0", "1.0", "", "99.0.0", "abc"]),
        ("shamir_threshold", &["0", "1", "3", "5", "-1", "x"]),
        ("mac_only_encrypted", &["false", "no", "1"]),
        ("unencrypted_suffix", &["", "_x", "e"]),
        ("encrypted_suffix", &["", "_x", "a"]),
        ("unencrypted_regex", &["", "^$", "("]),
        ("encrypted_regex", &["", ".", "^$", "("]),
        ("encrypted_comment_regex", &["", ".", "("]),
        ("unencrypted_comment_regex", &["", ".", "("]),
    ];
    let mut out = Vec::new();
    for (name, values) in replacements {
        let Some((line, key)) = meta_line(s, name) else {
            continue;
        };
        let value = value_of(s.text, &line, &key).unwrap_or(key.end..key.end);
        for v in *values {
            out.push(Edit::new(value.clone(), *v, format!("{name} = {v:?}")));
        }
    }
    let quoted = |v: &str| match s.syntax {
        Syntax::Json => format!("\"{v}\""),
        _ => v.to_owned(),
    };
    let additions = [
        ("mac_only_encrypted", "true".to_owned()),
        ("encrypted_regex", quoted("^$")),
        ("unencrypted_suffix", quoted("_unencrypted")),
        ("encrypted_suffix", quoted("_unencrypted")),
        ("unknown_field", quoted("x")),
        ("kms", "[]".to_owned()),
    ];
    for (name, value) in additions {
        if let Some(edit) = insert_meta(s, name, &value, format!("added {name}")) {
            out.push(edit);
        }
    }
    out
}

/// Age key edits: every `recipient` changed, emptied or replaced by another valid recipient, and
/// every line of every armored `enc` blob flipped, removed, duplicated, shortened or padded, plus
/// broken armor markers.
fn recipient_edits(s: &Subject) -> Vec<Edit> {
    let mut out = Vec::new();
    for (line, key) in keyed_lines(s) {
        if !s.text[key.clone()].ends_with("recipient") {
            continue;
        }
        let Some(value) = value_of(s.text, &line, &key) else {
            continue;
        };
        let what = |how: &str| format!("recipient at byte {}: {how}", value.start);
        let mid = value.start + value.len() / 2;
        out.push(flip_edit(s.text, mid, what("flipped")));
        out.push(Edit::new(value.clone(), "", what("empty")));
        out.push(Edit::new(
            value.clone(),
            s.other_recipient,
            what("another recipient"),
        ));
    }
    out.extend(armor_edits(
        s,
        "-----BEGIN AGE ENCRYPTED FILE-----",
        "-----END AGE ENCRYPTED FILE-----",
    ));
    out
}

/// Every line of every armored block between `begin` and `end` (real lines in a YAML block,
/// `\n` escapes in flat stores) flipped, removed, duplicated, shortened or padded, plus a
/// lower-case header and a missing footer.
fn armor_edits(s: &Subject, begin_marker: &str, end_marker: &str) -> Vec<Edit> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = s.text[from..].find(begin_marker) {
        let begin = from + pos;
        let Some(len) = s.text[begin..].find(end_marker) else {
            break;
        };
        let end = begin + len;
        from = end;
        let what = |how: String| format!("armor at byte {begin}: {how}");
        out.push(Edit::new(
            begin..begin + begin_marker.len(),
            begin_marker.to_lowercase(),
            what("lower-case header".into()),
        ));
        out.push(Edit::new(
            end..end + end_marker.len(),
            "",
            what("no footer".into()),
        ));
        // Body lines, separated by real newlines (YAML block) or by `\n` escapes (flat stores).
        let region = begin + begin_marker.len()..end;
        let sep = if s.text[region.clone()].contains("\\n") {
            "\\n"
        } else {
            "\n"
        };
        let mut pieces = Vec::new();
        let mut at = region.start;
        for piece in s.text[region.clone()].split(sep) {
            let content = piece.trim_matches([' ', '\t']);
            if !content.is_empty() {
                let start = at + piece.find(content).unwrap_or(0);
                pieces.push((
                    start..start + content.len(),
                    at..at + piece.len() + sep.len(),
                ));
            }
            at += piece.len() + sep.len();
        }
        for (n, (content, whole)) in pieces.iter().enumerate() {
            let mid = content.start + content.len() / 2;
            out.push(flip_edit(s.text, mid, what(format!("line {n} flipped"))));
            out.push(Edit::new(
                whole.clone(),
                "",
                what(format!("line {n} removed")),
            ));
            out.push(Edit::new(
                whole.start..whole.start,
                s.text[whole.clone()].to_owned(),
                what(format!("line {n} duplicated")),
            ));
            out.push(Edit::new(
                content.end - 1..content.end,
                "",
                what(format!("line {n} one character short")),
            ));
            out.push(Edit::new(
                content.end..content.end,
                " ",
                what(format!("line {n} trailing space")),
            ));
        }
    }
    out
}

const PGP_BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
const PGP_END: &str = "-----END PGP MESSAGE-----";

/// The indentation of a line.
fn indent_of(text: &str, line: &Range<usize>) -> usize {
    let l = &text[line.clone()];
    l.len() - l.trim_start_matches([' ', '\t']).len()
}

/// The entries of the metadata key list `kind` (`pgp`, `gcp_kms`, …), each as the range of its
/// lines: YAML items under `kind:` (block lines and blank lines included), or the dotenv
/// `sops_{kind}__list_N__map_*` lines of each `N`.
fn key_entries(s: &Subject, kind: &str) -> Vec<Range<usize>> {
    let all = lines(s.text);
    let mut entries: Vec<Range<usize>> = Vec::new();
    if s.syntax == Syntax::Dotenv {
        let prefix = format!("sops_{kind}__list_");
        let mut last_index = None;
        for line in all {
            let Some(rest) = s.text[line.clone()].strip_prefix(prefix.as_str()) else {
                continue;
            };
            let index = rest.split("__").next().map(str::to_owned);
            match entries.last_mut() {
                Some(entry) if index == last_index && entry.end == line.start => {
                    entry.end = line.end;
                }
                _ => entries.push(line),
            }
            last_index = index;
        }
        return entries;
    }
    let head = format!("{kind}:");
    let Some(at) = all
        .iter()
        .position(|l| s.text[l.clone()].trim_start().starts_with(&head))
    else {
        return entries;
    };
    let base = indent_of(s.text, &all[at]);
    let mut item_indent = None;
    for line in &all[at + 1..] {
        let body = s.text[line.clone()].trim_start_matches([' ', '\t']);
        if body.trim_end().is_empty() {
            if let Some(entry) = entries.last_mut() {
                entry.end = line.end;
            }
            continue;
        }
        let indent = indent_of(s.text, line);
        if indent <= base {
            break;
        }
        if body.starts_with("- ") && item_indent.is_none_or(|i| i == indent) {
            item_indent = Some(indent);
            entries.push(line.clone());
        } else if let Some(entry) = entries.last_mut() {
            entry.end = line.end;
        }
    }
    entries
}

/// Whether a key names the entry field `field` (YAML `field`, dotenv `…__map_field`).
fn is_field(s: &Subject, key: &Range<usize>, field: &str) -> bool {
    let name = &s.text[key.clone()];
    name == field || name.ends_with(&format!("__map_{field}"))
}

/// Edits of the entries of the key list `kind` (`pgp`, `kms`, `hc_vault`, …): each entry removed
/// or duplicated; every field value with one character changed or emptied, and every empty
/// value set; each field removed (renamed, for the field that opens a YAML item); every
/// `created_at` rewritten as [`timestamp_edits`] rewrites `lastmodified`; every `fp` changed
/// (lower-case, empty, a short key id, spaced, another fingerprint); and (YAML) the list emptied,
/// removed, or with all its entries listed twice.
fn key_entry_edits(s: &Subject, kind: &str) -> Vec<Edit> {
    let entries = key_entries(s, kind);
    let mut out = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        let what = |how: &str| format!("{kind} entry {n}: {how}");
        let mut removed = Edit::new(entry.clone(), "", what("removed"));
        removed.sops_must_fail = entries.len() == 1 && !s.text.contains("recipient");
        out.push(removed);
        let copy = match s.syntax {
            Syntax::Dotenv => s.text[entry.clone()].replace(
                &format!("__list_{n}__"),
                &format!("__list_{}__", entries.len()),
            ),
            _ => s.text[entry.clone()].to_owned(),
        };
        out.push(Edit::new(entry.end..entry.end, copy, what("duplicated")));
        let fields: Vec<(Range<usize>, Range<usize>)> = keyed_lines(s)
            .into_iter()
            .filter(|(line, _)| entry.start <= line.start && line.end <= entry.end)
            .collect();
        for (line, key) in &fields {
            let name = s.text[key.clone()].to_owned();
            out.extend(field_value_edits(s, line, key, &what(&name)));
            let opens_item = s.text[line.start..key.start].trim_start().starts_with('-');
            if opens_item {
                out.push(Edit::new(
                    key.clone(),
                    "unknown_field",
                    what(&format!("{name} renamed")),
                ));
            } else {
                // The field's line and, in YAML, the block lines below it.
                let column = key.start - line.start;
                let end = lines(s.text)
                    .into_iter()
                    .filter(|l| l.start >= line.end && l.end <= entry.end)
                    .take_while(|l| {
                        s.syntax == Syntax::Yaml
                            && (s.text[l.clone()].trim().is_empty()
                                || indent_of(s.text, l) > column)
                    })
                    .last()
                    .map_or(line.end, |l| l.end);
                out.push(Edit::new(
                    line.start..end,
                    "",
                    what(&format!("{name} removed")),
                ));
            }
            if is_field(s, key, "created_at") {
                for mut edit in timestamp_edits(s, line, key) {
                    edit.what = what(&format!("created_at {}", edit.what));
                    out.push(edit);
                }
                if let Some(value) = value_of(s.text, line, key) {
                    let mut bad = Edit::new(value, "not a time", what("created_at not a time"));
                    bad.sops_must_fail = true;
                    out.push(bad);
                }
            }
            if is_field(s, key, "fp")
                && let Some(value) = value_of(s.text, line, key)
            {
                let fp = &s.text[value.clone()];
                let spaced: Vec<&str> = (0..fp.len())
                    .step_by(4)
                    .filter_map(|i| fp.get(i..(i + 4).min(fp.len())))
                    .collect();
                let variants = [
                    ("lower-case", fp.to_lowercase()),
                    ("empty", String::new()),
                    ("short key id", fp[fp.len().saturating_sub(16)..].to_owned()),
                    ("spaced", spaced.join(" ")),
                    ("another fingerprint", fp.chars().rev().collect()),
                ];
                for (how, v) in variants {
                    if v != fp {
                        out.push(Edit::new(value.clone(), v, what(&format!("fp {how}"))));
                    }
                }
            }
        }
    }
    if s.syntax == Syntax::Yaml
        && let (Some(first), Some(last)) = (entries.first(), entries.last())
    {
        let (head_start, head_end) = line_of(s.text, first.start.saturating_sub(1));
        let indent = &s.text[head_start..head_start + indent_of(s.text, &(head_start..head_end))];
        out.push(Edit::new(
            head_start..last.end,
            format!("{indent}{kind}: []\n"),
            format!("{kind}: []"),
        ));
        out.push(Edit::new(
            head_start..last.end,
            "",
            format!("{kind} removed"),
        ));
        out.push(Edit::new(
            last.end..last.end,
            &s.text[first.start..last.end],
            format!("{kind} entries listed twice"),
        ));
    }
    out
}

/// A key entry field's value with its middle character changed, or emptied (`""` in YAML);
/// an empty value set to `TEST-ONLY`. YAML block scalars (`|`) are left to [`armor_edits`].
fn field_value_edits(
    s: &Subject,
    line: &Range<usize>,
    key: &Range<usize>,
    field: &str,
) -> Vec<Edit> {
    let Some(value) = value_of(s.text, line, key) else {
        let after = &s.text[key.end..line.end];
        let empty = match s.syntax {
            Syntax::Dotenv => after.find('=').map(|at| at + 1),
            _ => after.find("\"\"").map(|at| at + 1),
        };
        return empty
            .map(|at| {
                let at = key.end + at;
                Edit::new(at..at, "TEST-ONLY", format!("{field} set"))
            })
            .into_iter()
            .collect();
    };
    if matches!(&s.text[value.clone()], "|" | "|-" | ">") {
        return Vec::new();
    }
    let quoted = s.text.as_bytes()[value.start - 1] == b'"';
    let empty = if s.syntax == Syntax::Yaml && !quoted {
        "\"\""
    } else {
        ""
    };
    vec![
        flip_edit(
            s.text,
            value.start + value.len() / 2,
            format!("{field} changed"),
        ),
        Edit::new(value, empty, format!("{field} emptied")),
    ]
}

/// Every key renamed: its last character changed, and its first letter upper-cased (Go's JSON
/// decoder matches metadata field names case-insensitively).
fn key_renames(s: &Subject) -> Vec<Edit> {
    let mut out = Vec::new();
    for (line, key) in keyed_lines(s) {
        let name = &s.text[key.clone()];
        let n = s.text[..line.start].matches('\n').count() + 1;
        out.push(flip_edit(
            s.text,
            key.end - 1,
            format!("line {n} `{name}`: last character"),
        ));
        if s.syntax == Syntax::Yaml {
            // A key that is not a string fails sops' walk; a quoted one is the same key.
            out.push(Edit::new(
                key.clone(),
                "1",
                format!("line {n} `{name}`: integer key"),
            ));
            out.push(Edit::new(
                key.clone(),
                format!("'{name}'"),
                format!("line {n} `{name}`: quoted"),
            ));
        }
        let first = s.text.as_bytes()[key.start];
        if first.is_ascii_lowercase() {
            out.push(Edit::new(
                key.start..key.start + 1,
                [first.to_ascii_uppercase()],
                format!("line {n} `{name}`: capitalised"),
            ));
        }
    }
    out
}

/// Every clear value (not `ENC[…]`) changed in its last character: values kept clear by a rule
/// and metadata values alike.
fn clear_value_edits(s: &Subject) -> Vec<Edit> {
    keyed_lines(s)
        .into_iter()
        .filter_map(|(line, key)| {
            let value = value_of(s.text, &line, &key)?;
            let text = &s.text[value.clone()];
            if text.contains("ENC[") || text.starts_with("-----BEGIN") {
                return None;
            }
            let last = value.start + text.rfind(|c: char| c.is_ascii_alphanumeric())?;
            Some(flip_edit(s.text, last, format!("`{}` value", &s.text[key])))
        })
        .collect()
}

/// Ciphertext moved between keys: each value copied over the next keyed value, and each pair
/// of neighbouring values swapped (the AAD binds a value to its path).
fn move_value_edits(s: &Subject) -> Vec<Edit> {
    let values: Vec<Enc> = enc_values(s.text)
        .into_iter()
        .filter(|e| e.role == EncRole::Value)
        .collect();
    let mut out = Vec::new();
    for (n, pair) in values.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        let (ta, tb) = (&s.text[a.span.clone()], &s.text[b.span.clone()]);
        out.push(Edit::new(
            b.span.clone(),
            ta.to_owned(),
            format!("ENC #{n} copied over the next value"),
        ));
        out.push(Edit::new(
            a.span.start..b.span.end,
            format!("{tb}{}{ta}", &s.text[a.span.end..b.span.start]),
            format!("ENC #{n} swapped with the next value"),
        ));
    }
    out
}

/// A line added after every keyed line: a clear value under a new key, and a copy of the line
/// under another key name (same ciphertext, different path).
fn add_line_edits(s: &Subject) -> Vec<Edit> {
    let mut out = Vec::new();
    for (line, key) in keyed_lines(s) {
        let n = s.text[..line.start].matches('\n').count() + 1;
        let value = match s.syntax {
            Syntax::Json => "\"x\"",
            _ => "x",
        };
        out.push(Edit::new(
            line.end..line.end,
            new_line(s, &line, "added_unencrypted", value),
            format!("clear line after line {n}"),
        ));
        let mut copy = s.text[line.clone()].as_bytes().to_vec();
        let at = key.end - 1 - line.start;
        copy[at] = flipped(copy[at]);
        out.push(Edit::new(
            line.end..line.end,
            copy,
            format!("renamed copy of line {n}"),
        ));
    }
    out
}

/// YAML documents and INI sections swapped with their neighbour, removed or duplicated.
fn document_edits(s: &Subject) -> Vec<Edit> {
    let (parts, joiner, kind) = match s.syntax {
        Syntax::Yaml => (
            split_at_lines(s.text, |l| l.trim_end() == "---", true),
            "---\n",
            "document",
        ),
        Syntax::Ini => (
            split_at_lines(s.text, |l| l.starts_with('['), false),
            "",
            "section",
        ),
        _ => return Vec::new(),
    };
    if parts.len() < 2 {
        return Vec::new();
    }
    let whole =
        |parts: Vec<&str>, what: String| Edit::new(0..s.text.len(), parts.join(joiner), what);
    let mut out = Vec::new();
    for n in 0..parts.len() {
        let mut removed = parts.clone();
        removed.remove(n);
        out.push(whole(removed, format!("{kind} {n} removed")));
        let mut duplicated = parts.clone();
        duplicated.insert(n, parts[n]);
        out.push(whole(duplicated, format!("{kind} {n} duplicated")));
        if n + 1 < parts.len() {
            let mut swapped = parts.clone();
            swapped.swap(n, n + 1);
            out.push(whole(swapped, format!("{kind}s {n} and {} swapped", n + 1)));
        }
    }
    out
}

/// Splits the text at lines matching `at`: separator lines are dropped when `drop` is set (YAML
/// `---`), else they start the next part (INI section headers).
fn split_at_lines(text: &str, at: impl Fn(&str) -> bool, drop: bool) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for line in lines(text) {
        if at(&text[line.clone()]) {
            parts.push(&text[start..line.start]);
            start = if drop { line.end } else { line.start };
        }
    }
    parts.push(&text[start..]);
    parts
}

/// At most `cap` items, spread evenly over the list; `rotation` shifts the picks so that files
/// with lists of the same length do not all get the same ones (deterministic).
fn spread<T>(items: Vec<T>, cap: usize, rotation: usize) -> Vec<T> {
    let len = items.len();
    if len <= cap {
        return items;
    }
    let picks: HashSet<usize> = (0..cap).map(|i| (i * len / cap + rotation) % len).collect();
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, t)| picks.contains(&i).then_some(t))
        .collect()
}

/// `KSOPS_TAMPER_SCALE`: a multiplier for every family's cap (`all` = no cap).
fn scale() -> Option<usize> {
    match std::env::var("KSOPS_TAMPER_SCALE").ok().as_deref() {
        None | Some("") => Some(1),
        Some("all") => None,
        Some(n) => Some(n.parse().expect("KSOPS_TAMPER_SCALE is a number or `all`")),
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// One mutated file to decrypt.
struct Mutant<'a> {
    case: &'a Case,
    family: &'static Family,
    what: String,
    sops_must_fail: bool,
    bytes: Vec<u8>,
}

/// The result of one mutant.
struct Verdict {
    sops_code: Option<i32>,
    problems: Vec<String>,
}

/// Plaintext values of a fixture that never appear in its encrypted file: what a failing ksops
/// must not reveal on stderr, as (line of the expected output, value). Values made only of
/// lower-case letters are left out: words like `second` or `value` also occur in error messages.
fn secrets(expected: &str, encrypted: &[u8]) -> Vec<(usize, String)> {
    let encrypted = String::from_utf8_lossy(encrypted);
    expected
        .lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let value = line.split_once([':', '=']).map_or(line, |(_, v)| v);
            let value = value.trim().trim_matches(['"', ',', '\'']).trim();
            let distinctive = value.chars().count() >= 4
                && !value.bytes().all(|b| b.is_ascii_lowercase())
                && value.bytes().any(|b| b.is_ascii_alphanumeric());
            (distinctive && !encrypted.contains(value)).then(|| (n + 1, value.to_owned()))
        })
        .collect()
}

/// Runs sops and ksops on one mutant and lists what ksops did wrong. `credentials` are values
/// of the case's environment that must never reach ksops's standard error.
fn judge(sops: &Path, m: &Mutant, expected: &str, credentials: &[&str]) -> Verdict {
    let label = format!("{}/{}/{}", m.case.name, m.family.name, m.what);
    let tmp = TempDir::new("tamper");
    let file = tmp.path().join(m.case.file.file_name().expect("file name"));
    fs::write(&file, &m.bytes).expect("write mutated file");
    let sops_out = m.case.run(sops, Some(&file)).expect("run sops");
    let ksops_out = m.case.run(&ksops_bin(), Some(&file)).expect("run ksops");

    let mut problems = Vec::new();
    if m.sops_must_fail && sops_out.success() {
        problems.push("sops accepted this mutation (test bug)".to_owned());
    }
    if ksops_out.code == Some(101) || contains(&ksops_out.stderr, "panicked") {
        problems.push("ksops panicked".to_owned());
    }
    let want = if sops_out.success() {
        Ok(sops_out.stdout.as_slice())
    } else {
        Err(sops_out.code.unwrap_or(-1))
    };
    if let Err(why) = compare_outcome(want, &ksops_out) {
        problems.push(why);
    }
    if credentials
        .iter()
        .any(|credential| contains(&ksops_out.stderr, credential))
    {
        problems.push("ksops stderr contains a credential of the environment".to_owned());
    }
    if !ksops_out.success() {
        // The temporary path (digits from the clock) is not the file's content.
        let stderr = String::from_utf8_lossy(&ksops_out.stderr)
            .replace(tmp.path().to_str().expect("UTF-8 temp path"), "<tmp>");
        for (line, _) in secrets(expected, &m.bytes)
            .iter()
            .filter(|(_, s)| stderr.contains(s.as_str()))
        {
            problems.push(format!(
                "ksops stderr contains the plaintext value of line {line} of the expected output"
            ));
        }
    }
    if !problems.is_empty() {
        keep_divergence(&label, m, &file, &sops_out, &problems);
    }
    Verdict {
        sops_code: sops_out.code,
        problems: problems
            .into_iter()
            .map(|p| format!("{label}: {p}"))
            .collect(),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    String::from_utf8_lossy(haystack).contains(needle)
}

/// Keeps a divergent mutant under `target/tamper-divergences/` with a note on how to replay it.
fn keep_divergence(label: &str, m: &Mutant, file: &Path, sops: &RunOutput, problems: &[String]) {
    let dir = support::crate_root()
        .join("target/tamper-divergences")
        .join(label.replace(['/', ' ', ':', '`', '"', '\'', '#'], "_"));
    let _ = fs::create_dir_all(&dir);
    let name = file.file_name().expect("file name");
    let _ = fs::copy(file, dir.join(name));
    let note = format!(
        "case: {}\nmutation: {} / {}\nsops exit: {:?}\nproblems:\n  {}\n\
         replay from tests/fixtures/generated with the case's environment:\n  \
         sops decrypt {} {}\n",
        m.case.name,
        m.family.name,
        m.what,
        sops.code,
        problems.join("\n  "),
        m.case.args.join(" "),
        dir.join(name).display(),
    );
    let _ = fs::write(dir.join("NOTE.txt"), note);
}

/// Per-family tallies for the summary.
#[derive(Default)]
struct Tally {
    run: usize,
    both_ok: usize,
    both_failed: usize,
    diverged: usize,
    sops_codes: BTreeMap<i32, usize>,
}

/// What a run of the matrix found.
struct Outcome {
    /// How many mutants ran.
    mutants: usize,
    /// One line per problem.
    failures: Vec<String>,
}

/// Makes every mutant of `cases` under `families` (at most `cap × scale` edits per file and
/// family), runs each through sops and ksops, prints the per-family tallies and returns what
/// diverged. `expected` holds each case's `sops decrypt` output by case name; `credentials`
/// must never reach ksops's standard error.
fn run_matrix(
    sops: &Path,
    cases: &[Case],
    families: &'static [Family],
    expected: &BTreeMap<&str, String>,
    other_recipient: &str,
    credentials: &[&str],
) -> Outcome {
    let scale = scale();
    let mut mutants = Vec::new();
    let mut duplicates = 0;
    for (rotation, case) in cases.iter().enumerate() {
        let text = fs::read_to_string(&case.file).expect("read fixture");
        let subject = Subject {
            text: &text,
            syntax: Syntax::of(case),
            other_recipient,
        };
        let mut seen = HashSet::from([text.as_bytes().to_vec()]);
        for family in families {
            let cap = scale.map_or(usize::MAX, |s| family.cap.saturating_mul(s));
            for edit in spread((family.edits)(&subject), cap, rotation) {
                let bytes = edit.apply(&text);
                if seen.insert(bytes.clone()) {
                    mutants.push(Mutant {
                        case,
                        family,
                        what: edit.what,
                        sops_must_fail: edit.sops_must_fail,
                        bytes,
                    });
                } else {
                    duplicates += 1;
                }
            }
        }
    }
    let families_used: HashSet<&str> = mutants.iter().map(|m| m.family.name).collect();
    assert_eq!(
        families_used.len(),
        families.len(),
        "a mutation family applied to no file"
    );

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let verdicts = support::par_map(&mutants, threads, |m| {
        judge(sops, m, &expected[m.case.name.as_str()], credentials)
    });

    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for (m, v) in mutants.iter().zip(verdicts) {
        let t = tallies.entry(m.family.name).or_default();
        t.run += 1;
        *t.sops_codes.entry(v.sops_code.unwrap_or(-1)).or_default() += 1;
        match (v.problems.is_empty(), v.sops_code) {
            (false, _) => t.diverged += 1,
            (true, Some(0)) => t.both_ok += 1,
            (true, _) => t.both_failed += 1,
        }
        failures.extend(v.problems);
    }
    let mut summary = format!(
        "tamper: {} mutants of {} files ({duplicates} byte-identical duplicates skipped), \
         KSOPS_TAMPER_SCALE={}\n  {:<15} {:>6} {:>8} {:>11} {:>9}  sops exit codes\n",
        mutants.len(),
        cases.len(),
        scale.map_or("all".to_owned(), |s| s.to_string()),
        "family",
        "run",
        "both ok",
        "both failed",
        "diverged",
    );
    for (name, t) in &tallies {
        summary.push_str(&format!(
            "  {name:<15} {:>6} {:>8} {:>11} {:>9}  {:?}\n",
            t.run, t.both_ok, t.both_failed, t.diverged, t.sops_codes
        ));
    }
    eprintln!("{summary}");
    Outcome {
        mutants: mutants.len(),
        failures,
    }
}

/// Asserts that no mutant diverged.
fn assert_no_divergence(outcome: &Outcome) {
    assert!(
        outcome.failures.is_empty(),
        "{} of {} tampered files diverge from sops (kept in target/tamper-divergences/):\n  {}",
        outcome.failures.len(),
        outcome.mutants,
        outcome.failures.join("\n  ")
    );
}

#[test]
fn tampered_files_behave_like_sops() {
    let [sops] = require_tools!("sops");
    let dir = support::generated_dir();
    let cases: Vec<Case> = Case::load_dir(&dir)
        .expect("load generated cases")
        .into_iter()
        .filter(|c| CASES.contains(&c.name.as_str()))
        .collect();
    assert_eq!(cases.len(), CASES.len(), "a tamper case is missing");
    let other_recipient = support::age_recipient(&dir.join("keys/wrong.txt"));
    let expected: BTreeMap<&str, String> = cases
        .iter()
        .map(|c| {
            let bytes = c.expected().expect("expected output");
            (
                c.name.as_str(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect();
    let outcome = run_matrix(&sops, &cases, FAMILIES, &expected, &other_recipient, &[]);
    assert!(
        outcome.mutants >= 3000,
        "only {} mutants: the matrix lost coverage",
        outcome.mutants
    );
    assert_no_divergence(&outcome);
}

/// A case decrypting `file` (no flags, run in its directory) with `env` as the environment.
fn key_source_case(name: &str, file: PathBuf, env: &[(&str, impl AsRef<OsStr>)]) -> Case {
    let base = file.parent().expect("case directory").to_path_buf();
    Case {
        name: name.to_owned(),
        cwd: base.clone(),
        base,
        file,
        args: Vec::new(),
        exit: 0,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_ref().to_owned()))
            .collect(),
        home_files: Vec::new(),
        xdg_config_home: None,
    }
}

/// Runs the key entry `families` over `cases` (which sops must decrypt unmutated), every edit
/// (there is no sample), and asserts at least `minimum` mutants and no divergence.
fn assert_key_entries_behave_like_sops(
    sops: &Path,
    cases: &[Case],
    families: &'static [Family],
    credentials: &[&str],
    minimum: usize,
) {
    let expected: BTreeMap<&str, String> = cases
        .iter()
        .map(|case| {
            let out = case.run(sops, None).expect("run sops");
            assert!(out.success(), "sops decrypt {}", case.name);
            (
                case.name.as_str(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
        .collect();
    let (_, other_recipient) = support::vector_age_identity();
    let outcome = run_matrix(
        sops,
        cases,
        families,
        &expected,
        &other_recipient,
        credentials,
    );
    assert!(
        outcome.mutants >= minimum,
        "only {} mutants: the {} matrix lost coverage",
        outcome.mutants,
        families[0].name
    );
    assert_no_divergence(&outcome);
}

/// Plaintexts of the files the KMS and Vault matrices encrypt (nested and flat metadata), with
/// values distinctive enough for the leak check.
const KEY_SOURCE_PLAINTEXTS: [(&str, &[u8]); 2] = [
    ("s.yaml", b"password: TEST-ONLY-value-1\nlist:\n  - x\n"),
    ("s.env", b"PASSWORD=TEST-ONLY value 2\n"),
];

/// The PGP key entries of a YAML and a dotenv file (nested and flat metadata) of
/// `tests/fixtures/ksops-cases/`: `fp`, `enc` and `created_at` changed, fields and entries
/// removed or duplicated, every armor line broken, each mutant decrypted by sops and ksops with
/// the TEST ONLY key in a scratch GnuPG home.
#[test]
fn tampered_pgp_key_entries_behave_like_sops() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let tmp = TempDir::new("tamper-pgp");
    let gnupg = support::GnupgHome::with_test_key(&gpg, tmp.path());
    let cases = [
        ("pgp.yaml", "legacy/single/secret.enc.yaml"),
        ("pgp.env", "legacy/envs/secret.enc.env"),
    ]
    .map(|(name, path)| {
        let file = support::ksops_cases_dir().join(path);
        key_source_case(name, file, &[("GNUPGHOME", &gnupg.home)])
    });
    assert_key_entries_behave_like_sops(&sops, &cases, PGP_FAMILIES, &[], 100);
}

/// The AWS KMS key entries (ARN, context, `created_at`, `enc`, `aws_profile`) of a YAML and a
/// dotenv file encrypted with an encryption context against moto, each mutant decrypted by
/// sops and ksops against the same moto; no credential reaches ksops's standard error.
#[test]
fn tampered_kms_key_entries_behave_like_sops() {
    let [moto_server, sops] = require_tools!("moto_server", "sops");
    let tmp = TempDir::new("tamper-kms");
    let moto = Moto::start(&moto_server, tmp.path());
    let cases = KEY_SOURCE_PLAINTEXTS.map(|(name, plain)| {
        let context = ["--encryption-context", "app:TEST-ONLY,env:dev"];
        let file = moto.encrypt(&sops, tmp.path(), name, plain, &context);
        key_source_case(&format!("kms-{name}"), file, &moto.env())
    });
    let credentials = [aws_kms::SECRET, aws_kms::SESSION];
    assert_key_entries_behave_like_sops(&sops, &cases, KMS_FAMILIES, &credentials, 80);
}

/// The Vault transit key entries (address, engine path, key name, `created_at`, `enc`) of a
/// YAML and a dotenv file encrypted against an OpenBao dev server, each mutant decrypted by
/// sops and ksops with its address and token; the token never reaches ksops's standard error.
#[test]
fn tampered_vault_key_entries_behave_like_sops() {
    let [bao, sops] = require_tools!("bao", "sops");
    let tmp = TempDir::new("tamper-vault");
    let server = Bao::start(&bao, tmp.path());
    let uri = server.key_uri("k1");
    let cases = KEY_SOURCE_PLAINTEXTS.map(|(name, plain)| {
        let flags = ["--hc-vault-transit", uri.as_str()];
        let file =
            support::sops_encrypt(&sops, tmp.path(), name, plain, &[], &flags, &server.env());
        key_source_case(&format!("vault-{name}"), file, &server.env())
    });
    assert_key_entries_behave_like_sops(&sops, &cases, VAULT_FAMILIES, &[vault::TOKEN], 75);
}

/// The leak check has something to look for in nearly every fixture (guards the extraction
/// heuristic; a file whose encrypted values are all tiny has nothing distinctive to look for).
#[test]
fn tamper_fixtures_have_secrets_to_protect() {
    let dir = support::generated_dir();
    let cases = Case::load_dir(&dir).expect("load cases");
    let without: Vec<&str> = CASES
        .iter()
        .copied()
        .filter(|name| {
            let case = cases.iter().find(|c| c.name == *name).expect("case exists");
            let expected =
                String::from_utf8_lossy(&case.expected().expect("expected")).into_owned();
            let encrypted = fs::read(&case.file).expect("read fixture");
            secrets(&expected, &encrypted).is_empty()
        })
        .collect();
    assert!(
        without.len() <= CASES.len() / 8,
        "no secret values found in {without:?}"
    );
}
