//! Reading age identities from each source sops 3.12 reads, in its order: SSH keys
//! (`SOPS_AGE_SSH_PRIVATE_KEY_FILE`, the output of `SOPS_AGE_SSH_PRIVATE_KEY_CMD`,
//! `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`), `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, the output of
//! `SOPS_AGE_KEY_CMD`, and the default keys file. The two commands are only set up here: they
//! run per recipient, when a file needs them (see `command`).
//!
//! A source that cannot be used is recorded as failed, in words that name it and never its
//! contents; a passphrase-protected one is kept locked, or refused when no terminal can ask.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use age::Decryptor;
use age::armor::ArmoredReader;
use zeroize::Zeroizing;

use super::AgeKeys;
use super::command::{KeyCommand, Output};
use super::identity::{Entry, Kind, LockedFile, LockedSsh, Plain, parse_identity_list};
use super::ssh;
use super::unlock::Prompter;
use crate::limits::MAX_IDENTITY_SOURCE_BYTES;
use crate::sops::keys::identity::sha256;
use crate::sops::keys::sources::{IdentitySources, SourceReport, SourceStatus};

/// Reads a whole file into a zeroizing buffer, refusing files over [`MAX_IDENTITY_SOURCE_BYTES`].
fn read_secret_file(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let hint = file
        .metadata()
        .map(|m| m.len())
        .unwrap_or(0)
        .min(MAX_IDENTITY_SOURCE_BYTES);
    // Pre-size so the buffer is not reallocated (which would leave unzeroized copies).
    let mut buf = Zeroizing::new(Vec::with_capacity(usize::try_from(hint).unwrap_or(0) + 1));
    file.take(MAX_IDENTITY_SOURCE_BYTES + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_IDENTITY_SOURCE_BYTES {
        return Err(io::Error::other("file too long"));
    }
    Ok(buf)
}

/// Whether a source is an age file (binary or armored) rather than an identity list.
fn is_age_file(data: &[u8]) -> bool {
    data.starts_with(b"age-encryption") || data.starts_with(b"-----BEGIN AGE")
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
    commands: Vec<KeyCommand>,
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

    /// A key command: reported as run per recipient, run when a file needs it.
    fn command(&mut self, var: &'static str, cmd: Option<&Zeroizing<String>>, output: Output) {
        match cmd {
            Some(cmd) => {
                let source = self.report(var, SourceStatus::PerRecipient);
                let terminal = self.terminal;
                self.commands
                    .push(KeyCommand::new(var, cmd.clone(), output, source, terminal));
            }
            None => {
                self.report(var, SourceStatus::NotSet);
            }
        }
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
                    recipient: ssh::ssh_recipient(age::ssh::Identity::Encrypted(key.clone())),
                    key,
                    tag: ssh::openssh_public_key_tag(text),
                    unlocked: OnceLock::new(),
                };
                self.add(name, vec![Kind::LockedSsh(locked)], SourceStatus::Locked);
            }
            Ok(age::ssh::Identity::Unsupported(unsupported)) => {
                let why = ssh::unsupported_reason(unsupported);
                self.report(name, SourceStatus::Failed(malformed(&why)));
            }
            Ok(id @ age::ssh::Identity::Unencrypted(_)) => {
                // The clone holds the private key briefly; `age` wipes it on drop.
                let recipient = ssh::ssh_recipient(id.clone());
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
        let (kinds, status) = identity_list(name, data, self.terminal);
        self.add(name, kinds, status);
    }
}

