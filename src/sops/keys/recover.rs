//! Recovering a file's data key from its key groups: each group's keys are tried in order,
//! and with several groups their Shamir shares are combined.

use thiserror::Error;
use zeroize::Zeroizing;

use super::identity::KeyFailure;
use super::keyring::Keyring;
use super::order::DecryptionOrder;
use super::report::{DataKeyFailure, GroupResult};
use super::shamir::{self, ShamirError};
use crate::sops::cipher::DataKey;
use crate::sops::metadata::KeyGroup;

/// Why the data key could not be recovered.
#[derive(Debug, Error)]
pub enum DataKeyError {
    /// The metadata has no key group at all.
    #[error("No keys found in file")]
    NoKeys,
    /// Not enough groups could be decrypted; displays sops' multi-line report (boxed: errors
    /// travel in `Result`s, and the report is large).
    #[error("{0}")]
    Failed(Box<DataKeyFailure>),
    /// Enough groups were decrypted, but their shares do not combine.
    #[error("could not get data key from shamir parts: {0}")]
    Shamir(ShamirError),
    /// `SOPS_DECRYPTION_ORDER` names a key type twice (sops refuses it too).
    #[error("{0} (in SOPS_DECRYPTION_ORDER)")]
    Order(String),
    /// What was recovered is not a 32-byte AES-256 key.
    #[error("the recovered data key is {0} bytes long; a SOPS data key is 32 bytes")]
    BadLength(usize),
}

impl From<ShamirError> for DataKeyError {
    fn from(error: ShamirError) -> Self {
        DataKeyError::Shamir(error)
    }
}

/// Tries a group's keys in the decryption order and returns the first recovered payload.
fn decrypt_group(
    group: &KeyGroup,
    order: &DecryptionOrder,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, Vec<KeyFailure>> {
    let mut failures = Vec::new();
    for key in order.sorted(group) {
        match keyring.unwrap(key) {
            Ok(payload) => return Ok(payload),
            Err(failure) => failures.push(failure),
        }
    }
    Err(failures)
}

/// Converts recovered bytes into the data key, which must be exactly 32 bytes.
fn to_data_key(bytes: &[u8]) -> Result<DataKey, DataKeyError> {
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(DataKeyError::BadLength(bytes.len()));
    }
    key.copy_from_slice(bytes);
    Ok(DataKey::new(*key))
}

