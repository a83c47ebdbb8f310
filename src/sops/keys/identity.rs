//! What every key type shares with the reports: the public side of an identity that was tried,
//! and why one master key could not be used. Nothing here holds private material.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

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

/// One key that could not be used, with why (no key material in either).
#[derive(Clone, Debug)]
pub(crate) struct KeyFailure {
    /// The key as sops names it: an age recipient, a PGP fingerprint, a KMS ARN.
    pub(super) name: String,
    /// Why it failed, in sops' words.
    pub(super) reason: String,
}

/// SHA-256 into a zeroizing buffer: how private keys are digested for [`Keyring::derive_key`].
pub(crate) fn sha256(data: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Sha256::new().chain_update(data).finalize_into(
        sha2::digest::generic_array::GenericArray::from_mut_slice(out.as_mut_slice()),
    );
    out
}
