//! Generator contract tests: the cases KSOPS users hit through kustomize (same names in base
//! and overlay, `behavior: merge/replace`, JSON manifests, every identity source), rendered end
//! to end with `kubectl kustomize --enable-alpha-plugins` and the binary in a temporary plugin
//! home; refusals run directly (`ksops CONFIG`, and as a KRM
//! function with a ResourceList on stdin); the KRM `secretFrom` path through `kpt fn eval`; and
//! the no-argument terminal case through a pty.
//!
//! Every encrypted input is made at test time with the real sops and the TEST ONLY vector
//! identities, so the tests follow whatever sops build CI points at. Assertion messages never
//! contain decrypted values: only key names, case names and (for refusals) stderr, which is
//! itself checked to be free of plaintext.

use crate::support::{self, require_tools};

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{RunOutput, TempDir};

/// The TEST ONLY vector identity `n` (1, 2 or 3).
fn identity(n: u8) -> PathBuf {
    let name = match n {
        1 => "age-test-identity.txt".to_string(),
        n => format!("age-test-identity-{n}.txt"),
    };
    support::vectors_dir().join(name)
}

/// Minimal standard base64 (the tests write Secret `data:` values; no dev-dependency for it).
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Encrypts to vector identity 1, with extra sops flags (e.g. `--encrypted-regex`).
fn encrypt(sops: &Path, dir: &Path, name: &str, plain: &[u8], flags: &[&str]) {
    let recipient = support::age_recipient(&identity(1));
    let mut all = vec!["--age", recipient.as_str()];
    all.extend_from_slice(flags);
    support::sops_encrypt(sops, dir, name, plain, &[], &all, support::NO_ENV);
}

/// Only `data`/`stringData` encrypted: metadata (and kustomize's annotations) stay readable.
const DATA_REGEX: [&str; 2] = ["--encrypted-regex", "^(data|stringData)$"];

/// A generator config with the given body after `metadata`.
fn config(name: &str, body: &str) -> String {
    format!("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: {name}\n{body}")
}

/// Installs the built binary as kustomize's legacy plugin under `root/plugins`, returning the
/// plugin home.
fn plugin_home(root: &Path) -> PathBuf {
    let home = root.join("plugins");
    let dir = home.join("viaduct.ai/v1/ksops");
    fs::create_dir_all(&dir).expect("mkdir plugin home");
    fs::copy(support::ksops_bin(), dir.join("ksops")).expect("install plugin");
    home
}

/// `kubectl kustomize --enable-alpha-plugins DIR` with the plugin home, a fresh `HOME` (unless
/// given) and the extra environment.
fn kustomize(
    kubectl: &Path,
    plugins: &Path,
    dir: &Path,
    home: Option<&Path>,
    env: &[(&str, OsString)],
) -> RunOutput {
    let scratch = TempDir::new("kubectl-home");
    let mut cmd = support::controlled_command(kubectl, home.unwrap_or(scratch.path()));
    cmd.args(["kustomize", "--enable-alpha-plugins"])
        .arg(dir)
        .env("KUSTOMIZE_PLUGIN_HOME", plugins);
    for (name, value) in env {
        cmd.env(name, value);
    }
    support::run(&mut cmd).expect("run kubectl")
}

/// Asserts success and returns stdout as text (stderr shown on failure: it carries no secrets
/// in a successful path and only our redacted report otherwise).
fn rendered(what: &str, out: RunOutput) -> String {
    assert!(
        out.success(),
        "{what}: exit {:?}: {}",
        out.code,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8 output")
}

/// The documents of a rendered stream (kubectl separates them with `---` lines).
fn documents(text: &str) -> Vec<&str> {
    text.split("\n---\n").collect()
}

/// The rendered document of `kind` named `name` (kubectl prints `metadata.name` at two spaces).
fn find<'t>(text: &'t str, kind: &str, name: &str) -> Option<&'t str> {
    documents(text).into_iter().find(|doc| {
        doc.lines().any(|l| l == format!("kind: {kind}"))
            && doc.lines().any(|l| l == format!("  name: {name}"))
    })
}

