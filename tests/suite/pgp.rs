//! PGP master keys through the real `gpg`: files encrypted with the real sops for a TEST ONLY
//! key generated at test time in a scratch GnuPG home decrypt byte for byte as `sops decrypt`
//! prints them, in every store, beside age keys and in Shamir key groups; failures name the
//! fingerprint; `gpg` gets the single argument `-d`; the key order follows
//! `SOPS_DECRYPTION_ORDER`; and the generator works through `kubectl kustomize`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{self, RunOutput, TempDir, decrypt_with, lossy_text, require_tools};

/// A scratch GnuPG home holding one TEST ONLY key; its agent is stopped on drop.
struct Gnupg {
    home: PathBuf,
    fingerprint: String,
    gpg: PathBuf,
}

impl Gnupg {
    /// Generates an ed25519/cv25519 key without a passphrase in `dir/name`.
    fn new(gpg: &Path, dir: &Path, name: &str) -> Gnupg {
        let home = dir.join(name);
        fs::create_dir_all(&home).expect("create the GnuPG home");
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).expect("chmod");
        let mut gnupg = Gnupg {
            home,
            fingerprint: String::new(),
            gpg: gpg.to_owned(),
        };
        let made = gnupg.gpg(&[
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "ksops test (TEST ONLY) <test@example.invalid>",
            "future-default",
            "default",
            "never",
        ]);
        assert!(
            made.success(),
            "gpg --quick-gen-key: {}",
            lossy_text(&made.stderr)
        );
        let listed = gnupg.gpg(&["--batch", "--with-colons", "--list-secret-keys"]);
        gnupg.fingerprint = lossy_text(&listed.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .expect("a fingerprint in gpg's listing")
            .to_owned();
        gnupg
    }

    /// Encrypts `plain` into `dir/name` with the real sops and `flags`, this home set for it.
    fn encrypt(
        &self,
        sops: &Path,
        dir: &Path,
        name: &str,
        plain: &[u8],
        flags: &[&str],
    ) -> PathBuf {
        let env = [("GNUPGHOME", &self.home)];
        support::sops_encrypt(sops, dir, name, plain, &[], flags, &env)
    }

    fn gpg(&self, args: &[&str]) -> RunOutput {
        let mut cmd = support::controlled_command(&self.gpg, &self.home);
        cmd.env("GNUPGHOME", &self.home).args(args);
        support::run(&mut cmd).expect("run gpg")
    }
}

impl Drop for Gnupg {
    fn drop(&mut self) {
        support::stop_gpg_agent(&self.home);
    }
}

/// `dir/s.yaml`: the first store's plaintext encrypted with `flags` (which name `key`), its
/// GnuPG home set for sops.
fn encrypted_yaml(sops: &Path, key: &Gnupg, dir: &Path, flags: &[&str]) -> PathBuf {
    key.encrypt(sops, dir, "s.yaml", support::YAML_PLAINTEXT, flags)
}

/// Asserts that `out` is a data key failure (exit 128) whose report names `key` as FAILED;
/// returns the report.
fn failure_naming(out: &RunOutput, key: &Gnupg) -> String {
    assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
    let report = lossy_text(&out.stderr);
    assert!(
        report.contains(&format!("{}: FAILED", key.fingerprint)),
        "{report}"
    );
    report
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}")).expect("write script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod script");
}

#[test]
fn every_store_decrypts_like_sops() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    for (name, plain) in support::STORE_PLAINTEXTS {
        let file = key.encrypt(&sops, dir.path(), name, plain, &["--pgp", &key.fingerprint]);
        assert!(
            fs::read_to_string(&file)
                .unwrap()
                .contains(&key.fingerprint)
        );
        support::assert_same_as_sops(&sops, dir.path(), &file, &[("GNUPGHOME", &key.home)]);
    }
}

