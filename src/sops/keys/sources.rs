//! What identity discovery reads (the environment variables and paths sops 3.12 looks at), and
//! what became of each source, for reports.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

pub use super::aws::{AwsSource, ContainerEndpoint, WebIdentity};
pub use super::pgp::GpgSource;
pub use super::vault::VaultSource;

/// The inputs of identity discovery, read once from the environment (or built by hand by
/// tests and by code that binds identities to a tenant).
///
/// `Option` means "variable not set"; `Some` of an empty value is kept, because sops treats a
/// variable set to an empty string as set (`os.LookupEnv`).
#[derive(Clone, Default)]
pub struct IdentitySources {
    /// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`: an SSH private key file.
    pub ssh_private_key_file: Option<PathBuf>,
    /// `SOPS_AGE_SSH_PRIVATE_KEY_CMD`: a command printing an unencrypted OpenSSH private key.
    /// Kept in a zeroizing buffer because users sometimes inline tokens in it.
    pub ssh_private_key_cmd: Option<Zeroizing<String>>,
    /// `$HOME`, for `~/.ssh/id_ed25519`, `~/.ssh/id_rsa` and the default keys file.
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`, for the default keys file.
    pub xdg_config_home: Option<PathBuf>,
    /// `SOPS_AGE_KEY`: an identity list in the variable itself.
    pub age_key: Option<Zeroizing<String>>,
    /// `SOPS_AGE_KEY_FILE`: a file holding an identity list.
    pub age_key_file: Option<PathBuf>,
    /// `SOPS_AGE_KEY_CMD`: a command whose standard output is an identity list. Kept in a
    /// zeroizing buffer because users sometimes inline tokens in it.
    pub age_key_cmd: Option<Zeroizing<String>>,
    /// Whether a passphrase may be asked for on the controlling terminal (`/dev/tty`).
    pub terminal: bool,
    /// How `gpg` is run for PGP master keys; `None`: PGP keys are not tried.
    pub gpg: Option<GpgSource>,
    /// How Vault transit keys are used (token, namespace, client settings, allowed addresses);
    /// `None`: Vault keys are not tried.
    pub vault: Option<VaultSource>,
    /// `SOPS_DECRYPTION_ORDER`: the key types to try first, comma-separated (default
    /// `age,pgp`).
    pub decryption_order: Option<String>,
    /// The AWS settings and credential sources for KMS master keys; `None`: KMS keys are not
    /// tried.
    pub aws: Option<AwsSource>,
}

impl std::fmt::Debug for IdentitySources {
    // Only say which inputs are present: values may be secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySources")
            .field("ssh_private_key_file", &self.ssh_private_key_file.is_some())
            .field("ssh_private_key_cmd", &self.ssh_private_key_cmd.is_some())
            .field("home", &self.home.is_some())
            .field("xdg_config_home", &self.xdg_config_home.is_some())
            .field("age_key", &self.age_key.is_some())
            .field("age_key_file", &self.age_key_file.is_some())
            .field("age_key_cmd", &self.age_key_cmd.is_some())
            .field("terminal", &self.terminal)
            .field("gpg", &self.gpg.is_some())
            .field("vault", &self.vault.is_some())
            .field("decryption_order", &self.decryption_order)
            .field("aws", &self.aws)
            .finish()
    }
}

/// Reads a variable, treating an empty value as unset (for `$HOME` and `$XDG_CONFIG_HOME`,
/// which Go's `os.UserHomeDir`/`os.UserConfigDir` treat that way).
fn non_empty_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Reads a variable whose value may be secret straight into a zeroizing buffer.
fn secret_var(name: &str) -> Option<Zeroizing<String>> {
    std::env::var_os(name).map(|v| Zeroizing::new(v.to_string_lossy().into_owned()))
}

impl IdentitySources {
    /// Reads every input from the process environment.
    pub fn from_env() -> Self {
        let home = non_empty_path("HOME");
        IdentitySources {
            aws: Some(AwsSource::from_env(home.as_deref())),
            ssh_private_key_file: std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
                .map(PathBuf::from),
            ssh_private_key_cmd: secret_var("SOPS_AGE_SSH_PRIVATE_KEY_CMD"),
            home,
            xdg_config_home: non_empty_path("XDG_CONFIG_HOME"),
            age_key: secret_var("SOPS_AGE_KEY"),
            age_key_file: std::env::var_os("SOPS_AGE_KEY_FILE").map(PathBuf::from),
            age_key_cmd: secret_var("SOPS_AGE_KEY_CMD"),
            terminal: terminal_available(),
            gpg: Some(GpgSource::from_env()),
            vault: Some(VaultSource::from_env()),
            decryption_order: std::env::var_os("SOPS_DECRYPTION_ORDER")
                .map(|v| v.to_string_lossy().into_owned()),
        }
    }

    /// Where the default keys file is, with the name reports use for it, or why there is none.
    ///
    /// Go's `os.UserConfigDir`: `$XDG_CONFIG_HOME` if set (an error if relative, with no
    /// fallback), else `$HOME/.config`. On macOS sops checks `$XDG_CONFIG_HOME` first (without
    /// the absolute check), then `~/Library/Application Support`.
    pub(crate) fn default_keys_file(&self) -> Result<(PathBuf, &'static str), &'static str> {
        const TAIL: &str = "sops/age/keys.txt";
        if let Some(xdg) = &self.xdg_config_home {
            if cfg!(target_os = "macos") || xdg.is_absolute() {
                return Ok((xdg.join(TAIL), "$XDG_CONFIG_HOME/sops/age/keys.txt"));
            }
            return Err("path in $XDG_CONFIG_HOME is relative");
        }
        match &self.home {
            Some(home) if cfg!(target_os = "macos") => Ok((
                home.join("Library/Application Support").join(TAIL),
                "$HOME/Library/Application Support/sops/age/keys.txt",
            )),
            Some(home) => Ok((
                home.join(".config").join(TAIL),
                "$HOME/.config/sops/age/keys.txt",
            )),
            None => Err("neither $XDG_CONFIG_HOME nor $HOME are defined"),
        }
    }
}

/// Whether the controlling terminal can be opened to ask for a passphrase.
fn terminal_available() -> bool {
    if cfg!(unix) {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
    } else {
        false
    }
}

/// What became of one identity source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// The environment variable (or `$HOME`) is not set.
    NotSet,
    /// The file does not exist.
    NotFound,
    /// The source was read and held this many identities.
    Loaded(usize),
    /// The source is passphrase-protected; it is unlocked on the terminal when needed.
    Locked,
    /// The source is a key command, run for each recipient tried (with `SOPS_AGE_RECIPIENT`).
    PerRecipient,
    /// The source could not be used; the text names the source, never its contents.
    Failed(String),
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceStatus::NotSet => f.write_str("not set"),
            SourceStatus::NotFound => f.write_str("not found"),
            SourceStatus::Loaded(0) => f.write_str("no identities"),
            SourceStatus::Loaded(1) => f.write_str("1 identity"),
            SourceStatus::Loaded(n) => write!(f, "{n} identities"),
            SourceStatus::Locked => f.write_str("passphrase-protected"),
            SourceStatus::PerRecipient => f.write_str("run for each recipient tried"),
            SourceStatus::Failed(e) => write!(f, "error: {e}"),
        }
    }
}

/// One identity source and what became of it, for error reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReport {
    /// The source's name: a variable name or a `$VAR`-relative path.
    pub name: String,
    /// What loading it gave.
    pub status: SourceStatus,
    /// sops only names a missing default keys file when nothing else was found.
    pub(super) default_file: bool,
    /// The source is a path given relative to the working directory.
    pub(super) relative_path: bool,
}

impl SourceReport {
    /// Whether the source is a file named by a relative path, which is resolved against the
    /// working directory (and so names another file wherever ksops runs elsewhere).
    pub fn is_relative_path(&self) -> bool {
        self.relative_path
    }
}

impl fmt::Display for SourceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}': {}", self.name, self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_file_rules() {
        let mut s = IdentitySources {
            home: Some("/home/u".into()),
            ..Default::default()
        };
        if cfg!(target_os = "macos") {
            return;
        }
        assert_eq!(
            s.default_keys_file(),
            Ok((
                PathBuf::from("/home/u/.config/sops/age/keys.txt"),
                "$HOME/.config/sops/age/keys.txt"
            ))
        );
        s.xdg_config_home = Some("/xdg".into());
        assert_eq!(
            s.default_keys_file(),
            Ok((
                PathBuf::from("/xdg/sops/age/keys.txt"),
                "$XDG_CONFIG_HOME/sops/age/keys.txt"
            ))
        );
        s.xdg_config_home = Some("rel".into());
        assert_eq!(
            s.default_keys_file(),
            Err("path in $XDG_CONFIG_HOME is relative")
        );
        let none = IdentitySources::default();
        assert!(none.default_keys_file().is_err());
    }

    #[test]
    fn debug_hides_values() {
        let s = IdentitySources {
            age_key: Some(Zeroizing::new("AGE-SECRET-KEY-1SECRET".into())),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("SECRET-KEY"), "{shown}");
    }
}
