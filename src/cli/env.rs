//! Every `KSOPS_*` variable: its name, its help line, and how it is read. Values are checked
//! strictly (a value that might mean "on" is refused rather than guessed) and never echoed.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::generator::Binding;
use crate::generator::{ConfineError, Root, RootPolicy};
use crate::generator::{DEFAULT_CONCURRENCY_LIMIT, ValueMode};
use crate::generator::{NoKeyError, Redactor};
use crate::limits::Limits;
use crate::limits::{AWS_TIMEOUT, GPG_TIMEOUT};
use crate::sops::{AwsSource, GpgSource, IdentitySources, Keyring, VaultSource};

/// Files decrypted at once per generator.
pub const KSOPS_CONCURRENCY_LIMIT: &str = "KSOPS_CONCURRENCY_LIMIT";
/// How far file references may reach.
pub const KSOPS_ROOT: &str = "KSOPS_ROOT";
/// The absolute outer bound (the checkout) that `ksops argocd generate` hands its generators.
/// When present it replaces `KSOPS_ROOT`, so no other setting can widen the root beyond it.
pub const KSOPS_CONFINE_TO: &str = "KSOPS_CONFINE_TO";
/// Binds decrypted manifests to `ARGOCD_APP_NAMESPACE`.
pub const KSOPS_BIND_NAMESPACE: &str = "KSOPS_BIND_NAMESPACE";
/// Per-project identities: `DIR/$ARGOCD_APP_PROJECT_NAME/keys.txt`.
pub const KSOPS_PROJECT_KEYS_DIR: &str = "KSOPS_PROJECT_KEYS_DIR";
/// Seconds `gpg` may take for one PGP key before it is stopped.
pub const KSOPS_GPG_TIMEOUT: &str = "KSOPS_GPG_TIMEOUT";
/// Seconds one AWS KMS or STS request may take before it is given up (then retried).
pub const KSOPS_AWS_TIMEOUT: &str = "KSOPS_AWS_TIMEOUT";
/// Turns on a dry run in every generator.
pub const KSOPS_DRY_RUN: &str = "KSOPS_DRY_RUN";
/// Turns on redaction in every generator; set by `ksops render --redact`.
pub const KSOPS_REDACT: &str = "KSOPS_REDACT";
/// The Application's destination namespace, set by Argo CD.
const ARGOCD_APP_NAMESPACE: &str = "ARGOCD_APP_NAMESPACE";
/// The Application's AppProject, set by Argo CD.
const ARGOCD_APP_PROJECT_NAME: &str = "ARGOCD_APP_PROJECT_NAME";

/// The identity variables that name files or directories; generators run in the kustomization
/// directory, so commands that start generators resolve relative values where they were started.
pub const KEY_FILE_VARS: [&str; 11] = [
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "GNUPGHOME",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "VAULT_CACERT",
    "VAULT_CAPATH",
    "VAULT_CLIENT_CERT",
    "VAULT_CLIENT_KEY",
];

/// The Vault client's variables a generator reads (besides the files in [`KEY_FILE_VARS`]), and
/// sops' allow-list of Vault addresses.
pub const VAULT_VARS: [&str; 8] = [
    "VAULT_ADDR",
    "VAULT_AGENT_ADDR",
    "VAULT_TOKEN",
    "VAULT_NAMESPACE",
    "VAULT_SKIP_VERIFY",
    "VAULT_CLIENT_TIMEOUT",
    "VAULT_MAX_RETRIES",
    crate::sops::SOPS_HC_VAULT_ALLOWLIST,
];

/// The AWS variables the KMS key source reads (credentials, shared files, web identity,
/// container endpoint, endpoints, attempts).
pub const AWS_VARS: [&str; 20] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_MAX_ATTEMPTS",
];

/// The key command variables: sops runs the program named by their first word, which a relative
/// path with a directory part would look for in the kustomization directory.
pub const KEY_COMMAND_VARS: [&str; 2] = ["SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_CMD"];