/// A GnuPG 1.x home (only `pubring.gpg` and `secring.gpg`): sops reads `secring.gpg` itself;
/// ksops leaves it to `gpg`, which moves the keys into its own store on first use and decrypts.
#[test]
fn a_legacy_secring_home_decrypts_through_gpg() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let file = encrypted_yaml(&sops, &key, dir.path(), &["--pgp", &key.fingerprint]);
    let legacy = Gnupg {
        home: dir.path().join("legacy"),
        fingerprint: key.fingerprint.clone(),
        gpg: gpg.clone(),
    };
    fs::create_dir_all(&legacy.home).unwrap();
    fs::set_permissions(&legacy.home, fs::Permissions::from_mode(0o700)).unwrap();
    for (name, args) in [
        ("pubring.gpg", ["--export", &key.fingerprint]),
        ("secring.gpg", ["--export-secret-keys", &key.fingerprint]),
    ] {
        let out = key.gpg(&["--batch", args[0], args[1]]);
        assert!(out.success() && !out.stdout.is_empty(), "gpg {}", args[0]);
        fs::write(legacy.home.join(name), out.stdout).unwrap();
    }
    assert!(!legacy.home.join("private-keys-v1.d").exists());
    support::assert_same_as_sops(&sops, dir.path(), &file, &[("GNUPGHOME", &legacy.home)]);
    assert!(
        legacy.home.join("private-keys-v1.d").is_dir(),
        "gpg did not migrate the legacy keyring"
    );
}

#[test]
fn age_and_pgp_keys_each_decrypt_alone() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let empty = Gnupg::new(&gpg, dir.path(), "other");
    let (identity, recipient) = support::vector_age_identity();
    let flags = ["--age", &recipient, "--pgp", &key.fingerprint];
    let file = encrypted_yaml(&sops, &key, dir.path(), &flags);
    // Only the age key: gpg's home holds another key.
    let age_only = [
        ("SOPS_AGE_KEY_FILE", identity.as_path()),
        ("GNUPGHOME", empty.home.as_path()),
    ];
    support::assert_same_as_sops(&sops, dir.path(), &file, &age_only);
    // Only the PGP key.
    support::assert_same_as_sops(&sops, dir.path(), &file, &[("GNUPGHOME", &key.home)]);
    // Neither: the report names both keys.
    let out = decrypt_with(
        &support::ksops_bin(),
        dir.path(),
        &file,
        &[("GNUPGHOME", &empty.home)],
    );
    let report = failure_naming(&out, &key);
    assert!(report.contains(&format!("{recipient}: FAILED")), "{report}");
    assert!(report.contains("No secret key"), "{report}");
}

#[test]
fn shamir_groups_mix_age_and_pgp() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let empty = Gnupg::new(&gpg, dir.path(), "other");
    let (identity, recipient) = support::vector_age_identity();
    let config = dir.path().join(".sops.yaml");
    fs::write(
        &config,
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{recipient}]\n      - pgp: [{}]\n",
            key.fingerprint
        ),
    )
    .expect("write .sops.yaml");
    let plain = dir.path().join("s.yaml");
    fs::write(&plain, support::YAML_PLAINTEXT).expect("write plaintext");
    let mut cmd = support::controlled_command(&sops, dir.path());
    cmd.current_dir(dir.path())
        .env("GNUPGHOME", &key.home)
        .args(["encrypt", "--in-place", "s.yaml"]);
    let out = support::run(&mut cmd).expect("run sops");
    assert!(out.success(), "sops encrypt: {}", lossy_text(&out.stderr));
    let both = [
        ("SOPS_AGE_KEY_FILE", identity.as_path()),
        ("GNUPGHOME", key.home.as_path()),
    ];
    support::assert_same_as_sops(&sops, dir.path(), &plain, &both);
    // One group alone is below the threshold: the report says which one was recovered.
    for (one, recovered) in [
        (
            [
                ("SOPS_AGE_KEY_FILE", identity.as_path()),
                ("GNUPGHOME", empty.home.as_path()),
            ],
            ["Group 0: SUCCESS", "Group 1: FAILED"],
        ),
        (
            [
                ("GNUPGHOME", key.home.as_path()),
                ("SOPS_AGE_KEY_FILE", Path::new("/nonexistent")),
            ],
            ["Group 0: FAILED", "Group 1: SUCCESS"],
        ),
    ] {
        let out = decrypt_with(&support::ksops_bin(), dir.path(), &plain, &one);
        assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
        let report = lossy_text(&out.stderr);
        for line in recovered {
            assert!(report.contains(line), "{report}");
        }
    }
}

