//! KSOPS's own integration scenarios (kustomize-sops v4.5.1 `test/legacy/*` and `test/krm/*`),
//! rebuilt in `tests/fixtures/ksops-cases/` with our own plaintexts, PGP-encrypted by the real
//! sops for a committed TEST ONLY key (`scripts/gen-ksops-cases.sh`). Every expected output
//! (`want.yaml`) is written by hand from KSOPS's semantics.
//!
//! Legacy cases render through `kubectl kustomize --enable-alpha-plugins` with ksops as the
//! exec plugin, so kustomize's part (hash suffix, `behavior: replace`, ordering) is in the
//! comparison. kubectl skips KRM functions, so KRM cases get the ResourceList kustomize sends
//! (the config as `functionConfig` and, annotated, as the only item) on ksops's standard input,
//! and the answer is compared. Both are byte comparisons. The same plaintexts re-encrypted for
//! the TEST ONLY age identity must give the same bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{self, GnupgHome, RunOutput, TempDir, require_tools};

/// The nine scenarios of each mode, as KSOPS names them.
const CASES: [&str; 9] = [
    "single",
    "multiple",
    "hash",
    "behaviors",
    "file",
    "binaryfile",
    "envs",
    "override",
    "metadata",
];

/// The kyaml bookkeeping annotations kustomize adds to its copy of the function config.
const KUSTOMIZE_ITEM_ANNOTATIONS: &str = "  annotations:
    config.kubernetes.io/local-config: 'true'
    config.kubernetes.io/index: '0'
    internal.config.kubernetes.io/index: '0'
    internal.config.kubernetes.io/id: '1'
";

/// The environment variable that gives ksops its key: `GNUPGHOME` or `SOPS_AGE_KEY_FILE`.
type KeyEnv<'a> = (&'a str, &'a Path);

/// `kubectl kustomize --enable-alpha-plugins CASE` with ksops installed as the legacy plugin in
/// `plugins` (a scratch plugin home).
fn render_legacy(kubectl: &Path, plugins: &Path, case: &Path, key: KeyEnv) -> RunOutput {
    let home = TempDir::new("ksops-suite-home");
    let mut cmd = support::controlled_command(kubectl, home.path());
    cmd.args(["kustomize", "--enable-alpha-plugins"])
        .arg(case)
        .env("KUSTOMIZE_PLUGIN_HOME", plugins)
        .env(key.0, key.1);
    support::run(&mut cmd).expect("run kubectl kustomize")
}

/// The ResourceList kustomize sends for `case`'s generator: the config as `functionConfig`
/// and, with kustomize's bookkeeping annotations, as the only item.
fn resource_list_from_kustomize(case: &Path) -> String {
    let config = fs::read_to_string(case.join("generate-resources.yaml"))
        .expect("read generate-resources.yaml");
    let item = config.replacen(
        "\n  annotations:\n",
        &format!("\n{KUSTOMIZE_ITEM_ANNOTATIONS}"),
        1,
    );
    assert_ne!(item, config, "{}: no metadata.annotations", case.display());
    let indent = |yaml: &str, first: &str| {
        yaml.lines()
            .enumerate()
            .map(|(i, line)| format!("{}{line}\n", if i == 0 { first } else { "  " }))
            .collect::<String>()
    };
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}functionConfig:\n{}",
        indent(&item, "- "),
        indent(&config, "  ")
    )
}

