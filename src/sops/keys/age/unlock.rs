//! Unlocking age identities when a file needs them: passphrases asked on `/dev/tty` for
//! protected SSH keys and identity files, and the terminal a plugin may talk to.
//!
//! Loading and decrypting never write to stdout or stderr; only the terminal is spoken to, one
//! prompt at a time even when files are decrypted in parallel.

use std::io::{self, Read};
use std::sync::{Mutex, PoisonError};

use age::armor::ArmoredReader;
use age::secrecy::SecretString;
use age::{DecryptError, Decryptor};
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use super::Attempt;
use super::identity::{LockedFile, LockedSsh, Plain, parse_identity_list};
use super::ssh;
use crate::limits::MAX_IDENTITY_SOURCE_BYTES;

/// How many times a wrong passphrase may be typed before a locked identity gives up.
const PASSPHRASE_TRIES: usize = 3;

/// How passphrases are obtained.
pub(super) enum Prompter {
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

impl Attempt<'_> {
    /// A plugin identity, run through `age-plugin-<name>`; its failures become notes.
    pub(super) fn plugin(
        &self,
        i: &age::plugin::Identity,
        stanzas: &[Stanza],
    ) -> Option<Result<FileKey, DecryptError>> {
        let callbacks = PluginUi {
            terminal: matches!(self.keys.prompter, Prompter::Terminal),
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

    /// A passphrase-protected SSH key, unlocked on first use by a stanza meant for it.
    pub(super) fn locked_ssh(
        &self,
        l: &LockedSsh,
        stanzas: &[Stanza],
    ) -> Option<Result<FileKey, DecryptError>> {
        if !ssh::stanzas_may_be_for(l.tag, stanzas) {
            return None;
        }
        let name = self.name();
        let unlocked = l.unlocked.get_or_init(|| {
            let prompt = format!("Enter passphrase for \"{name}\":");
            for _ in 0..PASSPHRASE_TRIES {
                let pass = self.keys.prompter.ask(&prompt)?;
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

    /// A passphrase-protected identity file, unlocked on first use; then its identities are
    /// tried in order.
    pub(super) fn locked_file(
        &self,
        l: &LockedFile,
        stanzas: &[Stanza],
    ) -> Option<Result<FileKey, DecryptError>> {
        let name = self.name();
        let unlocked = l.unlocked.get_or_init(|| {
            let prompt = format!("Enter passphrase for identity '{name}':");
            for _ in 0..PASSPHRASE_TRIES {
                let pass = self.keys.prompter.ask(&prompt)?;
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
        .take(MAX_IDENTITY_SOURCE_BYTES)
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

    use super::super::AgeKeys;
    use super::*;
    use crate::sops::keys::IdentitySources;
    use crate::sops::keys::PublicKey;
    use crate::sops::keys::SourceStatus;
    use crate::sops::keys::testutil::{
        RECIPIENTS, empty_sources, have_tool, read_vector, run, scratch, status,
    };

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
            let k = AgeKeys::load(&IdentitySources {
                age_key_file: Some(file.clone()),
                ..empty_sources()
            });
            match status(k.reports(), "SOPS_AGE_KEY_FILE") {
                SourceStatus::Failed(e) => assert!(
                    e.contains("passphrase-protected and no terminal is available"),
                    "{e}"
                ),
                other => panic!("{other:?}"),
            }
            // With a terminal it stays locked until used.
            let mut k = AgeKeys::load(&IdentitySources {
                age_key_file: Some(file.clone()),
                terminal: true,
                ..empty_sources()
            });
            assert_eq!(
                status(k.reports(), "SOPS_AGE_KEY_FILE"),
                &SourceStatus::Locked
            );
            let locked = PublicKey::Unknown("a passphrase-protected identity file, not unlocked");
            let publics = |k: &AgeKeys| -> Vec<PublicKey> {
                k.tried_identities()
                    .into_iter()
                    .map(|t| t.public_key)
                    .collect()
            };
            assert_eq!(publics(&k), [locked]);
            k.prompter = Prompter::Fixed("correct horse".into());
            let enc = crate::sops::keys::testutil::enc_blobs(&read_vector("tiny.yaml.sops"));
            let got = k.unwrap(RECIPIENTS[0], enc.first().map_or("", String::as_str));
            assert_eq!(got.map(|p| p.len()), Ok(32));
            // Once unlocked, its identities show their recipients.
            assert_eq!(
                publics(&k),
                [PublicKey::Recipient(
                    "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry".into()
                )]
            );

            let mut k = AgeKeys::load(&IdentitySources {
                age_key_file: Some(file.clone()),
                terminal: true,
                ..empty_sources()
            });
            k.prompter = Prompter::Fixed("wrong".into());
            let err = k.unwrap(RECIPIENTS[0], enc.first().map_or("", String::as_str));
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
        let mut k = AgeKeys::load(&IdentitySources {
            ssh_private_key_file: Some(key),
            terminal: true,
            ..empty_sources()
        });
        assert_eq!(
            status(k.reports(), "SOPS_AGE_SSH_PRIVATE_KEY_FILE"),
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
        match k.unwrap(RECIPIENTS[0], tiny.first().map_or("", String::as_str)) {
            Err(e) => assert!(!e.contains("While unlocking"), "{e}"),
            Ok(_) => panic!("decrypted with the wrong key"),
        }
        k.prompter = Prompter::Fixed("s3cret".into());
        let got = k.unwrap("ssh-ed25519", &enc).map(|p| p.to_vec());
        assert_eq!(got, Ok(payload.to_vec()));
    }
}
