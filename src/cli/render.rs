//! `ksops render [--dry-run | --redact] DIR`: a local render of a kustomization with this binary
//! wired in as the legacy `viaduct.ai/v1` `ksops` plugin, through a temporary plugin home (nothing
//! is installed). `--dry-run` and `--redact` reach the generators through their environment
//! variables, which every generator kustomize starts inherits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::generate::{KSOPS_DRY_RUN, KSOPS_REDACT, ValueSetting};
use crate::cli::{CliError, RenderArgs, find_on_path, write_stdout};
use crate::sops::stores::yaml::parse_documents;
use crate::sops::tree::Value;

/// The annotation that makes kustomize run a generator as a KRM function.
const FUNCTION_ANNOTATION: &str = "config.kubernetes.io/function";

/// Runs `ksops render`.
pub fn run(args: &RenderArgs) -> Result<(), CliError> {
    let dir = args.dir.as_path();
    let me = std::env::current_exe().map_err(|source| CliError::Read {
        file: "the running ksops executable".into(),
        source,
    })?;
    let home = TempPluginHome::create(&me)?;
    let (program, program_args) = kustomize_program(dir)?;
    let mut command = Command::new(&program);
    command
        .args(&program_args)
        .arg(dir)
        .env("KUSTOMIZE_PLUGIN_HOME", &home.path)
        .env("TMPDIR", &home.scratch);
    if let Some(values) = args.values {
        command.env_remove(KSOPS_DRY_RUN).env_remove(KSOPS_REDACT);
        match values {
            ValueSetting::Decrypt => {}
            ValueSetting::DryRun => {
                command.env(KSOPS_DRY_RUN, "1");
            }
            ValueSetting::Redact => {
                command.env(KSOPS_REDACT, "1");
            }
        }
    }
    // Generators run in each kustomization's directory, where a key file named relative to
    // where `ksops render` was started would not be found.
    for name in ["SOPS_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"] {
        if let Some(value) = std::env::var_os(name)
            && Path::new(&value).is_relative()
            && let Ok(cwd) = std::env::current_dir()
        {
            command.env(name, cwd.join(value));
        }
    }
    // The build's output is held until it has succeeded, so a failed or interrupted build
    // never leaves part of a render on standard output (kustomize's stderr streams through).
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| CliError::Read {
            file: program.display().to_string(),
            source,
        })?;
    if output.status.success() {
        write_stdout(&output.stdout)
    } else {
        Err(CliError::Render(format!(
            "{} exited with {}",
            program.display(),
            output.status
        )))
    }
}

/// The kustomize build to run on `dir`: standalone `kustomize build --enable-alpha-plugins
/// --enable-exec` when on PATH, else `kubectl kustomize --enable-alpha-plugins`, which is refused
/// when a generator under `dir` is declared as a KRM function (kubectl would silently skip it).
pub(crate) fn kustomize_program(dir: &Path) -> Result<(PathBuf, Vec<&'static str>), CliError> {
    Ok(match find_on_path("kustomize") {
        Some(kustomize) => (
            kustomize,
            vec!["build", "--enable-alpha-plugins", "--enable-exec"],
        ),
        None => {
            let kubectl = find_on_path("kubectl").ok_or_else(|| {
                CliError::Render("neither `kustomize` nor `kubectl` is on PATH".into())
            })?;
            if let Some(generator) = krm_generator(dir) {
                return Err(CliError::Render(format!(
                    "{generator} is declared as a KRM function (config.kubernetes.io/function), \
                     which `kubectl kustomize` silently skips: its Secrets would be missing. \
                     Install a standalone `kustomize`, or remove the annotation to use the \
                     legacy plugin layout"
                )));
            }
            (kubectl, vec!["kustomize", "--enable-alpha-plugins"])
        }
    })
}

/// A plugin home holding `viaduct.ai/v1/ksops/ksops` → this binary, removed on drop.
pub(crate) struct TempPluginHome {
    /// The plugin home directory.
    pub(crate) path: PathBuf,
    /// A directory inside it for kustomize's temporary files (its `TMPDIR`): kustomize leaves
    /// the generator config it hands a plugin behind when the plugin fails, and this way it
    /// goes with the plugin home.
    pub(crate) scratch: PathBuf,
}

impl TempPluginHome {
    /// Creates the plugin home under the temporary directory, linking `me` as the plugin.
    pub(crate) fn create(me: &Path) -> Result<Self, CliError> {
        let path = std::env::temp_dir().join(format!(
            "ksops-render-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let plugin_dir = path.join("viaduct.ai/v1/ksops");
        let scratch = path.join("tmp");
        let io = |source| {
            CliError::Render(format!(
                "creating a temporary plugin home in {}: {source}; the temporary directory \
                 ($TMPDIR, else /tmp) must be writable (in an Argo CD sidecar, mount an \
                 emptyDir at /tmp)",
                std::env::temp_dir().display()
            ))
        };
        std::fs::create_dir_all(&plugin_dir).map_err(io)?;
        let home = TempPluginHome { path, scratch };
        std::fs::create_dir(&home.scratch).map_err(io)?;
        std::os::unix::fs::symlink(me, plugin_dir.join("ksops")).map_err(io)?;
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
        let docs = parse_documents(&std::fs::read(&kustomization).ok()?).ok()?;
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
    let docs = parse_documents(&std::fs::read(file).ok()?).ok()?;
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
