//! The Argo CD and kustomize install material (`Dockerfile.repo-server`, `plugin/`): every
//! kustomization under `plugin/argocd/` builds, the CMP `plugin.yaml` is a valid
//! `ConfigManagementPlugin` whose generate step is `ksops argocd generate`, the Dockerfile keeps
//! its guarantees (its legacy plugin home runs every generator apiVersion/kind KSOPS has used),
//! and no file under `plugin/` holds an age secret key.

use std::fs;
use std::path::{Path, PathBuf};

use crate::kustomize_plugin::assert_legacy_generators_build;
use crate::support::{
    TempDir, controlled_command, crate_root, ksops_bin, require_tool, require_tools, run,
};
use ksops::check::{LEGACY_PLUGINS, legacy_plugin_path};
use ksops::sops::stores::yaml::parse_documents;
use ksops::sops::tree::{Mapping, Value};

/// Every file below `dir`, sorted, symlinks not followed.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let entry = entry.expect("directory entry");
            let ty = entry.file_type().expect("file type");
            if ty.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// Directories under `plugin/argocd/` holding a kustomization file.
fn kustomization_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = walk(&crate_root().join("plugin/argocd"))
        .into_iter()
        .filter(|p| {
            matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
            )
        })
        .map(|p| p.parent().expect("parent").to_path_buf())
        .collect();
    dirs.dedup();
    dirs
}

fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn parse_one(path: &Path) -> Mapping {
    let docs = parse_documents(read_text(path).as_bytes())
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: expected one document", path.display());
    docs.into_iter().next().expect("one document")
}

