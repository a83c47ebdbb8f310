//! File patterns in generator configs, end to end: an overlay tree
//! `overlays/{dev,prod}/secrets/*.secret.yaml` encrypted with the real sops for the TEST ONLY
//! vector identity, rendered by `kubectl kustomize --enable-alpha-plugins` with ksops as the
//! legacy plugin, in a dry run, and checked by `ksops check`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{self, RunOutput, TempDir, require_tools};

fn identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity.txt")
}

/// A Secret manifest with one value, encrypted where `.sops.yaml`-style settings usually put it.
fn secret(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\nstringData:\n  \
         value: {value}\n"
    )
}

/// The repository: two overlays whose generators read `./secrets/*.secret.yaml`, prod also a
/// Secret from `secrets/**/*.txt`, and a file below `secrets/old/` that `*` does not reach.
struct Tree {
    _tmp: TempDir,
    root: PathBuf,
}

impl Tree {
    fn new(sops: &Path) -> Tree {
        let tmp = TempDir::new("globs");
        let root = tmp.path().to_path_buf();
        support::git_init(&root);
        let recipient = support::age_recipient(&identity());
        let encrypt = |dir: &Path, name: &str, plaintext: &str, regex: bool| {
            let mut flags = vec!["--age", recipient.as_str()];
            if regex {
                flags.extend(["--encrypted-regex", "^(data|stringData)$"]);
            }
            support::sops_encrypt(
                sops,
                dir,
                name,
                plaintext.as_bytes(),
                &[],
                &flags,
                support::NO_ENV,
            );
        };
        for (overlay, names) in [("dev", &["db", "api"][..]), ("prod", &["db", "cache"])] {
            let dir = root.join("overlays").join(overlay);
            let secrets = dir.join("secrets");
            for name in names {
                let value = format!("{overlay}-{name}-TEST-ONLY");
                encrypt(
                    &secrets,
                    &format!("{name}.secret.yaml"),
                    &secret(&format!("{name}-{overlay}"), &value),
                    true,
                );
            }
            fs::write(
                dir.join("kustomization.yaml"),
                "generators:\n  - generator.yaml\n",
            )
            .expect("write kustomization");
            fs::write(
                dir.join("generator.yaml"),
                "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: ksops-generator\n\
                 files:\n- ./secrets/*.secret.yaml\n",
            )
            .expect("write generator");
        }
        let prod = root.join("overlays/prod");
        encrypt(&prod.join("secrets/tokens"), "b.txt", "token-b\n", false);
        encrypt(&prod.join("secrets/tokens/eu"), "a.txt", "token-a\n", false);
        fs::write(
            prod.join("generator.yaml"),
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: ksops-generator\n\
             files:\n- ./secrets/*.secret.yaml\n- secrets/db.secret.yaml\n\
             secretFrom:\n- metadata:\n    name: tokens\n  files:\n  - secrets/**/*.txt\n",
        )
        .expect("write generator");
        // Encrypted, in the overlay's tree, but not matched: `*` does not cross `/`.
        encrypt(
            &root.join("overlays/dev/secrets/old"),
            "legacy.secret.yaml",
            &secret("legacy", "old-TEST-ONLY"),
            true,
        );
        Tree { _tmp: tmp, root }
    }

    fn overlay(&self, name: &str) -> PathBuf {
        self.root.join("overlays").join(name)
    }

    /// `kubectl kustomize --enable-alpha-plugins OVERLAY` with ksops as the legacy plugin.
    fn kubectl(&self, kubectl: &Path, overlay: &str, env: &[(&str, &str)]) -> RunOutput {
        let plugin_dir = self.root.join(".plugins/viaduct.ai/v1/ksops");
        if !plugin_dir.exists() {
            fs::create_dir_all(&plugin_dir).expect("mkdir plugin home");
            std::os::unix::fs::symlink(support::ksops_bin(), plugin_dir.join("ksops"))
                .expect("link plugin");
        }
        let home = TempDir::new("globs-home");
        let mut cmd = support::controlled_command(kubectl, home.path());
        cmd.args(["kustomize", "--enable-alpha-plugins"])
            .arg(self.overlay(overlay))
            .env("KUSTOMIZE_PLUGIN_HOME", self.root.join(".plugins"))
            .env("SOPS_AGE_KEY_FILE", identity());
        for (name, value) in env {
            cmd.env(name, value);
        }
        support::run(&mut cmd).expect("run kubectl")
    }

    /// `ksops check --format json DIR`: the findings as (rule, file) pairs.
    fn check(&self, dir: &Path) -> (Option<i32>, Vec<(String, String)>) {
        let home = TempDir::new("globs-check-home");
        let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
        cmd.args(["check", "--format", "json"]).arg(dir);
        let out = support::run(&mut cmd).expect("run ksops check");
        let parsed = ksops::sops::parse_json(&out.stdout).expect("JSON report");
        let report = parsed.documents.into_iter().next().expect("one report");
        let mut findings = Vec::new();
        if let Some(ksops::sops::Value::Sequence(items)) = report.get("findings") {
            for item in items {
                if let ksops::sops::Value::Mapping(finding) = item {
                    let text = |name| {
                        finding
                            .get(name)
                            .and_then(ksops::sops::Value::as_bytes)
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                            .unwrap_or_default()
                    };
                    findings.push((text("rule"), text("file")));
                }
            }
        }
        (out.code, findings)
    }
}

