//! The key commands, `SOPS_AGE_KEY_CMD` (prints an identity list) and
//! `SOPS_AGE_SSH_PRIVATE_KEY_CMD` (prints an unencrypted OpenSSH private key).
//!
//! sops (3.12) runs them whenever it tries an age master key, with `SOPS_AGE_RECIPIENT` set to
//! that key's recipient, so one command can hand out a different key per recipient. ksops runs
//! each command the first time a recipient is tried and keeps what it gave for that recipient,
//! so many files encrypted to the same recipient run it once.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use zeroize::Zeroizing;

use super::identity::{Entry, Kind, Plain};
use super::load::identity_list;
use crate::sops::keys::identity::sha256;
use crate::sops::keys::shlex;
use crate::sops::keys::sources::SourceStatus;

/// The variable sops sets for key commands: the recipient being tried.
const RECIPIENT_VAR: &str = "SOPS_AGE_RECIPIENT";

/// What a key command prints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    /// An identity list (`SOPS_AGE_KEY_CMD`).
    IdentityList,
    /// An unencrypted OpenSSH private key (`SOPS_AGE_SSH_PRIVATE_KEY_CMD`).
    SshKey,
}

/// What one run gave: its identities and the status reported for the command's source.
pub(super) struct Run {
    pub(super) entries: Vec<Entry>,
    pub(super) status: SourceStatus,
}

/// One key command and its runs so far, by recipient (`None`: run without a recipient, for
/// [`Keyring::derive_key`](crate::sops::keys::Keyring::derive_key)).
pub(super) struct KeyCommand {
    /// The variable it came from, which names it in reports (never the command itself).
    pub(super) var: &'static str,
    command: Zeroizing<String>,
    output: Output,
    /// Its report's index.
    pub(super) source: usize,
    /// Whether a passphrase-protected identity file it prints may be unlocked on the terminal.
    terminal: bool,
    runs: Mutex<BTreeMap<Option<String>, Arc<OnceLock<Run>>>>,
}

impl KeyCommand {
    pub(super) fn new(
        var: &'static str,
        command: Zeroizing<String>,
        output: Output,
        source: usize,
        terminal: bool,
    ) -> KeyCommand {
        KeyCommand {
            var,
            command,
            output,
            source,
            terminal,
            runs: Mutex::new(BTreeMap::new()),
        }
    }

    /// What the command gives for `recipient`, running it the first time only. Concurrent
    /// callers for the same recipient wait for the one run.
    pub(super) fn run_for(&self, recipient: Option<&str>) -> Arc<OnceLock<Run>> {
        let slot = {
            let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(runs.entry(recipient.map(str::to_owned)).or_default())
        };
        slot.get_or_init(|| self.run(recipient));
        slot
    }

    /// Every run so far, in recipient order.
    pub(super) fn runs(&self) -> Vec<Arc<OnceLock<Run>>> {
        let runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.values().cloned().collect()
    }

    fn run(&self, recipient: Option<&str>) -> Run {
        let failed = |why: String| Run {
            entries: Vec::new(),
            status: SourceStatus::Failed(why),
        };
        let out = match execute(self.var, &self.command, recipient) {
            Ok(out) => out,
            Err(e) => return failed(e),
        };
        let (kinds, status) = match self.output {
            Output::IdentityList => identity_list(self.var, &out, self.terminal),
            Output::SshKey => match ssh_key(&out) {
                Ok(kind) => (vec![kind], SourceStatus::Loaded(1)),
                Err(e) => return failed(e),
            },
        };
        Run {
            entries: kinds
                .into_iter()
                .map(|kind| Entry {
                    source: self.source,
                    kind,
                })
                .collect(),
            status,
        }
    }
}

/// Runs a key command without a shell and returns its standard output. Errors name the
/// variable, never the command (it may hold a token).
fn execute(
    var: &str,
    command: &str,
    recipient: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let words = Zeroizing::new(
        shlex::split(command).map_err(|e| format!("failed to parse the command in {var}: {e}"))?,
    );
    let (program, args) = words
        .split_first()
        .ok_or_else(|| format!("{var} holds no command"))?;
    // Like Go's `Output()`: no stdin, stdout captured, stderr captured and not shown.
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    match recipient {
        Some(recipient) => cmd.env(RECIPIENT_VAR, recipient),
        None => cmd.env_remove(RECIPIENT_VAR),
    };
    let out = cmd
        .output()
        .map_err(|e| format!("failed to execute the command from {var}: {e}"))?;
    let stdout = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return Err(format!(
            "failed to execute the command from {var}: {}",
            out.status
        ));
    }
    Ok(stdout)
}

