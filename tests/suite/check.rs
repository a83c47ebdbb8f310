//! `ksops check` end to end: every fixture repository in `tests/fixtures/check/` (made by
//! `scripts/gen-check-fixtures.sh` with the real sops) must be reported exactly as its
//! `expected.json` says, in both output formats; plus the clean look-alikes, `--decrypt` with
//! and without keys, the allow-list, exit codes, and this repository's own manifests.
//!
//! Needs no external tool: the fixtures are committed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{RunOutput, TempDir, controlled_command, crate_root, ksops_bin, run};
use ksops::sops::Value;

fn fixtures() -> PathBuf {
    crate_root().join("tests/fixtures/check")
}

/// A finding as compared: rule, file, line.
type Key = (String, String, Option<u64>);

/// Runs `ksops check ARGS` in `dir` with a clean environment (and the TEST ONLY key if asked).
fn check(dir: &Path, args: &[&str], key: bool) -> RunOutput {
    let home = TempDir::new("check-home");
    let mut cmd = controlled_command(&ksops_bin(), home.path());
    if key {
        cmd.env("SOPS_AGE_KEY_FILE", fixtures().join("keys/r1.txt"));
    }
    cmd.current_dir(dir).arg("check").args(args);
    run(&mut cmd).expect("run ksops check")
}

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    match value {
        Value::Mapping(m) => m.get(name).unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

fn text(value: &Value) -> String {
    String::from_utf8_lossy(value.as_bytes().unwrap_or_default()).into_owned()
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Sequence(items) => items,
        _ => &[],
    }
}

/// Parses a JSON document (numbers come back as floats).
fn parse_json(bytes: &[u8]) -> Value {
    let parsed = ksops::sops::parse_json(bytes).expect("valid JSON");
    Value::Mapping(parsed.documents.into_iter().next().expect("one object"))
}

/// The findings of a JSON report (or of an `expected.json`).
fn keys(report: &Value) -> BTreeSet<Key> {
    items(field(report, "findings"))
        .iter()
        .map(|f| {
            let line = match field(f, "line") {
                Value::Float(n) => Some(*n as u64),
                Value::Int(n) => Some(*n as u64),
                _ => None,
            };
            (text(field(f, "rule")), text(field(f, "file")), line)
        })
        .collect()
}

fn json_report(dir: &Path, args: &[&str], key: bool) -> (RunOutput, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = check(dir, &all, key);
    let report = parse_json(&out.stdout);
    (out, report)
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures())
        .expect("tests/fixtures/check exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn fixture_repositories_are_reported_exactly() {
    let names = case_names();
    assert!(names.len() >= 16, "fixture cases missing: {names:?}");
    let mut rules_tripped = BTreeSet::new();
    for name in &names {
        let dir = fixtures().join(name);
        let expected = parse_json(&fs::read(dir.join("expected.json")).unwrap());
        let args: Vec<String> = items(field(&expected, "args")).iter().map(text).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let key = matches!(field(&expected, "key"), Value::Bool(true));
        let exit = match field(&expected, "exit") {
            Value::Float(n) => *n as i32,
            other => panic!("{name}: bad exit {other:?}"),
        };
        let want = keys(&expected);

        let (out, report) = json_report(&dir, &args, key);
        assert_eq!(out.code, Some(exit), "{name}: exit code");
        assert_eq!(keys(&report), want, "{name}: findings (json)");
        for finding in items(field(&report, "findings")) {
            assert!(
                !text(field(finding, "message")).is_empty(),
                "{name}: message"
            );
            assert!(!text(field(finding, "fix")).is_empty(), "{name}: fix");
        }

        let human = check(&dir, &args, key);
        assert_eq!(human.code, Some(exit), "{name}: exit code (human)");
        let stdout = String::from_utf8_lossy(&human.stdout);
        for (rule, file, line) in &want {
            let place = match line {
                Some(line) => format!("{file}:{line}: {rule}: "),
                None => format!("{file}: {rule}: "),
            };
            assert!(
                stdout.contains(&place),
                "{name}: human report lacks `{place}`"
            );
        }
        let blocks = stdout
            .lines()
            .filter(|l| l.starts_with("    fix: "))
            .count();
        assert_eq!(blocks, want.len(), "{name}: one fix per finding");
        if want.is_empty() {
            assert!(stdout.starts_with("ksops check: no findings"), "{name}");
        } else {
            // The count is printed once, in the report's last line; stderr repeats nothing.
            assert_eq!(stdout.matches("finding(s)").count(), 1, "{name}: {stdout}");
            assert!(human.stderr.is_empty(), "{name}: stderr repeats the report");
        }
        // Single-rule cases trip exactly one rule.
        let rules: BTreeSet<&str> = want.iter().map(|(r, _, _)| r.as_str()).collect();
        if name != "combined" && !name.starts_with("clean") {
            assert_eq!(rules.len(), 1, "{name}: trips {rules:?}");
        }
        rules_tripped.extend(want.iter().map(|(r, _, _)| r.clone()));
    }
    let every_rule: BTreeSet<String> = ksops::check::Rule::ALL
        .iter()
        .map(|r| r.id().to_owned())
        .collect();
    assert_eq!(
        rules_tripped, every_rule,
        "every rule has a fixture that trips it"
    );
}

