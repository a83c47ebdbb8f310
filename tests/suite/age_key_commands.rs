//! The key commands (`SOPS_AGE_KEY_CMD`, `SOPS_AGE_SSH_PRIVATE_KEY_CMD`) as real shell scripts:
//! each run sees `SOPS_AGE_RECIPIENT` = the recipient being tried, as with sops, and a generator
//! with many files runs a command once per recipient, not once per file.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{self, RunOutput, TempDir, require_tools};

/// Writes a script that appends `$SOPS_AGE_RECIPIENT` to `log` and prints `key`; returns the
/// command line that runs it.
fn logging_command(dir: &Path, key: &Path, log: &Path) -> String {
    let script = dir.join("key-cmd.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"${{SOPS_AGE_RECIPIENT-unset}}\" >>'{}'\ncat '{}'\n",
            log.display(),
            key.display()
        ),
    )
    .expect("write the key command");
    format!("sh {}", script.display())
}

/// The lines logged so far, and a fresh log.
fn take_log(log: &Path) -> Vec<String> {
    let lines = fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let _ = fs::remove_file(log);
    lines
}

/// Two TEST ONLY vector recipients, the one whose identity the key command prints last.
struct Recipients {
    /// The identity file of `recipient`.
    mine: PathBuf,
    /// A recipient whose identity the command does not print.
    other: String,
    recipient: String,
    /// `other,recipient`, for `sops encrypt --age`.
    both: String,
}

impl Recipients {
    fn vectors() -> Recipients {
        let vectors = support::vectors_dir();
        let mine = vectors.join("age-test-identity.txt");
        let other = support::age_recipient(&vectors.join("age-test-identity-2.txt"));
        let recipient = support::age_recipient(&mine);
        let both = format!("{other},{recipient}");
        Recipients {
            mine,
            other,
            recipient,
            both,
        }
    }
}

/// `dir/secret.yaml`, a TEST ONLY password encrypted for the age `recipients` (comma-separated).
fn encrypted_secret(sops: &Path, dir: &Path, recipients: &str) -> PathBuf {
    let plain = b"password: hunter2\n";
    let flags = ["--age", recipients];
    support::sops_encrypt(
        sops,
        dir,
        "secret.yaml",
        plain,
        &[],
        &flags,
        support::NO_ENV,
    )
}

fn run_with(program: &Path, dir: &Path, env: &[(&str, &str)], args: &[&Path]) -> RunOutput {
    let home = TempDir::new("key-cmd-home");
    let mut cmd = support::controlled_command(program, home.path());
    cmd.current_dir(dir).args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    support::run(&mut cmd).expect("run")
}

#[test]
fn key_cmd_sees_each_recipient_tried_like_sops() {
    let [sops] = require_tools!("sops");
    let tmp = TempDir::new("key-cmd");
    let dir = tmp.path();
    let keys = Recipients::vectors();
    let file = encrypted_secret(&sops, dir, &keys.both);
    let log = dir.join("log");
    let command = logging_command(dir, &keys.mine, &log);
    let env = [("SOPS_AGE_KEY_CMD", command.as_str())];
    let decrypt = |program: &Path| run_with(program, dir, &env, &[Path::new("decrypt"), &file]);

    let by_sops = decrypt(&sops);
    let sops_log = take_log(&log);
    let by_ksops = decrypt(&support::ksops_bin());
    let ksops_log = take_log(&log);
    assert!(by_sops.success(), "sops failed");
    support::compare_outcome(Ok(&by_sops.stdout), &by_ksops).unwrap_or_else(|e| panic!("{e}"));
    // The first recipient is not ours: tried, and the command run again for the second.
    assert_eq!(sops_log, [keys.other.as_str(), keys.recipient.as_str()]);
    assert_eq!(ksops_log, sops_log);
}

#[test]
fn a_generator_runs_the_key_cmd_once_per_recipient() {
    let [sops] = require_tools!("sops");
    let tmp = TempDir::new("key-cmd-generator");
    let dir = tmp.path();
    let keys = Recipients::vectors();
    let names = ["a.yaml", "b.yaml", "c.yaml", "d.yaml"];
    let mut config = String::from(
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: secrets\nfiles:\n",
    );
    for name in names {
        let plain = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {}\n",
            &name[..1]
        );
        support::sops_encrypt(
            &sops,
            dir,
            name,
            plain.as_bytes(),
            &[],
            &["--age", &keys.both],
            support::NO_ENV,
        );
        config.push_str(&format!("  - {name}\n"));
    }
    fs::write(dir.join("generator.yaml"), config).expect("write config");
    let log = dir.join("log");
    let command = logging_command(dir, &keys.mine, &log);
    let out = run_with(
        &support::ksops_bin(),
        dir,
        &[("SOPS_AGE_KEY_CMD", command.as_str())],
        &[Path::new("generator.yaml")],
    );
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifests = String::from_utf8_lossy(&out.stdout);
    assert_eq!(manifests.matches("kind: Secret").count(), names.len());
    let mut ran = take_log(&log);
    ran.sort();
    let mut want = vec![keys.other, keys.recipient];
    want.sort();
    assert_eq!(
        ran,
        want,
        "one run per recipient, for {} files",
        names.len()
    );
}

#[test]
fn ssh_key_cmd_decrypts_with_the_key_it_prints() {
    let [sops, ssh_keygen] = require_tools!("sops", "ssh-keygen");
    let tmp = TempDir::new("ssh-key-cmd");
    let dir = tmp.path();
    let key = dir.join("id_ed25519");
    let status = std::process::Command::new(ssh_keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "TEST ONLY", "-f"])
        .arg(&key)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
    let public = fs::read_to_string(dir.join("id_ed25519.pub")).expect("read the public key");
    let public = public.trim_end().trim_end_matches(" TEST ONLY").to_owned();
    let file = encrypted_secret(&sops, dir, &public);
    // The same key through the file variable, which this sops reads, gives the expected bytes.
    let key_text = key.display().to_string();
    let by_sops = run_with(
        &sops,
        dir,
        &[("SOPS_AGE_SSH_PRIVATE_KEY_FILE", key_text.as_str())],
        &[Path::new("decrypt"), &file],
    );
    assert!(by_sops.success(), "sops failed");

    let log = dir.join("log");
    let command = logging_command(dir, &key, &log);
    let by_ksops = run_with(
        &support::ksops_bin(),
        dir,
        &[("SOPS_AGE_SSH_PRIVATE_KEY_CMD", command.as_str())],
        &[Path::new("decrypt"), &file],
    );
    support::compare_outcome(Ok(&by_sops.stdout), &by_ksops).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(take_log(&log), [public.as_str()]);

    // A command that fails: named in the data-key report by its variable, not its text.
    let failing = run_with(
        &support::ksops_bin(),
        dir,
        &[("SOPS_AGE_SSH_PRIVATE_KEY_CMD", "false --token-s3cret")],
        &[Path::new("decrypt"), &file],
    );
    assert_eq!(failing.code, Some(128));
    // The report wraps its lines in `| ` columns: compare the words.
    let stderr = String::from_utf8_lossy(&failing.stderr);
    let words: Vec<&str> = stderr.split_whitespace().filter(|w| *w != "|").collect();
    assert!(
        words
            .join(" ")
            .contains("failed to execute the command from SOPS_AGE_SSH_PRIVATE_KEY_CMD: exit"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}
