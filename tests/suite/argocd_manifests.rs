//! The Argo CD and kustomize install material (`Dockerfile.repo-server`, `plugin/`): every
//! kustomization under `plugin/argocd/` is a Component that fails alone and patches an Argo CD
//! install (the TEST ONLY stand-in `tests/fixtures/argocd-base/`) as documented, the repo-server
//! installs cover every legacy plugin entry KSOPS has used, the example Application creates its
//! namespace, the CMP `plugin.yaml` is a valid `ConfigManagementPlugin` whose generate step is
//! `ksops argocd generate`, the images are the ones docs/argocd.md builds (the init container's
//! from the minimal `ksops` stage), the Dockerfile keeps its guarantees (its legacy plugin home
//! runs every generator apiVersion/kind KSOPS has used), and no file under `plugin/` holds an age
//! secret key.

use std::fs;
use std::path::{Path, PathBuf};

use crate::docs;
use crate::kustomize_plugin::assert_legacy_generators_build;
use crate::support::{
    RunOutput, TempDir, controlled_command, crate_root, ksops_bin, require_tool, require_tools, run,
};
use ksops::check::{LEGACY_PLUGINS, legacy_plugin_path};
use ksops::sops::parse_yaml;
use ksops::sops::{Mapping, Value};

/// Where the legacy plugin entries live in the repo-server.
const PLUGIN_HOME: &str = "/usr/local/lib/kustomize/plugin";

/// Every legacy plugin entry KSOPS has used (`<apiVersion>/<kind>/<kind>` under the plugin home).
const PLUGIN_ENTRIES: [&str; 3] = [
    "viaduct.ai/v1/ksops/ksops",
    "viaduct.ai/v2/ksops/ksops",
    "viaduct.ai/v1/ksops-exec/ksops-exec",
];

/// The install ways: the components directly under `plugin/argocd/`.
pub(crate) const WAYS: [&str; 3] = ["custom-image", "init-container", "cmp-sidecar"];

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

/// Copies the tree `from` to `to` (regular files and directories).
fn copy_tree(from: &Path, to: &Path) {
    for file in walk(from) {
        let target = to.join(file.strip_prefix(from).expect("under from"));
        fs::create_dir_all(target.parent().expect("parent")).expect("create dir");
        fs::copy(&file, &target).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
    }
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

fn parse_all(what: &str, yaml: &str) -> Vec<Mapping> {
    parse_yaml(yaml.as_bytes()).unwrap_or_else(|e| panic!("{what} does not parse: {e}"))
}

fn parse_one(path: &Path) -> Mapping {
    let docs = parse_all(&path.display().to_string(), &read_text(path));
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

/// The mapping at `keys` below `m`.
fn at<'a>(m: &'a Mapping, keys: &[&str]) -> Option<&'a Mapping> {
    keys.iter().try_fold(m, |m, key| mapping(m, key))
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

/// The mappings of the sequence `key` of `m`.
fn list<'a>(m: &'a Mapping, key: &str) -> Vec<&'a Mapping> {
    match m.get(key) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::Mapping(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The item of the sequence `key` of `m` whose `name` is `name`.
fn named<'a>(m: &'a Mapping, key: &str, name: &str) -> Option<&'a Mapping> {
    list(m, key)
        .into_iter()
        .find(|i| text(i, "name") == Some(name))
}

