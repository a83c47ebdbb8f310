//! Running kustomize with this binary as its ksops plugin, for `ksops render` and `ksops argocd
//! generate`: the temporary plugin home, the choice between a standalone `kustomize` and
//! `kubectl kustomize`, the build flags passed through, and one readable message when the build
//! fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::check::{LEGACY_PLUGINS, legacy_plugin_path};
use crate::cli::error::RenderError;
use crate::cli::io::note;
use crate::sops::Value;
use crate::sops::parse_yaml;

/// The annotation that makes kustomize run a generator as a KRM function.
const FUNCTION_ANNOTATION: &str = "config.kubernetes.io/function";

/// One `kustomize build` / `kubectl kustomize` flag that `render` and `argocd generate` pass
/// through.
#[derive(Debug)]
pub struct KustomizeFlag {
    /// The flag with its dashes.
    pub name: &'static str,
    /// Whether it takes a value (`--load-restrictor VALUE`).
    pub takes_value: bool,
    /// Refused: it would defeat the command (the output must reach our stdout).
    pub refused: bool,
    /// What it does, for `--help`.
    pub help: &'static str,
}

impl KustomizeFlag {
    /// The flag called `name` (with its dashes), if kustomize has one.
    pub fn find(name: &str) -> Option<&'static KustomizeFlag> {
        KUSTOMIZE_FLAGS.iter().find(|flag| flag.name == name)
    }
}

const fn flag(name: &'static str, takes_value: bool, help: &'static str) -> KustomizeFlag {
    KustomizeFlag {
        name,
        takes_value,
        refused: false,
        help,
    }
}

/// The build flags of `kubectl kustomize` (kustomize 5.x) and standalone `kustomize build`.
/// Anything else can follow `--`.
pub const KUSTOMIZE_FLAGS: [KustomizeFlag; 19] = [
    flag(
        "--enable-helm",
        false,
        "Enable the Helm chart inflator generator.",
    ),
    flag("--helm-command", true, "The helm program (default: helm)."),
    flag(
        "--helm-api-versions",
        true,
        "API versions for Helm's Capabilities.APIVersions.",
    ),
    flag(
        "--helm-kube-version",
        true,
        "Version for Helm's Capabilities.KubeVersion.",
    ),
    flag(
        "--helm-debug",
        false,
        "Debug output from the Helm inflator.",
    ),
    flag(
        "--load-restrictor",
        true,
        "LoadRestrictionsNone: files outside the root.",
    ),
    flag(
        "--enable-alpha-plugins",
        false,
        "Enable kustomize plugins (always on here).",
    ),
    flag(
        "--enable-exec",
        false,
        "Enable exec functions (kustomize only).",
    ),
    flag(
        "--enable-managedby-label",
        false,
        "Add app.kubernetes.io/managed-by (kustomize only).",
    ),
    flag(
        "--as-current-user",
        false,
        "Run container functions as the current user.",
    ),
    flag("--env", true, "Environment variables for functions."),
    flag("-e", true, "Same as --env."),
    flag("--mount", true, "Storage mounts for container functions."),
    flag(
        "--network",
        false,
        "Network access for functions that declare it.",
    ),
    flag(
        "--network-name",
        true,
        "The docker network of container functions.",
    ),
    flag(
        "--reorder",
        true,
        "Output order, legacy or none (kustomize only).",
    ),
    flag(
        "--stack-trace",
        false,
        "Print a stack trace on error (kustomize only).",
    ),
    KustomizeFlag {
        name: "--output",
        takes_value: true,
        refused: true,
        help: "",
    },
    KustomizeFlag {
        name: "-o",
        takes_value: true,
        refused: true,
        help: "",
    },
];

/// The kustomize build to run on `dir`: standalone `kustomize build --enable-alpha-plugins
/// --enable-exec` when on PATH, else `kubectl kustomize --enable-alpha-plugins`, which is refused
/// when a generator under `dir` is declared as a KRM function (kubectl would silently skip it).
pub fn kustomize_program(dir: &Path) -> Result<(PathBuf, Vec<&'static str>), RenderError> {
    if let Some(kustomize) = find_on_path("kustomize") {
        return Ok((
            kustomize,
            vec!["build", "--enable-alpha-plugins", "--enable-exec"],
        ));
    }
    let kubectl = find_on_path("kubectl").ok_or(RenderError::NoKustomize)?;
    if let Some(generator) = krm_generator(dir) {
        return Err(RenderError::SkippedByKubectl { generator });
    }
    Ok((kubectl, vec!["kustomize", "--enable-alpha-plugins"]))
}

