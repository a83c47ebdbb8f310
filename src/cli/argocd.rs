//! `ksops argocd generate`: the `generate` command of an Argo CD Config Management Plugin (v2
//! sidecar).
//!
//! The sidecar extracts the repository into `/tmp/_cmp_server/<uuid>/` and runs us in
//! `<checkout>/<ARGOCD_APP_SOURCE_PATH>`, next to other tenants' checkouts extracted into sibling
//! `<uuid>` directories. We build the app with kustomize (this binary wired in through a temporary
//! plugin home, as `ksops render` does) and hand every generator the checkout root through
//! `KSOPS_CONFINE_TO`, so no file reference can reach a sibling checkout.
//!
//! The Application controls `ARGOCD_ENV_*` (its `plugin.env`) and the repository content, never
//! the sidecar's own environment. The child environment is therefore built from an allow-list:
//! application-supplied variables are dropped, so they cannot choose the key file or widen the
//! root.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::generate::KSOPS_CONFINE_TO;
use crate::cli::render::{TempPluginHome, kustomize_program};
use crate::cli::{CliError, write_stdout};

/// Runs `ksops argocd generate` in the current directory.
pub fn run_generate() -> Result<(), CliError> {
    let cwd = std::env::current_dir()
        .map_err(|_| argocd("cannot determine the working directory".into()))?;
    let source_path = std::env::var_os("ARGOCD_APP_SOURCE_PATH").unwrap_or_default();
    let root = checkout_root(&cwd, Path::new(&source_path))?;
    let me = std::env::current_exe().map_err(|source| CliError::Read {
        file: "the running ksops executable".into(),
        source,
    })?;
    let home = TempPluginHome::create(&me)?;
    if home.path.starts_with(&root) {
        // The plugin home must not be something the repository could have planted.
        return Err(argocd(
            "the temporary directory is inside the checkout; set TMPDIR outside it".into(),
        ));
    }
    let (program, args) = kustomize_program(Path::new("."))?;
    let mut command = Command::new(&program);
    command
        .args(&args)
        .arg(".")
        .env_clear()
        .envs(child_env(std::env::vars_os())?)
        .env("KUSTOMIZE_PLUGIN_HOME", &home.path)
        .env("TMPDIR", &home.scratch)
        .env(KSOPS_CONFINE_TO, &root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = command
        .output()
        .map_err(|_| argocd("cannot run kustomize".into()))?;
    if output.status.success() {
        return write_stdout(&output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let hidden = [
        (root.as_path(), "<checkout>"),
        (home.path.as_path(), "<plugin home>"),
    ];
    Err(argocd(failure_message(&stderr, &hidden)))
}

fn argocd(message: String) -> CliError {
    CliError::Argocd(message)
}

/// The checkout root: `cwd` with `source_path` (the app path inside the repository) removed from
/// its end. `.` or empty means `cwd` itself; `..`, absolute paths and a `cwd` that does not end
/// with the app path are refused (the bound must never be above the checkout).
pub(crate) fn checkout_root(cwd: &Path, source_path: &Path) -> Result<PathBuf, CliError> {
    let mut parts = Vec::new();
    for component in source_path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(argocd(
                    "ARGOCD_APP_SOURCE_PATH must be a relative path without `..`".into(),
                ));
            }
        }
    }
    let mut root = cwd.to_path_buf();
    for part in parts.iter().rev() {
        if root.file_name() != Some(part) || !root.pop() {
            return Err(argocd(
                "the working directory does not end with ARGOCD_APP_SOURCE_PATH".into(),
            ));
        }
    }
    if !root.is_absolute() || root.parent().is_none() {
        return Err(argocd(
            "the checkout root would be the file system root; refusing".into(),
        ));
    }
    Ok(root)
}

