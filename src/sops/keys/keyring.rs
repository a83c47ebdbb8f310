//! The keyring: the identities of every key type ksops decrypts with, loaded once per process,
//! and the one place that picks which of them unwraps a master key.
//!
//! sops reloads all identity sources for every key it tries; ksops loads them once (the key
//! commands once per recipient) and shares the result between files decrypted in parallel. Nothing here prints: statuses and errors are
//! recorded per source, under names such as `SOPS_AGE_KEY_FILE` or `$HOME/.ssh/id_ed25519`,
//! never with values or contents.

use std::fmt;

use zeroize::Zeroizing;

use super::age::AgeKeys;
use super::aws::KmsKeys;
use super::identity::{KeyFailure, PublicKey, TriedIdentity, sha256};
use super::order::DecryptionOrder;
use super::pgp::PgpKeys;
use super::report::normalized;
use super::sources::{IdentitySources, SourceReport};
use super::vault::{TransitKey, VaultKeys};
use crate::sops::metadata::{KeyGroup, MasterKey, Metadata};

/// Every identity found in the sources sops 3.11 reads, with a report per source.
///
/// Built once per process; `Send + Sync`, so files can be decrypted in parallel. Key material
/// lives in the `age` crate's types, which zeroize on drop, or in `Zeroizing` buffers.
pub struct Keyring {
    /// age identities: X25519 keys, SSH keys, plugin identities, passphrase-protected files.
    age: AgeKeys,
    /// PGP keys, through the `gpg` program.
    pgp: PgpKeys,
    /// AWS KMS keys, through the KMS API with the AWS credential chain.
    aws: KmsKeys,
    /// HashiCorp Vault / OpenBao transit keys, through the server's HTTP API.
    vault: VaultKeys,
    /// The order a group's keys are tried in, or why `SOPS_DECRYPTION_ORDER` is refused.
    order: Result<DecryptionOrder, String>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("identities", &self.len())
            .field("sources", &self.reports())
            .finish()
    }
}

impl Keyring {
    /// Loads every identity source once. Never fails: each source's outcome is recorded in
    /// [`Keyring::reports`], and errors surface when a data key cannot be recovered.
    pub fn load(sources: &IdentitySources) -> Keyring {
        Keyring {
            age: AgeKeys::load(sources),
            pgp: PgpKeys::load(sources),
            aws: KmsKeys::load(sources),
            vault: VaultKeys::load(sources.vault.clone()),
            order: DecryptionOrder::parse(sources.decryption_order.as_deref()),
        }
    }

    /// What each source gave, in the order sops reads them.
    pub fn reports(&self) -> &[SourceReport] {
        self.age.reports()
    }

    /// How many identities were loaded (locked ones count as one each).
    pub fn len(&self) -> usize {
        self.age.len()
    }