/// The first executable file called `name` in a `PATH` directory.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs the build: its output when it succeeded (held until then, so a failed or interrupted
/// build never leaves part of a render on standard output), else one readable message.
/// `shown` maps absolute path prefixes to what the message shows instead.
pub fn run_build(
    mut command: Command,
    program: &Path,
    shown: &[(PathBuf, &str)],
) -> Result<Vec<u8>, RenderError> {
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|reason| RenderError::Spawn {
            program: program.display().to_string(),
            reason,
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        // Warnings (deprecations and the like) still reach the user.
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            note(&hide_paths(line, shown));
        }
        return Ok(output.stdout);
    }
    let (message, from_ksops) = failure_message(&stderr, shown);
    let name = program.file_name().unwrap_or(program.as_os_str());
    Err(RenderError::Build {
        program: name.to_string_lossy().into_owned(),
        message,
        from_ksops,
    })
}

/// Replaces each absolute prefix in `text` by what is shown instead.
fn hide_paths(text: &str, shown: &[(PathBuf, &str)]) -> String {
    let mut text = text.to_owned();
    for (path, replacement) in shown {
        if let Some(path) = path.to_str().filter(|p| p.len() > 1) {
            text = text.replace(path, replacement);
        }
    }
    text
}

/// One readable message from kustomize's stderr, and whether it is ksops's own: the
/// generator's message when there is one (it starts with `ksops: `, which is dropped since the
/// caller prints it again), else kustomize's error. kubectl's log prefix (`E1204 … run.go:72]
/// "command failed" err=<`), its indentation and closing `>`, and kustomize's note on the
/// temporary config file it handed the plugin are removed.
pub fn failure_message(stderr: &str, shown: &[(PathBuf, &str)]) -> (String, bool) {
    let text = hide_paths(stderr, shown);
    let mut body = Vec::new();
    for line in text.lines() {
        if is_klog_header(line) {
            if let Some((_, rest)) = line.split_once("err=") {
                let rest = rest.trim_start_matches('<').trim();
                if !rest.is_empty() {
                    body.push(rest.trim_matches('"').to_owned());
                }
            }
            continue;
        }
        if line.trim() == ">" {
            continue;
        }
        let line = line.strip_prefix('\t').unwrap_or(line);
        let line = line.strip_prefix("Error: ").unwrap_or(line);
        body.push(line.to_owned());
    }
    let body = body.join("\n");
    let (message, from_ksops) = match body.find("ksops: ") {
        Some(at) => (&body[at + "ksops: ".len()..], true),
        None => (body.as_str(), false),
    };
    let message = message
        .lines()
        .map(without_plugin_config_note)
        .collect::<Vec<_>>()
        .join("\n");
    let message = message.trim();
    match message {
        "" => ("kustomize failed without a message".into(), false),
        message => (message.to_owned(), from_ksops),
    }
}

/// A kubectl (klog) error line: `E1204 15:42:30.345097    7482 run.go:72] "command failed" …`.
fn is_klog_header(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() > 6
        && matches!(bytes[0], b'E' | b'W' | b'I' | b'F')
        && bytes[1..5].iter().all(u8::is_ascii_digit)
        && bytes[5] == b' '
        && line.contains("] ")
}

/// Drops kustomize's `: failure in plugin configured via /tmp/kust-plugin-config-NNN; exit
/// status 1` (the temporary file means nothing to the user; the generator is already named).
fn without_plugin_config_note(line: &str) -> &str {
    match line.find("failure in plugin configured via") {
        Some(at) => line[..at].trim_end().trim_end_matches(':').trim_end(),
        None => line,
    }
}

/// A plugin home holding an entry for every apiVersion and kind KSOPS has used
/// ([`LEGACY_PLUGINS`]) → this binary, removed on drop.
pub struct TempPluginHome {
    /// The plugin home directory.
    pub path: PathBuf,
    /// A directory inside it for kustomize's temporary files (its `TMPDIR`): kustomize leaves
    /// the generator config it hands a plugin behind when the plugin fails, and this way it
    /// goes with the plugin home.
    pub scratch: PathBuf,
}

