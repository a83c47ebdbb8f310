//! The PGP key type: unwrapping a PGP master key's copy of the data key with the `gpg` program,
//! as sops' `pgp.MasterKey.Decrypt` does when its in-process reader finds no key.
//!
//! sops first reads the legacy keyring `$GNUPGHOME/secring.gpg` itself; ksops does not, because
//! GnuPG 2.1 and later move that keyring into their own store on first use, where `gpg` finds
//! it. Everything else is sops' GnuPG path: `SOPS_GPG_EXEC` (else `gpg`) run with the single
//! argument `-d`, never through a shell, the armored message on standard input and the data key
//! on standard output. `GNUPGHOME` reaches `gpg` through the environment. Unlike sops, a `gpg`
//! that does not answer is stopped after a bounded time, and its output is bounded in size.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::identity::{PublicKey, TriedIdentity};
use super::sources::IdentitySources;
use crate::limits::{GPG_TIMEOUT, MAX_GPG_STDERR_BYTES};

/// The most a PGP `enc` message may decrypt to: a data key is 32 bytes, a Shamir share 33.
const PAYLOAD_LIMIT: u64 = 1024;

/// How often a running `gpg` is checked for having exited.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How `gpg` is run for PGP master keys, when it is a key source at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpgSource {
    /// The program: `SOPS_GPG_EXEC` when set and not empty (a path or a name looked up in
    /// `PATH`, never split into words, as sops does), else `gpg`.
    pub program: OsString,
    /// The GnuPG home to set as `GNUPGHOME`; `None` leaves the environment's (or gpg's default,
    /// `~/.gnupg`).
    pub home: Option<PathBuf>,
    /// How long `gpg` may take for one key before it is stopped ([`GPG_TIMEOUT`] unless the
    /// caller's settings say otherwise), or why the caller's setting was refused (reported
    /// when a PGP key is tried).
    pub timeout: Result<Duration, String>,
}

impl GpgSource {
    /// The program from `SOPS_GPG_EXEC` (else `gpg`), the environment's home, and
    /// [`GPG_TIMEOUT`].
    pub fn from_env() -> GpgSource {
        GpgSource {
            program: std::env::var_os("SOPS_GPG_EXEC")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "gpg".into()),
            home: None,
            timeout: Ok(GPG_TIMEOUT),
        }
    }
}

/// The PGP key source of a keyring.
pub(super) struct PgpKeys {
    gpg: Option<GpgSource>,
}

impl PgpKeys {
    /// Takes the `gpg` settings; nothing is run until a PGP key is tried.
    pub(super) fn load(sources: &IdentitySources) -> PgpKeys {
        PgpKeys {
            gpg: sources.gpg.clone(),
        }
    }

    /// What stands for gpg's keys among the identities tried, when gpg is a key source: only
    /// gpg knows them, so they leave open whether any is a recipient.
    pub(super) fn tried_identity(&self) -> Option<TriedIdentity> {
        self.gpg.as_ref().map(|_| TriedIdentity {
            public_key: PublicKey::Unknown("the secret keys gpg holds"),
            source: "gpg".to_owned(),
        })
    }

    /// Decrypts one armored `enc` message with `gpg -d`.
    ///
    /// On failure, returns the reason in sops' words, with `gpg`'s own diagnostics.
    pub(super) fn unwrap(&self, enc: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        let why = match &self.gpg {
            None => "GnuPG is not a key source here (with KSOPS_PROJECT_KEYS_DIR, only \
                     <dir>/<project>/gnupg is, when it exists)"
                .to_owned(),
            Some(gpg) => match decrypt(gpg, enc.as_bytes()) {
                Ok(key) => return Ok(key),
                Err(e) => e,
            },
        };
        Err(format!(
            "could not decrypt data key with PGP key: GnuPG binary error: failed to decrypt sops \
             data key with pgp: {why}"
        ))
    }
}

/// What one reader thread collected: the bytes, and whether there were more than it kept.
type Collected = std::io::Result<(Zeroizing<Vec<u8>>, bool)>;

