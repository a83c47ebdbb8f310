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
use std::process::Command;

use crate::cli::args::ArgocdArgs;
use crate::cli::env::{
    AWS_VARS, KEY_COMMAND_VARS, KEY_FILE_VARS, KSOPS_CONFINE_TO, SettingError, VAULT_VARS,
};
use crate::cli::error::{ArgocdError, CliError};
use crate::cli::io::write_stdout;
use crate::cli::kustomize::{TempPluginHome, kustomize_program, run_build};

/// Runs `ksops argocd generate` in the current directory.
pub fn run(args: &ArgocdArgs) -> Result<(), CliError> {
    let cwd = std::env::current_dir().map_err(|_| ArgocdError::WorkingDirectory)?;
    let source_path = std::env::var_os("ARGOCD_APP_SOURCE_PATH").unwrap_or_default();
    let root = checkout_root(&cwd, Path::new(&source_path))?;
    let home = TempPluginHome::create().map_err(ArgocdError::from)?;
    if home.path.starts_with(&root) {
        // The plugin home must not be something the repository could have planted.
        return Err(ArgocdError::TempInsideCheckout.into());
    }
    let (program, program_args) = kustomize_program(Path::new(".")).map_err(ArgocdError::from)?;
    let mut command = Command::new(&program);
    command
        .args(&program_args)
        .args(&args.kustomize_args)
        .arg(".")
        .env_clear()
        .envs(child_env(std::env::vars_os()).map_err(ArgocdError::from)?)
        .env("KUSTOMIZE_PLUGIN_HOME", &home.path)
        .env("TMPDIR", &home.scratch)
        .env(KSOPS_CONFINE_TO, &root);
    let shown = [
        (root.clone(), "<checkout>"),
        (home.path.clone(), "<plugin home>"),
    ];
    let output = run_build(command, &program, &shown).map_err(ArgocdError::from)?;
    write_stdout(&output)
}

/// The checkout root: `cwd` with `source_path` (the app path inside the repository) removed from
/// its end. `.` or empty means `cwd` itself; `..`, absolute paths and a `cwd` that does not end
/// with the app path are refused (the bound must never be above the checkout).
fn checkout_root(cwd: &Path, source_path: &Path) -> Result<PathBuf, ArgocdError> {
    let mut parts = Vec::new();
    for component in source_path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ArgocdError::SourcePath);
            }
        }
    }
    let mut root = cwd.to_path_buf();
    for part in parts.iter().rev() {
        if root.file_name() != Some(part) || !root.pop() {
            return Err(ArgocdError::NotAtSourcePath);
        }
    }
    if !root.is_absolute() || root.parent().is_none() {
        return Err(ArgocdError::FileSystemRoot);
    }
    Ok(root)
}