/// The two-space-indented `key: value` entries of a top-level block (`data:`, `spec:`) of one
/// kubectl-rendered document.
fn block(doc: &str, field: &str) -> BTreeMap<String, String> {
    let header = format!("{field}:");
    doc.lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `items` of a ResourceList printed by kpt (`- ` entries indented by two), re-framed as a
/// `---` stream of unindented documents so [`find`] and [`block`] apply.
fn items_as_stream(list: &str) -> String {
    let mut docs: Vec<String> = Vec::new();
    for line in list.lines().skip_while(|l| *l != "items:").skip(1) {
        if let Some(rest) = line.strip_prefix("- ") {
            docs.push(format!("{rest}\n"));
        } else if let (Some(rest), Some(doc)) = (line.strip_prefix("  "), docs.last_mut()) {
            doc.push_str(rest);
            doc.push('\n');
        } else {
            break; // `functionConfig:` / `results:`: the end of `items`.
        }
    }
    docs.join("---\n")
}

/// Writes `text` to `path`, creating parent directories.
fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write file");
}

/// A4 / A3: a base and an overlay each declare a ksops generator with the same `metadata.name`.
/// kustomize must accept both (the config is not echoed as a resource) and both Secrets must
/// come out, with the overlay's namespace applied to the base's generated Secret too.
#[test]
fn base_and_overlay_generators_with_the_same_name() {
    let [sops, kubectl] = require_tools!("sops", "kubectl");
    let tmp = TempDir::new("contracts-overlay");
    let root = tmp.path();
    let (base, overlay) = (root.join("base"), root.join("overlay"));
    fs::create_dir_all(&base).expect("mkdir base");
    fs::create_dir_all(&overlay).expect("mkdir overlay");
    for (dir, secret, key) in [
        (&base, "base-creds", "one"),
        (&overlay, "overlay-creds", "two"),
    ] {
        encrypt(
            &sops,
            dir,
            "s.enc.yaml",
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {secret}\nstringData:\n  {key}: v-{key}\n").as_bytes(),
            &DATA_REGEX,
        );
        write(
            &dir.join("generator.yaml"),
            &config("same-name", "files:\n  - s.enc.yaml\n"),
        );
    }
    write(
        &base.join("kustomization.yaml"),
        "generators:\n  - generator.yaml\n",
    );
    write(
        &overlay.join("kustomization.yaml"),
        "namespace: stage\nresources:\n  - ../base\ngenerators:\n  - generator.yaml\n",
    );
    let plugins = plugin_home(root);
    let env = [("SOPS_AGE_KEY_FILE", identity(1).into_os_string())];
    let text = rendered(
        "overlay",
        kustomize(&kubectl, &plugins, &overlay, None, &env),
    );
    for (name, key) in [("base-creds", "one"), ("overlay-creds", "two")] {
        let doc = find(&text, "Secret", name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(
            block(doc, "stringData").contains_key(key),
            "{name}: no {key}"
        );
        assert!(
            doc.contains("namespace: stage"),
            "{name}: overlay namespace not applied"
        );
    }
    assert!(
        !text.contains("kind: ksops"),
        "a generator config leaked into the output"
    );
}

/// A key of the rendered Secret and the plaintext its value must decode to.
type Expected = (&'static str, &'static [u8]);

/// A7 / B6: `kustomize.config.k8s.io/behavior: merge` and `replace` on a generated Secret (set in
/// the encrypted file's clear metadata) against a base Secret of the same name.
#[test]
fn behavior_merge_and_replace_over_a_base_secret() {
    let [sops, kubectl] = require_tools!("sops", "kubectl");
    let tmp = TempDir::new("contracts-behavior");
    let root = tmp.path();
    let base = root.join("base");
    write(
        &base.join("secret.yaml"),
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\ndata:\n  a: {}\n  b: {}\n",
            b64(b"base-a"),
            b64(b"base-b")
        ),
    );
    write(
        &base.join("kustomization.yaml"),
        "resources:\n  - secret.yaml\n",
    );
    let plugins = plugin_home(root);
    let env = [("SOPS_AGE_KEY_FILE", identity(1).into_os_string())];
    // (behavior, keys expected in the result and where each value comes from)
    let cases: [(&str, &[Expected]); 2] = [
        (
            "merge",
            &[("a", b"base-a"), ("b", b"over-b"), ("c", b"over-c")],
        ),
        ("replace", &[("b", b"over-b"), ("c", b"over-c")]),
    ];
    for (behavior, want) in cases {
        let overlay = root.join(behavior);
        fs::create_dir_all(&overlay).expect("mkdir overlay");
        encrypt(
            &sops,
            &overlay,
            "creds.enc.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  annotations:\n    kustomize.config.k8s.io/behavior: {behavior}\ntype: Opaque\ndata:\n  b: {}\n  c: {}\n",
                b64(b"over-b"),
                b64(b"over-c")
            )
            .as_bytes(),
            &DATA_REGEX,
        );
        write(
            &overlay.join("generator.yaml"),
            &config("creds-gen", "files:\n  - creds.enc.yaml\n"),
        );
        write(
            &overlay.join("kustomization.yaml"),
            "resources:\n  - ../base\ngenerators:\n  - generator.yaml\n",
        );
        let text = rendered(
            behavior,
            kustomize(&kubectl, &plugins, &overlay, None, &env),
        );
        let secrets: Vec<&str> = documents(&text)
            .into_iter()
            .filter(|d| d.contains("kind: Secret"))
            .collect();
        assert_eq!(secrets.len(), 1, "{behavior}: expected one Secret `creds`");
        let data = block(secrets[0], "data");
        let want: BTreeMap<String, String> =
            want.iter().map(|(k, v)| (k.to_string(), b64(v))).collect();
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{behavior}: wrong key set"
        );
        for (key, value) in &want {
            assert!(
                data.get(key) == Some(value),
                "{behavior}: key {key} has the wrong source"
            );
        }
        assert!(
            !text.contains("kustomize.config.k8s.io/behavior"),
            "{behavior}: annotation kept in the output"
        );
    }
}

