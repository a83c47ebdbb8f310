//! The age identity types: ready ones (X25519, post-quantum, SSH, plugin) and passphrase-protected ones kept
//! locked until a file needs them, with what each says about itself: its public key, its place
//! in the try order, and the digest of its private key.

use std::sync::OnceLock;

use age::secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::pq::HybridIdentity;
use crate::sops::keys::identity::{PublicKey, sha256};

/// An identity that needs nothing more to be used.
pub(super) enum Plain {
    X25519(age::x25519::Identity),
    /// Post-quantum (`AGE-SECRET-KEY-PQ-1…`); boxed, its ML-KEM key is a few kilobytes.
    Hybrid(Box<HybridIdentity>),
    /// With the SHA-256 of its key file, which `age` offers no other way to get at, and its
    /// recipient.
    Ssh(age::ssh::Identity, Zeroizing<[u8; 32]>, Option<String>),
    /// Run through `age-plugin-<name>` from `$PATH` when used.
    Plugin(age::plugin::Identity),
}

impl Plain {
    /// The identity's public side.
    fn public_key(&self) -> PublicKey {
        match self {
            Plain::X25519(identity) => PublicKey::Recipient(identity.to_public().to_string()),
            Plain::Hybrid(identity) => PublicKey::Recipient(identity.recipient()),
            Plain::Ssh(_, _, recipient) => recipient
                .clone()
                .map_or(PublicKey::Unknown("an SSH key"), PublicKey::Recipient),
            Plain::Plugin(_) => PublicKey::Unknown(
                "a plugin identity (AGE-PLUGIN-…), whose recipient only its plugin knows",
            ),
        }
    }

    /// A digest of the identity's private key, for
    /// [`Keyring::derive_key`](crate::sops::keys::Keyring::derive_key). Plugin identities have
    /// none: their strings only name a key held elsewhere and are not secret.
    fn secret_digest(&self) -> Option<Zeroizing<[u8; 32]>> {
        match self {
            Plain::X25519(identity) => {
                Some(sha256(identity.to_string().expose_secret().as_bytes()))
            }
            Plain::Hybrid(identity) => Some(sha256(identity.to_secret_string().as_bytes())),
            Plain::Ssh(_, digest, _) => Some(digest.clone()),
            Plain::Plugin(_) => None,
        }
    }
}

/// A passphrase-protected OpenSSH key, decrypted on first use.
pub(super) struct LockedSsh {
    pub(super) key: age::ssh::EncryptedKey,
    /// The age stanza tag of the public key, to ask for a passphrase only for matching stanzas.
    pub(super) tag: Option<[u8; 4]>,
    /// The public key (stored in clear in the container), for reports.
    pub(super) recipient: Option<String>,
    pub(super) unlocked: OnceLock<Result<age::ssh::Identity, String>>,
}

/// A passphrase-encrypted (scrypt) age file holding an identity list, decrypted on first use.
pub(super) struct LockedFile {
    pub(super) data: Zeroizing<Vec<u8>>,
    pub(super) unlocked: OnceLock<Result<Vec<Plain>, String>>,
}

pub(super) enum Kind {
    Plain(Plain),
    LockedSsh(LockedSsh),
    LockedFile(LockedFile),
}

impl Kind {
    /// Try order: ready identities first, then plugins (which may want a touch), then locked
    /// ones (which ask for a passphrase). sops' order is random; this one avoids prompts.
    pub(super) fn rank(&self) -> u8 {
        match self {
            Kind::Plain(Plain::X25519(_) | Plain::Hybrid(_) | Plain::Ssh(..)) => 0,
            Kind::Plain(Plain::Plugin(_)) => 1,
            Kind::LockedSsh(_) | Kind::LockedFile(_) => 2,
        }
    }

    /// Gives the public key of each identity it holds: an unlocked identity file shows its
    /// identities', those still locked say what they are.
    pub(super) fn public_keys(&self, mut push: impl FnMut(PublicKey)) {
        match self {
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

    /// The digest of its private key when it is unprotected (see [`Plain::secret_digest`]).
    pub(super) fn secret_digest(&self) -> Option<Zeroizing<[u8; 32]>> {
        match self {
            Kind::Plain(plain) => plain.secret_digest(),
            Kind::LockedSsh(_) | Kind::LockedFile(_) => None,
        }
    }
}

/// One loaded identity.
pub(super) struct Entry {
    /// Index into the reports, for messages.
    pub(super) source: usize,
    pub(super) kind: Kind,
}

/// Parses an identity list exactly as sops does: one identity per line, empty lines and lines
/// starting with `#` skipped, a trailing `\r` ignored, anything else fails the whole list.
pub(super) fn parse_identity_list(name: &str, data: &[u8]) -> Result<Vec<Plain>, String> {
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
        } else if line.starts_with(b"AGE-SECRET-KEY-PQ-1") {
            let text = std::str::from_utf8(line).map_err(|_| fail("malformed secret key"))?;
            let id = HybridIdentity::parse(text)
                .map_err(|e| fail(&format!("malformed secret key: {e}")))?;
            out.push(Plain::Hybrid(Box::new(id)));
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::AgeKeys;
    use super::*;
    use crate::sops::keys::IdentitySources;
    use crate::sops::keys::testutil::{empty_sources, read_vector, vector};

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
        let k = AgeKeys::load(&IdentitySources {
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
        let k = AgeKeys::load(&IdentitySources {
            ssh_private_key_file: Some(ssh.join("id_ed25519")),
            ..empty_sources()
        });
        assert_eq!(
            k.tried_identities().first().map(|t| &t.public_key),
            Some(&recipient(&public("id_ed25519.pub")))
        );
    }
}