    /// Whether no identity at all was loaded.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
    }

    /// A 32-byte secret derived from every unprotected private key loaded (X25519 identities
    /// and unencrypted SSH keys, whatever their source and order), bound to `label`, or `None`
    /// when there is no such key. The same keys always give the same secret; without them it
    /// cannot be computed. Plugin identities and passphrase-protected sources take no part.
    pub fn derive_key(&self, label: &str) -> Option<Zeroizing<[u8; 32]>> {
        let mut digests: Vec<Zeroizing<[u8; 32]>> = self.age.secret_digests().collect();
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
        self.age.tried_identities()
    }

    /// [`Keyring::tried_identities`], with what stands for gpg's keys when the file has PGP
    /// keys and gpg is a key source, and for the AWS credentials when it has KMS keys and AWS
    /// is a key source.
    pub(super) fn tried_identities_for(&self, groups: &[KeyGroup]) -> Vec<TriedIdentity> {
        let keys = || groups.iter().flat_map(|group| &group.keys);
        let mut identities = self.tried_identities();
        if keys().any(|key| matches!(key, MasterKey::Pgp { .. })) {
            identities.extend(self.pgp.tried_identity());
        }
        if keys().any(|key| matches!(key, MasterKey::Kms(_))) && self.aws.is_source() {
            identities.push(TriedIdentity {
                public_key: PublicKey::Unknown("the AWS credentials' access to the KMS keys"),
                source: "AWS".to_owned(),
            });
        }
        identities
    }

    /// The sources named by a relative path that could not be opened (their report explains
    /// where the path was resolved).
    pub(super) fn relative_path_sources(&self) -> Vec<String> {
        self.reports()
            .iter()
            .filter(|report| report.is_relative_path())
            .map(|report| report.name.clone())
            .collect()
    }

    /// The order a group's keys are tried in, or why `SOPS_DECRYPTION_ORDER` is refused.
    pub(super) fn order(&self) -> Result<&DecryptionOrder, &str> {
        self.order.as_ref().map_err(String::as_str)
    }

    /// Gets, ahead of decryption, the data keys of these files that only a Vault transit key
    /// can give: one `batch_input` request per transit key for all of them, instead of one
    /// request per file. [`recover_data_key`](super::recover_data_key) then takes them from
    /// the keyring. Returns how many requests were made.
    ///
    /// Only keys that will surely be tried are fetched: in each group, a Vault key whose
    /// group tries it after keys that cannot work here (age recipients no loaded identity is,
    /// PGP keys without gpg, key types ksops does not use). Nothing is fetched for a group an
    /// age or PGP key may recover first. Failures are kept too, and reported when the key is
    /// tried.
    pub fn prefetch(&self, files: &[&Metadata]) -> usize {
        let keys = self.prefetch_keys(files);
        if keys.is_empty() {
            return 0;
        }
        self.vault.prefetch(&keys)
    }

    /// Whether [`Keyring::prefetch`] would fetch anything for this file: files it would not
    /// can be decrypted without waiting for the others.
    pub fn would_prefetch(&self, metadata: &Metadata) -> bool {
        !self.prefetch_keys(&[metadata]).is_empty()
    }

    /// The keys [`Keyring::prefetch`] fetches for `files`.
    fn prefetch_keys<'m>(&self, files: &[&'m Metadata]) -> Vec<TransitKey<'m>> {
        let mut keys = Vec::new();
        let Ok(order) = self.order() else { return keys };
        let groups = files.iter().flat_map(|metadata| &metadata.key_groups);
        let mut groups = groups.filter(|group| {
            group
                .keys
                .iter()
                .any(|key| matches!(key, MasterKey::Vault { .. }))
        });
        let Some(first) = groups.next() else {
            return keys;
        };
        let identities = self.tried_identities();
        let known_recipients: Option<Vec<String>> = identities
            .iter()
            .map(|identity| match &identity.public_key {
                PublicKey::Recipient(recipient) => Some(normalized(recipient)),
                PublicKey::Unknown(_) => None,
            })
            .collect();
        let cannot_work = |key: &MasterKey| match key {
            MasterKey::Age { recipient, .. } => known_recipients
                .as_ref()
                .is_some_and(|known| !known.contains(&normalized(recipient))),
            MasterKey::Pgp { .. } => self.pgp.tried_identity().is_none(),
            MasterKey::Unsupported { .. } => true,
            MasterKey::Vault { .. } | MasterKey::Kms(_) => false,
        };
        for group in std::iter::once(first).chain(groups) {
            let sorted = order.sorted(group);
            let first_usable = sorted.iter().position(|key| !cannot_work(key));
            if let Some(MasterKey::Vault {
                address,
                engine_path,
                key_name,
                enc,
            }) = first_usable.and_then(|i| sorted.get(i).copied())
            {
                keys.push(TransitKey {
                    address,
                    engine_path,
                    key_name,
                    enc,
                });
            }
        }
        keys
    }

    /// Decrypts one master key's copy of the data key (or Shamir share) with the identities of
    /// its type. The failure names the key as sops does and says why in sops' words.
    ///
    /// This match is where each key type plugs in: the variant carries what its type needs
    /// (an age stanza; a PGP fingerprint, a Vault path or a KMS ARN with their ciphertext).
    pub(super) fn unwrap(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyFailure> {
        let result = match key {
            MasterKey::Age { recipient, enc } => self.age.unwrap(recipient, enc),
            MasterKey::Pgp { enc, .. } => self.pgp.unwrap(enc),
            MasterKey::Vault {
                address,
                engine_path,
                key_name,
                enc,
            } => self.vault.unwrap(TransitKey {
                address,
                engine_path,
                key_name,
                enc,
            }),
            MasterKey::Kms(kms) => self.aws.unwrap(kms),
            MasterKey::Unsupported { kind, .. } => Err(format!(
                "ksops does not support {} keys; this key was not tried",
                kind_name(kind)
            )),
        };
        result.map_err(|reason| KeyFailure {
            name: key.name(),
            reason,
        })
    }
}

/// A readable name for a key kind ksops does not decrypt with.
fn kind_name(kind: &str) -> &str {
    match kind {
        "gcp_kms" => "GCP KMS",
        "azure_kv" => "Azure Key Vault",
        "hckms" => "HuaweiCloud KMS",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sops::keys::testutil::{empty_sources, read_vector};

    #[test]
    fn keyring_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Keyring>();
    }

    fn file_with(keys: Vec<MasterKey>) -> Metadata {
        Metadata {
            key_groups: vec![crate::sops::metadata::KeyGroup { keys }],
            shamir_threshold: 0,
            last_modified: crate::sops::Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
            mac: String::new(),
            rule: crate::sops::EncryptionRule::UnencryptedSuffix("_unencrypted".into()),
            mac_only_encrypted: false,
            version: "3.11.0".into(),
        }
    }

    #[test]
    fn only_vault_keys_that_will_surely_be_tried_are_prefetched() {
        let vault = MasterKey::Vault {
            address: "http://127.0.0.1:1".into(),
            engine_path: "transit".into(),
            key_name: "k1".into(),
            enc: "vault:v1:x".into(),
        };
        let age = |recipient: &str| MasterKey::Age {
            recipient: recipient.into(),
            enc: String::new(),
        };
        let kms = MasterKey::Unsupported {
            kind: "kms",
            id: "arn".into(),
        };
        let no_keys = Keyring::load(&empty_sources());
        let own = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(read_vector("age-test-identity.txt"))),
            ..empty_sources()
        });
        let ours = crate::sops::keys::testutil::RECIPIENTS[0];
        let theirs = crate::sops::keys::testutil::RECIPIENTS[1];
        // Only a Vault key, or after keys that cannot work here: fetched ahead.
        assert!(no_keys.would_prefetch(&file_with(vec![vault.clone()])));
        assert!(no_keys.would_prefetch(&file_with(vec![age(ours), kms.clone(), vault.clone()])));
        assert!(own.would_prefetch(&file_with(vec![age(theirs), vault.clone()])));
        // An age key this keyring holds comes first: Vault may never be asked.
        assert!(!own.would_prefetch(&file_with(vec![age(ours), vault.clone()])));
        // No Vault key at all.
        assert!(!no_keys.would_prefetch(&file_with(vec![age(theirs), kms])));
        // Without a Vault source, nothing is sent.
        let file = file_with(vec![vault]);
        assert_eq!(no_keys.prefetch(&[&file, &file]), 0);
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