/// `files` entries are emitted as decrypted: a JSON manifest (format from the `.json` name) and a
/// YAML one of a non-Secret kind; typed values (ints, floats, bools) must survive as types, not
/// turn into strings, all the way through kustomize.
#[test]
fn json_manifest_and_typed_values_pass_through() {
    let [sops, kubectl] = require_tools!("sops", "kubectl");
    let tmp = TempDir::new("contracts-typed");
    let app = tmp.path().join("app");
    fs::create_dir_all(&app).expect("mkdir app");
    encrypt(
        &sops,
        &app,
        "widget.enc.json",
        br#"{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "from-json"}, "spec": {"replicas": 3, "enabled": true, "ratio": 0.5, "label": "x"}}"#,
        &["--encrypted-regex", "^spec$"],
    );
    encrypt(
        &sops,
        &app,
        "widget.enc.yaml",
        b"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: from-yaml\nspec:\n  replicas: 7\n  enabled: false\n  ratio: 1.25\n  label: \"42\"\n",
        &["--encrypted-regex", "^spec$"],
    );
    write(
        &app.join("generator.yaml"),
        &config(
            "typed",
            "files:\n  - widget.enc.json\n  - widget.enc.yaml\n",
        ),
    );
    write(
        &app.join("kustomization.yaml"),
        "generators:\n  - generator.yaml\n",
    );

    // Directly, the JSON file comes out as JSON (KSOPS decrypts with the file's own format).
    let home = TempDir::new("contracts-typed-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.arg("generator.yaml")
        .current_dir(&app)
        .env("SOPS_AGE_KEY_FILE", identity(1));
    let direct = rendered("direct", support::run(&mut cmd).expect("run ksops"));
    assert!(direct.starts_with('{'), "JSON manifest not emitted as JSON");
    assert!(direct.contains("\"replicas\": 3"), "JSON int not kept");

    let plugins = plugin_home(tmp.path());
    let env = [("SOPS_AGE_KEY_FILE", identity(1).into_os_string())];
    let text = rendered("kustomize", kustomize(&kubectl, &plugins, &app, None, &env));
    for (name, want) in [
        (
            "from-json",
            [
                ("replicas", "3"),
                ("enabled", "true"),
                ("ratio", "0.5"),
                ("label", "x"),
            ],
        ),
        (
            "from-yaml",
            [
                ("replicas", "7"),
                ("enabled", "false"),
                ("ratio", "1.25"),
                ("label", "\"42\""),
            ],
        ),
    ] {
        let doc = find(&text, "Widget", name).unwrap_or_else(|| panic!("{name} missing"));
        let spec = block(doc, "spec");
        for (key, value) in want {
            assert!(
                spec.get(key).map(String::as_str) == Some(value),
                "{name}: spec.{key} lost its type"
            );
        }
    }
}

/// (case, app dir, `HOME` override, environment, Secret expected).
type IdentityCase<'a> = (
    &'a str,
    &'a Path,
    Option<&'a Path>,
    Vec<(&'a str, OsString)>,
    &'a str,
);

/// Identity sources reach the generator through kustomize: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_CMD`,
/// `$HOME/.config/sops/age/keys.txt`, an ssh-ed25519 key via `SOPS_AGE_SSH_PRIVATE_KEY_FILE`,
/// and a Shamir key-groups file (threshold 2 of 3) opened with two identities (and refused with
/// one).
#[test]
fn identity_sources_through_kustomize() {
    let [sops, kubectl, ssh_keygen] = require_tools!("sops", "kubectl", "ssh-keygen");
    let tmp = TempDir::new("contracts-ids");
    let root = tmp.path();
    let plugins = plugin_home(root);
    let secret = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  k: v-{name}\n"
        )
    };

    // One app per encryption recipient set: identity 1, an ssh key, and Shamir 2-of-3.
    let age_app = root.join("age");
    fs::create_dir_all(&age_app).expect("mkdir");
    encrypt(
        &sops,
        &age_app,
        "s.enc.yaml",
        secret("by-age").as_bytes(),
        &DATA_REGEX,
    );

    let ssh_app = root.join("ssh");
    fs::create_dir_all(&ssh_app).expect("mkdir");
    let ssh_key = root.join("id_ed25519");
    let status = Command::new(&ssh_keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ksops-test", "-f"])
        .arg(&ssh_key)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
    let ssh_pub = fs::read_to_string(ssh_key.with_extension("pub")).expect("read ssh pub key");
    let mut flags = vec!["--age", ssh_pub.trim()];
    flags.extend_from_slice(&DATA_REGEX);
    support::sops_encrypt(
        &sops,
        &ssh_app,
        "s.enc.yaml",
        secret("by-ssh").as_bytes(),
        &[],
        &flags,
        support::NO_ENV,
    );

    let shamir_app = root.join("shamir");
    fs::create_dir_all(&shamir_app).expect("mkdir");
    let sops_config = root.join("shamir.sops.yaml");
    write(
        &sops_config,
        &format!(
            "creation_rules:\n  - encrypted_regex: '^(data|stringData)$'\n    shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{}]\n      - age: [{}]\n",
            support::age_recipient(&identity(1)),
            support::age_recipient(&identity(2)),
            support::age_recipient(&identity(3)),
        ),
    );
    let config_arg = sops_config.to_string_lossy().into_owned();
    support::sops_encrypt(
        &sops,
        &shamir_app,
        "s.enc.yaml",
        secret("by-shamir").as_bytes(),
        &["--config", &config_arg],
        &[],
        support::NO_ENV,
    );
    assert!(
        fs::read_to_string(shamir_app.join("s.enc.yaml"))
            .expect("read")
            .contains("shamir_threshold: 2"),
        "sops did not apply the key groups"
    );

    for app in [&age_app, &ssh_app, &shamir_app] {
        write(
            &app.join("generator.yaml"),
            &config("ids", "files:\n  - s.enc.yaml\n"),
        );
        write(
            &app.join("kustomization.yaml"),
            "generators:\n  - generator.yaml\n",
        );
    }

    let key_text = |n| {
        fs::read_to_string(identity(n))
            .expect("read identity")
            .trim_end()
            .to_string()
    };
    let two_keys = root.join("two-keys.txt");
    write(&two_keys, &format!("{}\n{}\n", key_text(1), key_text(2)));
    let key_cmd = format!("cat '{}'", identity(1).display());

    // A HOME whose default keys file holds identity 1 (XDG_CONFIG_HOME unset).
    let home_with_keys = root.join("home");
    write(
        &home_with_keys.join(".config/sops/age/keys.txt"),
        &format!("{}\n", key_text(1)),
    );

    let cases: Vec<IdentityCase> = vec![
        (
            "SOPS_AGE_KEY",
            &age_app,
            None,
            vec![("SOPS_AGE_KEY", key_text(1).into())],
            "by-age",
        ),
        (
            "SOPS_AGE_KEY_CMD",
            &age_app,
            None,
            vec![("SOPS_AGE_KEY_CMD", key_cmd.into())],
            "by-age",
        ),
        (
            "default keys.txt",
            &age_app,
            Some(&home_with_keys),
            vec![],
            "by-age",
        ),
        (
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
            &ssh_app,
            None,
            vec![("SOPS_AGE_SSH_PRIVATE_KEY_FILE", ssh_key.clone().into())],
            "by-ssh",
        ),
        (
            "shamir 2 of 3",
            &shamir_app,
            None,
            vec![("SOPS_AGE_KEY_FILE", two_keys.clone().into())],
            "by-shamir",
        ),
    ];
    let results = support::par_map(&cases, 5, |(_, app, home, env, _)| {
        kustomize(&kubectl, &plugins, app, *home, env)
    });
    for ((name, _, _, _, secret), out) in cases.iter().zip(results) {
        let text = rendered(name, out);
        let doc = find(&text, "Secret", secret).unwrap_or_else(|| panic!("{name}: no Secret"));
        assert!(
            block(doc, "stringData").get("k") == Some(&format!("v-{secret}")),
            "{name}: wrong value"
        );
    }

    // One share of a 2-of-3 split is not enough: refused, nothing rendered, nothing leaked.
    let out = kustomize(
        &kubectl,
        &plugins,
        &shamir_app,
        None,
        &[("SOPS_AGE_KEY_FILE", identity(3).into_os_string())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.success(), "shamir with one share succeeded");
    assert!(
        out.stdout.is_empty(),
        "shamir with one share printed output"
    );
    assert!(stderr.contains("s.enc.yaml"), "shamir: {stderr}");
    assert!(
        !stderr.contains("v-by-shamir"),
        "shamir: plaintext on stderr"
    );
}

/// The refusal fixture: one encrypted Secret with `data` values, tampered copies, a FIFO and an
/// oversized sparse file.
struct Refusals {
    _tmp: TempDir,
    app: PathBuf,
}

/// Plaintext markers that must never appear on stderr or in results.
const PLAIN_A: &[u8] = b"plain-value-alpha";
const PLAIN_B: &[u8] = b"plain-value-bravo";

/// Flips the first payload character after `marker` to another base64 character.
fn tamper(text: &str, marker: &str) -> String {
    let at = text.find(marker).expect("marker present") + marker.len();
    let old = text.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    format!("{}{new}{}", &text[..at], &text[at + 1..])
}

fn refusals_fixture(sops: &Path) -> Refusals {
    let tmp = TempDir::new("contracts-refusals");
    let app = tmp.path().join("app");
    fs::create_dir_all(&app).expect("mkdir app");
    encrypt(
        sops,
        &app,
        "db.secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  a: {}\n  b: {}\n",
            b64(PLAIN_A),
            b64(PLAIN_B)
        )
        .as_bytes(),
        &DATA_REGEX,
    );
    let good = fs::read_to_string(app.join("db.secret.yaml")).expect("read encrypted");
    // The first ENC value of the file is `data.a` (metadata is clear); the MAC is under `sops:`.
    write(
        &app.join("value.secret.yaml"),
        &tamper(&good, "ENC[AES256_GCM,data:"),
    );
    write(
        &app.join("mac.secret.yaml"),
        &tamper(&good, "mac: ENC[AES256_GCM,data:"),
    );
    // A clear value changed, every ENC value intact: only the MAC (which covers clear values
    // too) can catch it.
    write(
        &app.join("clear.secret.yaml"),
        &good.replacen("  name: db\n", "  name: dc\n", 1),
    );
    let fifo = app.join("pipe.secret.yaml");
    let status = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo failed");
    // 33 MiB, sparse: over the 32 MiB cap without costing disk or time.
    fs::File::create(app.join("big.secret.yaml"))
        .and_then(|f| f.set_len(33 * 1024 * 1024))
        .expect("create sparse file");
    for (name, file) in [
        ("good", "db.secret.yaml"),
        ("value", "value.secret.yaml"),
        ("mac", "mac.secret.yaml"),
        ("clear", "clear.secret.yaml"),
        ("fifo", "pipe.secret.yaml"),
        ("big", "big.secret.yaml"),
    ] {
        write(
            &app.join(format!("{name}.yaml")),
            &config("refuse", &format!("files:\n  - {file}\n")),
        );
    }
    Refusals { _tmp: tmp, app }
}