/// The generators' environment: only the sidecar's own settings, never the application's.
///
/// Kept: `PATH`, `HOME`, `TMPDIR`, `XDG_CONFIG_HOME`, `SOPS_AGE_*`, `KSOPS_*` (except the bound,
/// which we set), and the build variables Argo CD itself sets (`ARGOCD_APP_*`, except
/// `ARGOCD_APP_PARAMETERS`, which the Application supplies). Everything else is dropped, notably
/// `ARGOCD_ENV_*` and `PARAM_*` (Application-supplied), `KUBECONFIG`, git credentials and proxies.
pub(crate) fn child_env(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> Result<Vec<(OsString, OsString)>, CliError> {
    let mut kept = Vec::new();
    for (name, value) in vars {
        let Some(text) = name.to_str() else { continue };
        let keep = matches!(text, "PATH" | "HOME" | "TMPDIR" | "XDG_CONFIG_HOME")
            || text.starts_with("SOPS_AGE_")
            || (text.starts_with("KSOPS_") && text != KSOPS_CONFINE_TO)
            || (text.starts_with("ARGOCD_APP_") && text != "ARGOCD_APP_PARAMETERS");
        if !keep {
            continue;
        }
        // Generators run in each kustomization's directory (inside the checkout), where a relative
        // key path would name a repository file.
        if matches!(text, "SOPS_AGE_KEY_FILE" | "SOPS_AGE_SSH_PRIVATE_KEY_FILE")
            && !Path::new(&value).is_absolute()
        {
            return Err(CliError::Setting(format!(
                "{text} must be an absolute path in the sidecar"
            )));
        }
        kept.push((name, value));
    }
    Ok(kept)
}

/// One readable message from kustomize's stderr: the generator's own message when there is one
/// (it starts with `ksops: `), else kustomize's last line; absolute checkout and plugin-home paths
/// replaced by placeholders.
pub(crate) fn failure_message(stderr: &str, hidden: &[(&Path, &str)]) -> String {
    let mut text = stderr.to_owned();
    for (path, placeholder) in hidden {
        if let Some(path) = path.to_str().filter(|p| !p.is_empty()) {
            text = text.replace(path, placeholder);
        }
    }
    let message = match text.rfind("ksops: ") {
        // kubectl/kustomize append where the plugin was configured (a temporary file) and a
        // closing ` >`: drop both.
        Some(at) => text[at + "ksops: ".len()..]
            .lines()
            .filter(|l| !l.contains("failure in plugin configured via") && l.trim() != ">")
            .collect::<Vec<_>>()
            .join("\n"),
        None => text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .to_owned(),
    };
    match message.trim() {
        "" => "kustomize failed without a message".into(),
        message => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_app_path() {
        let cwd = Path::new("/tmp/_cmp_server/u1/apps/a");
        let root = |p: &str| checkout_root(cwd, Path::new(p)).ok();
        assert_eq!(root("apps/a"), Some("/tmp/_cmp_server/u1".into()));
        assert_eq!(root("./apps/a/"), Some("/tmp/_cmp_server/u1".into()));
        assert_eq!(root("a"), Some("/tmp/_cmp_server/u1/apps".into()));
        assert_eq!(root(""), Some(cwd.into()));
        assert_eq!(root("."), Some(cwd.into()));
        for bad in [
            "apps/b",
            "../u1/apps/a",
            "apps/../apps/a",
            "/apps/a",
            "x/u1/apps/a",
        ] {
            assert_eq!(root(bad), None, "{bad}");
        }
        assert!(checkout_root(Path::new("/a"), Path::new("a")).is_err());
    }

    #[test]
    fn application_env_is_dropped() {
        let vars = [
            ("PATH", "/bin"),
            ("SOPS_AGE_KEY_FILE", "/keys/k.txt"),
            ("ARGOCD_ENV_SOPS_AGE_KEY_FILE", "/elsewhere"),
            ("ARGOCD_ENV_KSOPS_ROOT", "unconfined-unsafe"),
            ("ARGOCD_APP_NAMESPACE", "team-a"),
            ("ARGOCD_APP_PARAMETERS", "[]"),
            ("PARAM_X", "y"),
            ("KUBECONFIG", "/k"),
            ("KSOPS_CONFINE_TO", "/"),
            ("KSOPS_BIND_NAMESPACE", "1"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let kept: Vec<String> = child_env(vars.into_iter())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            kept,
            [
                "PATH",
                "SOPS_AGE_KEY_FILE",
                "ARGOCD_APP_NAMESPACE",
                "KSOPS_BIND_NAMESPACE"
            ]
        );
        let relative =
            [("SOPS_AGE_KEY_FILE", "k.txt")].map(|(k, v)| (OsString::from(k), OsString::from(v)));
        assert!(child_env(relative.into_iter()).is_err());
    }

    #[test]
    fn failure_message_hides_paths() {
        let stderr = "Error: failure in plugin configured via /tmp/_cmp_server/u1/apps/a/gen.yaml; \
                      exit status 1: ksops: generator `x`: files[0]: reading the file\n\t: failure in plugin \
                      configured via /tmp/kust-plugin-config-1; exit status 1\n >\n";
        let message = failure_message(stderr, &[(Path::new("/tmp/_cmp_server/u1"), "<checkout>")]);
        assert_eq!(message, "generator `x`: files[0]: reading the file");
    }
}
