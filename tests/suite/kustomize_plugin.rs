//! The legacy plugin layout ksops installs (`plugin/kustomize/install.sh`, and
//! `Dockerfile.repo-server` through `argocd_manifests`): every apiVersion/kind KSOPS generators
//! have used ([`ksops::check::LEGACY_PLUGINS`]) builds with the real `kubectl kustomize
//! --enable-alpha-plugins`, in whichever plugin home kustomize picks; any other apiVersion/kind
//! fails there, as `ksops check --host kubectl` reports (`missing-plugin`).
//!
//! Encrypted inputs are made at test time with the real sops and the TEST ONLY vector identity.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, RunOutput, TempDir, controlled_command, require_tools, run};
use ksops::check::{LEGACY_PLUGINS, legacy_plugin_path};

/// The value every generated Secret must carry (TEST ONLY).
const VALUE: &str = "TEST-ONLY-plugin-layout";

fn identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity.txt")
}

/// A generator config of the given apiVersion/kind making Secret `secret` from `app.enc.env`.
fn generator(api_version: &str, kind: &str, secret: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {secret}-generator\n\
         secretFrom:\n  - metadata:\n      name: {secret}\n    envs:\n      - app.enc.env\n"
    )
}

/// A kustomization in `dir` listing one generator per `(apiVersion, kind)`; the generator `i`
/// makes Secret `secret-i`.
fn kustomization(sops: &Path, dir: &Path, generators: &[(&str, &str)]) {
    let recipient = support::age_recipient(&identity());
    support::sops_encrypt(
        sops,
        dir,
        "app.enc.env",
        format!("PASSWORD={VALUE}\n").as_bytes(),
        &[],
        &["--age", &recipient],
        support::NO_ENV,
    );
    let mut listed = String::from("generators:\n");
    for (i, (api_version, kind)) in generators.iter().enumerate() {
        let file = format!("generator-{i}.yaml");
        fs::write(
            dir.join(&file),
            generator(api_version, kind, &format!("secret-{i}")),
        )
        .expect("write generator");
        listed.push_str(&format!("  - {file}\n"));
    }
    fs::write(dir.join("kustomization.yaml"), listed).expect("write kustomization");
}

/// `kubectl kustomize --enable-alpha-plugins DIR` with `HOME` = `home` and `env` on top.
fn build(kubectl: &Path, home: &Path, env: &[(&str, &Path)], dir: &Path) -> RunOutput {
    let mut cmd = controlled_command(kubectl, home);
    cmd.args(["kustomize", "--enable-alpha-plugins"])
        .arg(dir)
        .env("SOPS_AGE_KEY_FILE", identity());
    for (name, value) in env {
        cmd.env(name, value);
    }
    run(&mut cmd).expect("run kubectl")
}

/// `ksops check --host kubectl DIR`: its exit code and JSON report.
fn check_kubectl(home: &Path, dir: &Path) -> (Option<i32>, String) {
    let out = run(controlled_command(&support::ksops_bin(), home)
        .args(["check", "--format", "json", "--host", "kubectl"])
        .arg(dir))
    .expect("run ksops check");
    (out.code, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// With kustomize pointed at a plugin home by `HOME` = `home` and `env`: a generator of every
/// apiVersion/kind in [`LEGACY_PLUGINS`] decrypts its Secret, and one of another apiVersion fails
/// for want of a plugin entry. `ksops check --host kubectl` agrees on both.
pub(crate) fn assert_legacy_generators_build(
    kubectl: &Path,
    sops: &Path,
    home: &Path,
    env: &[(&str, &Path)],
) {
    let scratch = TempDir::new("plugin-layout");
    let known = scratch.path().join("known");
    fs::create_dir_all(&known).expect("mkdir");
    kustomization(sops, &known, &LEGACY_PLUGINS);
    let out = build(kubectl, home, env, &known);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, plugin) in LEGACY_PLUGINS.iter().enumerate() {
        assert!(
            stdout.contains(&format!("name: secret-{i}\n")),
            "{plugin:?} generated nothing:\n{stdout}"
        );
    }
    assert_eq!(
        stdout.matches(&format!("PASSWORD: {VALUE}\n")).count(),
        LEGACY_PLUGINS.len(),
        "every generator decrypted the value:\n{stdout}"
    );
    assert_eq!(check_kubectl(home, &known).0, Some(0), "ksops check agrees");

    let unknown = scratch.path().join("unknown");
    fs::create_dir_all(&unknown).expect("mkdir");
    kustomization(sops, &unknown, &[("viaduct.ai/v3", "ksops")]);
    let out = build(kubectl, home, env, &unknown);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.success(), "built without a plugin entry");
    let entry = legacy_plugin_path("viaduct.ai/v3", "ksops");
    assert!(
        stderr.contains(&format!("{entry}.so")),
        "kustomize looked for {entry}: {stderr}"
    );
    let (code, report) = check_kubectl(home, &unknown);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("\"missing-plugin\""), "{report}");
}