/// Copies a fixture repository to a scratch directory.
fn copy_case(name: &str) -> TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let temp = TempDir::new("check-case");
    copy(&fixtures().join(name), temp.path());
    temp
}

const PLAIN_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: local\nstringData:\n  password: TEST-ONLY-decrypted-copy\n";

#[test]
fn gitignored_files_are_not_checked() {
    let repo = copy_case("clean");
    let copy = repo.path().join("overlays/dev/secrets/db.dec.yaml");
    fs::write(&copy, PLAIN_SECRET).unwrap();
    let (out, report) = json_report(repo.path(), &[], false);
    assert_eq!(out.code, Some(0), "{report:?}");
    fs::remove_file(repo.path().join(".gitignore")).unwrap();
    let (out, report) = json_report(repo.path(), &[], false);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        keys(&report),
        BTreeSet::from([(
            "plaintext-secret".into(),
            "overlays/dev/secrets/db.dec.yaml".into(),
            Some(6)
        )])
    );
}

#[test]
fn decrypt_needs_keys_and_never_prints_values() {
    let clean = fixtures().join("clean");
    let (out, report) = json_report(&clean, &["--decrypt"], true);
    assert_eq!(out.code, Some(0), "{report:?}");
    let checked = field(&report, "checked");
    let encrypted = field(checked, "encrypted").clone();
    assert_eq!(field(checked, "decrypted"), &encrypted);
    assert!(
        matches!(encrypted, Value::Float(n) if n >= 5.0),
        "{encrypted:?}"
    );

    let (out, report) = json_report(&clean, &["--decrypt"], false);
    assert_eq!(out.code, Some(1));
    let found = keys(&report);
    assert!(found.iter().all(|(rule, _, _)| rule == "decrypt-failed"));
    assert_eq!(Value::Float(found.len() as f64), encrypted);
    let everything = [&out.stdout[..], &out.stderr[..]].concat();
    let everything = String::from_utf8_lossy(&everything);
    assert!(
        everything.contains("SOPS_AGE_KEY_FILE"),
        "names the key sources"
    );
    for secret in [
        "TEST-ONLY-not-a-real-password",
        "TEST-ONLY-token",
        "AGE-SECRET-KEY",
    ] {
        assert!(!everything.contains(secret), "leaked {secret}");
    }
    // With the key, a tampered file's values are not printed either.
    let tampered = check(&fixtures().join("decrypt-failed"), &["--decrypt"], true);
    assert!(!String::from_utf8_lossy(&tampered.stdout).contains("TEST-ONLY-not-a-real-password"));
}