#[test]
fn a_missing_gpg_fails_naming_the_fingerprint() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let file = encrypted_yaml(&sops, &key, dir.path(), &["--pgp", &key.fingerprint]);
    let missing = dir.path().join("no-such-gpg");
    let out = decrypt_with(
        &support::ksops_bin(),
        dir.path(),
        &file,
        &[("GNUPGHOME", &key.home), ("SOPS_GPG_EXEC", &missing)],
    );
    let report = failure_naming(&out, &key);
    assert!(
        report.contains("could not decrypt data key with PGP key"),
        "{report}"
    );
    assert!(report.contains("no-such-gpg"), "{report}");
    assert!(
        report.contains(&format!("PGP {}", key.fingerprint)),
        "{report}"
    );
}

#[test]
fn gpg_gets_only_dash_d_and_runs_in_decryption_order() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let (identity, recipient) = support::vector_age_identity();
    let flags = ["--age", &recipient, "--pgp", &key.fingerprint];
    let file = encrypted_yaml(&sops, &key, dir.path(), &flags);
    let log = dir.path().join("args.log");
    let wrapper = dir.path().join("gpg-wrapper");
    script(
        &wrapper,
        &format!(
            "for a in \"$@\"; do printf '[%s]\\n' \"$a\" >> '{}'; done\nexec '{}' \"$@\"\n",
            log.display(),
            gpg.display()
        ),
    );
    let run = |order: Option<&str>| {
        let _ = fs::remove_file(&log);
        let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
        cmd.arg("decrypt")
            .arg(&file)
            .env("GNUPGHOME", &key.home)
            .env("SOPS_GPG_EXEC", &wrapper)
            .env("SOPS_AGE_KEY_FILE", &identity);
        if let Some(order) = order {
            cmd.env("SOPS_DECRYPTION_ORDER", order);
        }
        let out = support::run(&mut cmd).expect("run ksops");
        assert!(out.success(), "{order:?}: {}", lossy_text(&out.stderr));
        fs::read_to_string(&log).ok()
    };
    // age first by default: gpg is not run.
    assert_eq!(run(None), None);
    assert_eq!(run(Some("age,pgp")), None);
    // PGP first: gpg runs, with `-d` alone.
    assert_eq!(run(Some("pgp,age")).as_deref(), Some("[-d]\n"));
    assert_eq!(run(Some("pgp")).as_deref(), Some("[-d]\n"));
    // A type named twice is refused, as sops refuses it.
    let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
    cmd.arg("decrypt")
        .arg(&file)
        .env("SOPS_AGE_KEY_FILE", &identity)
        .env("SOPS_DECRYPTION_ORDER", "age,age");
    let out = support::run(&mut cmd).expect("run ksops");
    assert!(!out.success());
    assert!(
        lossy_text(&out.stderr).contains("Duplicate decryption key type: age"),
        "{}",
        lossy_text(&out.stderr)
    );
}

/// A kustomization `dir/app` whose legacy generator lists one Secret encrypted for `key`.
fn pgp_app(sops: &Path, key: &Gnupg, dir: &Path) -> PathBuf {
    let app = dir.join("app");
    support::write_legacy_app(&app, support::ONE_FILE_GENERATOR);
    key.encrypt(
        sops,
        &app,
        "secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: pgp-secret\ndata:\n  password: VEVTVCBPTkxZ\n",
        &["--pgp", &key.fingerprint, "--encrypted-regex", "^data$"],
    );
    app
}

#[test]
fn generator_renders_pgp_files_through_kubectl_kustomize() {
    let [sops, gpg, kubectl] = require_tools!("sops", "gpg", "kubectl");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let app = pgp_app(&sops, &key, dir.path());
    let env = [("GNUPGHOME", &key.home)];
    let rendered = support::kustomize_with_ksops(&kubectl, dir.path(), &app, &env);
    assert!(
        rendered.contains("password: VEVTVCBPTkxZ"),
        "no decrypted value"
    );
    assert!(rendered.contains("name: pgp-secret"), "no Secret");
    assert!(!rendered.contains("ENC["), "still encrypted");
}