/// Runs ksops as a KRM function in `case` with what kustomize would send on standard input.
fn answer_krm(case: &Path, key: KeyEnv) -> RunOutput {
    let home = TempDir::new("ksops-suite-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.current_dir(case)
        .env(key.0, key.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ksops");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(resource_list_from_kustomize(case).as_bytes())
        .expect("write the ResourceList");
    let out = child.wait_with_output().expect("wait for ksops");
    RunOutput {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Runs every case of `mode` under `cases` through `produce` and compares the output with the
/// case's `want.yaml` (always the committed one). Returns one line per mismatch.
fn compare_cases(mode: &str, cases: &Path, produce: impl Fn(&Path) -> RunOutput) -> Vec<String> {
    let mut failures = Vec::new();
    for name in CASES {
        let case = cases.join(mode).join(name);
        let want = fs::read(
            support::ksops_cases_dir()
                .join(mode)
                .join(name)
                .join("want.yaml"),
        )
        .expect("read want.yaml");
        let out = produce(&case);
        if !out.success() {
            failures.push(format!(
                "{mode}/{name}: exit {:?}: {}",
                out.code,
                support::lossy_text(&out.stderr)
            ));
        } else if out.stdout != want {
            failures.push(format!(
                "{mode}/{name}: output differs from want.yaml:\n{}",
                support::lossy_text(&out.stdout)
            ));
        }
    }
    failures
}

/// Every scenario directory is present, in both modes, and nothing else is.
#[test]
fn the_fixtures_hold_every_ksops_scenario() {
    for mode in ["legacy", "krm"] {
        let mut found: Vec<String> = fs::read_dir(support::ksops_cases_dir().join(mode))
            .expect("read the mode directory")
            .map(|entry| {
                entry
                    .expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        found.sort();
        let mut expected = CASES.map(str::to_owned).to_vec();
        expected.sort();
        assert_eq!(found, expected, "{mode}");
        for name in CASES {
            let case = support::ksops_cases_dir().join(mode).join(name);
            let encrypted = fs::read_dir(&case)
                .expect("read the case")
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().contains(".enc."))
                .count();
            assert!(encrypted > 0, "{mode}/{name}: no encrypted input");
            assert!(
                case.join("want.yaml").is_file(),
                "{mode}/{name}: no want.yaml"
            );
        }
    }
}

#[test]
fn legacy_cases_render_through_kubectl_as_ksops_renders_them() {
    let [gpg, kubectl] = require_tools!("gpg", "kubectl");
    let dir = TempDir::new("ksops-suite");
    let keyring = GnupgHome::with_test_key(&gpg, dir.path());
    let plugins = support::legacy_plugin_home(dir.path());
    let failures = compare_cases("legacy", &support::ksops_cases_dir(), |case| {
        render_legacy(&kubectl, &plugins, case, ("GNUPGHOME", &keyring.home))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn krm_cases_answer_kustomize_as_ksops_answers() {
    let [gpg] = require_tools!("gpg");
    let dir = TempDir::new("ksops-suite");
    let keyring = GnupgHome::with_test_key(&gpg, dir.path());
    let failures = compare_cases("krm", &support::ksops_cases_dir(), |case| {
        answer_krm(case, ("GNUPGHOME", &keyring.home))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A copy of every case under `dir`, its encrypted files decrypted with the PGP key and
/// re-encrypted by the real sops for the TEST ONLY age `recipient` (same rules as the originals).
fn age_copy(sops: &Path, keyring: &GnupgHome, dir: &Path, recipient: &str) -> PathBuf {
    let copy = dir.join("age-cases");
    for mode in ["legacy", "krm"] {
        for name in CASES {
            copy_tree(
                &support::ksops_cases_dir().join(mode).join(name),
                &copy.join(mode).join(name),
            );
        }
    }
    for mode in ["legacy", "krm"] {
        for name in CASES {
            let case = copy.join(mode).join(name);
            let encrypted: Vec<String> = fs::read_dir(&case)
                .expect("read the case")
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|file| file.contains(".enc."))
                .collect();
            for file in encrypted {
                let mut cmd = support::controlled_command(sops, dir);
                cmd.env("GNUPGHOME", &keyring.home)
                    .arg("decrypt")
                    .arg(case.join(&file));
                let plain = support::run(&mut cmd).expect("run sops decrypt");
                assert!(
                    plain.success(),
                    "sops decrypt {mode}/{name}/{file}: {}",
                    support::lossy_text(&plain.stderr)
                );
                support::sops_encrypt(
                    sops,
                    &case,
                    &file,
                    &plain.stdout,
                    &[],
                    &[
                        "--age",
                        recipient,
                        "--unencrypted-regex",
                        "^(apiVersion|metadata|kind|type)$",
                    ],
                    support::NO_ENV,
                );
            }
        }
    }
    copy
}

/// Copies the files and directories of `from` into `to`.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create the copy");
    for entry in fs::read_dir(from).expect("read the case") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy a fixture file");
        }
    }
}

#[test]
fn every_case_renders_the_same_with_an_age_key() {
    let [sops, gpg, kubectl] = require_tools!("sops", "gpg", "kubectl");
    let dir = TempDir::new("ksops-suite-age");
    let keyring = GnupgHome::with_test_key(&gpg, dir.path());
    let identity = support::vectors_dir().join("age-test-identity.txt");
    let recipient = support::age_recipient(&identity);
    let cases = age_copy(&sops, &keyring, dir.path(), &recipient);
    drop(keyring);
    let key = ("SOPS_AGE_KEY_FILE", identity.as_path());
    let plugins = support::legacy_plugin_home(dir.path());
    let mut failures = compare_cases("legacy", &cases, |case| {
        render_legacy(&kubectl, &plugins, case, key)
    });
    failures.extend(compare_cases("krm", &cases, |case| answer_krm(case, key)));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