/// The object of `kind` named `name` among `objects`.
fn object<'a>(objects: &'a [Mapping], kind: &str, name: &str) -> &'a Mapping {
    objects
        .iter()
        .find(|o| {
            text(o, "kind") == Some(kind)
                && mapping(o, "metadata").and_then(|m| text(m, "name")) == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn is_component(dir: &Path) -> bool {
    let doc = parse_one(&dir.join("kustomization.yaml"));
    text(&doc, "kind") == Some("Component")
}

/// `kubectl kustomize DIR` run in `cwd`.
pub(crate) fn kustomize(kubectl: &Path, home: &Path, cwd: &Path, dir: &str) -> RunOutput {
    run(controlled_command(kubectl, home)
        .current_dir(cwd)
        .arg("kustomize")
        .arg(dir))
    .expect("run kubectl")
}

/// Lays out `root/dir` as docs/argocd.md tells: `kustomization` as its kustomization, `ksops`
/// (the first path element of its components) a copy of `plugin/argocd/`, and `upstream/` the
/// TEST ONLY stand-in for the upstream Argo CD install.
pub(crate) fn argocd_install(root: &Path, dir: &str, kustomization: &str, ksops: &str) {
    let install = root.join(dir);
    copy_tree(&crate_root().join("plugin/argocd"), &install.join(ksops));
    copy_tree(
        &crate_root().join("tests/fixtures/argocd-base"),
        &install.join("upstream"),
    );
    fs::write(install.join("kustomization.yaml"), kustomization).expect("write kustomization");
}

/// The objects of the stand-in install with the component `way` added, built by kubectl.
fn build_on_install(kubectl: &Path, way: &str) -> Vec<Mapping> {
    let scratch = TempDir::new("argocd-install");
    argocd_install(
        scratch.path(),
        "argocd",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             namespace: argocd\nresources:\n  - upstream\ncomponents:\n  - ksops/{way}\n"
        ),
        "ksops",
    );
    let out = kustomize(kubectl, scratch.path(), scratch.path(), "argocd");
    assert!(
        out.success(),
        "{way} on the stand-in install:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_all(way, &String::from_utf8(out.stdout).expect("UTF-8 output"))
}

/// The pod template spec of the repo-server Deployment among `objects`.
fn repo_server_pod(objects: &[Mapping]) -> &Mapping {
    let deployment = object(objects, "Deployment", "argocd-repo-server");
    at(deployment, &["spec", "template", "spec"]).expect("pod spec")
}

/// The env value `name` of `container`.
fn env<'a>(container: &'a Mapping, name: &str) -> Option<&'a str> {
    named(container, "env", name).and_then(|e| text(e, "value"))
}

/// The mount of `container` at `path`.
fn mount<'a>(container: &'a Mapping, path: &str) -> Option<&'a Mapping> {
    list(container, "volumeMounts")
        .into_iter()
        .find(|m| text(m, "mountPath") == Some(path))
}