fn stdout(out: &RunOutput, what: &str) -> String {
    assert!(
        out.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// The platform's generator (`files: [./secrets/*.secret.yaml]`) renders every matched Secret,
/// in path order, and nothing below `secrets/old/`.
#[test]
fn kubectl_renders_the_overlays_a_pattern_lists() {
    let [sops, kubectl] = require_tools!("sops", "kubectl");
    let tree = Tree::new(&sops);
    let dev = stdout(&tree.kubectl(&kubectl, "dev", &[]), "dev");
    assert_eq!(
        dev,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-dev\nstringData:\n  value: \
         dev-api-TEST-ONLY\ntype: Opaque\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: \
         db-dev\nstringData:\n  value: dev-db-TEST-ONLY\ntype: Opaque\n"
    );
    // prod: a literal naming a matched file uses it once; `**` reaches every depth and the
    // Secret's keys are the file names.
    let prod = stdout(&tree.kubectl(&kubectl, "prod", &[]), "prod");
    assert_eq!(
        prod,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cache-prod\nstringData:\n  value: \
         prod-cache-TEST-ONLY\ntype: Opaque\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  \
         name: db-prod\nstringData:\n  value: prod-db-TEST-ONLY\ntype: Opaque\n---\napiVersion: \
         v1\nkind: Secret\nmetadata:\n  name: tokens\nstringData:\n  a.txt: |\n    token-a\n  \
         b.txt: |\n    token-b\n"
    );
    // The dry run expands the same patterns, without a key.
    let dry = stdout(
        &tree.kubectl(&kubectl, "prod", &[("KSOPS_DRY_RUN", "1")]),
        "dry run",
    );
    for name in ["cache-prod", "db-prod", "tokens", "a.txt", "b.txt"] {
        assert!(
            dry.contains(name),
            "{name} missing from the dry run:\n{dry}"
        );
    }
    assert!(!dry.contains("TEST-ONLY"), "{dry}");
}

/// A pattern that matches nothing, or leaves the kustomization directory, fails the build with
/// a message naming the pattern.
#[test]
fn kubectl_fails_on_patterns_ksops_refuses() {
    let [sops, kubectl] = require_tools!("sops", "kubectl");
    let tree = Tree::new(&sops);
    let generator = tree.overlay("dev").join("generator.yaml");
    for (files, expected) in [
        (
            "- ./secrets/*.secret.yml",
            "pattern \"./secrets/*.secret.yml\" matches no file",
        ),
        ("- ../prod/secrets/*", "`..` is not allowed in a pattern"),
        ("- /etc/*", "absolute patterns are not allowed"),
    ] {
        fs::write(
            &generator,
            format!(
                "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: g\nfiles:\n{files}\n"
            ),
        )
        .expect("write generator");
        let out = tree.kubectl(&kubectl, "dev", &[]);
        assert!(!out.success(), "{files}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{files}: {stderr}");
        assert!(
            !stderr.contains(&tree.root.display().to_string()),
            "{stderr}"
        );
    }
}

/// `ksops check` reads generator patterns as the generator does: files they match are
/// referenced, an encrypted file no pattern reaches is reported.
#[test]
fn check_reports_encrypted_files_no_pattern_reads() {
    let [sops] = require_tools!("sops");
    let tree = Tree::new(&sops);
    let (code, findings) = tree.check(&tree.root);
    assert_eq!(
        findings,
        [(
            "unreferenced-encrypted-file".to_owned(),
            "overlays/dev/secrets/old/legacy.secret.yaml".to_owned()
        )]
    );
    assert_eq!(code, Some(1));
    // Read through `**`, it is referenced.
    fs::write(
        tree.overlay("dev").join("generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: ksops-generator\n\
         files:\n- ./secrets/**/*.secret.yaml\n",
    )
    .expect("write generator");
    assert_eq!(tree.check(&tree.root), (Some(0), Vec::new()));
    // A pattern that matches nothing is a missing file.
    fs::write(
        tree.overlay("dev").join("generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: ksops-generator\n\
         files:\n- ./secrets/*.secret.yml\n",
    )
    .expect("write generator");
    let (_, findings) = tree.check(&tree.root);
    assert!(
        findings.contains(&(
            "missing-file".to_owned(),
            "overlays/dev/generator.yaml".to_owned()
        )),
        "{findings:?}"
    );
    // Two matches that would be the same Secret key: the generator refuses the config.
    let dev = tree.overlay("dev");
    fs::copy(
        dev.join("secrets/db.secret.yaml"),
        dev.join("secrets/old/db.secret.yaml"),
    )
    .expect("copy");
    fs::write(
        dev.join("generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: ksops-generator\n\
         files:\n- ./secrets/**/*.secret.yaml\nsecretFrom:\n- metadata:\n    name: dbs\n  \
         files:\n  - secrets/**/db.secret.yaml\n",
    )
    .expect("write generator");
    assert_eq!(
        tree.check(&tree.root),
        (
            Some(1),
            vec![(
                "invalid-generator".to_owned(),
                "overlays/dev/generator.yaml".to_owned()
            )]
        )
    );
}