#[test]
fn hosts_report_the_generators_they_would_not_run() {
    // kubectl skips KRM exec functions; kustomize runs them; kpt runs whatever config
    // `--fn-config` names, annotated or not.
    let clean = fixtures().join("clean");
    let (_, kubectl) = json_report(&clean, &["--host", "kubectl"], false);
    assert_eq!(
        keys(&kubectl),
        BTreeSet::from([(
            "skipped-generator".into(),
            "overlays/krm/generator.yaml".into(),
            Some(6)
        )])
    );
    for host in ["--host=kustomize", "--host=kpt"] {
        let (out, report) = json_report(&clean, &[host], false);
        assert_eq!(out.code, Some(0), "{host}: {:?}", keys(&report));
    }
    // The legacy generator of the skipped-generator case is fine for kpt.
    let (out, report) = json_report(
        &fixtures().join("skipped-generator"),
        &["--host=kpt"],
        false,
    );
    assert_eq!(out.code, Some(0), "{:?}", keys(&report));

    // A generator without a plugin entry fails wherever kustomize runs legacy plugins.
    let missing = fixtures().join("missing-plugin");
    let expected = keys(&parse_json(
        &fs::read(missing.join("expected.json")).unwrap(),
    ));
    let (_, kustomize) = json_report(&missing, &["--host", "kustomize"], false);
    assert_eq!(keys(&kustomize), expected);
    let (out, report) = json_report(&missing, &["--host", "kpt"], false);
    assert_eq!(out.code, Some(0), "{:?}", keys(&report));
    let (out, report) = json_report(&missing, &[], false);
    assert_eq!(
        out.code,
        Some(0),
        "no host, no host findings: {:?}",
        keys(&report)
    );
}

#[test]
fn the_allow_list_drops_deliberate_exceptions() {
    let repo = copy_case("plaintext-secret");
    fs::write(
        repo.path().join(".ksops-check.yaml"),
        "allow:\n  - paths: [base/secret.yaml]\n    rules: [plaintext-secret]\n    reason: TEST ONLY sample\n",
    )
    .unwrap();
    let (out, report) = json_report(repo.path(), &[], false);
    assert_eq!(out.code, Some(1));
    assert_eq!(field(&report, "allowed"), &Value::Float(1.0));
    let files: Vec<String> = keys(&report).into_iter().map(|(_, f, _)| f).collect();
    assert_eq!(files, ["base/kustomization.yaml", "base/secret.json"]);

    fs::write(
        repo.path().join(".ksops-check.yaml"),
        "allow:\n  - paths: [base/]\n",
    )
    .unwrap();
    let out = check(repo.path(), &[], false);
    assert_eq!(out.code, Some(2), "a reason is required");
    assert!(String::from_utf8_lossy(&out.stderr).contains("reason"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = check(&crate_root(), &["no/such/dir"], false);
    assert_eq!(missing.code, Some(2));
    assert!(missing.stdout.is_empty());
    for args in [
        &["--format", "xml"][..],
        &["--host", "docker"],
        &["--root", "unconfined-unsafe"],
        &["a", "b"],
    ] {
        assert_eq!(check(&crate_root(), args, false).code, Some(2), "{args:?}");
    }
    let home = TempDir::new("check-home");
    for args in [
        &["help", "check"][..],
        &["check", "--help"],
        &["check", ".", "-h"],
    ] {
        let usage = run(controlled_command(&ksops_bin(), home.path()).args(args)).unwrap();
        assert_eq!(usage.code, Some(0), "{args:?}");
        let usage = String::from_utf8_lossy(&usage.stdout);
        for rule in ksops::check::Rule::ALL {
            assert!(usage.contains(rule.id()), "{args:?} lists {rule}");
        }
    }
}

#[test]
fn this_repository_passes() {
    for dir in [".", "examples/overlays", "plugin"] {
        let (out, report) = json_report(&crate_root().join(dir), &[], false);
        assert_eq!(out.code, Some(0), "{dir}: {:?}", keys(&report));
    }
    let home = TempDir::new("check-home");
    let mut cmd = controlled_command(&ksops_bin(), home.path());
    cmd.env(
        "SOPS_AGE_KEY_FILE",
        crate_root().join("examples/overlays/demo-age-key.txt"),
    )
    .current_dir(crate_root())
    .args([
        "check",
        "--decrypt",
        "--host",
        "kubectl",
        "examples/overlays",
    ]);
    let out = run(&mut cmd).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.code, Some(0), "{stdout}");
    assert!(stdout.contains("7 decrypted"), "{stdout}");
}
