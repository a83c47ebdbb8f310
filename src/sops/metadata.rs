//! The `sops` metadata section: key groups, MAC, `lastmodified` and the encryption rule.

use crate::sops::gotime::Timestamp;

/// The decoded metadata of an encrypted file.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// The key groups. A file with any top-level key list has exactly one group.
    pub key_groups: Vec<KeyGroup>,
    /// How many groups must be recovered (`shamir_threshold`; 0 when absent).
    pub shamir_threshold: usize,
    /// `lastmodified`, parsed (it is the MAC's AAD once re-formatted).
    pub last_modified: Timestamp,
    /// The encrypted MAC (`ENC[…]`), or empty.
    pub mac: String,
    /// Which leaves are encrypted.
    pub rule: crate::sops::rules::Rule,
    /// Whether only encrypted values are covered by the MAC.
    pub mac_only_encrypted: bool,
    /// The sops version that wrote the file.
    pub version: String,
}

/// A group of master keys, any one of which recovers the group's data key (or Shamir share).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyGroup {
    /// The group's keys in sops' decryption order: age keys first, then the others in file order.
    pub keys: Vec<MasterKey>,
}

/// One master key of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKey {
    /// An age recipient with its armored, encrypted copy of the data key.
    Age {
        /// `age1…`, `ssh-ed25519 …`, `ssh-rsa …` or a plugin recipient.
        recipient: String,
        /// The armored age file holding the data key (or share).
        enc: String,
    },
    /// A key kind ksops cannot use (PGP, cloud KMS, Vault); listed so errors can name it.
    Unsupported {
        /// The metadata field it came from (`pgp`, `kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `hckms`).
        kind: &'static str,
        /// What sops prints for the key (fingerprint, ARN, resource id, URL).
        id: String,
    },
}
