//! The keyring: every age identity sops 3.11 would find, loaded once per process.
//!
//! sops reloads all identity sources for every age key it tries; ksops loads them once and
//! shares the result between files decrypted in parallel. Passphrase-protected SSH keys and
//! identity files are kept locked and only unlocked (by asking on `/dev/tty`) when a file
//! actually needs them. Nothing here prints: statuses and errors are recorded per source, under
//! names such as `SOPS_AGE_KEY_FILE` or `$HOME/.ssh/id_ed25519`, never with values or contents.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};

use age::armor::ArmoredReader;
use age::secrecy::{ExposeSecret, SecretString};
use age::{DecryptError, Decryptor};
use age_core::format::{FileKey, Stanza};
use base64::Engine;
use base64::prelude::{BASE64_STANDARD, BASE64_STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::shlex;
use super::sources::IdentitySources;

/// The most an identity source may hold (sops' limit for encrypted identity files).
const SOURCE_LIMIT: u64 = 1 << 24;
/// The most an `enc` blob may decrypt to: a data key is 32 bytes, a Shamir share 33.
const PAYLOAD_LIMIT: u64 = 1024;
/// How many times a wrong passphrase may be typed before a locked identity gives up.
const PASSPHRASE_TRIES: usize = 3;

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
    default_file: bool,
    /// The source is a path given relative to the working directory.
    relative_path: bool,
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

/// An identity that needs nothing more to be used.
enum Plain {
    X25519(age::x25519::Identity),
    /// With the SHA-256 of its key file, which `age` offers no other way to get at, and its
    /// recipient.
    Ssh(age::ssh::Identity, Zeroizing<[u8; 32]>, Option<String>),
    /// Run through `age-plugin-<name>` from `$PATH` when used.
    Plugin(age::plugin::Identity),
}

/// The public side of an identity, for reports: never any private material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// The recipient it decrypts for: `age1…`, or an SSH public key (`ssh-ed25519 AAAA…`).
    Recipient(String),
    /// What the identity is, when its recipient cannot be known without running its plugin or
    /// unlocking it.
    Unknown(&'static str),
}

/// One identity offered for a data key, and the source it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriedIdentity {
    /// Its public key, when known.
    pub public_key: PublicKey,
    /// The source's name: a variable name or a `$VAR`-relative path.
    pub source: String,
}

impl Plain {
    /// The identity's public side.
    fn public_key(&self) -> PublicKey {
        match self {
            Plain::X25519(identity) => PublicKey::Recipient(identity.to_public().to_string()),
            Plain::Ssh(_, _, recipient) => recipient
                .clone()
                .map_or(PublicKey::Unknown("an SSH key"), PublicKey::Recipient),
            Plain::Plugin(_) => PublicKey::Unknown(
                "a plugin identity (AGE-PLUGIN-…), whose recipient only its plugin knows",
            ),
        }
    }

    /// A digest of the identity's private key, for [`Keyring::derive_key`]. Plugin identities
    /// have none: their strings only name a key held elsewhere and are not secret.
    fn secret_digest(&self) -> Option<Zeroizing<[u8; 32]>> {
        match self {
            Plain::X25519(identity) => {
                Some(sha256(identity.to_string().expose_secret().as_bytes()))
            }
            Plain::Ssh(_, digest, _) => Some(digest.clone()),
            Plain::Plugin(_) => None,
        }
    }
}

/// SHA-256 into a zeroizing buffer.
fn sha256(data: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Sha256::new().chain_update(data).finalize_into(
        sha2::digest::generic_array::GenericArray::from_mut_slice(out.as_mut_slice()),
    );
    out
}

/// A passphrase-protected OpenSSH key, decrypted on first use.
struct LockedSsh {
    key: age::ssh::EncryptedKey,
    /// The age stanza tag of the public key, to ask for a passphrase only for matching stanzas.
    tag: Option<[u8; 4]>,
    /// The public key (stored in clear in the container), for reports.
    recipient: Option<String>,
    unlocked: OnceLock<Result<age::ssh::Identity, String>>,
}

/// A passphrase-encrypted (scrypt) age file holding an identity list, decrypted on first use.
struct LockedFile {
    data: Zeroizing<Vec<u8>>,
    unlocked: OnceLock<Result<Vec<Plain>, String>>,
}

enum Kind {
    Plain(Plain),
    LockedSsh(LockedSsh),
    LockedFile(LockedFile),
}

impl Kind {
    /// Try order: ready identities first, then plugins (which may want a touch), then locked
    /// ones (which ask for a passphrase). sops' order is random; this one avoids prompts.
    fn rank(&self) -> u8 {
        match self {
            Kind::Plain(Plain::X25519(_) | Plain::Ssh(..)) => 0,
            Kind::Plain(Plain::Plugin(_)) => 1,
            Kind::LockedSsh(_) | Kind::LockedFile(_) => 2,
        }
    }
}

struct Entry {
    /// Index into the reports, for messages.
    source: usize,
    kind: Kind,
}

/// How passphrases are obtained.
enum Prompter {
    /// Ask on `/dev/tty` (also used for plugin requests).
    Terminal,
    /// No terminal: locked sources were already rejected at load time.
    Disabled,
    /// Tests answer with a fixed passphrase.
    #[cfg(test)]
    Fixed(String),
}

/// Serialises terminal prompts from files decrypted in parallel.
static TERMINAL: Mutex<()> = Mutex::new(());

impl Prompter {
    fn ask(&self, prompt: &str) -> Result<SecretString, String> {
        match self {
            Prompter::Terminal => {
                let _guard = TERMINAL.lock().unwrap_or_else(PoisonError::into_inner);
                let pass = Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| {
                    format!("could not read the passphrase from the terminal: {e}")
                })?);
                if pass.is_empty() {
                    return Err("no passphrase was entered".into());
                }
                Ok(SecretString::from(pass.as_str().to_owned()))
            }
            Prompter::Disabled => Err("no terminal is available to ask for the passphrase".into()),
            #[cfg(test)]
            Prompter::Fixed(p) => Ok(SecretString::from(p.clone())),
        }
    }
}

/// Every age identity found in the sources sops 3.11 reads, with a report per source.
///
/// Built once per process; `Send + Sync`, so files can be decrypted in parallel. Key material
/// lives in the `age` crate's types, which zeroize on drop, or in `Zeroizing` buffers.
pub struct Keyring {
    entries: Vec<Entry>,
    reports: Vec<SourceReport>,
    prompter: Prompter,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("identities", &self.entries.len())
            .field("sources", &self.reports)
            .finish()
    }
}