/// The help lines for `ksops --help`'s ENVIRONMENT section (`KSOPS_CONFINE_TO` is internal).
pub const SETTINGS_HELP: [(&str, &str); 8] = [
    (
        KSOPS_CONCURRENCY_LIMIT,
        "at most this many files are decrypted at once (default 20)",
    ),
    (
        KSOPS_ROOT,
        "how far file references may reach: `kustomization` (default),\n\
         `git-worktree` (the enclosing git work tree), or\n\
         `unconfined-unsafe` (anything readable; for local use only)",
    ),
    (
        "KSOPS_BIND_NAMESPACE=1",
        "every decrypted `files` manifest must carry the authenticated\n\
         namespace $ARGOCD_APP_NAMESPACE (mac_only_encrypted files are\n\
         refused); secretFrom Secrets are put in it",
    ),
    (
        KSOPS_PROJECT_KEYS_DIR,
        "identities come only from DIR/$ARGOCD_APP_PROJECT_NAME/keys.txt\n\
         (its gnupg/ home, vault-token, aws/credentials and aws/config)",
    ),
    (
        KSOPS_GPG_TIMEOUT,
        "seconds gpg may take for one PGP key before it is stopped\n\
         (default 60)",
    ),
    (
        KSOPS_AWS_TIMEOUT,
        "seconds one AWS KMS or STS request may take (default 30;\n\
         AWS_MAX_ATTEMPTS attempts, default 3)",
    ),
    (
        "KSOPS_DRY_RUN=1",
        "read no identity: check each file without a key and emit every\n\
         object with each encrypted value replaced by the placeholder\n\
         KSOPS_DRY_RUN_PLACEHOLDER (base64-encoded in a Secret's `data`)",
    ),
    (
        "KSOPS_REDACT=1",
        "decrypt, but emit each value as <redacted len=N hmac-sha256=HEX>\n\
         (HMAC keyed from your private keys); set by `render --redact`",
    ),
];

/// A setting in the environment that cannot be used. The message names the variable, never
/// its value.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// `KSOPS_CONCURRENCY_LIMIT` is not a whole number of at least 1.
    #[error("{KSOPS_CONCURRENCY_LIMIT} must be a whole number of at least 1")]
    Concurrency,
    /// `KSOPS_ROOT` is not one of its values.
    #[error("{KSOPS_ROOT} must be `kustomization`, `git-worktree` or `unconfined-unsafe`")]
    Root,
    /// `KSOPS_CONFINE_TO` is relative.
    #[error("{KSOPS_CONFINE_TO} must be an absolute path")]
    ConfineTo,
    /// An on/off variable holds something else.
    #[error("{0} must be 1 (or true) to turn it on, or 0, false or empty to leave it off")]
    Switch(&'static str),
    /// `KSOPS_BIND_NAMESPACE` without a namespace to bind to.
    #[error(
        "{KSOPS_BIND_NAMESPACE} is on but {ARGOCD_APP_NAMESPACE} is not set: the application \
         needs a destination namespace"
    )]
    NoNamespace,
    /// `KSOPS_PROJECT_KEYS_DIR` without a usable project name.
    #[error(
        "{KSOPS_PROJECT_KEYS_DIR} is set but {ARGOCD_APP_PROJECT_NAME} is missing or not a plain \
         name (letters, digits, `-`, `_`, `.`; not `.` or `..`)"
    )]
    ProjectName,
    /// Both value settings are on.
    #[error(
        "{KSOPS_DRY_RUN} and {KSOPS_REDACT} are both on; a run either decrypts or does not: turn \
         one off"
    )]
    DryRunAndRedact,
    /// A redacted run without a key to derive the marker key from.
    #[error("{KSOPS_REDACT}: {0}")]
    Redact(NoKeyError),
    /// A key file variable is relative where generators would resolve it inside the checkout.
    #[error("{0} must be an absolute path in the sidecar")]
    RelativeKeyFile(String),
    /// A key command runs a program by a relative path, which generators would resolve inside
    /// the checkout.
    #[error(
        "{0} runs its program by a relative path, which in the sidecar names a file of the \
         repository: give the program's absolute path, or a name found on PATH"
    )]
    RelativeKeyCommand(String),
}

/// Which [`ValueMode`] a run asks for (`KSOPS_DRY_RUN`, `KSOPS_REDACT`, `render --dry-run`,
/// `--redact`), before any key is loaded: [`GeneratorSettings::value_mode`] turns it into the
/// mode itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueModeKind {
    /// Decrypt them.
    #[default]
    Decrypt,
    /// `KSOPS_DRY_RUN=1`: read no identity, emit placeholders.
    DryRun,
    /// `KSOPS_REDACT=1`: decrypt, emit a keyed digest marker for each value.
    Redact,
}

impl ValueModeKind {
    /// The variable that turns this setting on for generators, if any.
    pub fn variable(self) -> Option<&'static str> {
        match self {
            ValueModeKind::Decrypt => None,
            ValueModeKind::DryRun => Some(KSOPS_DRY_RUN),
            ValueModeKind::Redact => Some(KSOPS_REDACT),
        }
    }
}

