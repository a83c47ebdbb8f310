//! Errors that name the fix, through the real binary: `ksops decrypt FILE` and the legacy
//! generator `ksops CONFIG` run the way kustomize runs it (working directory = kustomization).
//!
//! - A wrong key: the data-key report lists the public key of every identity tried beside the
//!   file's recipients, and never any private key material.
//! - A relative `SOPS_AGE_KEY_FILE` that does not exist: the path it was resolved to, and that
//!   generators run in the kustomization directory.
//! - A file without sops metadata: it is not encrypted, and the `sops encrypt -i` command.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{self, RunOutput, TempDir, require_tools};

/// The TEST ONLY identity the vector `tiny.yaml.sops` is encrypted to.
const TINY_RECIPIENT: &str = "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry";

/// The first line of every data-key report, in sops' words.
const DATA_KEY_FAILED: &str = "Failed to get the data key required to decrypt the SOPS file.";

/// A TEST ONLY identity that is not a recipient of `tiny.yaml.sops`.
fn wrong_identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity-2.txt")
}

/// The TEST ONLY SSH keys of the generated fixtures.
fn ssh_key(name: &str) -> PathBuf {
    support::generated_dir().join("keys").join(name)
}

/// The `type base64` part of an SSH public key file.
fn ssh_public(name: &str) -> String {
    let line = fs::read_to_string(ssh_key(name)).expect("read SSH public key");
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the binary with `args` in `cwd`, with a controlled environment (`HOME` = `home`) plus
/// `env`.
fn run_ksops(cwd: &Path, home: &Path, args: &[&str], env: &[(&str, &Path)]) -> RunOutput {
    let mut cmd = support::controlled_command(&support::ksops_bin(), home);
    cmd.args(args).current_dir(cwd);
    for (name, value) in env {
        cmd.env(name, value);
    }
    support::run(&mut cmd).expect("run ksops")
}

/// The standard error of a failed run, which printed nothing on standard output.
fn failure(out: &RunOutput, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.code, Some(code), "{stderr}");
    assert!(out.stdout.is_empty(), "printed output: {stderr}");
    stderr
}

/// Asserts that no private key material of the TEST ONLY identities in use is in `text`.
fn assert_no_private_material(text: &str) {
    for marker in ["AGE-SECRET-KEY", "PRIVATE KEY"] {
        assert!(!text.contains(marker), "{marker} in: {text}");
    }
    let identities = [
        support::vectors_dir().join("age-test-identity.txt"),
        wrong_identity(),
    ];
    for file in identities
        .iter()
        .chain(&[ssh_key("id_ed25519"), ssh_key("id_rsa")])
    {
        let key = fs::read_to_string(file).expect("read identity");
        for line in key
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with('#') && !l.starts_with("-----"))
        {
            let material = line.trim_start_matches("AGE-SECRET-KEY-1");
            assert!(!text.contains(material), "private key material in: {text}");
        }
    }
}