/// Reads a whole file into a zeroizing buffer, refusing files over [`SOURCE_LIMIT`].
fn read_secret_file(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let hint = file
        .metadata()
        .map(|m| m.len())
        .unwrap_or(0)
        .min(SOURCE_LIMIT);
    // Pre-size so the buffer is not reallocated (which would leave unzeroized copies).
    let mut buf = Zeroizing::new(Vec::with_capacity(usize::try_from(hint).unwrap_or(0) + 1));
    file.take(SOURCE_LIMIT + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > SOURCE_LIMIT {
        return Err(io::Error::other("file too long"));
    }
    Ok(buf)
}

/// Parses an identity list exactly as sops does: one identity per line, empty lines and lines
/// starting with `#` skipped, a trailing `\r` ignored, anything else fails the whole list.
fn parse_identity_list(name: &str, data: &[u8]) -> Result<Vec<Plain>, String> {
    let fail = |why: &str| format!("failed to parse '{name}' age identities: {why}");
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        if line.starts_with(b"AGE-PLUGIN-") {
            let text = std::str::from_utf8(line).map_err(|_| fail("malformed plugin identity"))?;
            let id = text
                .parse::<age::plugin::Identity>()
                .map_err(|e| fail(&format!("malformed plugin identity: {e}")))?;
            out.push(Plain::Plugin(id));
        } else if line.starts_with(b"AGE-SECRET-KEY-1") {
            let text = std::str::from_utf8(line).map_err(|_| fail("malformed secret key"))?;
            let id = text
                .parse::<age::x25519::Identity>()
                .map_err(|e| fail(&format!("malformed secret key: {e}")))?;
            out.push(Plain::X25519(id));
        } else {
            return Err(fail("unknown identity type"));
        }
    }
    Ok(out)
}

/// Whether a source is an age file (binary or armored) rather than an identity list.
fn is_age_file(data: &[u8]) -> bool {
    data.starts_with(b"age-encryption") || data.starts_with(b"-----BEGIN AGE")
}

/// Reads one SSH string (u32 length, then bytes).
fn ssh_string(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let len_bytes: [u8; 4] = input.get(..4)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
    let end = len.checked_add(4)?;
    Some((input.get(4..end)?, input.get(end..)?))
}

/// The age stanza tag (first 4 bytes of SHA-256 of the public key blob) of an OpenSSH
/// private key file. The public key is stored unencrypted in the container, so this needs no
/// passphrase.
fn openssh_public_key_tag(text: &str) -> Option<[u8; 4]> {
    let body: Zeroizing<String> = Zeroizing::new(
        text.lines()
            .skip_while(|l| !l.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .map(str::trim)
            .collect(),
    );
    let raw = Zeroizing::new(BASE64_STANDARD.decode(body.as_bytes()).ok()?);
    let rest = raw.strip_prefix(b"openssh-key-v1\0")?;
    let (_cipher, rest) = ssh_string(rest)?;
    let (_kdf, rest) = ssh_string(rest)?;
    let (_kdf_options, rest) = ssh_string(rest)?;
    let rest = rest.get(4..)?; // number of keys
    let (public_key, _) = ssh_string(rest)?;
    Sha256::digest(public_key).get(..4)?.try_into().ok()
}

/// The recipient of an SSH identity as in a `.pub` file, without comment (`ssh-ed25519 AAAA…`),
/// read from its public part (in clear also in passphrase-protected keys).
fn ssh_recipient(identity: age::ssh::Identity) -> Option<String> {
    age::ssh::Recipient::try_from(identity)
        .ok()
        .map(|recipient| recipient.to_string())
}

/// For a file named by a relative path that could not be opened: where the path led, and the
/// fix. A relative path is resolved against the working directory, which differs between the
/// commands that run ksops, so the file looked for is often not the one meant.
fn relative_path_hint(path: &Path, home: Option<&Path>) -> String {
    if !is_relative(path) {
        return String::new();
    }
    let resolved = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!(
        "; the path is relative, so it was resolved against the working directory, to '{}': \
         set an absolute path",
        home_relative(&resolved, home)
    )
}

/// Whether `path` names a file relative to the working directory (an empty variable names none).
fn is_relative(path: &Path) -> bool {
    path.is_relative() && !path.as_os_str().is_empty()
}

/// `path` with a leading `$HOME` written as the variable, as every path in reports is.
fn home_relative(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|home| path.strip_prefix(home).ok()) {
        Some(rest) => Path::new("$HOME").join(rest).display().to_string(),
        None => path.display().to_string(),
    }
}

/// The message for a locked source when nobody can be asked for its passphrase.
fn no_terminal(name: &str) -> String {
    format!(
        "'{name}' is passphrase-protected and no terminal is available to ask for the \
         passphrase; use an unprotected identity, or run ksops where it can prompt"
    )
}

/// Accumulates entries and reports while loading.
struct Loader {
    entries: Vec<Entry>,
    reports: Vec<SourceReport>,
    terminal: bool,
    /// `$HOME`, to write the paths in messages relative to it.
    home: Option<PathBuf>,
}

impl Loader {
    fn report(&mut self, name: &str, status: SourceStatus) -> usize {
        self.reports.push(SourceReport {
            name: name.to_owned(),
            status,
            default_file: false,
            relative_path: false,
        });
        self.reports.len() - 1
    }

    /// Records that the last report's source is a file named by a relative path.
    fn mark_relative(&mut self, path: &Path) {
        if let Some(report) = self.reports.last_mut() {
            report.relative_path = is_relative(path);
        }
    }

    /// Why the file `what` could not be opened, with where a relative path led.
    fn open_failure(&self, what: &str, path: &Path, error: &io::Error) -> SourceStatus {
        SourceStatus::Failed(format!(
            "failed to open {what}: {error}{}",
            relative_path_hint(path, self.home.as_deref())
        ))
    }

    fn add(&mut self, name: &str, kinds: Vec<Kind>, status: SourceStatus) {
        let source = self.report(name, status);
        self.entries
            .extend(kinds.into_iter().map(|kind| Entry { source, kind }));
    }