#[test]
fn check_decrypt_and_dry_run_handle_pgp_files() {
    let [sops, gpg, _kubectl] = require_tools!("sops", "gpg", "kubectl");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let empty = Gnupg::new(&gpg, dir.path(), "other");
    let app = pgp_app(&sops, &key, dir.path());
    let ksops = |args: &[&str], home: Option<&Path>| {
        let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
        cmd.args(args).arg(&app);
        if let Some(home) = home {
            cmd.env("GNUPGHOME", home);
        }
        support::run(&mut cmd).expect("run ksops")
    };
    let out = ksops(&["check", "--decrypt"], Some(&key.home));
    assert_eq!(
        out.code,
        Some(0),
        "{}{}",
        lossy_text(&out.stdout),
        lossy_text(&out.stderr)
    );
    let out = ksops(&["check", "--decrypt"], Some(&empty.home));
    assert_eq!(out.code, Some(1), "{}", lossy_text(&out.stderr));
    let found = format!("{}{}", lossy_text(&out.stdout), lossy_text(&out.stderr));
    assert!(found.contains("decrypt-failed"), "{found}");
    assert!(found.contains(&key.fingerprint), "{found}");
    // A dry run reads no key: gpg is never needed.
    let out = ksops(&["render", "--dry-run"], None);
    assert!(out.success(), "{}", lossy_text(&out.stderr));
    assert!(lossy_text(&out.stdout).contains("name: pgp-secret"));
}

#[test]
fn project_keys_use_only_the_project_gnupg_home() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let projects = dir.path().join("projects");
    fs::create_dir_all(projects.join("other")).expect("mkdir project");
    let key = Gnupg::new(&gpg, &projects.join("shop"), "gnupg");
    let empty = Gnupg::new(&gpg, dir.path(), "sidecar");
    let app = pgp_app(&sops, &key, dir.path());
    let generate = |project: &str, home: &Path| {
        let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
        cmd.arg("generator.yaml")
            .current_dir(&app)
            .env("KSOPS_PROJECT_KEYS_DIR", &projects)
            .env("ARGOCD_APP_PROJECT_NAME", project)
            .env("GNUPGHOME", home);
        support::run(&mut cmd).expect("run ksops")
    };
    // The project's home holds the key; the process's GNUPGHOME does not.
    let out = generate("shop", &empty.home);
    assert!(out.success(), "{}", lossy_text(&out.stderr));
    assert!(lossy_text(&out.stdout).contains("name: pgp-secret"));
    // Another project has no GnuPG home: PGP keys are not tried, even with the key in
    // the process's GNUPGHOME.
    let out = generate("other", &key.home);
    assert!(!out.success());
    let report = lossy_text(&out.stderr);
    assert!(report.contains(&key.fingerprint), "{report}");
    assert!(
        support::words(&report).contains("GnuPG is not a key source here"),
        "{report}"
    );
    assert!(!report.contains("the secret keys gpg holds"), "{report}");
}

#[test]
fn a_hanging_gpg_is_stopped() {
    let [sops, gpg] = require_tools!("sops", "gpg");
    let dir = TempDir::new("pgp");
    let key = Gnupg::new(&gpg, dir.path(), "g");
    let file = encrypted_yaml(&sops, &key, dir.path(), &["--pgp", &key.fingerprint]);
    let hanging = dir.path().join("gpg-hangs");
    script(&hanging, "exec sleep 30\n");
    let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
    cmd.arg("decrypt")
        .arg(&file)
        .env("GNUPGHOME", &key.home)
        .env("SOPS_GPG_EXEC", &hanging)
        .env("KSOPS_GPG_TIMEOUT", "1");
    let out = support::run(&mut cmd).expect("run ksops");
    let report = failure_naming(&out, &key);
    assert!(
        support::words(&report).contains("gpg did not finish within 1 seconds and was stopped"),
        "{report}"
    );
}
