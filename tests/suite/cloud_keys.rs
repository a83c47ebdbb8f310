//! GCP KMS, Azure Key Vault and HuaweiCloud KMS entries (`gcp_kms`, `azure_kv`, `hckms`) in a
//! file's metadata: ksops loads them as sops does (a bad `created_at` fails the whole file),
//! decrypts with the file's age key beside them exactly as `sops decrypt` does, and lists them
//! in the data-key report as not supported. The files are encrypted with the real sops for the
//! TEST ONLY vector identities, then the entries are added to the metadata by hand (metadata is
//! not covered by the MAC), as a file encrypted for several key services carries them.
//!
//! sops is never run where it would try these keys: it would call the cloud services.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{self, RunOutput, TempDir, compare_outcome, require_tools};

/// One key entry: the metadata field and its fields other than `created_at` and `enc`, and the
/// name sops and ksops report the key under.
struct Entry {
    kind: &'static str,
    fields: &'static [(&'static str, &'static str)],
    label: &'static str,
    /// What the report calls the kind.
    name: &'static str,
}

const ENTRIES: [Entry; 3] = [
    Entry {
        kind: "gcp_kms",
        fields: &[(
            "resource_id",
            "projects/test-only/locations/global/keyRings/ring/cryptoKeys/key",
        )],
        label: "projects/test-only/locations/global/keyRings/ring/cryptoKeys/key",
        name: "GCP KMS",
    },
    Entry {
        kind: "azure_kv",
        fields: &[
            ("vault_url", "https://test-only.vault.azure.net"),
            ("name", "sops-key"),
            ("version", "0123456789abcdef0123456789abcdef"),
        ],
        label: "https://test-only.vault.azure.net/keys/sops-key/0123456789abcdef0123456789abcdef",
        name: "Azure Key Vault",
    },
    Entry {
        kind: "hckms",
        fields: &[("key_id", "cn-north-4:00000000-0000-0000-0000-000000000000")],
        label: "cn-north-4:00000000-0000-0000-0000-000000000000",
        name: "HuaweiCloud KMS",
    },
];

/// A stand-in ciphertext: never sent anywhere (TEST ONLY).
const ENC: &str = "VEVTVCBPTkxZIG5vdCBhIHJlYWwgd3JhcHBlZCBkYXRhIGtleQ";
const CREATED_AT: &str = "2026-01-02T03:04:05Z";

fn identity(n: u8) -> PathBuf {
    let name = match n {
        1 => "age-test-identity.txt".to_owned(),
        n => format!("age-test-identity-{n}.txt"),
    };
    support::vectors_dir().join(name)
}

const YAML: &[u8] = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud\nstringData:\n  token: TEST-ONLY-cloud-7Hq\n";
const DOTENV: &[u8] = b"TOKEN=TEST-ONLY-cloud-7Hq\nNAME=cloud\n";

/// `dir/name` encrypted by sops for vector identity `to`, with `entries` added to its
/// metadata (each with `created_at`); `without_age` also drops the age entry.
fn file_with(
    sops: &Path,
    dir: &Path,
    name: &str,
    to: u8,
    entries: &[(&Entry, &str)],
    without_age: bool,
) -> PathBuf {
    let plain = if name.ends_with(".env") { DOTENV } else { YAML };
    let recipient = support::age_recipient(&identity(to));
    support::sops_encrypt(
        sops,
        dir,
        name,
        plain,
        &[],
        &["--age", &recipient],
        support::NO_ENV,
    );
    let path = dir.join(name);
    let mut text = fs::read_to_string(&path).expect("read the encrypted file");
    if name.ends_with(".env") {
        if without_age {
            text = text
                .lines()
                .filter(|line| !line.starts_with("sops_age__"))
                .map(|line| format!("{line}\n"))
                .collect();
        }
        for (entry, created_at) in entries {
            let prefix = format!("sops_{}__list_0__map_", entry.kind);
            for (field, value) in entry.fields {
                text.push_str(&format!("{prefix}{field}={value}\n"));
            }
            text.push_str(&format!(
                "{prefix}created_at={created_at}\n{prefix}enc={ENC}\n"
            ));
        }
    } else {
        let mut block = String::new();
        for (entry, created_at) in entries {
            block.push_str(&format!("    {}:\n", entry.kind));
            for (n, (field, value)) in entry.fields.iter().enumerate() {
                let lead = if n == 0 { "        - " } else { "          " };
                block.push_str(&format!("{lead}{field}: {value}\n"));
            }
            block.push_str(&format!(
                "          created_at: \"{created_at}\"\n          enc: {ENC}\n"
            ));
        }
        let at = text
            .find("    lastmodified:")
            .expect("a lastmodified entry");
        text.insert_str(at, &block);
        if without_age {
            let start = text.find("    age:\n").expect("an age entry");
            let body = start + "    age:\n".len();
            let len: usize = text[body..]
                .lines()
                .take_while(|line| line.starts_with("     "))
                .map(|line| line.len() + 1)
                .sum();
            text.replace_range(start..body + len, "");
        }
    }
    fs::write(&path, text).expect("write the edited file");
    path
}