    /// An SSH private key file (`SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `~/.ssh/id_*`).
    fn ssh_file(&mut self, name: &str, path: &Path) {
        let data = match read_secret_file(path) {
            Ok(d) => d,
            Err(e) => {
                let status = self.open_failure(&format!("'{name}'"), path, &e);
                self.report(name, status);
                return;
            }
        };
        let malformed = |why: &str| format!("malformed SSH identity in '{name}': {why}");
        let Ok(text) = std::str::from_utf8(&data) else {
            self.report(name, SourceStatus::Failed(malformed("not a text file")));
            return;
        };
        match age::ssh::Identity::from_buffer(text.as_bytes(), None) {
            Err(e) => {
                self.report(name, SourceStatus::Failed(malformed(&e.to_string())));
            }
            Ok(age::ssh::Identity::Encrypted(key)) => {
                if !self.terminal {
                    self.report(name, SourceStatus::Failed(no_terminal(name)));
                    return;
                }
                let locked = LockedSsh {
                    recipient: ssh_recipient(age::ssh::Identity::Encrypted(key.clone())),
                    key,
                    tag: openssh_public_key_tag(text),
                    unlocked: OnceLock::new(),
                };
                self.add(name, vec![Kind::LockedSsh(locked)], SourceStatus::Locked);
            }
            Ok(age::ssh::Identity::Unsupported(unsupported)) => {
                let why = match unsupported {
                    age::ssh::UnsupportedKey::EncryptedPem => {
                        "passphrase-protected PEM keys are not supported (convert with \
                         `ssh-keygen -p -o`)"
                            .to_owned()
                    }
                    age::ssh::UnsupportedKey::EncryptedSsh(cipher) => {
                        format!("keys encrypted with {cipher} are not supported")
                    }
                    age::ssh::UnsupportedKey::Hardware(kind)
                    | age::ssh::UnsupportedKey::Type(kind) => {
                        format!("unsupported SSH identity type: {kind}")
                    }
                };
                self.report(name, SourceStatus::Failed(malformed(&why)));
            }
            Ok(id @ age::ssh::Identity::Unencrypted(_)) => {
                // The clone holds the private key briefly; `age` wipes it on drop.
                let recipient = ssh_recipient(id.clone());
                self.add(
                    name,
                    vec![Kind::Plain(Plain::Ssh(id, sha256(&data), recipient))],
                    SourceStatus::Loaded(1),
                );
            }
        }
    }

    /// An identity list, or a passphrase-encrypted age file holding one.
    fn identity_list(&mut self, name: &str, data: &[u8]) {
        if !is_age_file(data) {
            match parse_identity_list(name, data) {
                Ok(ids) => {
                    let n = ids.len();
                    self.add(
                        name,
                        ids.into_iter().map(Kind::Plain).collect(),
                        SourceStatus::Loaded(n),
                    );
                }
                Err(e) => {
                    self.report(name, SourceStatus::Failed(e));
                }
            }
            return;
        }
        // Check the header now, so a corrupt file is reported even if never unlocked.
        match Decryptor::new(ArmoredReader::new(data)) {
            Err(e) => {
                self.report(
                    name,
                    SourceStatus::Failed(format!("failed to read '{name}': {e}")),
                );
            }
            Ok(d) if !d.is_scrypt() => {
                let why = format!(
                    "'{name}' is an age-encrypted file, but not encrypted with a passphrase"
                );
                self.report(name, SourceStatus::Failed(why));
            }
            Ok(_) if !self.terminal => {
                self.report(name, SourceStatus::Failed(no_terminal(name)));
            }
            Ok(_) => {
                let locked = LockedFile {
                    data: Zeroizing::new(data.to_vec()),
                    unlocked: OnceLock::new(),
                };
                self.add(name, vec![Kind::LockedFile(locked)], SourceStatus::Locked);
            }
        }
    }
}

/// Runs `SOPS_AGE_KEY_CMD` without a shell and returns its standard output.
fn run_key_cmd(cmd: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let words = Zeroizing::new(
        shlex::split(cmd)
            .map_err(|e| format!("failed to parse the command in SOPS_AGE_KEY_CMD: {e}"))?,
    );
    let (program, args) = words
        .split_first()
        .ok_or_else(|| "SOPS_AGE_KEY_CMD holds no command".to_owned())?;
    // Like Go's `Output()`: no stdin, stdout captured, stderr captured and not shown.
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to execute the command from SOPS_AGE_KEY_CMD: {e}"))?;
    let stdout = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return Err(format!(
            "failed to execute the command from SOPS_AGE_KEY_CMD: {}",
            out.status
        ));
    }
    Ok(stdout)
}

impl Keyring {
    /// Loads every identity source once. Never fails: each source's outcome is recorded in
    /// [`Keyring::reports`], and errors surface when a data key cannot be recovered.
    pub fn load(sources: &IdentitySources) -> Keyring {
        let mut l = Loader {
            entries: Vec::new(),
            reports: Vec::new(),
            terminal: sources.terminal,
            home: sources.home.clone(),
        };

        // 1. SSH keys: the variable, and also the two default files if they exist.
        const SSH_VAR: &str = "SOPS_AGE_SSH_PRIVATE_KEY_FILE";
        match &sources.ssh_private_key_file {
            Some(path) => {
                l.ssh_file(SSH_VAR, path);
                l.mark_relative(path);
            }
            None => {
                l.report(SSH_VAR, SourceStatus::NotSet);
            }
        }
        for file in ["id_ed25519", "id_rsa"] {
            let name = format!("$HOME/.ssh/{file}");
            match &sources.home {
                None => {
                    l.report(&name, SourceStatus::NotSet);
                }
                Some(home) => {
                    let path = home.join(".ssh").join(file);
                    if path.exists() {
                        l.ssh_file(&name, &path);
                    } else {
                        l.report(&name, SourceStatus::NotFound);
                    }
                }
            }
        }

        // 2. SOPS_AGE_KEY.
        match &sources.age_key {
            Some(value) => l.identity_list("SOPS_AGE_KEY", value.as_bytes()),
            None => {
                l.report("SOPS_AGE_KEY", SourceStatus::NotSet);
            }
        }

        // 3. SOPS_AGE_KEY_FILE.
        match &sources.age_key_file {
            Some(path) => {
                match read_secret_file(path) {
                    Ok(data) => l.identity_list("SOPS_AGE_KEY_FILE", &data),
                    Err(e) => {
                        let status = l.open_failure("SOPS_AGE_KEY_FILE file", path, &e);
                        l.report("SOPS_AGE_KEY_FILE", status);
                    }
                }
                l.mark_relative(path);
            }
            None => {
                l.report("SOPS_AGE_KEY_FILE", SourceStatus::NotSet);
            }
        }

        // 4. SOPS_AGE_KEY_CMD.
        match &sources.age_key_cmd {
            Some(cmd) => match run_key_cmd(cmd) {
                Ok(out) => l.identity_list("SOPS_AGE_KEY_CMD", &out),
                Err(e) => {
                    l.report("SOPS_AGE_KEY_CMD", SourceStatus::Failed(e));
                }
            },
            None => {
                l.report("SOPS_AGE_KEY_CMD", SourceStatus::NotSet);
            }
        }

        // 5. The default keys file, read whenever it exists.
        let first_default = l.reports.len();
        match sources.default_keys_file() {
            Ok((path, name)) => match read_secret_file(&path) {
                Ok(data) => l.identity_list(name, &data),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    l.report(name, SourceStatus::NotFound);
                }
                Err(e) => {
                    l.report(
                        name,
                        SourceStatus::Failed(format!("failed to open '{name}': {e}")),
                    );
                }
            },
            Err(why) => {
                let (name, status) = if sources.xdg_config_home.is_some() {
                    (
                        "$XDG_CONFIG_HOME/sops/age/keys.txt",
                        SourceStatus::Failed(format!(
                            "user config directory could not be determined: {why}"
                        )),
                    )
                } else {
                    ("$HOME/.config/sops/age/keys.txt", SourceStatus::NotSet)
                };
                l.report(name, status);
            }
        }
        for r in l.reports.iter_mut().skip(first_default) {
            r.default_file = true;
        }