/// The identities of an identity list, or of a passphrase-encrypted age file holding one (kept
/// locked; refused when no `terminal` can ask for the passphrase), with the source's status.
pub(super) fn identity_list(name: &str, data: &[u8], terminal: bool) -> (Vec<Kind>, SourceStatus) {
    let failed = |why: String| (Vec::new(), SourceStatus::Failed(why));
    if !is_age_file(data) {
        return match parse_identity_list(name, data) {
            Ok(ids) => {
                let n = ids.len();
                (
                    ids.into_iter().map(Kind::Plain).collect(),
                    SourceStatus::Loaded(n),
                )
            }
            Err(e) => failed(e),
        };
    }
    // Check the header now, so a corrupt file is reported even if never unlocked.
    match Decryptor::new(ArmoredReader::new(data)) {
        Err(e) => failed(format!("failed to read '{name}': {e}")),
        Ok(d) if !d.is_scrypt() => failed(format!(
            "'{name}' is an age-encrypted file, but not encrypted with a passphrase"
        )),
        Ok(_) if !terminal => failed(no_terminal(name)),
        Ok(_) => {
            let locked = LockedFile {
                data: Zeroizing::new(data.to_vec()),
                unlocked: OnceLock::new(),
            };
            (vec![Kind::LockedFile(locked)], SourceStatus::Locked)
        }
    }
}