/// One refusal: (case, config in `app`, environment, text stderr must contain).
type RefusalCase = (
    &'static str,
    &'static str,
    Vec<(&'static str, OsString)>,
    &'static str,
);

fn refusal_cases(app: &Path) -> Vec<RefusalCase> {
    let key = |n| vec![("SOPS_AGE_KEY_FILE", identity(n).into_os_string())];
    vec![
        ("wrong key", "good.yaml", key(2), "db.secret.yaml"),
        (
            "missing key file",
            "good.yaml",
            vec![(
                "SOPS_AGE_KEY_FILE",
                app.join("no-such-keys.txt").into_os_string(),
            )],
            "db.secret.yaml",
        ),
        ("tampered value", "value.yaml", key(1), "value.secret.yaml"),
        ("tampered mac", "mac.yaml", key(1), "mac.secret.yaml"),
        (
            "tampered clear value",
            "clear.yaml",
            key(1),
            "clear.secret.yaml",
        ),
        ("fifo", "fifo.yaml", key(1), "pipe.secret.yaml"),
        ("oversized", "big.yaml", key(1), "big.secret.yaml"),
        (
            "concurrency 0",
            "good.yaml",
            {
                let mut env = key(1);
                env.push(("KSOPS_CONCURRENCY_LIMIT", "0".into()));
                env
            },
            "KSOPS_CONCURRENCY_LIMIT",
        ),
    ]
}

/// Runs `cmd` with `stdin` fed in, killing it after `limit` so a blocking read (a FIFO, a
/// terminal) fails the test instead of hanging it.
fn run_with_timeout(cmd: &mut Command, stdin: &[u8], limit: Duration) -> RunOutput {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // Dropping the handle after writing closes stdin, so a reader sees end of input.
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin);
    }
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process still running after {limit:?} (it blocked)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("collect output");
    RunOutput {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// The plaintext (and its base64 form, which is what sops encrypted) is nowhere in `bytes`.
fn leaks(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    [PLAIN_A, PLAIN_B]
        .iter()
        .any(|p| text.contains(std::str::from_utf8(p).expect("ascii")) || text.contains(&b64(p)))
        || text.contains("AGE-SECRET-KEY")
}

/// B7 / C4 / C5 / A11: every refusal of the legacy plugin exits 1 with nothing on stdout (so
/// kustomize never receives a partial stream), names the file or setting on stderr, and never
/// prints plaintext or key material. The FIFO case must not block.
#[test]
fn legacy_refusals_exit_1_and_leak_nothing() {
    let [sops] = require_tools!("sops");
    let fx = refusals_fixture(&sops);
    // The untampered file decrypts: the refusals below are caused by the one thing each changes.
    let home = TempDir::new("contracts-refusal-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.arg("good.yaml")
        .current_dir(&fx.app)
        .env("SOPS_AGE_KEY_FILE", identity(1));
    assert!(
        support::run(&mut cmd).expect("run").success(),
        "control case failed"
    );

    let cases = refusal_cases(&fx.app);
    let results = support::par_map(&cases, 4, |(_, cfg, env, _)| {
        let home = TempDir::new("contracts-refusal-home");
        let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
        cmd.arg(cfg).current_dir(&fx.app);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(&mut cmd, b"", Duration::from_secs(10))
    });
    for ((name, _, _, needle), out) in cases.iter().zip(results) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!leaks(&out.stderr), "{name}: plaintext or key on stderr");
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{name}: printed {} bytes",
            out.stdout.len()
        );
        assert!(
            stderr.contains(needle),
            "{name}: stderr does not name {needle}: {stderr}"
        );
        // Reports name files relative to the kustomization root, never the checkout path.
        assert!(
            !stderr.contains(fx.app.to_string_lossy().as_ref()),
            "{name}: absolute path in {stderr}"
        );
    }
}

