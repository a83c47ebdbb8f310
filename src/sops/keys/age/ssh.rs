//! The parts of the OpenSSH key format age keys need beyond what the `age` crate offers: what
//! a private key file says in clear (so a passphrase-protected key can be reported, and only
//! asked for when a stanza is meant for it), and why a key cannot be used.

use age_core::format::Stanza;
use base64::Engine;
use base64::prelude::{BASE64_STANDARD, BASE64_STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

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
pub(super) fn openssh_public_key_tag(text: &str) -> Option<[u8; 4]> {
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
pub(super) fn ssh_recipient(identity: age::ssh::Identity) -> Option<String> {
    age::ssh::Recipient::try_from(identity)
        .ok()
        .map(|recipient| recipient.to_string())
}

/// Why a key the `age` crate recognises cannot be used, and how to fix it when there is a way.
pub(super) fn unsupported_reason(unsupported: age::ssh::UnsupportedKey) -> String {
    match unsupported {
        age::ssh::UnsupportedKey::EncryptedPem => {
            "passphrase-protected PEM keys are not supported (convert with \
             `ssh-keygen -p -o`)"
                .to_owned()
        }
        age::ssh::UnsupportedKey::EncryptedSsh(cipher) => {
            format!("keys encrypted with {cipher} are not supported")
        }
        age::ssh::UnsupportedKey::Hardware(kind) | age::ssh::UnsupportedKey::Type(kind) => {
            format!("unsupported SSH identity type: {kind}")
        }
    }
}

/// Whether some stanza may be for the key whose public key has `tag` (any SSH stanza when the
/// tag is unknown): a passphrase is only asked for then, as agessh does.
pub(super) fn stanzas_may_be_for(tag: Option<[u8; 4]>, stanzas: &[Stanza]) -> bool {
    stanzas.iter().any(|s| {
        (s.tag == "ssh-ed25519" || s.tag == "ssh-rsa")
            && match (tag, s.args.first()) {
                (Some(tag), Some(arg)) => BASE64_STANDARD_NO_PAD
                    .decode(arg)
                    .is_ok_and(|got| got == tag),
                (None, _) => true,
                (Some(_), None) => false,
            }
    })
}
