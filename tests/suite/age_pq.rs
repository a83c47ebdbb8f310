//! Post-quantum age keys (`age1pq1…` recipients, `AGE-SECRET-KEY-PQ-1…` identities, stanza
//! `mlkem768x25519`): the files of `tests/fixtures/generated-pq/` (encrypted by sops to keys
//! typage made) decrypt byte for byte as sops decrypts them, from every identity source, and a
//! tampered stanza or a wrong key fails as it does with sops.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::support::{self, Case, RunOutput, TempDir, compare_outcome, ksops_bin, require_tools};

fn pq_dir() -> PathBuf {
    support::crate_root().join("tests/fixtures/generated-pq")
}

fn pq_cases() -> Vec<Case> {
    let cases = Case::load_dir(&pq_dir()).expect("load post-quantum cases");
    assert!(
        cases.len() >= 11,
        "only {} post-quantum cases: rerun scripts/gen-pq-fixtures.sh",
        cases.len()
    );
    cases
}

/// The recorded outcome of a case: its `.expected` bytes, or its exit code.
fn recorded(case: &Case) -> Result<Vec<u8>, i32> {
    if case.exit == 0 {
        Ok(case.expected().expect("read expected output"))
    } else {
        Err(case.exit)
    }
}

#[test]
fn pq_files_decrypt_like_recorded_and_live_sops() {
    let [sops] = require_tools!("sops");
    let cases = pq_cases();
    let failures: Vec<String> = support::par_map(&cases, 2, |case| {
        let want = recorded(case);
        let want = want.as_ref().map(Vec::as_slice).map_err(|c| *c);
        let ksops = case.run(&ksops_bin(), None).expect("run ksops");
        let sops = case.run(&sops, None).expect("run sops");
        compare_outcome(want, &ksops)
            .map_err(|why| format!("{}: ksops: {why}", case.name))
            .and_then(|()| {
                compare_outcome(want, &sops)
                    .map_err(|why| format!("{}: live sops: {why}", case.name))
            })
    })
    .into_iter()
    .filter_map(Result::err)
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_wrong_pq_key_is_reported_like_sops() {
    let case = pq_cases()
        .into_iter()
        .find(|c| c.name == "wrong-key")
        .expect("the wrong-key case");
    let out = case.run(&ksops_bin(), None).expect("run ksops");
    assert_eq!(out.code, Some(128));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recipient = support::age_recipient(&pq_dir().join("keys/pq.txt"));
    let tried = support::age_recipient(&pq_dir().join("keys/pq-wrong.txt"));
    // sops' report names the file's recipient in full; the comparison below it shortens both.
    assert!(
        stderr.contains(&format!("\n  {recipient}: FAILED\n")),
        "{stderr}"
    );
    assert!(
        stderr.contains("age: no identity matched any of the recipients"),
        "{stderr}"
    );
    let short = |r: &str| format!("{}…{}", &r[..19], &r[r.len() - 20..]);
    assert!(
        stderr.contains(&format!(
            "Identities tried:\n  {} (from SOPS_AGE_KEY_FILE)",
            short(&tried)
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("AGE-SECRET-KEY"), "{stderr}");
}

/// `text` with the first armored age block (the first `enc`) rewritten by `edit`, which gets the
/// decoded age file.
fn edit_first_enc(text: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let begin = lines
        .iter()
        .position(|l| l.trim() == "-----BEGIN AGE ENCRYPTED FILE-----")
        .expect("an armored enc");
    let end = begin
        + lines[begin..]
            .iter()
            .position(|l| l.trim() == "-----END AGE ENCRYPTED FILE-----")
            .expect("the armor's end");
    let indent = &lines[begin][..lines[begin].len() - lines[begin].trim_start().len()];
    let body: String = lines[begin + 1..end].iter().map(|l| l.trim()).collect();
    let mut age_file = STANDARD.decode(body).expect("armor base64");
    edit(&mut age_file);
    let encoded = STANDARD.encode(&age_file);
    let mut out: Vec<String> = lines[..=begin].iter().map(|l| l.to_string()).collect();
    for chunk in encoded.as_bytes().chunks(64) {
        out.push(format!("{indent}{}", String::from_utf8_lossy(chunk)));
    }
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// The byte range of the `mlkem768x25519` stanza's argument in an age file.
fn stanza_argument(age_file: &[u8]) -> std::ops::Range<usize> {
    let tag = b"-> mlkem768x25519 ";
    let start = age_file
        .windows(tag.len())
        .position(|w| w == tag)
        .expect("an mlkem768x25519 stanza")
        + tag.len();
    let len = age_file[start..]
        .iter()
        .position(|&b| b == b'\n')
        .expect("end of the stanza line");
    start..start + len
}

/// Which byte of an age file to change.
type ByteOf = fn(&[u8]) -> usize;

#[test]
fn a_tampered_pq_stanza_fails_like_sops() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("pq-tamper");
    let case = pq_cases()
        .into_iter()
        .find(|c| c.name == "secret.yaml")
        .expect("the secret.yaml case");
    let original = fs::read_to_string(&case.file).expect("read secret.yaml");
    // Which byte to change: in the ML-KEM ciphertext, in the X25519 share (both in the stanza's
    // argument), and in the sealed file key (its body).
    let edits: [(&str, ByteOf); 3] = [
        ("ml-kem", |f| stanza_argument(f).start + 100),
        ("x25519", |f| stanza_argument(f).end - 10),
        ("body", |f| stanza_argument(f).end + 5),
    ];
    for (what, edit) in edits {
        let tampered = dir.path().join(format!("{what}.yaml"));
        let text = edit_first_enc(&original, |f| {
            let at = edit(f);
            f[at] = if f[at] == b'A' { b'B' } else { b'A' };
        });
        fs::write(&tampered, text).expect("write tampered file");
        let run =
            |program: &Path| -> RunOutput { case.run(program, Some(&tampered)).expect("run") };
        let (ksops, sops) = (run(&ksops_bin()), run(&sops));
        assert_eq!(sops.code, Some(128), "{what}: sops");
        compare_outcome(Err(128), &ksops).unwrap_or_else(|why| panic!("{what}: {why}"));
        let stderr = String::from_utf8_lossy(&ksops.stderr);
        assert!(
            stderr.contains("Failed to get the data key required to decrypt the SOPS file."),
            "{what}: {stderr}"
        );
    }
}