/// A KRM ResourceList as kustomize sends it for `files: [FILE]`, plus a pass-through ConfigMap.
fn resource_list(file: &str) -> String {
    format!(
        "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: keep
  data:
    x: y
- apiVersion: viaduct.ai/v1
  kind: ksops
  metadata:
    name: refuse
    annotations:
      config.kubernetes.io/local-config: 'true'
  files:
  - {file}
functionConfig:
  apiVersion: viaduct.ai/v1
  kind: ksops
  metadata:
    name: refuse
  files:
  - {file}
"
    )
}

/// A11 / F3 in KRM mode: the same refusals with a ResourceList on stdin. The output is a
/// ResourceList with an error result and no generated object, exit 1, stderr names the file.
#[test]
fn krm_refusals_are_error_results_without_plaintext() {
    let [sops] = require_tools!("sops");
    let fx = refusals_fixture(&sops);
    let cases = refusal_cases(&fx.app);
    let results = support::par_map(&cases, 4, |(_, cfg, env, _)| {
        // The file each legacy config names, sent as a ResourceList instead.
        let file = match *cfg {
            "good.yaml" => "db.secret.yaml",
            "value.yaml" => "value.secret.yaml",
            "mac.yaml" => "mac.secret.yaml",
            "clear.yaml" => "clear.secret.yaml",
            "fifo.yaml" => "pipe.secret.yaml",
            _ => "big.secret.yaml",
        };
        let home = TempDir::new("contracts-krm-home");
        let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
        cmd.current_dir(&fx.app);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(
            &mut cmd,
            resource_list(file).as_bytes(),
            Duration::from_secs(10),
        )
    });
    for ((name, _, _, needle), out) in cases.iter().zip(results) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!leaks(&out.stderr) && !leaks(&out.stdout), "{name}: leaked");
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        assert!(
            stdout.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"),
            "{name}: no ResourceList on stdout"
        );
        assert!(
            stdout.contains("severity: error"),
            "{name}: no error result"
        );
        assert!(
            !stdout.contains("kind: Secret"),
            "{name}: generated object in a failure"
        );
        assert!(
            stdout.contains("name: keep"),
            "{name}: pass-through item dropped"
        );
        assert!(
            stderr.contains(needle),
            "{name}: stderr does not name {needle}: {stderr}"
        );
        // Reports name files relative to the kustomization root, never the checkout path.
        assert!(
            !stderr.contains(fx.app.to_string_lossy().as_ref()),
            "{name}: absolute path in {stderr}"
        );
    }
}

