//! The generator as kustomize's legacy exec plugin: `ksops CONFIG` run directly the way
//! kustomize runs it (cwd = kustomization root), and through every `kubectl kustomize` build on
//! the machine with the binary in a temporary plugin home.
//!
//! Encrypted inputs are made at test time with the real sops and the TEST ONLY vector identity.

use crate::support::{self, require_tools};

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{RunOutput, TempDir};

/// A kustomization directory with encrypted inputs, a generator config and the identity.
struct Fixture {
    _tmp: TempDir,
    root: PathBuf,
    app: PathBuf,
    identity: PathBuf,
}

fn identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity.txt")
}

/// Encrypts `plaintext` with sops into `dir/name`.
fn encrypt(sops: &Path, dir: &Path, name: &str, plaintext: &[u8], extra: &[&str]) {
    let recipient = support::age_recipient(&identity());
    let mut flags = vec!["--age", recipient.as_str()];
    flags.extend_from_slice(extra);
    support::sops_encrypt(sops, dir, name, plaintext, &[], &flags, support::NO_ENV);
}

const CONFIG: &str = "\
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: app-secrets
files:
  - db.secret.yaml
  - multi.yaml
secretFrom:
  - metadata:
      name: app
      namespace: prod
      labels:
        team: payments
      annotations:
        kustomize.config.k8s.io/needs-hash: \"true\"
    type: Opaque
    files:
      - config.json=settings.enc.json
      - token.txt
    binaryFiles:
      - cert.der=cert.bin
    envs:
      - app.env
";

fn fixture(sops: &Path) -> Fixture {
    let tmp = TempDir::new("generator-legacy");
    let root = tmp.path().to_path_buf();
    let app = root.join("app");
    fs::create_dir_all(&app).expect("mkdir app");
    encrypt(
        sops,
        &app,
        "db.secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: hunter2-db\n",
        &["--encrypted-regex", "^(data|stringData)$"],
    );
    encrypt(
        sops,
        &app,
        "multi.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  port: \"5432\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\ndata:\n  enabled: \"true\"\n",
        &["--encrypted-regex", "^data$"],
    );
    encrypt(
        sops,
        &app,
        "settings.enc.json",
        b"{\"url\": \"https://x.example/<a>\", \"retries\": 3}",
        &[],
    );
    encrypt(sops, &app, "token.txt", b"tok-123456\n", &[]);
    encrypt(sops, &app, "cert.bin", &[0, 159, 146, 150, 255], &[]);
    encrypt(
        sops,
        &app,
        "app.env",
        b"USER=admin\nPASSWORD=pa55word\n",
        &[],
    );
    fs::write(app.join("generator.yaml"), CONFIG).expect("write config");
    fs::write(
        app.join("kustomization.yaml"),
        "generators:\n  - generator.yaml\n",
    )
    .expect("write kustomization");
    Fixture {
        _tmp: tmp,
        root,
        app,
        identity: identity(),
    }
}