impl TempPluginHome {
    /// Creates the plugin home under the temporary directory, linking the running binary as
    /// every plugin entry.
    pub fn create() -> Result<Self, RenderError> {
        let me = std::env::current_exe().map_err(RenderError::CurrentExe)?;
        let tmp = std::env::temp_dir();
        let path = tmp.join(format!(
            "ksops-render-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let io = |reason| RenderError::PluginHome {
            tmp: tmp.clone(),
            reason,
        };
        std::fs::create_dir(&path).map_err(io)?;
        let home = TempPluginHome {
            scratch: path.join("tmp"),
            path,
        };
        std::fs::create_dir(&home.scratch).map_err(io)?;
        for (api_version, kind) in LEGACY_PLUGINS {
            let link = home.path.join(legacy_plugin_path(api_version, kind));
            if let Some(dir) = link.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            std::os::unix::fs::symlink(&me, link).map_err(io)?;
        }
        Ok(home)
    }
}

impl Drop for TempPluginHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The first ksops generator under `dir` carrying the KRM function annotation, found by
/// following `kustomization.yaml` `generators` and `resources` directories.
fn krm_generator(dir: &Path) -> Option<String> {
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(current) = pending.pop() {
        seen += 1;
        if seen > 1000 {
            return None;
        }
        let kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|name| current.join(name))
            .find(|p| p.is_file())?;
        let docs = parse_yaml(&std::fs::read(&kustomization).ok()?).ok()?;
        let doc = docs.first()?;
        for field in ["generators", "resources", "components"] {
            let Some(Value::Sequence(entries)) = doc.get(field) else {
                continue;
            };
            for entry in entries.iter().filter_map(Value::as_bytes) {
                let target = current.join(String::from_utf8_lossy(entry).as_ref());
                if target.is_dir() {
                    pending.push(target);
                } else if field == "generators"
                    && let Some(name) = annotated_generator(&target)
                {
                    return Some(name);
                }
            }
        }
    }
    None
}

fn annotated_generator(file: &Path) -> Option<String> {
    let docs = parse_yaml(&std::fs::read(file).ok()?).ok()?;
    docs.iter().find_map(|doc| {
        let Value::Mapping(meta) = doc.get("metadata")? else {
            return None;
        };
        let Value::Mapping(annotations) = meta.get("annotations")? else {
            return None;
        };
        annotations.get(FUNCTION_ANNOTATION)?;
        let name = meta
            .get("name")
            .and_then(Value::as_bytes)
            .unwrap_or_default();
        Some(format!(
            "generator `{}` in {}",
            String::from_utf8_lossy(name),
            file.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_failures_become_ksops_message_once() {
        let stderr = "E1204 15:42:30.345097    7482 run.go:72] \"command failed\" err=<\n\
                      \tksops: generator `viaduct.ai/v1/ksops/g` in /work/repo/overlays/dev: files[0] (`a.yaml`): decrypting the file: Failed to get the data key required to decrypt the SOPS file.\n\
                      \t\n\
                      \tGroup 0: FAILED\n\
                      \t: failure in plugin configured via /tmp/ksops-render-1-2/tmp/kust-plugin-config-2516704912; exit status 1\n \
                      >\n";
        let shown = [(PathBuf::from("/work/repo"), ".")];
        let (message, from_ksops) = failure_message(stderr, &shown);
        assert!(from_ksops);
        assert_eq!(
            message,
            "generator `viaduct.ai/v1/ksops/g` in ./overlays/dev: files[0] (`a.yaml`): decrypting the file: Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED"
        );
    }

    #[test]
    fn kustomize_failures_keep_their_text_without_prefixes() {
        let standalone = "Error: failure in plugin configured via /tmp/x/kust-plugin-config-1; \
                          exit status 1: ksops: generator `x`: files[0]: reading the file\n";
        assert_eq!(
            failure_message(standalone, &[]),
            ("generator `x`: files[0]: reading the file".into(), true)
        );
        let other = "error: accumulating resources: open /work/repo/app/missing.yaml: no such file or directory\n";
        let (message, from_ksops) = failure_message(other, &[(PathBuf::from("/work/repo"), ".")]);
        assert!(!from_ksops);
        assert_eq!(
            message,
            "error: accumulating resources: open ./app/missing.yaml: no such file or directory"
        );
        assert_eq!(
            failure_message("", &[]).0,
            "kustomize failed without a message"
        );
    }

    #[test]
    fn the_plugin_home_has_every_entry() {
        let home = TempPluginHome::create().unwrap();
        for (api_version, kind) in LEGACY_PLUGINS {
            let entry = legacy_plugin_path(api_version, kind);
            assert!(home.path.join(&entry).exists(), "{entry}");
        }
        let path = home.path.clone();
        drop(home);
        assert!(!path.exists());
    }

    #[test]
    fn passthrough_flags_are_unique() {
        for (i, flag) in KUSTOMIZE_FLAGS.iter().enumerate() {
            assert!(
                KUSTOMIZE_FLAGS[i + 1..].iter().all(|f| f.name != flag.name),
                "{}",
                flag.name
            );
        }
    }
}