/// A scratch directory with `tiny.yaml` (the vector, encrypted to [`TINY_RECIPIENT`]), and a
/// legacy generator config `generator.yaml` reading it.
fn kustomization(tmp: &TempDir) -> PathBuf {
    let app = tmp.path().join("app");
    fs::create_dir_all(&app).expect("create app");
    fs::copy(
        support::vectors_dir().join("tiny.yaml.sops"),
        app.join("tiny.yaml"),
    )
    .expect("copy vector");
    fs::write(
        app.join("generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: app\nfiles:\n  - tiny.yaml\n",
    )
    .expect("write generator config");
    app
}

/// `HOME` with the TEST ONLY ed25519 key as `~/.ssh/id_ed25519`.
fn home_with_ssh_key(tmp: &TempDir) -> PathBuf {
    let home = tmp.path().join("home");
    fs::create_dir_all(home.join(".ssh")).expect("create ~/.ssh");
    let key = home.join(".ssh/id_ed25519");
    fs::copy(ssh_key("id_ed25519"), &key).expect("copy SSH key");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod SSH key");
    home
}

#[test]
fn a_wrong_key_lists_the_identities_tried_beside_the_recipients() {
    let tmp = TempDir::new("errors-wrong-key");
    let app = kustomization(&tmp);
    let home = home_with_ssh_key(&tmp);
    let rsa = ssh_key("id_rsa");
    let wrong = wrong_identity();
    let env: [(&str, &Path); 2] = [
        ("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &rsa),
        ("SOPS_AGE_KEY_FILE", &wrong),
    ];
    // The RSA key is longer than an ed25519 key: its start and end are shown.
    let rsa_public = ssh_public("id_rsa.pub");
    let (kind, body) = rsa_public.split_once(' ').expect("an SSH public key");
    let rsa_shown = format!("{kind} {}…{}", &body[..12], &body[body.len() - 20..]);
    let comparison = format!(
        "\n\nRecipients of the file:\n  {TINY_RECIPIENT}\n\
         Identities tried:\n  \
         {rsa_shown} (from SOPS_AGE_SSH_PRIVATE_KEY_FILE)\n  \
         {} (from $HOME/.ssh/id_ed25519)\n  \
         {} (from SOPS_AGE_KEY_FILE)\n\
         None of the identities tried is a recipient of the file",
        ssh_public("id_ed25519.pub"),
        support::age_recipient(&wrong),
    );
    let runs = [
        (
            failure(
                &run_ksops(&app, &home, &["decrypt", "tiny.yaml"], &env),
                128,
            ),
            format!("ksops: decrypting tiny.yaml: {DATA_KEY_FAILED}\n"),
        ),
        (
            failure(&run_ksops(&app, &home, &["generator.yaml"], &env), 1),
            "files[0] (`tiny.yaml`): decrypting the file: ".to_owned(),
        ),
    ];
    for (stderr, first) in runs {
        assert!(stderr.contains(&first), "{stderr}");
        // sops' report is kept as it was: the recipient that failed and why.
        assert!(
            stderr.contains(&format!(
                "Group 0: FAILED\n  {TINY_RECIPIENT}: FAILED\n    - | failed to create reader \
                 for decrypting sops data key with\n      | age: no identity matched any of \
                 the recipients."
            )),
            "{stderr}"
        );
        assert!(stderr.contains(&comparison), "{stderr}");
        assert_no_private_material(&stderr);
        // Variable names, never their values.
        for path in [&rsa, &wrong, &home] {
            assert!(
                !stderr.contains(path.to_string_lossy().as_ref()),
                "{path:?} in: {stderr}"
            );
        }
    }
}

#[test]
fn a_missing_relative_key_file_names_where_it_was_looked_for() {
    let tmp = TempDir::new("errors-relative");
    let app = kustomization(&tmp);
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("create home");
    let relative = Path::new("keys/age.txt");
    let env: [(&str, &Path); 1] = [("SOPS_AGE_KEY_FILE", relative)];
    let resolved_in = |dir: &Path| {
        format!(
            "failed to open SOPS_AGE_KEY_FILE file: No such file or directory (os error 2); the \
             path is relative, so it was resolved against the working directory, to '{}': set an \
             absolute path.",
            dir.join(relative).display()
        )
    };
    // The report is wrapped at spaces: compare it unwrapped.
    let unwrapped = |stderr: &str| stderr.replace("\n      | ", " ");

    let stderr = failure(
        &run_ksops(&app, &home, &["decrypt", "tiny.yaml"], &env),
        128,
    );
    assert!(
        stderr.starts_with(&format!("ksops: decrypting tiny.yaml: {DATA_KEY_FAILED}\n")),
        "{stderr}"
    );
    assert!(unwrapped(&stderr).contains(&resolved_in(&app)), "{stderr}");

    let stderr = failure(&run_ksops(&app, &home, &["generator.yaml"], &env), 1);
    assert!(unwrapped(&stderr).contains(&resolved_in(&app)), "{stderr}");
    assert!(
        stderr.ends_with(
            "\n\nSOPS_AGE_KEY_FILE is a relative path: kustomize runs generator plugins in the \
             kustomization directory, so it is resolved there. Set an absolute path.\n"
        ),
        "{stderr}"
    );

    // Under $HOME, the path is written relative to it, like every path in the report.
    let nested = home.join("repo");
    fs::create_dir_all(&nested).expect("create a directory in home");
    fs::copy(app.join("tiny.yaml"), nested.join("tiny.yaml")).expect("copy tiny.yaml");
    let stderr = failure(
        &run_ksops(&nested, &home, &["decrypt", "tiny.yaml"], &env),
        128,
    );
    assert!(
        unwrapped(&stderr).contains("to '$HOME/repo/keys/age.txt': set an absolute path."),
        "{stderr}"
    );
    assert!(
        !stderr.contains(home.to_string_lossy().as_ref()),
        "{stderr}"
    );
}

/// Plaintext files of every store sops reads with metadata, with a canary value.
const PLAINTEXT: [(&str, &str); 4] = [
    ("plain.yaml", "password: canary-plain-yaml\n"),
    ("plain.json", "{\"password\": \"canary-plain-json\"}\n"),
    ("plain.env", "PASSWORD=canary-plain-env\n"),
    ("plain.ini", "[db]\npassword = canary-plain-ini\n"),
];

/// How sops words a missing `sops` section for a file (YAML while unmarshalling).
fn sops_words(name: &str) -> &'static str {
    if name.ends_with(".yaml") {
        "Error unmarshalling file: sops metadata not found"
    } else {
        "sops metadata not found"
    }
}

#[test]
fn a_plaintext_file_is_named_unencrypted_with_the_command_that_encrypts_it() {
    let [sops] = require_tools!("sops");
    let tmp = TempDir::new("errors-plaintext");
    let app = tmp.path().join("app");
    fs::create_dir_all(app.join("secrets")).expect("create app/secrets");
    for (name, text) in PLAINTEXT {
        fs::write(app.join("secrets").join(name), text).expect("write plaintext");
    }
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("create home");
    let identity = support::vectors_dir().join("age-test-identity.txt");
    let env: [(&str, &Path); 1] = [("SOPS_AGE_KEY_FILE", &identity)];

    for (name, _) in PLAINTEXT {
        let file = format!("secrets/{name}");
        let sops_out = run_sops(&sops, &app, &home, &file, &identity);
        let out = run_ksops(&app, &home, &["decrypt", &file], &env);
        // sops' exit code for a file without metadata (1), kept.
        let stderr = failure(&out, sops_out.code.expect("sops exited"));
        assert!(
            stderr.starts_with(&format!(
                "ksops: decrypting {file}: {}: the file is not encrypted. Encrypt it in place \
                 with `sops encrypt -i {file}`",
                sops_words(name)
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("canary-plain"), "{stderr}");
    }

    // Generators name the file as the config gives it, relative to the kustomization.
    fs::write(
        app.join("generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: app\n\
         files:\n  - secrets/plain.yaml\n",
    )
    .expect("write generator config");
    fs::write(
        app.join("secret-from.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: app\n\
         secretFrom:\n  - metadata:\n      name: app\n    files:\n      - settings=secrets/plain.json\n",
    )
    .expect("write generator config");
    fs::write(
        app.join("envs.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: app\n\
         secretFrom:\n  - metadata:\n      name: app\n    envs:\n      - ./secrets/plain.env\n",
    )
    .expect("write generator config");
    for (config, origin, file) in [
        (
            "generator.yaml",
            "files[0] (`secrets/plain.yaml`)",
            "secrets/plain.yaml",
        ),
        (
            "secret-from.yaml",
            "secretFrom[0].files[0] (`settings=secrets/plain.json`)",
            "secrets/plain.json",
        ),
        (
            "envs.yaml",
            "secretFrom[0].envs[0] (`./secrets/plain.env`)",
            "./secrets/plain.env",
        ),
    ] {
        let stderr = failure(&run_ksops(&app, &home, &[config], &env), 1);
        let name = Path::new(file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            stderr.contains(&format!(
                "{origin}: decrypting the file: {}: the file is not encrypted. Encrypt it in \
                 place with `sops encrypt -i {file}` (never commit the plaintext)\n",
                sops_words(name)
            )),
            "{config}: {stderr}"
        );
        assert!(!stderr.contains("canary-plain"), "{config}: {stderr}");
        assert!(
            !stderr.contains(tmp.path().to_string_lossy().as_ref()),
            "{config}: absolute path in {stderr}"
        );
    }
}

/// `sops decrypt FILE` in `cwd`, for its exit code.
fn run_sops(sops: &Path, cwd: &Path, home: &Path, file: &str, identity: &Path) -> RunOutput {
    let mut cmd = support::controlled_command(sops, home);
    cmd.args(["decrypt", file])
        .current_dir(cwd)
        .env("SOPS_AGE_KEY_FILE", identity);
    support::run(&mut cmd).expect("run sops")
}