/// Runs `plugin/kustomize/install.sh ARGS` with `HOME` = `home`, `env` on top and the test's
/// ksops binary as the binary to install.
fn install(home: &Path, env: &[(&str, &Path)], args: &[&str]) {
    let script = support::crate_root().join("plugin/kustomize/install.sh");
    let mut cmd = controlled_command(&script, home);
    cmd.args(args).arg(support::ksops_bin());
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = run(&mut cmd).expect("run install.sh");
    assert!(
        out.success(),
        "install.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every entry of [`LEGACY_PLUGINS`] under `plugin_home` runs the installed binary.
fn assert_entries(plugin_home: &Path) {
    let installed = fs::read(support::ksops_bin()).expect("read ksops");
    for (api_version, kind) in LEGACY_PLUGINS {
        let entry = plugin_home.join(legacy_plugin_path(api_version, kind));
        let bytes = fs::read(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        assert!(bytes == installed, "{} is not ksops", entry.display());
        let version = run(Command::new(&entry).arg("--version")).expect("run entry");
        assert!(version.success(), "{} does not run", entry.display());
    }
}

#[test]
fn install_sh_fills_kustomize_plugin_home() {
    let [kubectl, sops] = require_tools!("kubectl", "sops");
    let scratch = TempDir::new("install-sh");
    let home = scratch.path().join("home");
    let xdg = scratch.path().join("xdg");
    let plugins = scratch.path().join("plugins");
    fs::create_dir_all(&home).expect("mkdir home");
    let env: [(&str, &Path); 2] = [
        ("XDG_CONFIG_HOME", &xdg),
        ("KUSTOMIZE_PLUGIN_HOME", &plugins),
    ];
    install(&home, &env, &["--plugin-only"]);
    assert_entries(&plugins);
    assert!(
        !xdg.exists() && !home.join(".local").exists(),
        "only the plugin home"
    );
    assert_legacy_generators_build(&kubectl, &sops, &home, &env);
}

#[test]
fn install_sh_defaults_to_xdg_and_puts_ksops_on_path() {
    let [kubectl, sops] = require_tools!("kubectl", "sops");
    let scratch = TempDir::new("install-sh");
    let home = scratch.path().join("home");
    let xdg = scratch.path().join("xdg");
    let bin = scratch.path().join("bin");
    fs::create_dir_all(&home).expect("mkdir home");
    let env: [(&str, &Path); 1] = [("XDG_CONFIG_HOME", &xdg)];
    install(
        &home,
        &env,
        &["--bin-dir", bin.to_str().expect("utf-8 path")],
    );
    assert_entries(&xdg.join("kustomize/plugin"));
    assert_eq!(
        fs::read(bin.join("ksops")).expect("ksops on PATH"),
        fs::read(support::ksops_bin()).expect("read ksops")
    );
    assert_legacy_generators_build(&kubectl, &sops, &home, &env);
}

#[test]
fn install_sh_uses_the_existing_home_and_upgrades_in_place() {
    let [kubectl, sops] = require_tools!("kubectl", "sops");
    let scratch = TempDir::new("install-sh");
    let home = scratch.path().join("home");
    // kustomize's last candidate, already in use: installing elsewhere would hide it.
    let plugins = home.join("kustomize/plugin");
    // An entry left by KSOPS's own installer is replaced.
    let old = plugins.join("viaduct.ai/v1/ksops-exec");
    fs::create_dir_all(&old).expect("mkdir");
    fs::write(old.join("ksops-exec"), "#!/bin/sh\nexit 1\n").expect("write old entry");
    install(&home, &[], &["--plugin-only"]);
    install(&home, &[], &["--plugin-only"]);
    assert_entries(&plugins);
    assert!(!home.join(".config").exists(), "nothing under ~/.config");
    let leftovers: Vec<_> = walk_names(&plugins)
        .into_iter()
        .filter(|name| name.starts_with(".ksops."))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert_legacy_generators_build(&kubectl, &sops, &home, &[]);
}

/// The names of every file and directory under `dir`.
fn walk_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().expect("file type").is_dir() {
            names.extend(walk_names(&entry.path()));
        }
    }
    names
}
