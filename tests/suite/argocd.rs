//! Argo CD: `ksops argocd generate` as a CMP v2 sidecar runs it (checkout extracted into
//! `<tmp>/_cmp_server/<uuid>/`, files 0644, cwd = the app path, Application env prefixed with
//! `ARGOCD_ENV_`), the native repo-server build (`kubectl kustomize <abs app path>` from the repo
//! root), and the opt-in tenant binding (namespace binding, per-project keys).
//!
//! Encrypted inputs are made at test time with the real sops and the TEST ONLY vector identities.

use crate::support::{self, require_tools};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{RunOutput, TempDir};

fn identity(n: usize) -> PathBuf {
    let name = match n {
        1 => "age-test-identity.txt".to_owned(),
        n => format!("age-test-identity-{n}.txt"),
    };
    support::vectors_dir().join(name)
}

/// Encrypts `plain` with sops into `dir/name` for vector identity `to`.
/// `global` flags go before `encrypt` (e.g. `--config`); with a config, `to` is ignored.
fn encrypt(sops: &Path, dir: &Path, name: &str, plain: &str, to: usize, global: &[&str]) {
    let recipient = support::age_recipient(&identity(to));
    let age: &[&str] = if global.is_empty() {
        &["--age", &recipient]
    } else {
        &[]
    };
    support::sops_encrypt(
        sops,
        dir,
        name,
        plain.as_bytes(),
        global,
        age,
        support::NO_ENV,
    );
}

fn secret(name: &str, namespace: Option<&str>) -> String {
    let ns = namespace.map_or(String::new(), |n| format!("  namespace: {n}\n"));
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{ns}stringData:\n  password: test-only-{name}\n"
    )
}

fn generator(name: &str, files: &[&str]) -> String {
    let files: String = files.iter().map(|f| format!("  - {f}\n")).collect();
    format!("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: {name}\nfiles:\n{files}")
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
    fs::write(path, text).expect("write file");
}

/// A repository with `apps/a` and `apps/b`, each a kustomization with a ksops generator.
fn make_repo(sops: &Path, repo: &Path) {
    for (app, ns) in [("a", "team-a"), ("b", "team-b")] {
        let dir = repo.join("apps").join(app);
        encrypt(
            sops,
            &dir,
            "secret.yaml",
            &secret(&format!("{app}-db"), Some(ns)),
            1,
            &[],
        );
        write(
            &dir.join("gen.yaml"),
            &generator(&format!("{app}-secrets"), &["secret.yaml"]),
        );
        write(
            &dir.join("kustomization.yaml"),
            "generators:\n  - gen.yaml\n",
        );
    }
}

/// Copies `from` into `to` the way the CMP server extracts its tarball: files 0644, dirs 0755.
fn extract(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).expect("chmod dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            extract(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
            fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}

/// The uid (and gid) the Argo CD images and the CMP sidecar run as.
const SIDECAR_UID: u32 = 999;

/// A fake sidecar work dir: `<tmp>/_cmp_server/<uuid>` holding the repo, and a sibling checkout.
struct Cmp {
    tmp: TempDir,
    checkout: PathBuf,
    sibling: PathBuf,
}

fn cmp(sops: &Path) -> Cmp {
    let tmp = TempDir::new("argocd");
    let src = tmp.path().join("src");
    make_repo(sops, &src);
    let server = tmp.path().join("_cmp_server");
    let checkout = server.join("3f1c7d2e-0000-4000-8000-000000000001");
    let sibling = server.join("9a8b7c6d-0000-4000-8000-000000000002");
    extract(&src, &checkout);
    extract(&src, &sibling);
    fs::create_dir_all(tmp.path().join("tmp")).expect("tmpdir");
    Cmp {
        tmp,
        checkout,
        sibling,
    }
}