/// Generator settings read once from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratorSettings {
    /// `KSOPS_CONCURRENCY_LIMIT`.
    pub concurrency: usize,
    /// `KSOPS_ROOT`.
    pub root_policy: RootPolicy,
    /// `KSOPS_CONFINE_TO`: the checkout bound handed down by `ksops argocd generate`.
    pub confine_to: Option<PathBuf>,
    /// `KSOPS_BIND_NAMESPACE=1` with `ARGOCD_APP_NAMESPACE`: the tenant binding.
    pub binding: Binding,
    /// `KSOPS_PROJECT_KEYS_DIR/<ARGOCD_APP_PROJECT_NAME>/keys.txt`: when set, the only identity
    /// source.
    pub project_keys: Option<PathBuf>,
    /// `KSOPS_DRY_RUN` / `KSOPS_REDACT`.
    pub values: ValueModeKind,
}

/// The variables [`GeneratorSettings`] reads.
const SETTINGS_VARS: [&str; 9] = [
    KSOPS_CONCURRENCY_LIMIT,
    KSOPS_ROOT,
    KSOPS_CONFINE_TO,
    KSOPS_BIND_NAMESPACE,
    ARGOCD_APP_NAMESPACE,
    KSOPS_PROJECT_KEYS_DIR,
    ARGOCD_APP_PROJECT_NAME,
    KSOPS_DRY_RUN,
    KSOPS_REDACT,
];

impl GeneratorSettings {
    /// Reads the settings (KSOPS semantics for `KSOPS_CONCURRENCY_LIMIT`: empty means the
    /// default, otherwise a whole number of at least 1).
    pub fn from_env() -> Result<Self, SettingError> {
        let vars = SETTINGS_VARS
            .iter()
            .filter_map(|name| Some((*name, std::env::var(name).ok()?)))
            .collect::<Vec<_>>();
        Self::parse(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        })
    }

    fn parse<'a>(var: impl Fn(&str) -> &'a str) -> Result<Self, SettingError> {
        let concurrency = match var(KSOPS_CONCURRENCY_LIMIT).trim() {
            "" => DEFAULT_CONCURRENCY_LIMIT,
            text => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or(SettingError::Concurrency)?,
        };
        let root_policy = match var(KSOPS_ROOT) {
            "" | "kustomization" => RootPolicy::Kustomization,
            "git-worktree" => RootPolicy::GitWorkTree,
            "unconfined-unsafe" => RootPolicy::Unconfined,
            _ => return Err(SettingError::Root),
        };
        let confine_to = match var(KSOPS_CONFINE_TO) {
            "" => None,
            path if Path::new(path).is_absolute() => Some(PathBuf::from(path)),
            _ => return Err(SettingError::ConfineTo),
        };
        let binding = match (
            switch(&var, KSOPS_BIND_NAMESPACE)?,
            var(ARGOCD_APP_NAMESPACE),
        ) {
            (false, _) => Binding::default(),
            (true, "") => return Err(SettingError::NoNamespace),
            (true, namespace) => Binding {
                namespace: Some(namespace.to_owned()),
            },
        };
        let values = match (switch(&var, KSOPS_DRY_RUN)?, switch(&var, KSOPS_REDACT)?) {
            (false, false) => ValueModeKind::Decrypt,
            (true, false) => ValueModeKind::DryRun,
            (false, true) => ValueModeKind::Redact,
            (true, true) => return Err(SettingError::DryRunAndRedact),
        };
        let project_keys = match var(KSOPS_PROJECT_KEYS_DIR) {
            "" => None,
            dir => {
                let project = var(ARGOCD_APP_PROJECT_NAME);
                if !is_safe_component(project) {
                    return Err(SettingError::ProjectName);
                }
                Some(Path::new(dir).join(project).join("keys.txt"))
            }
        };
        Ok(GeneratorSettings {
            concurrency,
            root_policy,
            confine_to,
            binding,
            project_keys,
            values,
        })
    }

    /// Opens the root the generators read through: the checkout bound when one was handed down,
    /// else `KSOPS_ROOT`'s policy.
    pub fn open_root(&self) -> Result<Root, ConfineError> {
        match &self.confine_to {
            Some(bound) => Root::open_within(Path::new("."), bound, Limits::default()),
            None => Root::open(Path::new("."), self.root_policy, Limits::default()),
        }
    }

    /// What the generators do with values, with the identities that needs: none at all for a
    /// dry run (no identity source is read, no key command run).
    pub fn value_mode(&self) -> Result<ValueMode, SettingError> {
        Ok(match self.values {
            ValueModeKind::Decrypt => ValueMode::Decrypt(self.keyring()),
            ValueModeKind::DryRun => ValueMode::DryRun,
            ValueModeKind::Redact => {
                let keyring = self.keyring();
                let redactor = Redactor::from_keyring(&keyring).map_err(SettingError::Redact)?;
                ValueMode::Redact(keyring, redactor)
            }
        })
    }

    /// Loads the identities: only the project's key file, GnuPG home, Vault token file and AWS
    /// shared files when project keys are on (nothing else is read, not even `$HOME`,
    /// `$GNUPGHOME`, `$VAULT_TOKEN` or AWS credentials in the environment), else every source
    /// sops reads.
    fn keyring(&self) -> Keyring {
        let sources = match &self.project_keys {
            Some(file) => IdentitySources {
                age_key_file: Some(file.clone()),
                gpg: project_gnupg_home(file).map(|home| GpgSource {
                    home: Some(home),
                    timeout: gpg_timeout(),
                    ..GpgSource::from_env()
                }),
                aws: project_aws_dir(file).map(|dir| AwsSource {
                    timeout: aws_timeout(),
                    ..AwsSource::from_env(None).only_files_in(&dir)
                }),
                vault: Some(
                    VaultSource::from_env().with_token_file(&file.with_file_name("vault-token")),
                ),
                ..IdentitySources::default()
            },
            None => identity_sources(),
        };
        Keyring::load(&sources)
    }
}