/// `PROGRAM decrypt FILE` with identity `key` (vector identity n) as `SOPS_AGE_KEY_FILE`.
fn decrypt(program: &Path, file: &Path, key: u8) -> RunOutput {
    let home = TempDir::new("cloud-keys-home");
    let mut cmd = support::controlled_command(program, home.path());
    cmd.arg("decrypt")
        .arg(file)
        .env("SOPS_AGE_KEY_FILE", identity(key));
    support::run(&mut cmd).expect("run decrypt")
}

/// ksops' outcome on `file` matches sops' (same bytes, or the same failure).
fn assert_like_sops(sops: &Path, file: &Path, key: u8) {
    let want = decrypt(sops, file, key);
    let ours = decrypt(&support::ksops_bin(), file, key);
    let expected = if want.success() {
        Ok(want.stdout.as_slice())
    } else {
        Err(want.code.unwrap_or(-1))
    };
    if let Err(why) = compare_outcome(expected, &ours) {
        panic!(
            "{}: {why}\nksops: {}",
            file.display(),
            String::from_utf8_lossy(&ours.stderr)
        );
    }
}

#[test]
fn age_decrypts_beside_gcp_azure_and_huawei_entries_like_sops() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("cloud-keys");
    for name in ["s.yaml", "s.env"] {
        for entry in &ENTRIES {
            let sub = dir.path().join(entry.kind);
            let file = file_with(&sops, &sub, name, 1, &[(entry, CREATED_AT)], false);
            assert!(
                fs::read_to_string(&file)
                    .expect("read")
                    .contains(entry.fields[0].1),
                "{name}: the {} entry was not added",
                entry.kind
            );
            assert_like_sops(&sops, &file, 1);
        }
        let all: Vec<(&Entry, &str)> = ENTRIES.iter().map(|e| (e, CREATED_AT)).collect();
        let file = file_with(&sops, &dir.path().join("all"), name, 1, &all, false);
        assert_like_sops(&sops, &file, 1);
        assert!(decrypt(&support::ksops_bin(), &file, 1).success());
    }
}

#[test]
fn a_bad_created_at_fails_loading_like_sops() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("cloud-keys-time");
    for name in ["s.yaml", "s.env"] {
        for entry in &ENTRIES {
            for bad in ["yesterday", "2026-01-02", "2026-01-02T03:04:05"] {
                let sub = dir.path().join(entry.kind);
                let file = file_with(&sops, &sub, name, 1, &[(entry, bad)], false);
                let ours = decrypt(&support::ksops_bin(), &file, 1);
                assert!(
                    !ours.success() && ours.stdout.is_empty(),
                    "{name}: {} created_at {bad:?} was accepted",
                    entry.kind
                );
                let stderr = String::from_utf8_lossy(&ours.stderr);
                assert!(stderr.contains(bad), "{name}: {stderr}");
                assert!(!stderr.contains("TEST-ONLY-cloud"), "{name}: {stderr}");
                // `hckms` arrived in sops 3.12 (the sops KSOPS 4.5 links); older sops ignore
                // the field, so only the others are compared with the sops on this machine.
                if entry.kind != "hckms" {
                    let want = decrypt(&sops, &file, 1);
                    assert!(!want.success(), "{name}: sops accepted {bad:?}");
                    assert_eq!(ours.code, want.code, "{name}: {} {bad:?}", entry.kind);
                }
            }
        }
    }
}

#[test]
fn the_data_key_report_lists_gcp_azure_and_huawei_keys_as_not_supported() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("cloud-keys-report");
    let all: Vec<(&Entry, &str)> = ENTRIES.iter().map(|e| (e, CREATED_AT)).collect();
    for name in ["s.yaml", "s.env"] {
        // Encrypted for identity 2, decrypted with identity 1; and with no age entry at all.
        for without_age in [false, true] {
            let sub = dir.path().join(format!("{without_age}"));
            let file = file_with(&sops, &sub, name, 2, &all, without_age);
            let out = decrypt(&support::ksops_bin(), &file, 1);
            let report = support::words(&String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.code, Some(128), "{name}: {report}");
            assert!(out.stdout.is_empty());
            assert!(
                report.contains("Failed to get the data key"),
                "{name}: {report}"
            );
            for entry in &ENTRIES {
                assert!(
                    report.contains(&format!("{}: FAILED", entry.label)),
                    "{name}: {report}"
                );
                assert!(
                    report.contains(&format!(
                        "ksops does not support {} keys; this key was not tried",
                        entry.name
                    )),
                    "{name}: {report}"
                );
            }
            let recipient = support::age_recipient(&identity(2));
            assert_eq!(
                report.contains(&format!("{recipient}: FAILED")),
                !without_age,
                "{name}: {report}"
            );
        }
    }
}