/// The generators' environment: only the sidecar's own settings, never the application's.
///
/// Kept: `PATH`, `HOME`, `TMPDIR`, `XDG_CONFIG_HOME`, `SOPS_AGE_*`, `GNUPGHOME`, `SOPS_GPG_EXEC`,
/// `SOPS_DECRYPTION_ORDER`, the files key sources read ([`KEY_FILE_VARS`]), the Vault client's
/// settings ([`VAULT_VARS`]), the AWS variables KMS keys use ([`AWS_VARS`]), `KSOPS_*` (except
/// the bound,
/// which we set), and the build variables Argo CD itself sets (`ARGOCD_APP_*`, except
/// `ARGOCD_APP_PARAMETERS`, which the Application supplies). Everything else is dropped, notably
/// `ARGOCD_ENV_*` and `PARAM_*` (Application-supplied), `KUBECONFIG`, git credentials and proxies.
fn child_env(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> Result<Vec<(OsString, OsString)>, SettingError> {
    let mut kept = Vec::new();
    for (name, value) in vars {
        let Some(text) = name.to_str() else { continue };
        let keep = matches!(
            text,
            "PATH"
                | "HOME"
                | "TMPDIR"
                | "XDG_CONFIG_HOME"
                | "GNUPGHOME"
                | "SOPS_GPG_EXEC"
                | "SOPS_DECRYPTION_ORDER"
        ) || KEY_FILE_VARS.contains(&text)
            || VAULT_VARS.contains(&text)
            || AWS_VARS.contains(&text)
            || text.starts_with("SOPS_AGE_")
            || (text.starts_with("KSOPS_") && text != KSOPS_CONFINE_TO)
            || (text.starts_with("ARGOCD_APP_") && text != "ARGOCD_APP_PARAMETERS");
        if !keep {
            continue;
        }
        // Generators run in each kustomization's directory (inside the checkout), where a relative
        // key path would name a repository file.
        // A relative `SOPS_GPG_EXEC` with a directory part would run a repository file.
        let names_a_file = KEY_FILE_VARS.contains(&text)
            || (text == "SOPS_GPG_EXEC" && Path::new(&value).components().count() > 1);
        if names_a_file && !Path::new(&value).is_absolute() {
            return Err(SettingError::RelativeKeyFile(text.to_owned()));
        }
        // So would a key command's program (its first word) given by a relative path.
        if KEY_COMMAND_VARS.contains(&text) && runs_relative_program(&value) {
            return Err(SettingError::RelativeKeyCommand(text.to_owned()));
        }
        kept.push((name, value));
    }
    Ok(kept)
}

/// Whether a command line's first word is a relative path with a directory part (`./get-key`,
/// `bin/get-key`). Quotes around it are ignored; a bare name is looked up on `PATH`.
fn runs_relative_program(command: &OsString) -> bool {
    let text = command.to_string_lossy();
    let program = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_matches(['\'', '"']);
    let path = Path::new(program);
    path.is_relative() && path.components().count() > 1
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

    /// The names of the variables a child keeps out of `vars`.
    fn kept_names(vars: &[(OsString, OsString)]) -> Vec<String> {
        child_env(vars.iter().cloned())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect()
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
        assert_eq!(
            kept_names(&vars),
            [
                "PATH",
                "SOPS_AGE_KEY_FILE",
                "ARGOCD_APP_NAMESPACE",
                "KSOPS_BIND_NAMESPACE"
            ]
        );
        for (name, value) in [
            ("SOPS_AGE_KEY_FILE", "k.txt"),
            ("SOPS_AGE_KEY_CMD", "./get-key --id 1"),
            ("SOPS_AGE_SSH_PRIVATE_KEY_CMD", "'bin/ssh key'"),
            ("GNUPGHOME", "gnupg"),
            ("SOPS_GPG_EXEC", "./gpg"),
            ("SOPS_GPG_EXEC", "bin/gpg"),
            ("VAULT_CACERT", "ca.pem"),
            ("VAULT_CLIENT_KEY", "./key.pem"),
        ] {
            let relative = [(OsString::from(name), OsString::from(value))];
            assert!(child_env(relative.into_iter()).is_err(), "{name}={value}");
        }
        let sidecar = [
            ("SOPS_AGE_KEY_CMD", "vault-age-key --field key"),
            ("SOPS_AGE_SSH_PRIVATE_KEY_CMD", "/usr/local/bin/ssh-key"),
            ("GNUPGHOME", "/keys/gnupg"),
            ("SOPS_GPG_EXEC", "gpg2"),
            ("SOPS_DECRYPTION_ORDER", "pgp,age"),
            ("ARGOCD_ENV_GNUPGHOME", "/elsewhere"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
            ("AWS_ENDPOINT_URL_KMS", "https://kms.internal"),
            ("ARGOCD_ENV_AWS_ENDPOINT_URL_KMS", "https://evil.example"),
            ("ARGOCD_ENV_AWS_PROFILE", "other"),
            ("AWS_UNRELATED", "x"),
            ("VAULT_ADDR", "https://vault:8200"),
            ("VAULT_TOKEN", "s.TEST-ONLY"),
            ("VAULT_CACERT", "/etc/vault/ca.pem"),
            ("SOPS_HC_VAULT_ALLOWLIST", "https://vault:8200"),
            ("ARGOCD_ENV_VAULT_ADDR", "https://evil:8200"),
            ("ARGOCD_ENV_SOPS_HC_VAULT_ALLOWLIST", "all"),
            ("VAULT_FORMAT", "json"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        assert_eq!(
            kept_names(&sidecar),
            [
                "SOPS_AGE_KEY_CMD",
                "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
                "GNUPGHOME",
                "SOPS_GPG_EXEC",
                "SOPS_DECRYPTION_ORDER",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ROLE_ARN",
                "AWS_ENDPOINT_URL_KMS",
                "VAULT_ADDR",
                "VAULT_TOKEN",
                "VAULT_CACERT",
                "SOPS_HC_VAULT_ALLOWLIST"
            ]
        );
        for name in [
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_CONFIG_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ] {
            let relative = [(OsString::from(name), OsString::from("aws/file"))];
            assert!(child_env(relative.into_iter()).is_err(), "{name}");
        }
    }
}
