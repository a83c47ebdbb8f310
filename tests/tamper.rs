//! Tampered files: mutate committed sops-encrypted fixtures (ciphertext, tag, IV, clear values,
//! key names, MAC, `lastmodified`, removed/added/swapped values, `type:`) and require `ksops
//! decrypt` to behave like `sops decrypt`: fail whenever sops fails (same exit code for 25, 51
//! and 128), print identical bytes when both succeed, and, when failing, print nothing on stdout
//! and no plaintext value of the file on stderr.

mod common;

use common::{Case, TempDir, compare_outcome, ksops_bin};
use std::fs;

/// Fixtures to tamper with (case names in `tests/fixtures/generated/`): every store, multiple
/// documents, key groups, `mac_only_encrypted` and a comment rule.
const FIXTURES: &[&str] = &[
    "yaml-basic.yaml",
    "yaml-multidoc.yaml",
    "json-basic.json",
    "dotenv-basic.env",
    "ini-basic.ini",
    "binary-text.bin",
    "shamir-2of3.yaml",
    "mac-only-encrypted.yaml",
    "rule-encrypted-comment-regex.yaml",
];

/// One `ENC[…]` value in the file: byte range and whether it is the MAC or a comment.
#[derive(Clone, Copy)]
struct Enc {
    start: usize,
    end: usize,
    is_mac: bool,
    is_comment: bool,
}

/// Finds every `ENC[AES256_GCM,…]` value.
fn enc_values(text: &str) -> Vec<Enc> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("ENC[AES256_GCM,") {
        let start = from + pos;
        let end = start
            + text[start..]
                .find(']')
                .map_or(text.len() - start, |e| e + 1);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let before = text[line_start..start].trim_end_matches(['"', ':', '=', ' ', '\t']);
        out.push(Enc {
            start,
            end,
            is_mac: before.ends_with("mac"),
            is_comment: text[start..end].ends_with("type:comment]"),
        });
        from = end;
    }
    out
}

/// Encrypted data values (not the MAC, not comments), in file order.
fn targets(text: &str) -> Vec<Enc> {
    enc_values(text)
        .into_iter()
        .filter(|e| !e.is_mac && !e.is_comment)
        .collect()
}

/// Replaces one ASCII character at `at` by a different one of the same class, so base64 stays
/// valid base64 and digits stay digits.
fn flip_at(text: &str, at: usize) -> String {
    let c = text.as_bytes()[at];
    let to = match c {
        b'0'..=b'8' => c + 1,
        b'9' => b'0',
        b'A' => b'B',
        b'a'..=b'y' => c + 1,
        b'z' => b'a',
        _ => b'A',
    };
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = to;
    String::from_utf8(bytes).expect("ASCII flip keeps UTF-8")
}

/// Flips the first character of field `data:`/`iv:`/`tag:` inside an ENC value.
fn flip_field(text: &str, e: Enc, field: &str) -> Option<String> {
    let at = e.start + text[e.start..e.end].find(field)? + field.len();
    Some(flip_at(text, at))
}

/// Range of the line containing byte `at`, including its newline.
fn line_of(text: &str, at: usize) -> (usize, usize) {
    let s = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let e = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    (s, e)
}

/// Position of the last character of the key in front of an ENC value (skipping separators and
/// quotes), if that character is alphanumeric (list items have no key).
fn key_end(text: &str, e: Enc) -> Option<usize> {
    let (ls, _) = line_of(text, e.start);
    let before = &text[ls..e.start];
    let trimmed = before.trim_end_matches(['"', ':', '=', ' ', '\t']);
    let last = trimmed.chars().last()?;
    last.is_ascii_alphanumeric().then(|| ls + trimmed.len() - 1)
}

/// The first target that sits behind a key.
fn keyed_target(text: &str) -> Option<Enc> {
    targets(text)
        .into_iter()
        .find(|e| key_end(text, *e).is_some())
}

/// A clear line to add next to a keyed value, in the syntax of the file's store.
fn added_line(name: &str, indent: &str) -> String {
    match name.rsplit('.').next() {
        Some("json") | Some("bin") => format!("{indent}\"added_unencrypted\": \"x\",\n"),
        Some("env") => "added_unencrypted=x\n".into(),
        Some("ini") => "added_unencrypted = x\n".into(),
        _ => format!("{indent}added_unencrypted: x\n"),
    }
}

