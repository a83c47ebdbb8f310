//! `ksops decrypt` against recorded `sops decrypt` output: every case in
//! `tests/fixtures/generated/` and every shared vector in `tests/fixtures/vectors/`.
//!
//! No sops is needed here: the expected bytes were produced by sops 3.11 when the fixtures were
//! generated. Failures list case names only, never file contents.

use crate::support::{self, require_tools};

use crate::support::{Case, RunOutput, compare_outcome, ksops_bin, vectors_dir};
use std::ffi::OsString;
use std::fs;
use std::path::Path;

/// Store name for a vector file name `X.<store>.sops`.
fn vector_store(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".sops")?;
    let store = stem.rsplit('.').next()?;
    ["yaml", "json", "dotenv", "ini", "binary"]
        .contains(&store)
        .then_some(store)
}

/// An identity env var holding the contents of the given vector identity files.
fn vector_key(names: &[&str]) -> (String, OsString) {
    let dir = vectors_dir();
    let keys: Vec<String> = names
        .iter()
        .map(|n| fs::read_to_string(dir.join(n)).expect("read vector identity"))
        .collect();
    ("SOPS_AGE_KEY".to_string(), keys.concat().into())
}

/// Builds the cases for the shared vectors, following the vectors' README: `X.<store>.sops` →
/// `X.<store>.expected` with `--input-type/--output-type <store>`, `X.to-<out>.expected` from the
/// JSON input `X.json.sops`, Shamir with two of three identities, and the comment-regex list bug
/// that sops itself rejects with a MAC mismatch.
fn vector_cases() -> Vec<(Case, Option<std::path::PathBuf>)> {
    let dir = vectors_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("read vectors dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let single = vector_key(&["age-test-identity.txt"]);
    let mut out = Vec::new();
    let mut push = |name: String, file: &str, args: Vec<String>, exit: i32, expected, key| {
        let case = Case {
            name: format!("vectors/{name}"),
            base: dir.clone(),
            file: dir.join(file),
            args,
            exit,
            cwd: dir.clone(),
            env: vec![key],
            home_files: Vec::new(),
            xdg_config_home: None,
        };
        out.push((case, expected));
    };
    for name in &names {
        let Some(store) = vector_store(name) else {
            continue;
        };
        let typed = |out_store: &str| {
            vec![
                "--input-type".to_string(),
                store.to_string(),
                "--output-type".to_string(),
                out_store.to_string(),
            ]
        };
        let stem = name.strip_suffix(".sops").unwrap();
        match stem {
            "shamir3of2.yaml" => push(
                stem.to_string(),
                name,
                typed(store),
                0,
                Some(support::generated_dir().join("vectors-extra/shamir3of2.yaml.expected")),
                vector_key(&["age-test-identity-2.txt", "age-test-identity-3.txt"]),
            ),
            "ecr-listbug.yaml" => push(
                stem.to_string(),
                name,
                typed(store),
                51,
                None,
                single.clone(),
            ),
            _ => {
                let expected = dir.join(format!("{stem}.expected"));
                if expected.exists() {
                    push(
                        stem.to_string(),
                        name,
                        typed(store),
                        0,
                        Some(expected),
                        single.clone(),
                    );
                }
                // Output conversions: `X.to-<out>.expected` comes from `X.<store>.sops`.
                let base = stem.rsplit_once('.').map_or(stem, |(b, _)| b);
                for out_store in ["yaml", "json", "dotenv", "ini"] {
                    let conv = dir.join(format!("{base}.to-{out_store}.expected"));
                    if conv.exists() {
                        push(
                            format!("{base}.to-{out_store}"),
                            name,
                            typed(out_store),
                            0,
                            Some(conv),
                            single.clone(),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Runs ksops on one case and checks it; `Err` carries a name-only description.
fn check(case: &Case, expected_file: Option<&Path>) -> Result<(), String> {
    let ksops: RunOutput = case
        .run(&ksops_bin(), None)
        .map_err(|e| format!("{}: cannot run ksops: {e}", case.name))?;
    let want = if case.exit == 0 {
        let bytes = match expected_file {
            Some(p) => fs::read(p).map_err(|e| format!("{}: {e}", case.name))?,
            None => case.expected()?,
        };
        Ok(bytes)
    } else {
        Err(case.exit)
    };
    compare_outcome(want.as_ref().map(Vec::as_slice).map_err(|c| *c), &ksops)
        .map_err(|why| format!("{}: {why}", case.name))
}

#[test]
fn decrypt_matches_recorded_sops_output() {
    let mut cases: Vec<(Case, Option<std::path::PathBuf>)> =
        Case::load_dir(&support::generated_dir())
            .expect("load generated cases")
            .into_iter()
            .map(|c| (c, None))
            .collect();
    let generated = cases.len();
    cases.extend(vector_cases());
    assert!(
        generated >= 60,
        "only {generated} generated cases: rerun scripts/gen-fixtures.sh"
    );
    assert!(cases.len() > generated + 15, "vector cases missing");

    // Two workers: each case is a process start, and the ssh-rsa unwrap is not free.
    let failures: Vec<String> =
        support::par_map(&cases, 2, |(case, exp)| check(case, exp.as_deref()))
            .into_iter()
            .filter_map(Result::err)
            .collect();
    eprintln!(
        "decrypt fixtures: {} cases ({generated} generated, {} vectors), {} failing",
        cases.len(),
        cases.len() - generated,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from sops:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

/// The sops side of the fixtures: every recorded case replays identically with the real sops.
/// Guards against fixtures drifting from the case format.
#[test]
fn recorded_fixtures_replay_with_sops() {
    let [sops] = require_tools!("sops");
    let mut cases: Vec<(Case, Option<std::path::PathBuf>)> =
        Case::load_dir(&support::generated_dir())
            .expect("load generated cases")
            .into_iter()
            .map(|c| (c, None))
            .collect();
    cases.extend(vector_cases());
    let failures: Vec<String> = support::par_map(&cases, 2, |(case, exp)| {
        let out = case.run(&sops, None).expect("run sops");
        // sops must agree with its own recording, with exact exit codes.
        let ok = if case.exit == 0 {
            let want = match exp {
                Some(p) => fs::read(p).expect("read expected"),
                None => case.expected().expect("read expected"),
            };
            out.success() && out.stdout == want
        } else {
            out.code == Some(case.exit)
        };
        (!ok).then(|| case.name.clone())
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failures.is_empty(),
        "sops disagrees with its recordings: {failures:?}"
    );
}