fn text<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    match m.get(key)? {
        Value::Str(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

fn mapping<'a>(m: &'a Mapping, key: &str) -> Option<&'a Mapping> {
    match m.get(key)? {
        Value::Mapping(inner) => Some(inner),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::Str(b) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn is_component(dir: &Path) -> bool {
    let doc = parse_one(&dir.join("kustomization.yaml"));
    text(&doc, "kind") == Some("Component")
}

#[test]
fn every_argocd_kustomization_builds() {
    let Some(kubectl) = require_tool("kubectl") else {
        return;
    };
    let dirs = kustomization_dirs();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.strip_prefix(crate_root()).unwrap().display().to_string())
        .collect();
    for expected in [
        "plugin/argocd/base",
        "plugin/argocd/custom-image",
        "plugin/argocd/init-container",
        "plugin/argocd/cmp-sidecar",
        "plugin/argocd/sops-age",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }

    let home = TempDir::new("argocd-manifests");
    let mut built: Vec<(PathBuf, String)> = Vec::new();
    let mut components = Vec::new();
    for dir in &dirs {
        if is_component(dir) {
            // A Component cannot be built alone; it is checked through the overlays using it.
            components.push(dir.clone());
            continue;
        }
        let out = run(controlled_command(&kubectl, home.path())
            .arg("kustomize")
            .arg(dir))
        .expect("run kubectl");
        assert!(
            out.success(),
            "kubectl kustomize {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let yaml = String::from_utf8(out.stdout).expect("UTF-8 output");
        assert!(!yaml.trim().is_empty(), "{}: empty build", dir.display());
        built.push((dir.clone(), yaml));
    }

    for component in &components {
        let name = component.file_name().unwrap().to_str().unwrap();
        let used = dirs.iter().any(|d| {
            let doc = parse_one(&d.join("kustomization.yaml"));
            strings(doc.get("components"))
                .iter()
                .any(|c| c.trim_end_matches('/').ends_with(name))
        });
        assert!(
            used,
            "component {} is used by no overlay",
            component.display()
        );
    }

    let output = |name: &str| -> &str {
        &built
            .iter()
            .find(|(d, _)| d.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not built"))
            .1
    };

    let custom = output("custom-image");
    assert!(custom.contains("image: registry.example.com/argocd-ksops:"));
    assert!(custom.contains("kustomize.buildOptions: --enable-alpha-plugins --enable-exec"));
    assert!(custom.contains("value: /etc/ksops/age/keys.txt"));

    let init = output("init-container");
    assert!(init.contains("- /usr/local/bin/ksops\n        - install\n        - /custom-tools"));
    assert!(init.contains("mountPath: /usr/local/bin/ksops\n          name: custom-tools"));
    assert!(init.contains("mountPath: /usr/local/lib/kustomize/plugin/viaduct.ai/v1/ksops/ksops"));
    assert!(
        init.contains(
            "name: KUSTOMIZE_PLUGIN_HOME\n          value: /usr/local/lib/kustomize/plugin"
        )
    );
    assert!(init.contains("kustomize.buildOptions: --enable-alpha-plugins --enable-exec"));

    let cmp = output("cmp-sidecar");
    assert!(cmp.contains("- /var/run/argocd/argocd-cmp-server"));
    assert!(cmp.contains("runAsUser: 999"));
    assert!(cmp.contains("mountPath: /home/argocd/cmp-server/config/plugin.yaml"));
    assert!(cmp.contains("subPath: plugin.yaml"));
    assert!(cmp.contains("mountPath: /home/argocd/cmp-server/plugins"));
    assert!(cmp.contains("name: ksops-cmp-tmp"));
    assert!(
        !cmp.contains("--enable-exec"),
        "the sidecar install must not enable exec on the shared repo-server"
    );

    // The layout-only Secret carries a placeholder, never a key.
    let secret = output("sops-age");
    assert!(secret.contains("name: sops-age") && secret.contains("keys.txt:"));
}

#[test]
fn cmp_plugin_config_runs_ksops_argocd_generate() {
    let path = crate_root().join("plugin/argocd/cmp-sidecar/plugin.yaml");
    let doc = parse_one(&path);
    assert_eq!(text(&doc, "apiVersion"), Some("argoproj.io/v1alpha1"));
    assert_eq!(text(&doc, "kind"), Some("ConfigManagementPlugin"));
    let metadata = mapping(&doc, "metadata").expect("metadata");
    assert_eq!(text(metadata, "name"), Some("ksops"));
    let spec = mapping(&doc, "spec").expect("spec");
    let generate = mapping(spec, "generate").expect("spec.generate");
    let command = strings(generate.get("command"));
    assert_eq!(command, ["ksops", "argocd", "generate"]);

    let discover = mapping(spec, "discover").expect("spec.discover");
    let find = mapping(discover, "find").expect("spec.discover.find");
    let script = strings(find.get("command")).join(" ");
    assert!(script.contains("set -eu"), "discover script: {script}");
    assert!(script.contains("kustomization.yaml") && script.contains("ksops"));
    // A failing find command is an error for every application: non-matches must exit 0.
    assert!(script.contains("|| true") && script.contains("exit 0"));

    assert_eq!(spec.get("preserveFileMode"), Some(&Value::Bool(false)));

    // The Helm values declare the same plugin: generate, discover and file modes.
    let helm = parse_one(&crate_root().join("plugin/argocd/helm-values-cmp.yaml"));
    let helm_spec = mapping(&helm, "configs")
        .and_then(|c| mapping(c, "cmp"))
        .and_then(|c| mapping(c, "plugins"))
        .and_then(|p| mapping(p, "ksops"))
        .expect("configs.cmp.plugins.ksops");
    let helm_generate = mapping(helm_spec, "generate").expect("generate");
    assert_eq!(strings(helm_generate.get("command")), command);
    let helm_find = mapping(helm_spec, "discover").and_then(|d| mapping(d, "find"));
    assert_eq!(
        strings(helm_find.expect("discover.find").get("command")).join(" "),
        script
    );
    assert_eq!(helm_spec.get("preserveFileMode"), Some(&Value::Bool(false)));
    assert!(mapping(&helm, "repoServer").is_some_and(|r| r.get("extraContainers").is_some()));
    let helm = parse_one(&crate_root().join("plugin/argocd/helm-values.yaml"));
    let cm = mapping(&helm, "configs").and_then(|c| mapping(c, "cm"));
    assert_eq!(
        cm.and_then(|cm| text(cm, "kustomize.buildOptions")),
        Some("--enable-alpha-plugins --enable-exec")
    );
    let repo = mapping(&helm, "repoServer").expect("repoServer");
    for key in ["volumes", "volumeMounts", "initContainers", "env"] {
        assert!(
            repo.get(key).is_some(),
            "helm-values.yaml: repoServer.{key}"
        );
    }
}

#[test]
fn dockerfile_pins_argocd_and_ends_as_argocd_user() {
    let text = read_text(&crate_root().join("Dockerfile.repo-server"));
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();

    let pin = lines
        .iter()
        .find_map(|l| l.strip_prefix("ARG ARGOCD_VERSION="))
        .expect("ARG ARGOCD_VERSION=<tag>");
    let version = pin.strip_prefix('v').expect("tag starts with v");
    let parts: Vec<&str> = version.split('.').collect();
    assert_eq!(parts.len(), 3, "pinned to a full version: {pin}");
    assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "pin: {pin}");
    assert!(matches!(parts[0], "2" | "3"), "Argo CD v2.x or v3.x: {pin}");

    assert!(
        lines.contains(&"FROM quay.io/argoproj/argocd:${ARGOCD_VERSION}"),
        "final stage from the pinned Argo CD image"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cargo build --release") && l.contains("--target")),
        "a release build for an explicit (static) target"
    );
    assert!(
        text.contains("x86_64-unknown-linux-musl") && text.contains("aarch64-unknown-linux-musl")
    );
    assert!(lines.iter().any(|l| l.starts_with("COPY --from=build")
        && l.contains("--chown=root:root")
        && l.contains("--chmod=0755")
        && l.ends_with(" /usr/local/bin/ksops")));
    assert!(lines.contains(&"ENV KUSTOMIZE_PLUGIN_HOME=/usr/local/lib/kustomize/plugin"));
    assert!(lines.contains(&"USER root"));
    assert_eq!(lines.last(), Some(&"USER 999"), "must end with USER 999");
    // No keys baked in: nothing copied but the sources and the build output, no key in the env.
    let copied: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("COPY ") && !l.starts_with("COPY --from=build"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().skip(1).collect();
            words[..words.len().saturating_sub(1)].to_vec()
        })
        .collect();
    for source in &copied {
        assert!(
            ["Cargo.toml", "Cargo.lock", "src", "benches"].contains(source),
            "unexpected COPY source: {source}"
        );
    }
    // Cargo refuses to build when a target named in Cargo.toml is missing from the context.
    let manifest = read_text(&crate_root().join("Cargo.toml"));
    for (section, dir) in [("[[bench]]", "benches"), ("[[example]]", "examples")] {
        assert!(
            !manifest.contains(section) || copied.contains(&dir),
            "Cargo.toml declares {section} targets but {dir}/ is not copied into the image build"
        );
    }
    for line in manifest.lines() {
        if let Some(path) = line.trim().strip_prefix("path = \"") {
            let top = path.split('/').next().unwrap_or_default();
            assert!(
                copied.contains(&top),
                "Cargo.toml target {path} is not copied into the image build"
            );
        }
    }
    for l in &lines {
        assert!(
            !l.contains("SOPS_AGE_KEY"),
            "no age key configuration in the image: {l}"
        );
    }
}

/// The Dockerfile's instructions, continuation lines joined and comments dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The image's plugin-layout step, run as written with the plugin home in a scratch directory
/// and this build's ksops in place of `/usr/local/bin/ksops`: every apiVersion/kind KSOPS
/// generators have used builds with the real kubectl.
#[test]
fn dockerfile_plugin_home_runs_every_legacy_generator() {
    let [kubectl, sops] = require_tools!("kubectl", "sops");
    let text = read_text(&crate_root().join("Dockerfile.repo-server"));
    let steps: Vec<String> = instructions(&text)
        .into_iter()
        .filter(|i| i.starts_with("RUN ") && i.contains("KUSTOMIZE_PLUGIN_HOME"))
        .collect();
    assert_eq!(
        steps.len(),
        1,
        "one RUN step makes the plugin home: {steps:?}"
    );
    let script = steps[0]
        .strip_prefix("RUN ")
        .unwrap_or_default()
        .replace("/usr/local/bin/ksops", &ksops_bin().display().to_string());

    let scratch = TempDir::new("dockerfile-plugins");
    let home = scratch.path().join("home");
    let plugins = scratch.path().join("plugins");
    fs::create_dir_all(&home).expect("mkdir home");
    let out = run(controlled_command(Path::new("/bin/sh"), &home)
        .args(["-c", &script])
        .env("KUSTOMIZE_PLUGIN_HOME", &plugins))
    .expect("run the RUN step");
    assert!(
        out.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (api_version, kind) in LEGACY_PLUGINS {
        let entry = plugins.join(legacy_plugin_path(api_version, kind));
        let target = fs::read_link(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        assert_eq!(target, ksops_bin(), "{} links to ksops", entry.display());
    }
    let env: [(&str, &Path); 1] = [("KUSTOMIZE_PLUGIN_HOME", &plugins)];
    assert_legacy_generators_build(&kubectl, &sops, &home, &env);
}

#[test]
fn no_age_secret_key_under_plugin() {
    // `AGE-SECRET-KEY-1` followed by bech32 characters is a real (or realistic) identity.
    const PREFIX: &str = "AGE-SECRET-KEY-1";
    let bech32 = |c: char| "qpzry9x8gf2tvdw0s3jn54khce6mua7l".contains(c.to_ascii_lowercase());
    let mut files = walk(&crate_root().join("plugin"));
    files.push(crate_root().join("Dockerfile.repo-server"));
    files.push(crate_root().join("docs/argocd.md"));
    for file in files {
        let bytes = fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let text = String::from_utf8_lossy(&bytes).to_uppercase();
        for (at, _) in text.match_indices(PREFIX) {
            let tail = &text[at + PREFIX.len()..];
            let key_chars = tail.chars().take_while(|&c| bech32(c)).count();
            assert!(
                key_chars < 8,
                "{} holds what looks like an age secret key (at byte {at})",
                file.display()
            );
        }
    }

    let placeholder = read_text(&crate_root().join("plugin/argocd/sops-age/keys.txt"));
    assert!(placeholder.contains("PLACEHOLDER"));
    assert!(
        placeholder
            .lines()
            .all(|l| l.trim().is_empty() || l.starts_with('#')),
        "the placeholder keys.txt holds only comments"
    );
}