/// Every identity source sops reads, with `gpg`'s time limit from `KSOPS_GPG_TIMEOUT` and
/// AWS's from `KSOPS_AWS_TIMEOUT`.
pub fn identity_sources() -> IdentitySources {
    let mut sources = IdentitySources::from_env();
    if let Some(gpg) = &mut sources.gpg {
        gpg.timeout = gpg_timeout();
    }
    if let Some(aws) = &mut sources.aws {
        aws.timeout = aws_timeout();
    }
    sources
}

/// `KSOPS_GPG_TIMEOUT` as read from the environment (see [`parse_timeout`]).
fn gpg_timeout() -> Result<Duration, String> {
    parse_timeout(
        KSOPS_GPG_TIMEOUT,
        std::env::var_os(KSOPS_GPG_TIMEOUT).as_deref(),
        GPG_TIMEOUT,
    )
}

/// `KSOPS_AWS_TIMEOUT` as read from the environment (see [`parse_timeout`]).
fn aws_timeout() -> Result<Duration, String> {
    parse_timeout(
        KSOPS_AWS_TIMEOUT,
        std::env::var_os(KSOPS_AWS_TIMEOUT).as_deref(),
        AWS_TIMEOUT,
    )
}

/// A timeout variable: whole seconds, at least 1; unset or empty is `default`. Anything else
/// is refused (when a key that needs it is tried) rather than guessed.
fn parse_timeout(name: &str, value: Option<&OsStr>, default: Duration) -> Result<Duration, String> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    value
        .to_str()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|seconds| *seconds >= 1)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{name} must be a whole number of seconds, at least 1"))
}

/// The project's GnuPG home, `gnupg` beside its `keys.txt`, when it is a directory: with project
/// keys on, gpg uses it and never the default home; without it, PGP keys are not tried.
fn project_gnupg_home(key_file: &Path) -> Option<PathBuf> {
    let home = key_file.with_file_name("gnupg");
    home.is_dir().then_some(home)
}

/// The project's AWS directory, `aws` beside its `keys.txt`, when it is a directory: with
/// project keys on, its `credentials` and `config` are the only AWS credential source; without
/// it, KMS keys are not tried.
fn project_aws_dir(key_file: &Path) -> Option<PathBuf> {
    let dir = key_file.with_file_name("aws");
    dir.is_dir().then_some(dir)
}

/// The key file variables of this process that hold relative paths, made absolute against the
/// working directory, for the environment of generators that run elsewhere.
pub fn absolute_key_files() -> Vec<(&'static str, OsString)> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    KEY_FILE_VARS
        .iter()
        .filter_map(|name| {
            let value = std::env::var_os(name)?;
            Path::new(&value)
                .is_relative()
                .then(|| (*name, cwd.join(value).into_os_string()))
        })
        .collect()
}

/// An on/off variable: empty, `0` or `false` is off, `1` or `true` is on. Anything else is
/// refused rather than guessed.
fn switch<'a>(var: &impl Fn(&str) -> &'a str, name: &'static str) -> Result<bool, SettingError> {
    match var(name) {
        "" | "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(SettingError::Switch(name)),
    }
}