        let mut entries = l.entries;
        entries.sort_by_key(|e| e.kind.rank());
        Keyring {
            entries,
            reports: l.reports,
            prompter: if sources.terminal {
                Prompter::Terminal
            } else {
                Prompter::Disabled
            },
        }
    }

    /// What each source gave, in the order sops reads them.
    pub fn reports(&self) -> &[SourceReport] {
        &self.reports
    }

    /// How many identities were loaded (locked ones count as one each).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no identity at all was loaded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A 32-byte secret derived from every unprotected private key loaded (X25519 identities
    /// and unencrypted SSH keys, whatever their source and order), bound to `label`, or `None`
    /// when there is no such key. The same keys always give the same secret; without them it
    /// cannot be computed. Plugin identities and passphrase-protected sources take no part.
    pub fn derive_key(&self, label: &str) -> Option<Zeroizing<[u8; 32]>> {
        let mut digests: Vec<Zeroizing<[u8; 32]>> = self
            .entries
            .iter()
            .filter_map(|entry| match &entry.kind {
                Kind::Plain(plain) => plain.secret_digest(),
                Kind::LockedSsh(_) | Kind::LockedFile(_) => None,
            })
            .collect();
        if digests.is_empty() {
            return None;
        }
        digests.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        digests.dedup_by(|a, b| a.as_slice() == b.as_slice());
        let mut material = Zeroizing::new(Vec::with_capacity(8 + label.len() + 32 * digests.len()));
        material.extend_from_slice(&(label.len() as u64).to_be_bytes());
        material.extend_from_slice(label.as_bytes());
        for digest in &digests {
            material.extend_from_slice(digest.as_slice());
        }
        Some(sha256(&material))
    }

    /// Every identity offered for a data key, with its public key where it is known: identities
    /// that were unlocked while trying show theirs, those still locked say what they are.
    pub fn tried_identities(&self) -> Vec<TriedIdentity> {
        let mut out = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let source = self.source_name(entry.source).to_owned();
            let mut push = |public_key| {
                out.push(TriedIdentity {
                    public_key,
                    source: source.clone(),
                });
            };
            match &entry.kind {
                Kind::Plain(plain) => push(plain.public_key()),
                Kind::LockedSsh(locked) => push(locked.recipient.clone().map_or(
                    PublicKey::Unknown("a passphrase-protected SSH key"),
                    PublicKey::Recipient,
                )),
                Kind::LockedFile(locked) => match locked.unlocked.get() {
                    Some(Ok(identities)) => identities.iter().for_each(|i| push(i.public_key())),
                    _ => push(PublicKey::Unknown(
                        "a passphrase-protected identity file, not unlocked",
                    )),
                },
            }
        }
        out
    }

    fn source_name(&self, source: usize) -> &str {
        self.reports.get(source).map_or("?", |r| r.name.as_str())
    }

    /// Decrypts one armored `enc` blob with every identity, as sops' `age.Decrypt` does.
    ///
    /// On failure, returns the reason in sops' words, extended with what each source gave.
    pub(crate) fn unwrap(&self, enc: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        if self.entries.is_empty() {
            return Err(self.reason("failed to load age identities".into(), &[]));
        }
        let notes = RefCell::new(Vec::new());
        let attempts: Vec<Attempt<'_>> = self
            .entries
            .iter()
            .map(|entry| Attempt {
                keyring: self,
                entry,
                notes: &notes,
            })
            .collect();
        let head = "failed to create reader for decrypting sops data key with age";
        let result = Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes()))
            .and_then(|d| d.decrypt(attempts.iter().map(|a| a as &dyn age::Identity)));
        let reader = match result {
            Ok(r) => r,
            Err(e) => {
                let why = match e {
                    DecryptError::NoMatchingKeys => {
                        "no identity matched any of the recipients".to_owned()
                    }
                    other => other.to_string().replace('\n', " "),
                };
                return Err(self.reason(format!("{head}: {why}"), &notes.borrow()));
            }
        };
        let mut payload = Zeroizing::new(Vec::with_capacity(64));
        reader
            .take(PAYLOAD_LIMIT)
            .read_to_end(&mut payload)
            .map_err(|e| format!("failed to read the age-decrypted data key: {e}"))?;
        Ok(payload)
    }

    /// sops' `formatError` suffixes (load errors, unused locations), then problems met while
    /// unlocking identities for this key. The identities themselves are listed once for the
    /// whole report, by [`DataKeyFailure`](super::DataKeyFailure).
    fn reason(&self, head: String, notes: &[String]) -> String {
        let nothing_loaded = self.entries.is_empty();
        let errors: Vec<&str> = self
            .reports
            .iter()
            .filter_map(|r| match &r.status {
                SourceStatus::Failed(e) => Some(e.as_str()),
                _ => None,
            })
            .collect();
        let unused: Vec<&str> = self
            .reports
            .iter()
            .filter(|r| match r.status {
                SourceStatus::NotSet | SourceStatus::Loaded(0) => true,
                SourceStatus::NotFound => !r.default_file || nothing_loaded,
                _ => false,
            })
            .map(|r| r.name.as_str())
            .collect();

        let mut out = head;
        if !errors.is_empty() {
            out.push_str(". Errors while loading age identities: ");
            out.push_str(&errors.join("; "));
        }
        if let Some((last, rest)) = unused.split_last() {
            out.push_str(". Did not find keys in location");
            match rest {
                [] => out.push_str(&format!(" '{last}'")),
                [one] => out.push_str(&format!("s '{one}' and '{last}'")),
                _ => out.push_str(&format!("s '{}', and '{last}'", rest.join("', '"))),
            }
            out.push('.');
        }
        if !notes.is_empty() {
            out.push_str(&format!(
                " While unlocking identities: {}.",
                notes.join("; ")
            ));
        }
        out
    }
}