/// Parses the output of `SOPS_AGE_SSH_PRIVATE_KEY_CMD` in sops' words: an unencrypted OpenSSH
/// key, nothing else.
fn ssh_key(out: &[u8]) -> Result<Kind, String> {
    let malformed = |why: &str| {
        format!("malformed SSH identity returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD: {why:?}")
    };
    match age::ssh::Identity::from_buffer(out, None) {
        Err(e) => Err(malformed(&e.to_string())),
        Ok(age::ssh::Identity::Encrypted(_)) => Err(
            "the SSH key returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD is password protected, \
             which is unsupported."
                .to_owned(),
        ),
        Ok(age::ssh::Identity::Unsupported(unsupported)) => {
            Err(malformed(&super::ssh::unsupported_reason(unsupported)))
        }
        Ok(id @ age::ssh::Identity::Unencrypted(_)) => {
            let recipient = super::ssh::ssh_recipient(id.clone());
            Ok(Kind::Plain(Plain::Ssh(id, sha256(out), recipient)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::super::AgeKeys;
    use super::*;
    use crate::sops::keys::IdentitySources;
    use crate::sops::keys::testutil::{
        RECIPIENTS, age_encrypt_to, empty_sources, enc_blobs, have_tool, read_vector, run, scratch,
        status, vector,
    };

    /// A shell script that appends `$SOPS_AGE_RECIPIENT` (or `unset`) to `log`, then prints
    /// `key`.
    fn logging_command(dir: &Path, key: &Path, log: &Path) -> Zeroizing<String> {
        let script = dir.join("key-cmd.sh");
        std::fs::write(
            &script,
            format!(
                "echo \"${{SOPS_AGE_RECIPIENT-unset}}\" >>'{}'\ncat '{}'\n",
                log.display(),
                key.display()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Zeroizing::new(format!("sh '{}'", script.display()))
    }

    fn log_lines(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn key_cmd_runs_once_per_recipient_with_that_recipient() {
        let dir = scratch();
        let log = dir.path().join("log");
        let k = AgeKeys::load(&IdentitySources {
            age_key_cmd: Some(logging_command(
                dir.path(),
                &vector("age-test-identity.txt"),
                &log,
            )),
            ..empty_sources()
        });
        // Loading runs nothing.
        assert_eq!(log_lines(&log), Vec::<String>::new());
        let enc = enc_blobs(&read_vector("tiny.yaml.sops"));
        let enc = enc.first().map_or("", String::as_str);
        for _ in 0..3 {
            assert_eq!(k.unwrap(RECIPIENTS[0], enc).map(|p| p.len()), Ok(32));
        }
        // Another recipient: a run of its own.
        assert_eq!(k.unwrap(RECIPIENTS[1], enc).map(|p| p.len()), Ok(32));
        assert_eq!(log_lines(&log), [RECIPIENTS[0], RECIPIENTS[1]]);
        // The key for the redaction marker: one run without a recipient.
        assert_eq!(k.secret_digests().count(), 1);
        assert_eq!(k.secret_digests().count(), 1);
        assert_eq!(log_lines(&log), [RECIPIENTS[0], RECIPIENTS[1], "unset"]);
        assert_eq!(
            status(k.reports(), "SOPS_AGE_KEY_CMD"),
            &SourceStatus::PerRecipient
        );
    }

    #[test]
    fn a_failing_key_cmd_is_reported_for_the_key_tried() {
        let k = AgeKeys::load(&IdentitySources {
            age_key_cmd: Some(Zeroizing::new("false --secret-token".into())),
            ..empty_sources()
        });
        let enc = enc_blobs(&read_vector("tiny.yaml.sops"));
        let err = k
            .unwrap(RECIPIENTS[0], enc.first().map_or("", String::as_str))
            .err()
            .unwrap_or_default();
        assert!(
            err.starts_with(
                "failed to load age identities. Errors while loading age identities: failed to \
                 execute the command from SOPS_AGE_KEY_CMD: exit status: 1."
            ),
            "{err}"
        );
        assert!(!err.contains("secret-token"), "{err}");
    }

    #[test]
    fn ssh_key_cmd_gives_an_unencrypted_openssh_key() {
        if !have_tool("ssh-keygen") || !have_tool("age") {
            return;
        }
        let dir = scratch();
        let key = dir.path().join("id_ed25519");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "TEST ONLY", "-f"])
            .arg(&key));
        let payload = [0x42u8; 32];
        let enc = age_encrypt_to(&dir.path().join("id_ed25519.pub"), &payload, dir.path());
        let public = std::fs::read_to_string(dir.path().join("id_ed25519.pub"))
            .unwrap_or_else(|e| panic!("{e}"));
        let public = public.trim_end().trim_end_matches(" TEST ONLY");
        let log = dir.path().join("log");
        let k = AgeKeys::load(&IdentitySources {
            ssh_private_key_cmd: Some(logging_command(dir.path(), &key, &log)),
            ..empty_sources()
        });
        let got = k.unwrap(public, &enc).map(|p| p.to_vec());
        assert_eq!(got, Ok(payload.to_vec()));
        assert_eq!(log_lines(&log), [public]);
        let tried: Vec<_> = k.tried_identities().into_iter().map(|t| t.source).collect();
        assert_eq!(tried, ["SOPS_AGE_SSH_PRIVATE_KEY_CMD"]);

        // A passphrase-protected key, something else, a failing command: sops' words.
        let locked = dir.path().join("id_locked");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "s3cret", "-f"])
            .arg(&locked));
        let cat = |path: &Path| Zeroizing::new(format!("cat '{}'", path.display()));
        for (command, want) in [
            (
                cat(&locked),
                "the SSH key returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD is password \
                 protected, which is unsupported.",
            ),
            (
                cat(&vector("age-test-identity.txt")),
                "malformed SSH identity returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD: ",
            ),
            (
                Zeroizing::new("false".to_owned()),
                "failed to execute the command from SOPS_AGE_SSH_PRIVATE_KEY_CMD: exit status: 1",
            ),
        ] {
            let k = AgeKeys::load(&IdentitySources {
                ssh_private_key_cmd: Some(command),
                ..empty_sources()
            });
            let err = k.unwrap(public, &enc).err().unwrap_or_default();
            assert!(
                err.contains(&format!("Errors while loading age identities: {want}")),
                "{err}"
            );
            assert!(!err.contains("AGE-SECRET-KEY"), "{err}");
        }
    }
}