/// F1 with a `secretFrom`-only config: kpt runs the binary as a KRM exec function, the
/// encrypted inputs are excluded from the package by `.krmignore`, the package's resources are
/// returned and the Secret built from `files`, `binaryFiles` and `envs` is appended.
#[test]
fn kpt_secret_from_only() {
    let [sops, kpt] = require_tools!("sops", "kpt");
    let tmp = TempDir::new("contracts-kpt");
    let package = tmp.path().join("package");
    fs::create_dir_all(&package).expect("mkdir package");
    encrypt(&sops, &package, "token.txt", b"tok-kpt\n", &[]);
    encrypt(&sops, &package, "app.env", b"USER=kpt-user\n", &[]);
    encrypt(&sops, &package, "cert.bin", &[0, 1, 2, 255], &[]);
    encrypt(&sops, &package, "settings.enc.yaml", b"level: 3\n", &[]);
    write(
        &package.join(".krmignore"),
        "token.txt\napp.env\ncert.bin\nsettings.enc.yaml\n",
    );
    write(
        &package.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  x: y\n",
    );
    let fn_config = tmp.path().join("fn.yaml");
    write(
        &fn_config,
        &config(
            "from-only",
            "secretFrom:\n  - metadata:\n      name: built\n    type: Opaque\n    files:\n      - token.txt\n      - settings.yaml=settings.enc.yaml\n    binaryFiles:\n      - cert.bin\n    envs:\n      - app.env\n",
        ),
    );
    let home = TempDir::new("contracts-kpt-home");
    let mut cmd = support::controlled_command(&kpt, home.path());
    cmd.current_dir(&package)
        .args(["fn", "eval", ".", "--exec"])
        .arg(support::ksops_bin())
        .arg("--fn-config")
        .arg(&fn_config)
        .args(["-o", "stdout"])
        .env("SOPS_AGE_KEY_FILE", identity(1));
    let list = rendered("kpt", support::run(&mut cmd).expect("run kpt"));
    assert!(
        list.contains("kind: ResourceList"),
        "kpt did not print a ResourceList"
    );
    let text = items_as_stream(&list);
    let secret = find(&text, "Secret", "built").expect("generated Secret missing");
    let string_data = block(secret, "stringData");
    for key in ["token.txt", "settings.yaml", "USER"] {
        assert!(string_data.contains_key(key), "stringData.{key} missing");
    }
    assert!(
        string_data.get("USER").map(String::as_str) == Some("kpt-user"),
        "env value wrong"
    );
    assert!(
        block(secret, "data").get("cert.bin") == Some(&b64(&[0, 1, 2, 255])),
        "binary value wrong"
    );
    assert!(
        find(&text, "ConfigMap", "keep").is_some(),
        "pass-through item lost"
    );
    assert!(
        !text.contains("ENC["),
        "an encrypted input was read as a package resource"
    );
}

/// F4: `ksops` with no arguments and a terminal on stdin cannot receive a ResourceList; it must
/// print usage on stderr and exit non-zero at once instead of waiting for input. `script` gives
/// it a pty; stderr is redirected to a file inside the pty session so we can tell it from stdout.
#[test]
fn no_arguments_on_a_terminal_prints_usage() {
    let [script] = require_tools!("script");
    let tmp = TempDir::new("contracts-tty");
    let err_file = tmp.path().join("stderr.txt");
    let inner = format!(
        "'{}' 2>'{}'",
        support::ksops_bin().display(),
        err_file.display()
    );
    let mut cmd = support::controlled_command(&script, tmp.path());
    cmd.args(["-qec", &inner, "/dev/null"]);
    let out = run_with_timeout(&mut cmd, b"", Duration::from_secs(10));
    let stderr = fs::read_to_string(&err_file).expect("read redirected stderr");
    assert!(
        out.code == Some(2),
        "exit {:?}, not the usage error's 2 (stderr: {stderr})",
        out.code
    );
    assert!(stderr.contains("USAGE:"), "no usage on stderr: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("USAGE:"),
        "usage went to stdout"
    );
}