type Mutate = fn(&str, &str) -> Option<String>;

/// The mutations: (name, function of (file name, text)). `None` = not applicable to this file.
const MUTATIONS: &[(&str, Mutate)] = &[
    ("ciphertext", |_, t| {
        flip_field(t, *targets(t).first()?, "data:")
    }),
    ("tag", |_, t| flip_field(t, *targets(t).first()?, "tag:")),
    ("iv", |_, t| flip_field(t, *targets(t).first()?, "iv:")),
    ("mac", |_, t| {
        flip_field(t, enc_values(t).into_iter().find(|e| e.is_mac)?, "data:")
    }),
    ("lastmodified", |_, t| {
        let at = t.find("lastmodified")?;
        let digit = at + t[at..].find(|c: char| c.is_ascii_digit())?;
        Some(flip_at(t, digit))
    }),
    ("clear-value", |_, t| {
        // A value kept clear by the `_unencrypted` suffix; the metadata's own
        // `unencrypted_suffix: _unencrypted` is skipped because nothing follows it on its line.
        let mut from = 0;
        while let Some(p) = t[from..].find("_unencrypted") {
            let after = from + p + "_unencrypted".len();
            let (_, le) = line_of(t, after);
            if let Some(off) = t[after..le].find(|c: char| c.is_ascii_alphanumeric()) {
                return Some(flip_at(t, after + off));
            }
            from = after;
        }
        None
    }),
    ("key-name", |_, t| {
        Some(flip_at(t, key_end(t, keyed_target(t)?)?))
    }),
    ("remove-value", |name, t| {
        // JSON needs the separating comma to stay valid, so pick a line that ends with one.
        let json = name.ends_with(".json") || name.ends_with(".bin");
        let e = targets(t).into_iter().find(|e| {
            let (ls, le) = line_of(t, e.start);
            key_end(t, *e).is_some() && (!json || t[ls..le].trim_end().ends_with(','))
        })?;
        let (ls, le) = line_of(t, e.start);
        Some(format!("{}{}", &t[..ls], &t[le..]))
    }),
    ("add-clear-value", |name, t| {
        let e = keyed_target(t)?;
        let (ls, le) = line_of(t, e.start);
        let indent: String = t[ls..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        Some(format!(
            "{}{}{}",
            &t[..le],
            added_line(name, &indent),
            &t[le..]
        ))
    }),
    ("add-copied-value", |_, t| {
        // A copy of an encrypted line under another key name: same ciphertext, new AAD.
        let e = keyed_target(t)?;
        let (ls, le) = line_of(t, e.start);
        let copy = flip_at(&t[ls..le], key_end(t, e)? - ls);
        Some(format!("{}{}{}", &t[..le], copy, &t[le..]))
    }),
    ("swap-values", |_, t| {
        let ts = targets(t);
        let (a, b) = (*ts.first()?, *ts.get(1)?);
        Some(format!(
            "{}{}{}{}{}",
            &t[..a.start],
            &t[b.start..b.end],
            &t[a.end..b.start],
            &t[a.start..a.end],
            &t[b.end..]
        ))
    }),
    ("type-str-to-int", |_, t| {
        let e = targets(t)
            .into_iter()
            .find(|e| t[e.start..e.end].ends_with("type:str]"))?;
        Some(format!("{}type:int]{}", &t[..e.end - 9], &t[e.end..]))
    }),
    ("type-int-to-str", |_, t| {
        let e = targets(t)
            .into_iter()
            .find(|e| t[e.start..e.end].ends_with("type:int]"))?;
        Some(format!("{}type:str]{}", &t[..e.end - 9], &t[e.end..]))
    }),
    ("type-unknown", |_, t| {
        let e = *targets(t).first()?;
        let at = e.start + t[e.start..e.end].rfind("type:")? + 5;
        Some(format!("{}blob]{}", &t[..at], &t[e.end..]))
    }),
];

/// Mutations that must make sops itself fail on every fixture (sanity check of the sops side).
const MUST_FAIL: &[&str] = &["ciphertext", "tag", "iv", "mac", "lastmodified", "key-name"];

/// Plaintext values of a fixture that never appear in its encrypted file: what a failing ksops
/// must not reveal on stderr. Short values are left out (they would match by accident).
fn secrets(expected: &str, encrypted: &str) -> Vec<String> {
    expected
        .lines()
        .flat_map(|line| {
            let value = line.split_once([':', '=']).map_or(line, |(_, v)| v);
            [
                line.trim().to_string(),
                value.trim().trim_matches(['"', ',', '\'']).to_string(),
            ]
        })
        // Short lowercase words ("value", "demo") also occur in ksops' own error wording, so
        // they cannot tell a leak from a message.
        .filter(|v| {
            let common_word = v.len() <= 5 && v.bytes().all(|b| b.is_ascii_lowercase());
            v.chars().count() >= 4 && !common_word && !encrypted.contains(v.as_str())
        })
        .collect()
}

#[test]
fn tampered_files_fail_like_sops() {
    let Some(sops) = common::tool_or_skip("sops", "tampered_files_fail_like_sops") else {
        return;
    };
    let dir = common::generated_dir();
    let cases: Vec<Case> = Case::load_dir(&dir)
        .expect("load generated cases")
        .into_iter()
        .filter(|c| FIXTURES.contains(&c.name.as_str()))
        .collect();
    assert_eq!(cases.len(), FIXTURES.len(), "a tamper fixture is missing");

    // (case, mutation name, mutated text)
    let mut jobs = Vec::new();
    for case in &cases {
        let text = fs::read_to_string(&case.file).expect("read fixture");
        for (name, mutate) in MUTATIONS {
            if let Some(mutated) = mutate(&case.name, &text) {
                assert_ne!(
                    mutated, text,
                    "{}/{name}: mutation changed nothing",
                    case.name
                );
                jobs.push((case, *name, mutated));
            }
        }
    }
    assert!(jobs.len() >= 90, "only {} mutations applied", jobs.len());

    let results = common::par_map(&jobs, 2, |(case, mutation, mutated)| {
        let label = format!("{}/{mutation}", case.name);
        let tmp = TempDir::new("tamper");
        let file = tmp.path().join(case.file.file_name().expect("file name"));
        fs::write(&file, mutated).expect("write mutated file");
        let sops_out = case.run(&sops, Some(&file)).expect("run sops");
        let ksops_out = case.run(&ksops_bin(), Some(&file)).expect("run ksops");

        let mut problems = Vec::new();
        if MUST_FAIL.contains(mutation) && sops_out.success() {
            problems.push(format!("{label}: sops accepted this mutation (test bug)"));
        }
        let want = if sops_out.success() {
            Ok(sops_out.stdout.as_slice())
        } else {
            Err(sops_out.code.unwrap_or(-1))
        };
        if let Err(why) = compare_outcome(want, &ksops_out) {
            problems.push(format!("{label}: {why}"));
        }
        if !ksops_out.success() {
            let expected =
                String::from_utf8_lossy(&case.expected().expect("expected")).into_owned();
            let stderr = String::from_utf8_lossy(&ksops_out.stderr);
            if secrets(&expected, mutated)
                .iter()
                .any(|s| stderr.contains(s.as_str()))
            {
                problems.push(format!("{label}: ksops stderr contains a plaintext value"));
            }
        }
        (label, sops_out.code, problems)
    });

    let mut summary = String::new();
    let mut failures = Vec::new();
    for (label, code, problems) in results {
        summary.push_str(&format!("  {label}: sops exit {code:?}\n"));
        failures.extend(problems);
    }
    eprintln!("tamper: {} mutated files\n{summary}", jobs.len());
    assert!(
        failures.is_empty(),
        "{} tamper checks failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The leak check has something to look for in every fixture (guards the extraction heuristic).
#[test]
fn every_tamper_fixture_has_secrets_to_protect() {
    let dir = common::generated_dir();
    for name in FIXTURES {
        let case = Case::load_dir(&dir)
            .expect("load cases")
            .into_iter()
            .find(|c| c.name == *name)
            .expect("fixture exists");
        let expected = String::from_utf8_lossy(&case.expected().expect("expected")).into_owned();
        let encrypted = fs::read_to_string(&case.file).expect("read fixture");
        assert!(
            !secrets(&expected, &encrypted).is_empty(),
            "{name}: no secret values found"
        );
    }
}