/// Runs `ksops CONFIG` in `dir` with a controlled environment.
fn run_generator(dir: &Path, config: &Path, env: &[(&str, &Path)]) -> RunOutput {
    let home = TempDir::new("generator-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.arg(config).current_dir(dir);
    for (name, value) in env {
        cmd.env(name, value);
    }
    support::run(&mut cmd).expect("run ksops")
}

#[test]
fn generates_manifests_and_secrets_like_ksops() {
    let [sops] = require_tools!("sops");
    let fx = fixture(&sops);
    let out = run_generator(
        &fx.app,
        Path::new("generator.yaml"),
        &[("SOPS_AGE_KEY_FILE", &fx.identity)],
    );
    assert!(
        out.success(),
        "ksops failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8 output");
    let want = "\
apiVersion: v1
kind: Secret
metadata:
    name: db
type: Opaque
stringData:
    password: hunter2-db

---
apiVersion: v1
kind: ConfigMap
metadata:
    name: one
data:
    port: \"5432\"
---
apiVersion: v1
kind: ConfigMap
metadata:
    name: two
data:
    enabled: \"true\"

---
apiVersion: v1
data:
  cert.der: AJ+Slv8=
kind: Secret
metadata:
  name: app
  namespace: prod
  labels:
    team: payments
  annotations:
    kustomize.config.k8s.io/needs-hash: \"true\"
stringData:
  PASSWORD: pa55word
  USER: admin
  config.json: |
    {
    \t\"url\": \"https://x.example/\\u003ca\\u003e\",
    \t\"retries\": 3
    }
  token.txt: |
    tok-123456
type: Opaque
";
    assert_eq!(text, want);
}

#[test]
fn refuses_and_prints_nothing() {
    let [sops] = require_tools!("sops");
    let fx = fixture(&sops);
    fs::write(fx.root.join("outside.yaml"), "a: b\n").expect("write outside file");
    std::os::unix::fs::symlink(fx.root.join("outside.yaml"), fx.app.join("link.yaml"))
        .expect("symlink");
    fs::write(fx.app.join("plain.yaml"), "a: b\n").expect("write plain file");
    let cases: &[(&str, &str, &str)] = &[
        ("dotdot", "files:\n  - ../outside.yaml\n", "../outside.yaml"),
        ("absolute", "files:\n  - /etc/hostname\n", "/etc/hostname"),
        ("symlink", "files:\n  - link.yaml\n", "link.yaml"),
        ("missing", "files:\n  - nope.yaml\n", "nope.yaml"),
        (
            "unencrypted",
            "files:\n  - plain.yaml\n",
            "sops metadata not found",
        ),
        ("unknown-field", "files: []\nfile:\n  - x\n", "`file`"),
        (
            "too-many-equals",
            "secretFrom:\n  - metadata: {name: s}\n    files:\n      - a=b=c\n",
            "a=b=c",
        ),
        ("no-key", "metadata:\n  name: empty\n", "files"),
    ];
    for (name, body, needle) in cases {
        let config = PathBuf::from(format!("{name}.yaml"));
        fs::write(
            fx.app.join(&config),
            format!("apiVersion: viaduct.ai/v1\nkind: ksops\n{body}"),
        )
        .expect("write config");
        let out = run_generator(&fx.app, &config, &[("SOPS_AGE_KEY_FILE", &fx.identity)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: printed output");
        assert!(stderr.contains(needle), "{name}: {stderr}");
        assert!(
            !stderr.contains(fx.root.to_string_lossy().as_ref()),
            "{name}: absolute path in {stderr}"
        );
    }
    // No identity at all: the data-key report names the generator and the file.
    let out = run_generator(&fx.app, Path::new("generator.yaml"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("viaduct.ai/v1/ksops/app-secrets") && stderr.contains("db.secret.yaml")
    );
    assert!(!stderr.contains("hunter2"));
}

/// Every `kubectl` build on the machine (the one on PATH and the `kubectl.1.*` beside it).
fn kubectl_builds() -> Vec<PathBuf> {
    let Some(kubectl) = support::find_tool("kubectl") else {
        return Vec::new();
    };
    let real = fs::canonicalize(&kubectl).unwrap_or(kubectl.clone());
    let mut builds = vec![kubectl];
    if let Some(dir) = real.parent()
        && let Ok(entries) = fs::read_dir(dir)
    {
        let mut versioned: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("kubectl.1."))
            })
            .collect();
        versioned.sort();
        builds.extend(versioned);
    }
    builds
}

#[test]
fn renders_through_every_kubectl_build() {
    let [sops] = require_tools!("sops");
    if support::require_tool("kubectl").is_none() {
        return;
    }
    let fx = fixture(&sops);
    let plugin_dir = fx.root.join("plugins/viaduct.ai/v1/ksops");
    fs::create_dir_all(&plugin_dir).expect("mkdir plugin home");
    fs::copy(support::ksops_bin(), plugin_dir.join("ksops")).expect("install plugin");
    let mut outputs = Vec::new();
    for kubectl in kubectl_builds() {
        let home = TempDir::new("kubectl-home");
        let mut cmd = support::controlled_command(&kubectl, home.path());
        cmd.args(["kustomize", "--enable-alpha-plugins"])
            .arg(&fx.app)
            .env("KUSTOMIZE_PLUGIN_HOME", fx.root.join("plugins"))
            .env("SOPS_AGE_KEY_FILE", &fx.identity);
        let out = support::run(&mut cmd).expect("run kubectl");
        let name = kubectl.display().to_string();
        assert!(
            out.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf8");
        // needs-hash: kustomize appends the content hash and strips the annotation.
        assert!(text.contains("name: app-"), "{name}: no hashed name");
        assert!(!text.contains("needs-hash"), "{name}: annotation kept");
        for (index, expected) in [
            "password: hunter2-db",
            "PASSWORD: pa55word",
            "cert.der: AJ+Slv8=",
            "name: one",
            "name: two",
            "namespace: prod",
        ]
        .iter()
        .enumerate()
        {
            // Named by position only: the expected text holds secret values.
            assert!(
                text.contains(expected),
                "{name}: expected line #{index} missing"
            );
        }
        outputs.push((name, text));
    }
    // Every build renders the same manifests.
    if let Some((first_name, first)) = outputs.first() {
        for (name, text) in &outputs[1..] {
            assert_eq!(text, first, "{name} differs from {first_name}");
        }
    }
}

/// Under kustomize, ksops's own part of a failure names the generator and the kustomization
/// directory (relative to the repository), never the temporary file kustomize wrote the config
/// to, nor an absolute path.
#[test]
fn legacy_errors_name_the_generator_and_directory() {
    let [kubectl] = require_tools!("kubectl");
    let tmp = TempDir::new("legacy-named");
    support::git_init(tmp.path());
    let app = tmp.path().join("overlays/dev");
    fs::create_dir_all(&app).expect("mkdir app");
    let plugin_dir = tmp.path().join("plugins/viaduct.ai/v1/ksops");
    fs::create_dir_all(&plugin_dir).expect("mkdir plugin home");
    std::os::unix::fs::symlink(support::ksops_bin(), plugin_dir.join("ksops")).expect("link");
    fs::write(
        app.join("kustomization.yaml"),
        "generators:\n  - gen.yaml\n",
    )
    .expect("write");
    for (config, expected) in [
        (
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: typo\nfile:\n  - a.yaml\n",
            "ksops: generator `viaduct.ai/v1/ksops/typo` in overlays/dev: unknown field `file`",
        ),
        (
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: missing\nfiles:\n  - a.yaml\n",
            "ksops: generator `viaduct.ai/v1/ksops/missing` in overlays/dev: files[0] (`a.yaml`): reading the file",
        ),
    ] {
        fs::write(app.join("gen.yaml"), config).expect("write generator");
        let mut cmd = support::controlled_command(&kubectl, tmp.path());
        cmd.current_dir(tmp.path())
            .args(["kustomize", "--enable-alpha-plugins", "overlays/dev"])
            .env("KUSTOMIZE_PLUGIN_HOME", tmp.path().join("plugins"));
        let out = support::run(&mut cmd).expect("run kubectl");
        assert!(!out.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ours = stderr
            .find("ksops: ")
            .map(|at| &stderr[at..])
            .and_then(|from| from.split("failure in plugin configured via").next())
            .unwrap_or_default();
        assert!(ours.starts_with(expected), "{stderr}");
        assert!(!ours.contains("kust-plugin-config"), "{ours}");
        assert!(!ours.contains(&tmp.path().display().to_string()), "{ours}");
    }
}
