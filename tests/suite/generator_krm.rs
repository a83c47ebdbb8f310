//! The generator as a KRM exec function: ResourceLists exactly as kustomize sends them, and a
//! real KRM host (`kpt fn eval --exec`). Encrypted inputs are made at test time with the real
//! sops and the TEST ONLY vector identity.

use crate::support::{self, require_tools};

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::support::TempDir;

fn identity() -> std::path::PathBuf {
    support::vectors_dir().join("age-test-identity.txt")
}

/// Writes an encrypted `db.secret.yaml` (only `stringData` encrypted) into `dir`.
fn encrypted_secret(sops: &Path, dir: &Path) {
    let recipient = support::age_recipient(&identity());
    support::sops_encrypt(
        sops,
        dir,
        "db.secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-krm\n",
        &[],
        &["--age", &recipient, "--encrypted-regex", "^stringData$"],
        support::NO_ENV,
    );
}

/// What kustomize sends: the config as functionConfig and, annotated, as the only item.
const FROM_KUSTOMIZE: &str = include_str!("../fixtures/krm/from-kustomize.yaml");

fn run_krm(dir: &Path, input: &str, with_key: bool) -> support::RunOutput {
    let home = TempDir::new("krm-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if with_key {
        cmd.env("SOPS_AGE_KEY_FILE", identity());
    }
    let mut child = cmd.spawn().expect("spawn ksops");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write ResourceList");
    let out = child.wait_with_output().expect("wait for ksops");
    support::RunOutput {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[test]
fn answers_kustomize_with_the_generated_objects() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("krm");
    encrypted_secret(&sops, dir.path());
    let out = run_krm(
        dir.path(),
        &FROM_KUSTOMIZE.replace("FILE", "db.secret.yaml"),
        true,
    );
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"));
    assert!(text.contains("password: hunter2-krm"));
    assert!(
        !text.contains("local-config"),
        "the config copy was passed through"
    );
    assert!(!text.contains("results:"));
}

#[test]
fn failures_are_results_without_secrets() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("krm-fail");
    encrypted_secret(&sops, dir.path());
    for (name, file, with_key, needle) in [
        ("no key", "db.secret.yaml", false, "db.secret.yaml"),
        ("escape", "../db.secret.yaml", true, "../db.secret.yaml"),
        ("missing", "nope.yaml", true, "nope.yaml"),
    ] {
        let out = run_krm(dir.path(), &FROM_KUSTOMIZE.replace("FILE", file), with_key);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        assert!(
            stdout.contains("results:") && stdout.contains("severity: error"),
            "{name}"
        );
        assert!(
            !stdout.contains("hunter2") && !stderr.contains("hunter2"),
            "{name}: leaked"
        );
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
    let out = run_krm(dir.path(), "kind: ksops\nfiles: []\n", true);
    assert_eq!(out.code, Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a ResourceList"));
}

#[test]
fn works_under_kpt_and_keeps_other_resources() {
    let [sops, kpt] = require_tools!("sops", "kpt");
    let dir = TempDir::new("krm-kpt");
    let package = dir.path().join("package");
    fs::create_dir_all(&package).expect("mkdir package");
    encrypted_secret(&sops, &package);
    // kpt reads every YAML file of a package; the encrypted input is not a resource of it.
    fs::write(package.join(".krmignore"), "db.secret.yaml\n").expect("write .krmignore");
    fs::write(
        package.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  when: 2024-01-02\n",
    )
    .expect("write ConfigMap");
    let config = dir.path().join("fn.yaml");
    fs::write(
        &config,
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: gen\nfiles:\n  - db.secret.yaml\n",
    )
    .expect("write fn config");
    let home = TempDir::new("kpt-home");
    let mut cmd = support::kpt_fn_eval(&kpt, home.path(), &package, &config);
    cmd.env("SOPS_AGE_KEY_FILE", identity());
    let out = support::run(&mut cmd).expect("run kpt");
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.contains("password: hunter2-krm"), "{text}");
    assert!(text.contains("name: keep"), "pass-through item lost");
    assert!(
        text.contains("when: \"2024-01-02\""),
        "pass-through value changed: {text}"
    );
}

#[test]
fn a_data_key_failure_is_one_readable_result_per_key_under_kpt() {
    let [sops, kpt] = require_tools!("sops", "kpt");
    let dir = TempDir::new("krm-kpt-keys");
    let package = dir.path().join("package");
    fs::create_dir_all(&package).expect("mkdir package");
    // Two recipients, neither of which the run has a key for.
    let recipients = ["age-test-identity-2.txt", "age-test-identity-3.txt"]
        .map(|name| support::age_recipient(&support::vectors_dir().join(name)));
    support::sops_encrypt(
        &sops,
        &package,
        "db.secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-krm\n",
        &[],
        &["--age", &recipients.join(","), "--encrypted-regex", "^stringData$"],
        support::NO_ENV,
    );
    fs::write(package.join(".krmignore"), "db.secret.yaml\n").expect("write .krmignore");
    let config = dir.path().join("fn.yaml");
    fs::write(
        &config,
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: gen\nfiles:\n  - db.secret.yaml\n",
    )
    .expect("write fn config");
    let home = TempDir::new("kpt-home");
    let mut cmd = support::kpt_fn_eval(&kpt, home.path(), &package, &config);
    cmd.env("SOPS_AGE_KEY_FILE", identity());
    let out = support::run(&mut cmd).expect("run kpt");
    assert!(!out.success());
    let report = String::from_utf8_lossy(&out.stderr);
    let results: Vec<&str> = report
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("[error]: "))
        .collect();
    assert_eq!(results.len(), 3, "one summary and one per key: {report}");
    assert!(
        results[0].contains("Failed to get the data key"),
        "{report}"
    );
    for (result, recipient) in results[1..].iter().zip(&recipients) {
        assert!(
            result.contains(&format!("key group 0: {recipient}: ")),
            "{result}"
        );
    }
    for result in &results {
        assert!(!result.contains('|'), "stray `|` in {result}");
        assert!(result.contains("files[0] (`db.secret.yaml`)"), "{result}");
    }
    assert!(!report.contains("hunter2"));
}