/// The `generate` command of the shipped CMP `plugin.yaml`, as the sidecar would run it: the
/// program is looked up on PATH there; here `ksops` is the binary under test.
fn plugin_generate_command() -> (PathBuf, Vec<String>) {
    let path = support::crate_root().join("plugin/argocd/cmp-sidecar/plugin.yaml");
    let docs = ksops::sops::parse_yaml(&fs::read(&path).expect("plugin.yaml"))
        .expect("plugin.yaml parses");
    let words: Vec<String> = docs
        .first()
        .and_then(|doc| match doc.get("spec")? {
            ksops::sops::Value::Mapping(spec) => match spec.get("generate")? {
                ksops::sops::Value::Mapping(generate) => match generate.get("command")? {
                    ksops::sops::Value::Sequence(words) => Some(
                        words
                            .iter()
                            .filter_map(|w| w.as_bytes())
                            .map(|w| String::from_utf8_lossy(w).into_owned())
                            .collect(),
                    ),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .expect("spec.generate.command is a list of strings");
    let (program, args) = words.split_first().expect("a command");
    assert_eq!(
        program, "ksops",
        "plugin.yaml runs something other than ksops"
    );
    (support::ksops_bin(), args.to_vec())
}

impl Cmp {
    /// Runs the plugin's `generate` command in `apps/<app>` with the sidecar's env plus `extra`.
    fn generate(&self, app: &str, extra: &[(&str, &str)]) -> RunOutput {
        let (program, args) = plugin_generate_command();
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.run_in_sidecar(cmd, app, extra)
    }

    /// Runs the plugin's `generate` command as the sidecar's user (uid/gid 999, no
    /// supplementary groups) through `setpriv`, with only the sidecar's `/tmp` writable by it.
    fn generate_as_sidecar_user(&self, setpriv: &Path, app: &str) -> RunOutput {
        let (program, args) = plugin_generate_command();
        let tmp = self.tmp.path().join("tmp");
        std::os::unix::fs::chown(&tmp, Some(SIDECAR_UID), Some(SIDECAR_UID)).expect("chown tmp");
        let mut cmd = Command::new(setpriv);
        cmd.arg(format!("--reuid={SIDECAR_UID}"))
            .arg(format!("--regid={SIDECAR_UID}"))
            .arg("--clear-groups")
            .arg(program)
            .args(args);
        self.run_in_sidecar(cmd, app, &[])
    }

    /// Runs `cmd` with the sidecar's working directory and environment plus `extra`.
    fn run_in_sidecar(&self, mut cmd: Command, app: &str, extra: &[(&str, &str)]) -> RunOutput {
        cmd.env_clear()
            .current_dir(self.checkout.join("apps").join(app))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent-ksops-home")
            .env("TMPDIR", self.tmp.path().join("tmp"))
            .env("ARGOCD_APP_NAME", format!("app-{app}"))
            .env("ARGOCD_APP_NAMESPACE", format!("team-{app}"))
            .env("ARGOCD_APP_SOURCE_PATH", format!("apps/{app}"))
            .env("ARGOCD_APP_PROJECT_NAME", format!("project-{app}"))
            .env("ARGOCD_ENV_SOPS_AGE_KEY_FILE", "/elsewhere")
            .env("ARGOCD_ENV_KSOPS_ROOT", "unconfined-unsafe")
            .env("SOPS_AGE_KEY_FILE", identity(1))
            .envs(extra.iter().copied());
        support::run(&mut cmd).expect("run ksops argocd generate")
    }

    fn set_generator(&self, app: &str, text: &str) {
        write(&self.checkout.join("apps").join(app).join("gen.yaml"), text);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a clean failure: non-zero, nothing on stdout, one message line (followed only by the
/// engine's data-key report, if any) naming no checkout path and no kustomize wrapping.
fn assert_refused(out: &RunOutput, expect: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.success(), "unexpected success: {}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "stdout must be empty on failure");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("ksops: "), "{stderr}");
    assert!(
        first.contains(expect),
        "first line lacks {expect:?}: {stderr}"
    );
    assert!(
        !stderr.contains("_cmp_server"),
        "absolute path in stderr: {stderr}"
    );
    assert!(
        !stderr.contains("failure in plugin"),
        "kustomize noise: {stderr}"
    );
    assert!(!stderr.contains("test-only-"), "secret in stderr: {stderr}");
    let detail = stderr.lines().skip(1).any(|l| !l.trim().is_empty());
    assert!(
        !detail || first.contains("decrypting the file"),
        "extra lines: {stderr}"
    );
}

fn tools() -> Option<PathBuf> {
    support::require_tool("kubectl")?;
    support::require_tool("sops")
}

#[test]
fn cmp_generate_is_confined_to_the_checkout() {
    let Some(sops) = tools() else {
        return;
    };
    let cmp = cmp(&sops);
    // Inside the checkout, across apps: allowed.
    cmp.set_generator(
        "a",
        &generator("a-secrets", &["secret.yaml", "../b/secret.yaml"]),
    );
    let out = cmp.generate("a", &[]);
    assert!(out.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("apiVersion: v1\n"), "{stdout}");
    assert!(stdout.contains("name: a-db") && stdout.contains("name: b-db"));
    assert!(stdout.contains("password: test-only-a-db"));
    assert_eq!(stdout.matches("kind: Secret").count(), 2);

    // A sibling checkout: refused before decryption, whatever ARGOCD_ENV_KSOPS_ROOT says.
    let sibling = cmp.sibling.file_name().expect("uuid").to_string_lossy();
    let reference = format!("../../../{sibling}/apps/b/secret.yaml");
    cmp.set_generator("a", &generator("a-secrets", &[&reference]));
    let out = cmp.generate("a", &[]);
    assert_refused(&out, "leads outside the checkout");
    // Even the sidecar's own KSOPS_ROOT cannot widen the bound.
    let out = cmp.generate("a", &[("KSOPS_ROOT", "unconfined-unsafe")]);
    assert_refused(&out, "leads outside the checkout");
}

/// The sidecar runs as uid 999 over a checkout owned by another user (0644 files): the run
/// needs no write access anywhere but its `/tmp` and prints what a privileged run prints.
#[test]
fn cmp_generate_runs_as_the_sidecar_user() {
    let test = "cmp_generate_runs_as_the_sidecar_user";
    let Some(sops) = tools() else {
        return;
    };
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIPPED {test}: switching to uid {SIDECAR_UID} needs root");
        return;
    }
    let [setpriv] = require_tools!("setpriv");
    let cmp = cmp(&sops);
    cmp.set_generator(
        "a",
        &generator("a-secrets", &["secret.yaml", "../b/secret.yaml"]),
    );
    let privileged = cmp.generate("a", &[]);
    assert!(privileged.success(), "{}", text(&privileged.stderr));
    let sidecar = cmp.generate_as_sidecar_user(&setpriv, "a");
    assert!(sidecar.success(), "{}", text(&sidecar.stderr));
    assert_eq!(text(&sidecar.stdout), text(&privileged.stdout));
    assert!(sidecar.stderr.is_empty(), "{}", text(&sidecar.stderr));
}

#[test]
fn cmp_generate_ignores_application_env_and_checks_the_app_path() {
    let Some(sops) = tools() else {
        return;
    };
    let cmp = cmp(&sops);
    // Without the sidecar's key, the Application's ARGOCD_ENV_SOPS_AGE_KEY_FILE is not used.
    let elsewhere = identity(1);
    let out = cmp.generate(
        "a",
        &[
            ("SOPS_AGE_KEY_FILE", "/nonexistent-key.txt"),
            (
                "ARGOCD_ENV_SOPS_AGE_KEY_FILE",
                elsewhere.to_str().expect("utf8"),
            ),
        ],
    );
    assert_refused(&out, "decrypting the file");
    // A source path the working directory does not end with, or one with `..`.
    for bad in ["apps/b", "apps/../apps/a"] {
        let out = cmp.generate("a", &[("ARGOCD_APP_SOURCE_PATH", bad)]);
        assert_refused(&out, "ARGOCD_APP_SOURCE_PATH");
    }
}

#[test]
fn repo_server_build_matches_render() {
    let Some(sops) = tools() else {
        return;
    };
    let tmp = TempDir::new("argocd-native");
    let repo = tmp.path().join("repo");
    make_repo(&sops, &repo);
    let plugin_dir = tmp.path().join("plugins/viaduct.ai/v1/ksops");
    fs::create_dir_all(&plugin_dir).expect("plugin dir");
    std::os::unix::fs::symlink(support::ksops_bin(), plugin_dir.join("ksops")).expect("link");
    let writable = tmp.path().join("tmp");
    fs::create_dir_all(&writable).expect("tmpdir");
    let app = repo.join("apps/a");

    let mut native = Command::new("kubectl");
    native
        .env_clear()
        .current_dir(&repo)
        .arg("kustomize")
        .arg(&app)
        .arg("--enable-alpha-plugins")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-ksops-home")
        .env("TMPDIR", &writable)
        .env("KUSTOMIZE_PLUGIN_HOME", tmp.path().join("plugins"))
        .env("ARGOCD_APP_NAME", "app-a")
        .env("ARGOCD_APP_NAMESPACE", "team-a")
        .env("ARGOCD_APP_SOURCE_PATH", "apps/a")
        .env("ARGOCD_APP_PROJECT_NAME", "project-a")
        .env("SOPS_AGE_KEY_FILE", identity(1));
    let native = support::run(&mut native).expect("run kubectl kustomize");
    assert!(native.success(), "{}", text(&native.stderr));

    let mut render = support::controlled_command(&support::ksops_bin(), tmp.path());
    render
        .arg("render")
        .arg(&app)
        .env("TMPDIR", &writable)
        .env("SOPS_AGE_KEY_FILE", identity(1));
    let render = support::run(&mut render).expect("run ksops render");
    assert!(render.success(), "{}", text(&render.stderr));
    assert_eq!(text(&native.stdout), text(&render.stdout));
    assert!(text(&native.stdout).contains("name: a-db"));
    // Nothing was left behind in the only writable directory.
    assert_eq!(fs::read_dir(&writable).expect("tmpdir").count(), 0);
}

#[test]
fn namespace_binding() {
    let Some(sops) = tools() else {
        return;
    };
    let cmp = cmp(&sops);
    let dir = cmp.checkout.join("apps/a");
    let bind = [("KSOPS_BIND_NAMESPACE", "1")];
    encrypt(
        &sops,
        &dir,
        "other.yaml",
        &secret("other", Some("team-b")),
        1,
        &[],
    );
    encrypt(&sops, &dir, "none.yaml", &secret("none", None), 1, &[]);
    // Only stringData encrypted and only it authenticated: the clear namespace could be edited.
    let config = cmp.tmp.path().join("mac-only.sops.yaml");
    let rule = format!(
        "creation_rules:\n  - age: {}\n    encrypted_regex: ^stringData$\n    mac_only_encrypted: true\n",
        support::age_recipient(&identity(1))
    );
    write(&config, &rule);
    let global = ["--config", config.to_str().expect("utf8")];
    encrypt(
        &sops,
        &dir,
        "maconly.yaml",
        &secret("maconly", Some("team-a")),
        1,
        &global,
    );
    assert!(
        fs::read_to_string(dir.join("maconly.yaml"))
            .expect("read")
            .contains("mac_only_encrypted: true")
    );

    // Matching authenticated namespace: accepted; a secretFrom Secret gets the destination.
    let with_secret_from = format!(
        "{}secretFrom:\n  - metadata:\n      name: extra\n    files:\n      - pw=none.yaml\n",
        generator("a-secrets", &["secret.yaml"])
    );
    cmp.set_generator("a", &with_secret_from);
    let out = cmp.generate("a", &bind);
    assert!(out.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("namespace: team-a").count(), 2, "{stdout}");

    for (file, expect) in [
        ("other.yaml", "is for namespace `team-b`"),
        ("none.yaml", "has no metadata.namespace"),
        ("maconly.yaml", "mac_only_encrypted"),
    ] {
        cmp.set_generator("a", &generator("a-secrets", &[file]));
        assert_refused(&cmp.generate("a", &bind), expect);
    }
    let other_ns = format!(
        "{}secretFrom:\n  - metadata:\n      name: extra\n      namespace: team-b\n    files:\n      - pw=none.yaml\n",
        generator("a-secrets", &["secret.yaml"])
    );
    cmp.set_generator("a", &other_ns);
    assert_refused(
        &cmp.generate("a", &bind),
        "the Secret sets namespace `team-b`",
    );
    // Binding on without a destination namespace: a clear error.
    cmp.set_generator("a", &generator("a-secrets", &["secret.yaml"]));
    assert_refused(
        &cmp.generate(
            "a",
            &[("KSOPS_BIND_NAMESPACE", "1"), ("ARGOCD_APP_NAMESPACE", "")],
        ),
        "ARGOCD_APP_NAMESPACE is not set",
    );
    // Off by default: the copied team-b file decrypts (KSOPS behaviour).
    cmp.set_generator("a", &generator("a-secrets", &["other.yaml"]));
    assert!(cmp.generate("a", &[]).success());
}

#[test]
fn project_keys_are_the_only_identity_source() {
    let Some(sops) = tools() else {
        return;
    };
    let cmp = cmp(&sops);
    let keys = cmp.tmp.path().join("project-keys");
    for (project, n) in [("project-a", 2), ("project-b", 1)] {
        fs::create_dir_all(keys.join(project)).expect("key dir");
        fs::copy(identity(n), keys.join(project).join("keys.txt")).expect("copy key");
    }
    let keys_dir = keys.to_str().expect("utf8");
    let setting = [("KSOPS_PROJECT_KEYS_DIR", keys_dir)];
    // secret.yaml is encrypted for identity 1: project-b's key (and SOPS_AGE_KEY_FILE) could
    // decrypt it, but project-a's key dir holds only identity 2.
    assert_refused(&cmp.generate("a", &setting), "decrypting the file");
    let out = cmp.generate("b", &setting);
    assert!(out.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("name: b-db"));
    // A project name that is not one path component is refused.
    let out = cmp.generate(
        "b",
        &[setting[0], ("ARGOCD_APP_PROJECT_NAME", "../project-b")],
    );
    assert_refused(&out, "ARGOCD_APP_PROJECT_NAME");
}