/// A single path component safe to join under a directory: an Argo CD project name.
fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &'static str)]) -> Result<GeneratorSettings, SettingError> {
        let vars = vars.to_vec();
        GeneratorSettings::parse(move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| *v)
        })
    }

    #[test]
    fn settings_follow_ksops() {
        let ok = parse(&[]).unwrap();
        assert_eq!(ok.concurrency, 20);
        assert_eq!(ok.root_policy, RootPolicy::Kustomization);
        assert_eq!(ok.binding, Binding::default());
        assert!(ok.confine_to.is_none() && ok.project_keys.is_none());
        let three = parse(&[(KSOPS_CONCURRENCY_LIMIT, "3"), (KSOPS_ROOT, "git-worktree")]);
        assert_eq!(three.unwrap().concurrency, 3);
        for bad in ["0", "-1", "abc", "1.5"] {
            assert!(parse(&[(KSOPS_CONCURRENCY_LIMIT, bad)]).is_err(), "{bad}");
        }
        assert!(parse(&[(KSOPS_ROOT, "everything")]).is_err());
        assert!(parse(&[(KSOPS_CONFINE_TO, "relative/dir")]).is_err());
    }

    #[test]
    fn value_settings_are_explicit() {
        assert_eq!(parse(&[]).unwrap().values, ValueModeKind::Decrypt);
        for on in ["1", "true"] {
            let dry = parse(&[(KSOPS_DRY_RUN, on)]).unwrap();
            assert_eq!(dry.values, ValueModeKind::DryRun);
            let redact = parse(&[(KSOPS_REDACT, on)]).unwrap();
            assert_eq!(redact.values, ValueModeKind::Redact);
        }
        for off in ["", "0", "false"] {
            let settings = parse(&[(KSOPS_DRY_RUN, off), (KSOPS_REDACT, off)]).unwrap();
            assert_eq!(settings.values, ValueModeKind::Decrypt);
        }
        // A value that might mean "on" is refused rather than decrypting by surprise.
        for unclear in ["yes", "TRUE", "on", " 1"] {
            let error = parse(&[(KSOPS_DRY_RUN, unclear)]).unwrap_err().to_string();
            assert!(error.starts_with("KSOPS_DRY_RUN must be 1"), "{error}");
        }
        assert!(parse(&[(KSOPS_DRY_RUN, "1"), (KSOPS_REDACT, "1")]).is_err());
    }

    #[test]
    fn tenant_settings_are_checked() {
        assert!(parse(&[(KSOPS_BIND_NAMESPACE, "1")]).is_err());
        let bound = parse(&[
            (KSOPS_BIND_NAMESPACE, "1"),
            (ARGOCD_APP_NAMESPACE, "team-a"),
        ])
        .unwrap();
        assert_eq!(bound.binding.namespace.as_deref(), Some("team-a"));
        for project in ["", ".", "..", "a/b", "../x", "a b"] {
            let settings = parse(&[
                (KSOPS_PROJECT_KEYS_DIR, "/keys"),
                (ARGOCD_APP_PROJECT_NAME, project),
            ]);
            assert!(settings.is_err(), "{project:?}");
        }
        let keys = parse(&[
            (KSOPS_PROJECT_KEYS_DIR, "/keys"),
            (ARGOCD_APP_PROJECT_NAME, "team-a"),
        ])
        .unwrap();
        assert_eq!(
            keys.project_keys,
            Some(PathBuf::from("/keys/team-a/keys.txt"))
        );
    }

    #[test]
    fn timeouts_are_whole_seconds() {
        let parse = |value: Option<&str>| {
            parse_timeout(KSOPS_GPG_TIMEOUT, value.map(OsStr::new), GPG_TIMEOUT)
        };
        assert_eq!(parse(None), Ok(GPG_TIMEOUT));
        assert_eq!(parse(Some("")), Ok(GPG_TIMEOUT));
        assert_eq!(parse(Some("5")), Ok(Duration::from_secs(5)));
        for bad in ["0", "-1", "1.5", "5s", " 5"] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_help_names_every_documented_variable() {
        for name in [
            KSOPS_CONCURRENCY_LIMIT,
            KSOPS_ROOT,
            KSOPS_BIND_NAMESPACE,
            KSOPS_PROJECT_KEYS_DIR,
            KSOPS_GPG_TIMEOUT,
            KSOPS_AWS_TIMEOUT,
            KSOPS_DRY_RUN,
            KSOPS_REDACT,
        ] {
            assert!(
                SETTINGS_HELP
                    .iter()
                    .any(|(shown, _)| shown.starts_with(name)),
                "{name}"
            );
        }
    }
}