/// One identity as offered to `age` for one `enc` blob; problems go to `notes`.
struct Attempt<'a> {
    keyring: &'a Keyring,
    entry: &'a Entry,
    notes: &'a RefCell<Vec<String>>,
}

impl Attempt<'_> {
    fn note(&self, what: String) {
        self.notes.borrow_mut().push(what);
    }

    fn name(&self) -> &str {
        self.keyring.source_name(self.entry.source)
    }

    fn plain(&self, id: &Plain, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        match id {
            Plain::X25519(i) => age::Identity::unwrap_stanzas(i, stanzas),
            Plain::Ssh(i, ..) => age::Identity::unwrap_stanzas(i, stanzas),
            Plain::Plugin(i) => {
                let callbacks = PluginUi {
                    terminal: matches!(self.keyring.prompter, Prompter::Terminal),
                };
                let plugin = match age::plugin::IdentityPluginV1::new(
                    i.plugin(),
                    std::slice::from_ref(i),
                    callbacks,
                ) {
                    Ok(p) => p,
                    Err(e) => {
                        let why = e.to_string().replace('\n', " ");
                        self.note(format!("'{}': {why}", self.name()));
                        return None;
                    }
                };
                match age::Identity::unwrap_stanzas(&plugin, stanzas) {
                    Some(Err(e)) => {
                        let why = e.to_string().replace('\n', " ");
                        self.note(format!(
                            "'{}': age-plugin-{}: {why}",
                            self.name(),
                            i.plugin()
                        ));
                        None
                    }
                    other => other,
                }
            }
        }
    }

    fn locked_ssh(
        &self,
        l: &LockedSsh,
        stanzas: &[Stanza],
    ) -> Option<Result<FileKey, DecryptError>> {
        // Only ask for a passphrase if a stanza is for this key (as agessh does).
        let for_us = stanzas.iter().any(|s| {
            (s.tag == "ssh-ed25519" || s.tag == "ssh-rsa")
                && match (l.tag, s.args.first()) {
                    (Some(tag), Some(arg)) => BASE64_STANDARD_NO_PAD
                        .decode(arg)
                        .is_ok_and(|got| got == tag),
                    (None, _) => true,
                    (Some(_), None) => false,
                }
        });
        if !for_us {
            return None;
        }
        let name = self.name();
        let unlocked = l.unlocked.get_or_init(|| {
            let prompt = format!("Enter passphrase for \"{name}\":");
            for _ in 0..PASSPHRASE_TRIES {
                let pass = self.keyring.prompter.ask(&prompt)?;
                if let Ok(key) = l.key.decrypt(pass) {
                    return Ok(age::ssh::Identity::from(key));
                }
            }
            Err("incorrect passphrase".to_owned())
        });
        match unlocked {
            Ok(id) => age::Identity::unwrap_stanzas(id, stanzas),
            Err(e) => {
                self.note(format!("'{name}': {e}"));
                None
            }
        }
    }

    fn locked_file(
        &self,
        l: &LockedFile,
        stanzas: &[Stanza],
    ) -> Option<Result<FileKey, DecryptError>> {
        let name = self.name();
        let unlocked = l.unlocked.get_or_init(|| {
            let prompt = format!("Enter passphrase for identity '{name}':");
            for _ in 0..PASSPHRASE_TRIES {
                let pass = self.keyring.prompter.ask(&prompt)?;
                match decrypt_identity_file(name, &l.data, pass) {
                    Err(FileUnlockError::WrongPassphrase) => continue,
                    Err(FileUnlockError::Other(e)) => return Err(e),
                    Ok(ids) => return Ok(ids),
                }
            }
            Err("incorrect passphrase".to_owned())
        });
        match unlocked {
            Ok(ids) => ids.iter().find_map(|id| self.plain(id, stanzas)),
            Err(e) => {
                self.note(format!("'{name}': {e}"));
                None
            }
        }
    }
}

impl age::Identity for Attempt<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        self.unwrap_stanzas(std::slice::from_ref(stanza))
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        match &self.entry.kind {
            Kind::Plain(id) => self.plain(id, stanzas),
            Kind::LockedSsh(l) => self.locked_ssh(l, stanzas),
            Kind::LockedFile(l) => self.locked_file(l, stanzas),
        }
    }
}

enum FileUnlockError {
    WrongPassphrase,
    Other(String),
}

/// Decrypts a passphrase-protected identity file and parses the identity list inside.
fn decrypt_identity_file(
    name: &str,
    data: &[u8],
    pass: SecretString,
) -> Result<Vec<Plain>, FileUnlockError> {
    let identity = age::scrypt::Identity::new(pass);
    let other =
        |e: DecryptError| FileUnlockError::Other(format!("failed to decrypt identity file: {e}"));
    let decryptor = Decryptor::new(ArmoredReader::new(data)).map_err(other)?;
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            DecryptError::DecryptionFailed
            | DecryptError::KeyDecryptionFailed
            | DecryptError::NoMatchingKeys => FileUnlockError::WrongPassphrase,
            e => other(e),
        })?;
    let mut plain = Zeroizing::new(Vec::with_capacity(4096));
    reader
        .take(SOURCE_LIMIT)
        .read_to_end(&mut plain)
        .map_err(|e| FileUnlockError::Other(format!("failed to decrypt identity file: {e}")))?;
    parse_identity_list(name, &plain).map_err(FileUnlockError::Other)
}