#[test]
fn components_patch_an_argocd_install_and_fail_alone() {
    let Some(kubectl) = require_tool("kubectl") else {
        return;
    };
    let home = TempDir::new("argocd-manifests");
    let root = crate_root();
    let dirs = kustomization_dirs();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    for way in WAYS {
        let expected = format!("plugin/argocd/{way}");
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    for dir in &dirs {
        // A Kustomization here would create objects of its own when applied: a stand-in
        // repo-server or argocd-cm replacing the real ones, or a placeholder key Secret.
        assert!(
            is_component(dir),
            "{} is not a kustomize Component",
            dir.display()
        );
        let doc = parse_one(&dir.join("kustomization.yaml"));
        assert!(
            doc.get("resources").is_none(),
            "{}: a component brings no resources of its own",
            dir.display()
        );
        let name = dir.file_name().unwrap().to_str().unwrap();
        if dir.parent() == Some(&root.join("plugin/argocd")) {
            assert!(WAYS.contains(&name), "unexpected install way {name}");
            let relative = format!("plugin/argocd/{name}");
            let alone = kustomize(&kubectl, home.path(), &root, &relative);
            let stderr = String::from_utf8_lossy(&alone.stderr);
            assert!(
                !alone.success() && alone.stdout.is_empty(),
                "{relative} builds without an Argo CD install"
            );
            assert!(
                stderr.contains("no resource matches strategic merge patch"),
                "{relative}: {stderr}"
            );
        } else {
            // A nested component is checked through the ways using it.
            let used = WAYS.iter().any(|way| {
                let doc = parse_one(
                    &root
                        .join("plugin/argocd")
                        .join(way)
                        .join("kustomization.yaml"),
                );
                strings(doc.get("components"))
                    .iter()
                    .any(|c| c.trim_end_matches('/').ends_with(name))
            });
            assert!(used, "component {} is used by no way", dir.display());
        }
    }

    let objects: Vec<(&str, Vec<Mapping>)> = WAYS
        .iter()
        .map(|way| (*way, build_on_install(&kubectl, way)))
        .collect();
    for (way, objects) in &objects {
        // Patched, not replaced: the install's own containers, mounts and data are still there.
        let pod = repo_server_pod(objects);
        let repo_server = named(pod, "containers", "argocd-repo-server").expect("repo-server");
        assert!(named(pod, "initContainers", "copyutil").is_some(), "{way}");
        assert!(mount(repo_server, "/tmp").is_some(), "{way}");
        assert_eq!(
            text(repo_server, "image"),
            Some(match *way {
                "custom-image" => "registry.example.com/argocd-ksops:v3.1.8",
                _ => "quay.io/argoproj/argocd:v3.1.8",
            }),
            "{way}"
        );
        let deployment = object(objects, "Deployment", "argocd-repo-server");
        assert_eq!(
            at(deployment, &["metadata"]).and_then(|m| text(m, "namespace")),
            Some("argocd")
        );
        assert_eq!(
            at(deployment, &["metadata", "labels"])
                .and_then(|l| text(l, "app.kubernetes.io/part-of")),
            Some("argocd"),
            "{way}: the install's labels are kept"
        );
        let cm = object(objects, "ConfigMap", "argocd-cm");
        let options = mapping(cm, "data").and_then(|d| text(d, "kustomize.buildOptions"));
        let keys = match *way {
            "cmp-sidecar" => {
                assert_eq!(
                    options, None,
                    "the sidecar install must not enable exec on the shared repo-server"
                );
                assert!(mount(repo_server, "/etc/ksops/age").is_none());
                named(pod, "containers", "ksops").expect("the ksops sidecar")
            }
            _ => {
                assert_eq!(
                    options,
                    Some("--enable-alpha-plugins --enable-exec"),
                    "{way}"
                );
                repo_server
            }
        };
        assert_eq!(
            env(keys, "SOPS_AGE_KEY_FILE"),
            Some("/etc/ksops/age/keys.txt"),
            "{way}"
        );
        let key_mount = mount(keys, "/etc/ksops/age").expect("the key is mounted");
        assert_eq!(key_mount.get("readOnly"), Some(&Value::Bool(true)));
        assert_eq!(
            named(pod, "volumes", "sops-age")
                .and_then(|v| mapping(v, "secret"))
                .and_then(|s| text(s, "secretName")),
            Some("sops-age"),
            "{way}"
        );
    }

    let init = &objects[1].1;
    let pod = repo_server_pod(init);
    let installer = named(pod, "initContainers", "install-ksops").expect("install-ksops");
    assert_eq!(
        strings(installer.get("command")),
        ["/usr/local/bin/ksops", "install", "/custom-tools"]
    );
    assert!(mount(installer, "/custom-tools").is_some());

    let cmp = &objects[2].1;
    let pod = repo_server_pod(cmp);
    let sidecar = named(pod, "containers", "ksops").expect("the ksops sidecar");
    assert_eq!(
        strings(sidecar.get("command")),
        ["/var/run/argocd/argocd-cmp-server"]
    );
    assert_eq!(
        mapping(sidecar, "securityContext").and_then(|s| s.get("runAsUser")),
        Some(&Value::Int(999))
    );
    let config = mount(sidecar, "/home/argocd/cmp-server/config/plugin.yaml").expect("plugin.yaml");
    assert_eq!(text(config, "subPath"), Some("plugin.yaml"));
    assert!(mount(sidecar, "/home/argocd/cmp-server/plugins").is_some());
    assert_eq!(
        mount(sidecar, "/tmp").and_then(|m| text(m, "name")),
        Some("ksops-cmp-tmp")
    );
    // The generated plugin ConfigMap, referenced by its hashed name.
    let volume = named(pod, "volumes", "ksops-cmp-plugin")
        .and_then(|v| mapping(v, "configMap"))
        .and_then(|c| text(c, "name"))
        .expect("the plugin ConfigMap volume");
    assert!(volume.starts_with("ksops-cmp-plugin-"), "{volume}");
    let generated = object(cmp, "ConfigMap", volume);
    assert!(mapping(generated, "data").is_some_and(|d| d.get("plugin.yaml").is_some()));
}

#[test]
fn repo_server_installs_cover_every_legacy_plugin_entry() {
    let Some(kubectl) = require_tool("kubectl") else {
        return;
    };
    let check = |what: &str, container: &Mapping| {
        assert_eq!(
            env(container, "KUSTOMIZE_PLUGIN_HOME"),
            Some(PLUGIN_HOME),
            "{what}"
        );
        for path in std::iter::once("/usr/local/bin/ksops".to_string())
            .chain(PLUGIN_ENTRIES.iter().map(|e| format!("{PLUGIN_HOME}/{e}")))
        {
            let found =
                mount(container, &path).unwrap_or_else(|| panic!("{what}: no mount at {path}"));
            assert_eq!(text(found, "name"), Some("custom-tools"), "{what}: {path}");
            assert_eq!(text(found, "subPath"), Some("ksops"), "{what}: {path}");
            assert_eq!(
                found.get("readOnly"),
                Some(&Value::Bool(true)),
                "{what}: {path}"
            );
        }
    };
    let objects = build_on_install(&kubectl, "init-container");
    let pod = repo_server_pod(&objects);
    check(
        "init-container",
        named(pod, "containers", "argocd-repo-server").expect("repo-server"),
    );
    let helm = parse_one(&crate_root().join("plugin/argocd/helm-values.yaml"));
    let repo = mapping(&helm, "repoServer").expect("repoServer");
    check("helm-values.yaml repoServer", repo);

    // The docs name each entry, for the image and for the init container.
    let doc = read_text(&crate_root().join("docs/argocd.md"));
    for entry in PLUGIN_ENTRIES {
        assert!(
            doc.matches(&format!("`{entry}`")).count() >= 2,
            "docs/argocd.md does not name {entry} for both repo-server ways"
        );
    }
}

#[test]
fn applications_create_their_namespace_in_a_project_allowing_it() {
    let create = |what: &str, app: &Mapping| {
        let options = strings(at(app, &["spec", "syncPolicy"]).and_then(|p| p.get("syncOptions")));
        assert!(
            options.iter().any(|o| o == "CreateNamespace=true"),
            "{what}: the Application does not create its namespace (syncOptions: {options:?})"
        );
    };
    let mut examples = 0;
    for file in walk(&crate_root().join("plugin/argocd")) {
        if file.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let what = file.display().to_string();
        let objects = parse_all(&what, &read_text(&file));
        for app in objects
            .iter()
            .filter(|o| text(o, "kind") == Some("Application"))
        {
            examples += 1;
            create(&what, app);
            let spec = mapping(app, "spec").expect("spec");
            let project = text(spec, "project").expect("spec.project");
            if project == "default" {
                continue;
            }
            // A project other than `default` must come with the Application and allow it.
            let proj = objects
                .iter()
                .find(|o| {
                    text(o, "kind") == Some("AppProject")
                        && mapping(o, "metadata").and_then(|m| text(m, "name")) == Some(project)
                })
                .unwrap_or_else(|| panic!("{what}: no AppProject {project}"));
            let proj_spec = mapping(proj, "spec").expect("AppProject spec");
            let repo = at(spec, &["source"])
                .and_then(|s| text(s, "repoURL"))
                .expect("repoURL");
            assert!(
                strings(proj_spec.get("sourceRepos"))
                    .iter()
                    .any(|r| r == repo),
                "{what}"
            );
            let destination = mapping(spec, "destination").expect("destination");
            assert!(
                list(proj_spec, "destinations").iter().any(|d| {
                    text(d, "server") == text(destination, "server")
                        && text(d, "namespace") == text(destination, "namespace")
                }),
                "{what}: the project does not allow the destination"
            );
            assert!(
                list(proj_spec, "clusterResourceWhitelist").iter().any(|r| {
                    text(r, "group") == Some("") && text(r, "kind") == Some("Namespace")
                }),
                "{what}: CreateNamespace=true needs the project to allow Namespace"
            );
        }
    }
    assert!(examples > 0, "no example Application under plugin/argocd/");

    // Applications (and fragments of one) shown in the docs.
    let mut shown = 0;
    for block in docs::yaml_blocks("docs/argocd.md") {
        for doc in parse_all(&block.place(), &block.code) {
            let fragment = mapping(&doc, "spec").is_some_and(|s| s.get("source").is_some());
            if text(&doc, "kind") == Some("Application") || fragment {
                shown += 1;
                create(&block.place(), &doc);
            }
        }
    }
    assert!(shown > 0, "docs/argocd.md shows no Application");
}

#[test]
fn images_are_the_ones_the_docs_build() {
    let Some(kubectl) = require_tool("kubectl") else {
        return;
    };
    // Every `docker build` the docs show names an existing Dockerfile and stage.
    let builds = docs::commands("docs/argocd.md", "docker");
    let mut tags = Vec::new();
    for build in &builds {
        let place = build.place();
        let code = &build.code;
        let dockerfile = docs::flag_value(code, "-f").unwrap_or_else(|| panic!("{place}: no -f"));
        let text = read_text(&crate_root().join(dockerfile));
        let target = docs::flag_value(code, "--target");
        if let Some(target) = target {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("FROM ") && l.ends_with(&format!(" AS {target}"))),
                "{place}: {dockerfile} has no stage {target}"
            );
        }
        let tag = docs::flag_value(code, "-t").unwrap_or_else(|| panic!("{place}: no -t"));
        tags.push((target, tag));
    }
    let tag_of = |target: Option<&str>| {
        tags.iter()
            .find(|(t, _)| *t == target)
            .map(|(_, tag)| *tag)
            .unwrap_or_else(|| panic!("docs/argocd.md builds no image with --target {target:?}"))
    };
    let repo_server_image = tag_of(None);
    let ksops_image = tag_of(Some("ksops"));

    let image = |m: &Mapping| text(m, "image").map(str::to_string);
    let custom = build_on_install(&kubectl, "custom-image");
    let pod = repo_server_pod(&custom);
    assert_eq!(
        named(pod, "containers", "argocd-repo-server")
            .and_then(image)
            .as_deref(),
        Some(repo_server_image),
        "custom-image"
    );
    let cmp = build_on_install(&kubectl, "cmp-sidecar");
    let pod = repo_server_pod(&cmp);
    assert_eq!(
        named(pod, "containers", "ksops").and_then(image).as_deref(),
        Some(repo_server_image),
        "cmp-sidecar"
    );
    let helm_cmp = parse_one(&crate_root().join("plugin/argocd/helm-values-cmp.yaml"));
    let repo = mapping(&helm_cmp, "repoServer").expect("repoServer");
    assert_eq!(
        named(repo, "extraContainers", "ksops")
            .and_then(image)
            .as_deref(),
        Some(repo_server_image),
        "helm-values-cmp.yaml"
    );

    // The init container runs the minimal `ksops` stage.
    let init = build_on_install(&kubectl, "init-container");
    let pod = repo_server_pod(&init);
    assert_eq!(
        named(pod, "initContainers", "install-ksops")
            .and_then(image)
            .as_deref(),
        Some(ksops_image),
        "init-container"
    );
    let helm = parse_one(&crate_root().join("plugin/argocd/helm-values.yaml"));
    let repo = mapping(&helm, "repoServer").expect("repoServer");
    assert_eq!(
        named(repo, "initContainers", "install-ksops")
            .and_then(image)
            .as_deref(),
        Some(ksops_image),
        "helm-values.yaml"
    );
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
    // Run as the sidecar runs it: every kind of ksops generator is claimed, nothing else is.
    let apps = TempDir::new("cmp-discover");
    for (app, generator, claimed) in [
        ("v1", "apiVersion: viaduct.ai/v1\nkind: ksops\n", true),
        ("v2", "apiVersion: viaduct.ai/v2\nkind: ksops\n", true),
        (
            "exec",
            "apiVersion: viaduct.ai/v1\nkind: ksops-exec\n",
            true,
        ),
        ("plain", "apiVersion: v1\nkind: ConfigMap\n", false),
    ] {
        let dir = apps.path().join(app);
        fs::create_dir_all(&dir).expect("app dir");
        fs::write(dir.join("kustomization.yaml"), "generators: [gen.yaml]\n").expect("write");
        fs::write(dir.join("gen.yaml"), generator).expect("write");
        let command = strings(find.get("command"));
        let out = run(std::process::Command::new(&command[0])
            .args(&command[1..])
            .current_dir(&dir))
        .expect("run the discover command");
        assert_eq!(out.code, Some(0), "{app}");
        assert_eq!(!out.stdout.is_empty(), claimed, "{app}");
    }

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
    let final_stage = &lines[lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM line")..];
    assert!(
        final_stage
            .iter()
            .any(|l| l.starts_with("COPY --from=build")
                && l.contains("--chown=root:root")
                && l.contains("--chmod=0755")
                && l.ends_with(" /usr/local/bin/ksops"))
    );
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

    // `--target ksops`: the init container's image, the static binary alone where the init
    // container runs it from.
    let stage: Vec<&str> = lines
        .iter()
        .skip_while(|l| **l != "FROM scratch AS ksops")
        .skip(1)
        .take_while(|l| !l.starts_with("FROM "))
        .copied()
        .collect();
    assert!(!stage.is_empty(), "a `FROM scratch AS ksops` stage");
    assert!(
        stage.iter().any(|l| l.starts_with("COPY --from=build ")
            // scratch has no /etc/passwd to resolve an owner's name with.
            && l.contains("--chown=0:0")
            && l.contains("--chmod=0755")
            && l.ends_with(" /out/ksops /usr/local/bin/ksops")),
        "the ksops stage copies the binary, root-owned, to /usr/local/bin/ksops: {stage:?}"
    );
    assert!(
        stage.iter().all(|l| !l.starts_with("RUN ")),
        "nothing runs in the scratch stage: {stage:?}"
    );
    assert!(stage.contains(&"USER 999"), "the ksops stage runs as 999");
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
}