/// Recovers the data key of a file from its key groups with the identities in `keyring`.
///
/// Each group's keys are tried in the decryption order until one works. With one group, it must succeed and
/// give the 32-byte key. With several, each gives a Shamir share; at least
/// `shamir_threshold` groups must succeed, and the shares are combined. Groups past the
/// threshold are not tried (they would only add shares giving the same key, and possibly
/// passphrase prompts).
pub fn recover_data_key(
    groups: &[KeyGroup],
    shamir_threshold: usize,
    keyring: &Keyring,
) -> Result<DataKey, DataKeyError> {
    if groups.is_empty() {
        return Err(DataKeyError::NoKeys);
    }
    let order = keyring
        .order()
        .map_err(|e| DataKeyError::Order(e.to_owned()))?;
    let mut parts = Vec::new();
    let mut results = Vec::new();
    for group in groups {
        if groups.len() > 1 && shamir_threshold >= 2 && parts.len() >= shamir_threshold {
            break;
        }
        match decrypt_group(group, order, keyring) {
            Ok(part) => {
                parts.push(part);
                results.push(GroupResult {
                    success: true,
                    failures: Vec::new(),
                });
            }
            Err(failures) => results.push(GroupResult {
                success: false,
                failures,
            }),
        }
    }
    let failed = || {
        DataKeyError::Failed(Box::new(DataKeyFailure::new(
            groups,
            shamir_threshold,
            results.clone(),
            keyring.tried_identities_for(groups),
            keyring.relative_path_sources(),
        )))
    };
    if groups.len() == 1 {
        return match parts.first() {
            Some(part) if parts.len() == 1 => to_data_key(part),
            _ => Err(failed()),
        };
    }
    if parts.len() < shamir_threshold {
        return Err(failed());
    }
    let secret = shamir::combine(&parts)?;
    to_data_key(&secret)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::sops::keys::IdentitySources;
    use crate::sops::keys::testutil::{
        IDENTITIES, RECIPIENTS, age_encrypt_to, empty_sources, enc_blobs, have_tool, read_vector,
        run, vector,
    };
    use crate::sops::metadata::MasterKey;

    const TINY_KEY: &str = "e95fa126f7426eae76ef9cf5211860926474361f603cfcaa0f624473edf4e779";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn age_group(recipient: &str, enc: &str) -> KeyGroup {
        KeyGroup {
            keys: vec![MasterKey::Age {
                recipient: recipient.into(),
                enc: enc.into(),
            }],
        }
    }

    /// A keyring holding the given test identities, through `SOPS_AGE_KEY`.
    fn keyring_with(identities: &[&str]) -> Keyring {
        let list: String = identities.iter().map(|name| read_vector(name)).collect();
        Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(list)),
            ..empty_sources()
        })
    }

    fn tiny_groups() -> Vec<KeyGroup> {
        let blobs = enc_blobs(&read_vector("tiny.yaml.sops"));
        assert_eq!(blobs.len(), 1);
        blobs.iter().map(|b| age_group(RECIPIENTS[0], b)).collect()
    }

    fn shamir_groups() -> Vec<KeyGroup> {
        let blobs = enc_blobs(&read_vector("shamir3of2.yaml.sops"));
        assert_eq!(blobs.len(), 3);
        blobs
            .iter()
            .zip(RECIPIENTS)
            .map(|(b, r)| age_group(r, b))
            .collect()
    }

    fn expect_failure(r: Result<DataKey, DataKeyError>) -> String {
        match r {
            Ok(_) => panic!("expected a failure"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn tiny_vector_with_a_key_file() {
        let keyring = Keyring::load(&IdentitySources {
            age_key_file: Some(vector("age-test-identity.txt")),
            ..empty_sources()
        });
        let key = recover_data_key(&tiny_groups(), 0, &keyring);
        assert_eq!(
            key.map(|k| hex(k.as_bytes())).ok().as_deref(),
            Some(TINY_KEY)
        );
    }

    #[test]
    fn shamir_any_two_of_three() {
        let groups = shamir_groups();
        let mut keys = Vec::new();
        for ids in [
            vec![IDENTITIES[0], IDENTITIES[1]],
            vec![IDENTITIES[0], IDENTITIES[2]],
            vec![IDENTITIES[1], IDENTITIES[2]],
            IDENTITIES.to_vec(),
        ] {
            let key = recover_data_key(&groups, 2, &keyring_with(&ids));
            match key {
                Ok(k) => keys.push(hex(k.as_bytes())),
                Err(e) => panic!("{ids:?}: {e}"),
            }
        }
        assert!(keys.windows(2).all(|w| w.first() == w.last()), "{keys:?}");
        // Threshold 0 (missing) combines whatever decrypted, as sops does.
        let all = recover_data_key(&groups, 0, &keyring_with(&IDENTITIES));
        assert_eq!(all.map(|k| hex(k.as_bytes())).ok(), keys.first().cloned());
    }

    #[test]
    fn shamir_one_of_three_fails_with_the_threshold_message() {
        let text = expect_failure(recover_data_key(
            &shamir_groups(),
            2,
            &keyring_with(&[IDENTITIES[1]]),
        ));
        assert!(
            text.starts_with(
                "Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n\nGroup 1: SUCCESS\n\nGroup 2: FAILED\n"),
            "{text}"
        );
        // sops' report, then the recipients beside the identity: it is one of them, so there
        // is no conclusion that none is.
        let [r0, r1, r2] = RECIPIENTS;
        assert!(
            text.ends_with(&format!(
                "Recovery failed because the file was encrypted with a Shamir threshold of\n\
                 2, but only 1 part(s) were successfully recovered, one for each successful\n\
                 key group. In order for SOPS to recover the file, at least 2 groups have to\n\
                 be successful. In order for a group to be successful, decryption has to\n\
                 succeed with any of the keys in that key group.\n\
                 \n\
                 Recipients of the file:\n  {r0}\n  {r1}\n  {r2}\n\
                 Identities tried:\n  {r1} (from SOPS_AGE_KEY)"
            )),
            "{text}"
        );
    }

    #[test]
    fn no_identities_anywhere_reads_like_sops() {
        let dir = crate::testing::scratch_dir("unit");
        let keyring = Keyring::load(&IdentitySources {
            home: Some(dir.path().to_path_buf()),
            ..empty_sources()
        });
        let text = expect_failure(recover_data_key(&tiny_groups(), 0, &keyring));
        if cfg!(target_os = "macos") {
            return;
        }
        assert_eq!(
            text,
            "Failed to get the data key required to decrypt the SOPS file.\n\
             \n\
             Group 0: FAILED\n  \
             age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry: FAILED\n    \
             - | failed to load age identities. Did not find keys in\n      \
             | locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE',\n      \
             | 'SOPS_AGE_SSH_PRIVATE_KEY_CMD', '$HOME/.ssh/id_ed25519',\n      \
             | '$HOME/.ssh/id_rsa', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE',\n      \
             | 'SOPS_AGE_KEY_CMD', and '$HOME/.config/sops/age/keys.txt'.\n\
             \n\
             Recovery failed because no master key was able to decrypt the file. In\n\
             order for SOPS to recover the file, at least one key has to be successful,\n\
             but none were."
        );
    }

    #[test]
    fn wrong_key_lists_sources_and_no_key_material() {
        let secret = read_vector("age-test-identity-2.txt");
        let keyring = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(secret.clone())),
            age_key_cmd: Some(Zeroizing::new("false --token-value".into())),
            ..empty_sources()
        });
        let mut groups = tiny_groups();
        // Two keys in the group: sops separates their blocks with a prefixed blank line.
        if let Some(g) = groups.first_mut() {
            g.keys.push(MasterKey::Unsupported {
                kind: "gcp_kms",
                id: "projects/test-only/locations/global/keyRings/r/cryptoKeys/k".into(),
            });
        }
        let text = expect_failure(recover_data_key(&groups, 0, &keyring));
        assert!(
            text.contains("no identity matched any of the recipients"),
            "{text}"
        );
        assert!(text.contains("SOPS_AGE_KEY_CMD: exit"), "{text}");
        // After sops' report: the recipient beside the identity's public key, and the fix.
        assert!(
            text.ends_with(&format!(
                "but none were.\n\
                 \n\
                 Recipients of the file:\n  {}\n\
                 Identities tried:\n  {} (from SOPS_AGE_KEY)\n\
                 None of the identities tried is a recipient of the file: decrypt with the\n\
                 key of one of its recipients, or have the file re-encrypted for yours (add\n\
                 your recipient to .sops.yaml, then run `sops updatekeys` on the file).",
                RECIPIENTS[0], RECIPIENTS[1]
            )),
            "{text}"
        );
        let summary = match recover_data_key(&groups, 0, &keyring) {
            Err(DataKeyError::Failed(report)) => report.summary(),
            other => panic!("{other:?}"),
        };
        assert!(
            summary.ends_with(&format!(
                "but none were. Recipients of the file: {}. Identities tried: {} (from \
                 SOPS_AGE_KEY). None of the identities tried is a recipient of the file: decrypt \
                 with the key of one of its recipients, or have the file re-encrypted for yours \
                 (add your recipient to .sops.yaml, then run `sops updatekeys` on the file).",
                RECIPIENTS[0], RECIPIENTS[1]
            )),
            "{summary}"
        );
        assert!(text.contains("\n  \n  projects/test-only/locations/global/keyRings/r/cryptoKeys/k: FAILED\n    - | ksops does not support GCP KMS keys; this key was not tried\n"), "{text}");
        assert!(!text.contains("AGE-SECRET-KEY"), "{text}");
        assert!(!text.contains("token-value"), "{text}");
        for line in secret.lines().filter(|l| l.starts_with("AGE-")) {
            assert!(!text.contains(&line[16..30]), "{text}");
        }
    }

    #[test]
    fn an_identity_whose_recipient_is_unknown_leaves_the_question_open() {
        // A plugin identity names a key held elsewhere: only its plugin knows the recipient.
        let plugin = age::plugin::Identity::default_for_plugin("example")
            .map(|identity| identity.to_string())
            .unwrap_or_else(|e| panic!("{e:?}"));
        let keyring = Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(format!(
                "{plugin}\n{}",
                read_vector(IDENTITIES[1])
            ))),
            ..empty_sources()
        });
        let text = expect_failure(recover_data_key(&tiny_groups(), 0, &keyring));
        assert!(
            text.ends_with(&format!(
                "Identities tried:\n  {} (from SOPS_AGE_KEY)\n  a plugin identity \
                 (AGE-PLUGIN-…), whose recipient only its plugin knows (from SOPS_AGE_KEY)",
                RECIPIENTS[1]
            )),
            "{text}"
        );
        assert!(!text.contains("None of the identities"), "{text}");
    }

    #[test]
    fn ssh_ed25519_and_rsa_recipients() {
        if !have_tool("ssh-keygen") || !have_tool("age") {
            return;
        }
        let dir = crate::testing::scratch_dir("unit");
        let ssh = dir.path().join(".ssh");
        std::fs::create_dir(&ssh).unwrap_or_else(|e| panic!("{e}"));
        let ed = ssh.join("id_ed25519");
        let rsa = dir.path().join("deploy_rsa");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&ed));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&rsa));
        let key: [u8; 32] = std::array::from_fn(|i| i as u8 ^ 0x5c);
        for (pubkey, via_home) in [
            (ssh.join("id_ed25519.pub"), true),
            (dir.path().join("deploy_rsa.pub"), false),
        ] {
            let enc = age_encrypt_to(&pubkey, &key, dir.path());
            let recipient = std::fs::read_to_string(&pubkey).unwrap_or_else(|e| panic!("{e}"));
            let sources = if via_home {
                IdentitySources {
                    home: Some(dir.path().to_path_buf()),
                    ..empty_sources()
                }
            } else {
                IdentitySources {
                    ssh_private_key_file: Some(rsa.clone()),
                    ..empty_sources()
                }
            };
            let keyring = Keyring::load(&sources);
            let got = recover_data_key(&[age_group(recipient.trim(), &enc)], 0, &keyring);
            assert_eq!(got.map(|k| *k.as_bytes()).ok(), Some(key), "{pubkey:?}");
        }
    }

    #[test]
    fn single_group_payload_must_be_32_bytes() {
        if !have_tool("age") || !have_tool("age-keygen") {
            return;
        }
        let dir = crate::testing::scratch_dir("unit");
        let recipients = dir.path().join("r.txt");
        let pubkey = run(Command::new("age-keygen")
            .arg("-y")
            .arg(vector(IDENTITIES[0])));
        std::fs::write(&recipients, pubkey).unwrap_or_else(|e| panic!("{e}"));
        let enc = age_encrypt_to(&recipients, &[1u8; 33], dir.path());
        let r = recover_data_key(
            &[age_group(RECIPIENTS[0], &enc)],
            0,
            &keyring_with(&[IDENTITIES[0]]),
        );
        assert!(matches!(r, Err(DataKeyError::BadLength(33))));
        assert!(matches!(
            recover_data_key(&[], 0, &keyring_with(&[])),
            Err(DataKeyError::NoKeys)
        ));
    }
}