/// Plugin callbacks: messages and requests go to the terminal when there is one, else they
/// are declined (loading and decrypting never write to stdout or stderr).
#[derive(Clone)]
struct PluginUi {
    terminal: bool,
}

impl age::Callbacks for PluginUi {
    fn display_message(&self, message: &str) {
        if self.terminal {
            let _guard = TERMINAL.lock().unwrap_or_else(PoisonError::into_inner);
            if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
                let _ = io::Write::write_all(&mut tty, format!("{message}\n").as_bytes());
            }
        }
    }

    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        if self.terminal {
            Prompter::Terminal.ask(description).ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::sops::keys::testutil::{empty_sources, have_tool, read_vector, run, vector};

    fn status<'a>(k: &'a Keyring, name: &str) -> &'a SourceStatus {
        match k.reports().iter().find(|r| r.name == name) {
            Some(r) => &r.status,
            None => panic!("no report for {name}: {:?}", k.reports()),
        }
    }

    fn scratch() -> tempfile::TempDir {
        crate::testing::scratch_dir("unit")
    }

    #[test]
    fn keyring_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Keyring>();
    }

    #[test]
    fn nothing_set_reports_every_source() {
        let k = Keyring::load(&empty_sources());
        assert!(k.is_empty());
        let names: Vec<_> = k.reports().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
                "$HOME/.ssh/id_ed25519",
                "$HOME/.ssh/id_rsa",
                "SOPS_AGE_KEY",
                "SOPS_AGE_KEY_FILE",
                "SOPS_AGE_KEY_CMD",
                "$HOME/.config/sops/age/keys.txt",
            ]
        );
        assert!(k.reports().iter().all(|r| r.status == SourceStatus::NotSet));
    }

    #[test]
    fn identity_list_parsing_follows_sops() {
        let key = read_vector("age-test-identity.txt");
        // Comments, blank lines and CRLF are fine.
        let crlf = format!("# comment\r\n\r\n{}\r\n", key.lines().last().unwrap_or(""));
        let k = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(crlf)),
            ..empty_sources()
        });
        assert_eq!(status(&k, "SOPS_AGE_KEY"), &SourceStatus::Loaded(1));

        // Leading spaces, or anything else, fail the whole source without quoting it.
        for bad in [format!(" {}", key.trim()), "hello world".to_owned()] {
            let k = Keyring::load(&IdentitySources {
                age_key: Some(Zeroizing::new(bad)),
                ..empty_sources()
            });
            assert_eq!(
                status(&k, "SOPS_AGE_KEY"),
                &SourceStatus::Failed(
                    "failed to parse 'SOPS_AGE_KEY' age identities: unknown identity type".into()
                )
            );
            assert!(k.is_empty());
        }

        // A broken key names the source, not the key.
        let k = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new("AGE-SECRET-KEY-1QQQQ".into())),
            ..empty_sources()
        });
        match status(&k, "SOPS_AGE_KEY") {
            SourceStatus::Failed(e) => {
                assert!(
                    e.starts_with(
                        "failed to parse 'SOPS_AGE_KEY' age identities: malformed secret key"
                    ),
                    "{e}"
                );
                assert!(!e.contains("QQQQ"), "{e}");
            }
            other => panic!("{other:?}"),
        }

        // Set but empty: loaded, with no identities.
        let k = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(String::new())),
            ..empty_sources()
        });
        assert_eq!(status(&k, "SOPS_AGE_KEY"), &SourceStatus::Loaded(0));
    }

    #[test]
    fn key_file_and_its_errors() {
        let k = Keyring::load(&IdentitySources {
            age_key_file: Some(vector("age-test-identity-2.txt")),
            ..empty_sources()
        });
        assert_eq!(status(&k, "SOPS_AGE_KEY_FILE"), &SourceStatus::Loaded(1));

        let dir = scratch();
        let missing = dir.path().join("secret-name-nobody-should-see.txt");
        let k = Keyring::load(&IdentitySources {
            age_key_file: Some(missing),
            ..empty_sources()
        });
        match status(&k, "SOPS_AGE_KEY_FILE") {
            SourceStatus::Failed(e) => {
                assert!(
                    e.starts_with("failed to open SOPS_AGE_KEY_FILE file: "),
                    "{e}"
                );
                assert!(!e.contains("nobody-should-see"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_relative_key_file_names_where_it_led() {
        let relative = Path::new("no-such-dir-for-ksops-tests/keys.txt");
        let resolved = std::path::absolute(relative).unwrap_or_else(|e| panic!("{e}"));
        for (sources, name, what) in [
            (
                IdentitySources {
                    age_key_file: Some(relative.to_path_buf()),
                    ..empty_sources()
                },
                "SOPS_AGE_KEY_FILE",
                "SOPS_AGE_KEY_FILE file",
            ),
            (
                IdentitySources {
                    ssh_private_key_file: Some(relative.to_path_buf()),
                    ..empty_sources()
                },
                "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
                "'SOPS_AGE_SSH_PRIVATE_KEY_FILE'",
            ),
        ] {
            let k = Keyring::load(&sources);
            assert_eq!(
                status(&k, name),
                &SourceStatus::Failed(format!(
                    "failed to open {what}: No such file or directory (os error 2); the path \
                     is relative, so it was resolved against the working directory, to '{}': \
                     set an absolute path",
                    resolved.display()
                ))
            );
            let report = k.reports().iter().find(|r| r.name == name);
            assert!(report.is_some_and(SourceReport::is_relative_path), "{name}");
            assert_eq!(
                k.reports().iter().filter(|r| r.is_relative_path()).count(),
                1
            );
        }
        // Under $HOME, the path is written relative to it, as every path in reports is.
        assert_eq!(
            home_relative(
                Path::new("/home/u/repo/keys.txt"),
                Some(Path::new("/home/u"))
            ),
            "$HOME/repo/keys.txt"
        );
        assert_eq!(
            home_relative(Path::new("/srv/keys.txt"), Some(Path::new("/home/u"))),
            "/srv/keys.txt"
        );
    }

    #[test]
    fn tried_identities_show_public_keys_only() {
        let ssh = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated/keys");
        let public = |name: &str| {
            let line = std::fs::read_to_string(ssh.join(name)).unwrap_or_else(|e| panic!("{e}"));
            line.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let k = Keyring::load(&IdentitySources {
            ssh_private_key_file: Some(ssh.join("id_rsa")),
            age_key: Some(Zeroizing::new(read_vector("age-test-identity.txt"))),
            age_key_file: Some(vector("age-test-identity-2.txt")),
            ..empty_sources()
        });
        let recipient = |r: &str| PublicKey::Recipient(r.to_owned());
        let tried: Vec<(PublicKey, String)> = k
            .tried_identities()
            .into_iter()
            .map(|t| (t.public_key, t.source))
            .collect();
        assert_eq!(
            tried,
            [
                (
                    recipient(&public("id_rsa.pub")),
                    "SOPS_AGE_SSH_PRIVATE_KEY_FILE".to_owned()
                ),
                (
                    recipient("age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry"),
                    "SOPS_AGE_KEY".to_owned()
                ),
                (
                    recipient("age1upycxczex8fsvsa0t4rc9y8ghmjf5ku2shffu7zxrpvz49hkcydqmv7xla"),
                    "SOPS_AGE_KEY_FILE".to_owned()
                ),
            ]
        );
        let k = Keyring::load(&IdentitySources {
            ssh_private_key_file: Some(ssh.join("id_ed25519")),
            ..empty_sources()
        });
        assert_eq!(
            k.tried_identities().first().map(|t| &t.public_key),
            Some(&recipient(&public("id_ed25519.pub")))
        );
    }

    #[test]
    fn key_cmd_is_split_and_run_without_a_shell() {
        let dir = scratch();
        let spaced = dir.path().join("dir with 'quotes' and spaces");
        std::fs::create_dir(&spaced).unwrap_or_else(|e| panic!("{e}"));
        let keys = spaced.join("keys.txt");
        std::fs::copy(vector("age-test-identity-3.txt"), &keys).unwrap_or_else(|e| panic!("{e}"));
        let quoted = format!("\"{}\"", keys.display().to_string().replace('"', "\\\""));
        let k = Keyring::load(&IdentitySources {
            age_key_cmd: Some(Zeroizing::new(format!("cat {quoted} # trailing comment"))),
            ..empty_sources()
        });
        assert_eq!(status(&k, "SOPS_AGE_KEY_CMD"), &SourceStatus::Loaded(1));

        // Failures name the variable, never the command.
        for (cmd, want) in [
            (
                "false --secret-token",
                "failed to execute the command from SOPS_AGE_KEY_CMD: exit status: 1",
            ),
            (
                "'unclosed --secret-token",
                "failed to parse the command in SOPS_AGE_KEY_CMD: EOF found when expecting closing quote",
            ),
            ("  ", "SOPS_AGE_KEY_CMD holds no command"),
        ] {
            let k = Keyring::load(&IdentitySources {
                age_key_cmd: Some(Zeroizing::new(cmd.into())),
                ..empty_sources()
            });
            assert_eq!(
                status(&k, "SOPS_AGE_KEY_CMD"),
                &SourceStatus::Failed(want.into())
            );
        }
        let k = Keyring::load(&IdentitySources {
            age_key_cmd: Some(Zeroizing::new("/nonexistent/secret-tool --token".into())),
            ..empty_sources()
        });
        match status(&k, "SOPS_AGE_KEY_CMD") {
            SourceStatus::Failed(e) => {
                assert!(
                    e.starts_with("failed to execute the command from SOPS_AGE_KEY_CMD: "),
                    "{e}"
                );
                assert!(!e.contains("secret-tool") && !e.contains("token"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn default_keys_file_via_xdg_and_home() {
        let dir = scratch();
        let xdg = dir.path().join("xdg");
        let home = dir.path().join("home");
        for base in [xdg.join("sops/age"), home.join(".config/sops/age")] {
            std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{e}"));
            std::fs::copy(vector("age-test-identity.txt"), base.join("keys.txt"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        if cfg!(target_os = "macos") {
            return;
        }
        let k = Keyring::load(&IdentitySources {
            xdg_config_home: Some(xdg),
            home: Some(home.clone()),
            ..empty_sources()
        });
        assert_eq!(
            status(&k, "$XDG_CONFIG_HOME/sops/age/keys.txt"),
            &SourceStatus::Loaded(1)
        );
        assert_eq!(status(&k, "$HOME/.ssh/id_ed25519"), &SourceStatus::NotFound);
        let k = Keyring::load(&IdentitySources {
            home: Some(home),
            ..empty_sources()
        });
        assert_eq!(
            status(&k, "$HOME/.config/sops/age/keys.txt"),
            &SourceStatus::Loaded(1)
        );
        assert_eq!(k.len(), 1);
        // A relative XDG_CONFIG_HOME disables the default file, as in Go.
        let k = Keyring::load(&IdentitySources {
            xdg_config_home: Some("relative".into()),
            ..empty_sources()
        });
        assert!(matches!(
            status(&k, "$XDG_CONFIG_HOME/sops/age/keys.txt"),
            SourceStatus::Failed(e) if e.contains("relative")
        ));
    }

    /// An scrypt-encrypted identity file, armored or not, holding `identity`.
    fn passphrase_file(identity: &str, pass: &str, armor: bool) -> Vec<u8> {
        let enc = age::Encryptor::with_user_passphrase(SecretString::from(pass.to_owned()));
        let mut out = Vec::new();
        let format = if armor {
            age::armor::Format::AsciiArmor
        } else {
            age::armor::Format::Binary
        };
        let result = (|| -> io::Result<()> {
            let armored = age::armor::ArmoredWriter::wrap_output(&mut out, format)?;
            let mut w = enc.wrap_output(armored).map_err(io::Error::other)?;
            io::Write::write_all(&mut w, identity.as_bytes())?;
            w.finish()?.finish()?;
            Ok(())
        })();
        result.unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn passphrase_protected_identity_file() {
        let dir = scratch();
        let identity = read_vector("age-test-identity.txt");
        let file = dir.path().join("keys.age");
        for armor in [true, false] {
            std::fs::write(&file, passphrase_file(&identity, "correct horse", armor))
                .unwrap_or_else(|e| panic!("{e}"));
            // No terminal: a clear error for that source.
            let k = Keyring::load(&IdentitySources {
                age_key_file: Some(file.clone()),
                ..empty_sources()
            });
            match status(&k, "SOPS_AGE_KEY_FILE") {
                SourceStatus::Failed(e) => assert!(
                    e.contains("passphrase-protected and no terminal is available"),
                    "{e}"
                ),
                other => panic!("{other:?}"),
            }
            // With a terminal it stays locked until used.
            let mut k = Keyring::load(&IdentitySources {
                age_key_file: Some(file.clone()),
                terminal: true,
                ..empty_sources()
            });
            assert_eq!(status(&k, "SOPS_AGE_KEY_FILE"), &SourceStatus::Locked);
            let locked = PublicKey::Unknown("a passphrase-protected identity file, not unlocked");
            let publics = |k: &Keyring| -> Vec<PublicKey> {
                k.tried_identities()
                    .into_iter()
                    .map(|t| t.public_key)
                    .collect()
            };
            assert_eq!(publics(&k), [locked]);
            k.prompter = Prompter::Fixed("correct horse".into());
            let enc = crate::sops::keys::testutil::enc_blobs(&read_vector("tiny.yaml.sops"));
            let got = k.unwrap(enc.first().map_or("", String::as_str));
            assert_eq!(got.map(|p| p.len()), Ok(32));
            // Once unlocked, its identities show their recipients.
            assert_eq!(
                publics(&k),
                [PublicKey::Recipient(
                    "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry".into()
                )]
            );

            let mut k = Keyring::load(&IdentitySources {
                age_key_file: Some(file.clone()),
                terminal: true,
                ..empty_sources()
            });
            k.prompter = Prompter::Fixed("wrong".into());
            let err = k.unwrap(enc.first().map_or("", String::as_str));
            match err {
                Err(e) => assert!(
                    e.contains("'SOPS_AGE_KEY_FILE': incorrect passphrase"),
                    "{e}"
                ),
                Ok(_) => panic!("wrong passphrase accepted"),
            }
        }
    }

    #[test]
    fn ssh_keys_from_home_and_variable() {
        if !have_tool("ssh-keygen") {
            return;
        }
        let dir = scratch();
        let ssh = dir.path().join(".ssh");
        std::fs::create_dir(&ssh).unwrap_or_else(|e| panic!("{e}"));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(ssh.join("id_ed25519")));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(ssh.join("id_rsa")));
        let locked = dir.path().join("locked_ed25519");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "s3cret", "-f"])
            .arg(&locked));
        let k = Keyring::load(&IdentitySources {
            home: Some(dir.path().to_path_buf()),
            ssh_private_key_file: Some(locked.clone()),
            ..empty_sources()
        });
        assert_eq!(
            status(&k, "$HOME/.ssh/id_ed25519"),
            &SourceStatus::Loaded(1)
        );
        assert_eq!(status(&k, "$HOME/.ssh/id_rsa"), &SourceStatus::Loaded(1));
        match status(&k, "SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            SourceStatus::Failed(e) => assert!(e.contains("no terminal is available"), "{e}"),
            other => panic!("{other:?}"),
        }
        // A file that is not a key.
        let k = Keyring::load(&IdentitySources {
            ssh_private_key_file: Some(vector("age-test-identity.txt")),
            ..empty_sources()
        });
        match status(&k, "SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            SourceStatus::Failed(e) => {
                assert!(
                    e.starts_with("malformed SSH identity in 'SOPS_AGE_SSH_PRIVATE_KEY_FILE'"),
                    "{e}"
                );
                assert!(!e.contains("AGE-SECRET-KEY"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn locked_ssh_key_prompts_only_for_its_own_stanzas() {
        if !have_tool("ssh-keygen") || !have_tool("age") {
            return;
        }
        let dir = scratch();
        let key = dir.path().join("id_locked");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "s3cret", "-f"])
            .arg(&key));
        let payload = [0x42u8; 32];
        let enc = crate::sops::keys::testutil::age_encrypt_to(
            &dir.path().join("id_locked.pub"),
            &payload,
            dir.path(),
        );
        let tiny = crate::sops::keys::testutil::enc_blobs(&read_vector("tiny.yaml.sops"));
        let mut k = Keyring::load(&IdentitySources {
            ssh_private_key_file: Some(key),
            terminal: true,
            ..empty_sources()
        });
        assert_eq!(
            status(&k, "SOPS_AGE_SSH_PRIVATE_KEY_FILE"),
            &SourceStatus::Locked
        );
        // Its public key is in clear in the key file: known without the passphrase.
        let public = std::fs::read_to_string(dir.path().join("id_locked.pub"))
            .unwrap_or_else(|e| panic!("{e}"));
        let public = public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            k.tried_identities().first().map(|t| &t.public_key),
            Some(&PublicKey::Recipient(public))
        );
        // Nobody can answer: an X25519 stanza must not trigger a prompt at all.
        k.prompter = Prompter::Disabled;
        match k.unwrap(tiny.first().map_or("", String::as_str)) {
            Err(e) => assert!(!e.contains("While unlocking"), "{e}"),
            Ok(_) => panic!("decrypted with the wrong key"),
        }
        k.prompter = Prompter::Fixed("s3cret".into());
        let got = k.unwrap(&enc).map(|p| p.to_vec());
        assert_eq!(got, Ok(payload.to_vec()));
    }

    #[test]
    fn derived_keys_depend_only_on_the_private_keys() {
        let one = read_vector("age-test-identity.txt");
        let two = read_vector("age-test-identity-2.txt");
        let derive = |list: String, ssh: Option<std::path::PathBuf>| {
            Keyring::load(&IdentitySources {
                age_key: Some(Zeroizing::new(list)),
                ssh_private_key_file: ssh,
                ..empty_sources()
            })
            .derive_key("label")
            .map(|k| *k)
        };
        let first = derive(one.clone(), None).unwrap();
        assert_eq!(derive(one.clone(), None), Some(first), "not stable");
        // Order, repetition and comments do not matter; another key does.
        let both = derive(format!("{one}\n{two}"), None).unwrap();
        assert_eq!(
            derive(format!("# x\n{two}\n{one}\n{one}"), None),
            Some(both)
        );
        assert_ne!(both, first);
        assert_ne!(derive(two, None), Some(first));
        let ssh =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated/keys/id_ed25519");
        assert_ne!(derive(one.clone(), Some(ssh)), Some(first));
        // The label separates uses.
        let k = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(one)),
            ..empty_sources()
        });
        assert_ne!(k.derive_key("other").map(|k| *k), Some(first));
        assert!(
            Keyring::load(&empty_sources())
                .derive_key("label")
                .is_none()
        );
    }
}