/// Reads at most `limit` bytes, then drains the rest so the writer never blocks.
fn collect(mut from: impl Read, limit: u64) -> Collected {
    let mut kept = Zeroizing::new(Vec::with_capacity(64));
    (&mut from).take(limit).read_to_end(&mut kept)?;
    let more = std::io::copy(&mut from, &mut std::io::sink())? > 0;
    Ok((kept, more))
}

fn spawn_collector(from: impl Read + Send + 'static, limit: u64) -> mpsc::Receiver<Collected> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(collect(from, limit));
    });
    rx
}

/// Runs `gpg -d` on `message` within the time limit.
fn decrypt(gpg: &GpgSource, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let timeout = gpg.timeout.clone()?;
    let mut command = Command::new(&gpg.program);
    command
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(home) = &gpg.home {
        command.env("GNUPGHOME", home);
    }
    let mut child = command.spawn().map_err(|e| {
        format!(
            "could not run {}: {e}",
            std::path::Path::new(&gpg.program).display()
        )
    })?;
    let deadline = Instant::now() + timeout;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        stop(&mut child);
        return Err("could not connect to gpg's standard streams".to_owned());
    };
    let message = message.to_vec();
    // gpg may not read all of its input before failing; a broken pipe then is not the error.
    thread::spawn(move || {
        let _ = stdin.write_all(&message);
    });
    let stdout = spawn_collector(stdout, PAYLOAD_LIMIT);
    let stderr = spawn_collector(stderr, MAX_GPG_STDERR_BYTES);

    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                return Err(format!(
                    "gpg did not finish within {} seconds and was stopped",
                    timeout.as_secs()
                ));
            }
            Ok(None) => thread::sleep(POLL_INTERVAL),
            Err(e) => {
                stop(&mut child);
                return Err(format!("could not wait for gpg: {e}"));
            }
        }
    };
    // A process gpg started may still hold the streams open: wait no longer than the deadline.
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let diagnostics = match stderr.recv_timeout(remaining()) {
        Ok(Ok((text, _))) => diagnostics(&text),
        _ => String::new(),
    };
    if !status.success() {
        return Err(if diagnostics.is_empty() {
            format!("gpg failed ({status})")
        } else {
            diagnostics
        });
    }
    match stdout.recv_timeout(remaining()) {
        Ok(Ok((_, true))) => Err(format!(
            "gpg printed more than the {PAYLOAD_LIMIT} bytes a data key can be"
        )),
        Ok(Ok((key, false))) if key.is_empty() => {
            Err(format!("gpg printed no data key. {diagnostics}")
                .trim_end()
                .to_owned())
        }
        Ok(Ok((key, false))) => Ok(key),
        Ok(Err(e)) => Err(format!("could not read gpg's output: {e}")),
        Err(_) => Err("gpg's output did not end in time".to_owned()),
    }
}

/// Kills a `gpg` that is still running and reaps it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// gpg's standard error on one line, as sops shows it (trimmed), without control characters.
///
/// gpg names the key ids and user ids the message was encrypted for, as sops shows them; it
/// never prints key material or the decrypted data there.
fn diagnostics(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_are_one_trimmed_line_without_control_characters() {
        assert_eq!(
            diagnostics(b"gpg: encrypted with key ID 1\n      \"a <b>\"\r\n\x1b[31mgpg: failed\n"),
            "gpg: encrypted with key ID 1 \"a <b>\" [31mgpg: failed"
        );
    }

    #[test]
    fn without_gpg_pgp_keys_are_not_tried() {
        let keys = PgpKeys::load(&IdentitySources::default());
        let err = keys.unwrap("x").unwrap_err();
        assert!(
            err.starts_with("could not decrypt data key with PGP key: "),
            "{err}"
        );
        assert!(err.contains("GnuPG is not a key source here"), "{err}");
    }

    #[test]
    fn a_missing_program_is_named() {
        let keys = PgpKeys {
            gpg: Some(GpgSource {
                program: "/nonexistent/ksops-test-gpg".into(),
                home: None,
                timeout: Ok(GPG_TIMEOUT),
            }),
        };
        let err = keys.unwrap("x").unwrap_err();
        assert!(
            err.contains("could not run /nonexistent/ksops-test-gpg"),
            "{err}"
        );
    }
}