impl AgeKeys {
    /// Loads every age identity source once, in sops' order. Never fails: each source's
    /// outcome is recorded in its report.
    pub(in crate::sops::keys) fn load(sources: &IdentitySources) -> AgeKeys {
        let mut l = Loader {
            entries: Vec::new(),
            commands: Vec::new(),
            reports: Vec::new(),
            terminal: sources.terminal,
            home: sources.home.clone(),
        };

        // 1. SSH keys: the file and the command, and also the two default files if they exist.
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
        l.command(
            "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
            sources.ssh_private_key_cmd.as_ref(),
            Output::SshKey,
        );
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

        // 4. SOPS_AGE_KEY_CMD, run for each recipient tried.
        l.command(
            "SOPS_AGE_KEY_CMD",
            sources.age_key_cmd.as_ref(),
            Output::IdentityList,
        );

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
        AgeKeys {
            entries,
            commands: l.commands,
            reports: l.reports,
            prompter: if sources.terminal {
                Prompter::Terminal
            } else {
                Prompter::Disabled
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::sops::keys::testutil::{
        RECIPIENTS, empty_sources, have_tool, read_vector, run, scratch, status, vector,
    };

    #[test]
    fn nothing_set_reports_every_source() {
        let k = AgeKeys::load(&empty_sources());
        assert!(k.is_empty());
        let names: Vec<_> = k.reports().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
                "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
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
        let k = AgeKeys::load(&IdentitySources {
            age_key: Some(Zeroizing::new(crlf)),
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "SOPS_AGE_KEY"),
            &SourceStatus::Loaded(1)
        );

        // Leading spaces, or anything else, fail the whole source without quoting it.
        for bad in [format!(" {}", key.trim()), "hello world".to_owned()] {
            let k = AgeKeys::load(&IdentitySources {
                age_key: Some(Zeroizing::new(bad)),
                ..empty_sources()
            });
            assert_eq!(
                status(k.reports(), "SOPS_AGE_KEY"),
                &SourceStatus::Failed(
                    "failed to parse 'SOPS_AGE_KEY' age identities: unknown identity type".into()
                )
            );
            assert!(k.is_empty());
        }

        // A broken key names the source, not the key.
        let k = AgeKeys::load(&IdentitySources {
            age_key: Some(Zeroizing::new("AGE-SECRET-KEY-1QQQQ".into())),
            ..empty_sources()
        });
        match status(k.reports(), "SOPS_AGE_KEY") {
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
        let k = AgeKeys::load(&IdentitySources {
            age_key: Some(Zeroizing::new(String::new())),
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "SOPS_AGE_KEY"),
            &SourceStatus::Loaded(0)
        );
    }

    #[test]
    fn key_file_and_its_errors() {
        let k = AgeKeys::load(&IdentitySources {
            age_key_file: Some(vector("age-test-identity-2.txt")),
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "SOPS_AGE_KEY_FILE"),
            &SourceStatus::Loaded(1)
        );

        let dir = scratch();
        let missing = dir.path().join("secret-name-nobody-should-see.txt");
        let k = AgeKeys::load(&IdentitySources {
            age_key_file: Some(missing),
            ..empty_sources()
        });
        match status(k.reports(), "SOPS_AGE_KEY_FILE") {
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
            let k = AgeKeys::load(&sources);
            assert_eq!(
                status(k.reports(), name),
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

    /// What `SOPS_AGE_KEY_CMD` gives when a file encrypted to the first test recipient needs it
    /// (it is only reported as run per recipient until then).
    fn key_cmd_status(k: &AgeKeys) -> SourceStatus {
        assert_eq!(
            status(k.reports(), "SOPS_AGE_KEY_CMD"),
            &SourceStatus::PerRecipient
        );
        let run = k.commands[0].run_for(Some(RECIPIENTS[0]));
        run.get()
            .map(|run| run.status.clone())
            .unwrap_or(SourceStatus::NotSet)
    }

    #[test]
    fn key_cmd_is_split_and_run_without_a_shell() {
        let dir = scratch();
        let spaced = dir.path().join("dir with 'quotes' and spaces");
        std::fs::create_dir(&spaced).unwrap_or_else(|e| panic!("{e}"));
        let keys = spaced.join("keys.txt");
        std::fs::copy(vector("age-test-identity-3.txt"), &keys).unwrap_or_else(|e| panic!("{e}"));
        let quoted = format!("\"{}\"", keys.display().to_string().replace('"', "\\\""));
        let k = AgeKeys::load(&IdentitySources {
            age_key_cmd: Some(Zeroizing::new(format!("cat {quoted} # trailing comment"))),
            ..empty_sources()
        });
        assert_eq!(&key_cmd_status(&k), &SourceStatus::Loaded(1));

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
            let k = AgeKeys::load(&IdentitySources {
                age_key_cmd: Some(Zeroizing::new(cmd.into())),
                ..empty_sources()
            });
            assert_eq!(&key_cmd_status(&k), &SourceStatus::Failed(want.into()));
        }
        let k = AgeKeys::load(&IdentitySources {
            age_key_cmd: Some(Zeroizing::new("/nonexistent/secret-tool --token".into())),
            ..empty_sources()
        });
        match &key_cmd_status(&k) {
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
        let k = AgeKeys::load(&IdentitySources {
            xdg_config_home: Some(xdg),
            home: Some(home.clone()),
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "$XDG_CONFIG_HOME/sops/age/keys.txt"),
            &SourceStatus::Loaded(1)
        );
        assert_eq!(
            status(k.reports(), "$HOME/.ssh/id_ed25519"),
            &SourceStatus::NotFound
        );
        let k = AgeKeys::load(&IdentitySources {
            home: Some(home),
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "$HOME/.config/sops/age/keys.txt"),
            &SourceStatus::Loaded(1)
        );
        assert_eq!(k.len(), 1);
        // A relative XDG_CONFIG_HOME disables the default file, as in Go.
        let k = AgeKeys::load(&IdentitySources {
            xdg_config_home: Some("relative".into()),
            ..empty_sources()
        });
        assert!(matches!(
            status(k.reports(), "$XDG_CONFIG_HOME/sops/age/keys.txt"),
            SourceStatus::Failed(e) if e.contains("relative")
        ));
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
        let k = AgeKeys::load(&IdentitySources {
            home: Some(dir.path().to_path_buf()),
            ssh_private_key_file: Some(locked.clone()),
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "$HOME/.ssh/id_ed25519"),
            &SourceStatus::Loaded(1)
        );
        assert_eq!(
            status(k.reports(), "$HOME/.ssh/id_rsa"),
            &SourceStatus::Loaded(1)
        );
        match status(k.reports(), "SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            SourceStatus::Failed(e) => assert!(e.contains("no terminal is available"), "{e}"),
            other => panic!("{other:?}"),
        }
        // A file that is not a key.
        let k = AgeKeys::load(&IdentitySources {
            ssh_private_key_file: Some(vector("age-test-identity.txt")),
            ..empty_sources()
        });
        match status(k.reports(), "SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
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
}
