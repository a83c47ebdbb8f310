//! Recovering a file's data key from its key groups, and sops' report when that fails.

use std::fmt;

use thiserror::Error;
use zeroize::Zeroizing;

use super::identities::{Keyring, PublicKey, TriedIdentity};
use super::shamir::{self, ShamirError};
use crate::sops::cipher::DataKey;
use crate::sops::metadata::{KeyGroup, MasterKey};

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
    Shamir(#[from] ShamirError),
    /// What was recovered is not a 32-byte AES-256 key.
    #[error("the recovered data key is {0} bytes long; a SOPS data key is 32 bytes")]
    BadLength(usize),
}

/// One key that could not be used, with why (no key material in either).
#[derive(Clone, Debug)]
struct KeyFailure {
    name: String,
    reason: String,
}

/// The outcome of one key group.
#[derive(Clone, Debug)]
struct GroupResult {
    success: bool,
    /// The keys tried before success, or all keys of a failed group.
    failures: Vec<KeyFailure>,
}

/// sops' `getDataKeyError`: per group and per key, what failed and why; then, after sops'
/// report, the file's age recipients beside the public keys of the identities tried.
#[derive(Clone, Debug)]
pub struct DataKeyFailure {
    required: usize,
    groups: Vec<GroupResult>,
    /// The file's age recipients, in file order, without repeats.
    recipients: Vec<String>,
    /// Every identity offered, with its public key when known.
    identities: Vec<TriedIdentity>,
    /// The identity sources that are files named by relative paths.
    relative_path_sources: Vec<String>,
}

/// The longest SSH public key shown whole (an ssh-ed25519 key's base64); longer ones (ssh-rsa)
/// are shortened.
const SSH_KEY_SHOWN: usize = 68;

/// A recipient as compared: an SSH public key without its comment.
fn normalized(recipient: &str) -> String {
    let recipient = recipient.trim();
    if recipient.starts_with("ssh-") {
        recipient
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        recipient.to_owned()
    }
}

/// A recipient as listed beside the identities: an SSH key longer than [`SSH_KEY_SHOWN`] keeps
/// the start and end of its base64 (the start only says the key type; the end tells keys
/// apart), the same way for the file's recipients and the identities.
fn shown(recipient: &str) -> String {
    let recipient = normalized(recipient);
    match recipient.split_once(' ') {
        Some((kind, body)) if kind.starts_with("ssh-") && body.len() > SSH_KEY_SHOWN => {
            let head = body.get(..12).unwrap_or_default();
            let tail = body.get(body.len() - 20..).unwrap_or_default();
            format!("{kind} {head}…{tail}")
        }
        _ => recipient,
    }
}

/// The comparison of recipients and identities, in lines.
struct Comparison {
    recipients: Vec<String>,
    identities: Vec<String>,
    /// The conclusion, when every public key is known and none is a recipient.
    conclusion: Option<&'static str>,
}

/// The conclusion when no identity tried is a recipient, with the two ways out.
const NO_MATCH: &str = "None of the identities tried is a recipient of the file: decrypt with \
                        the key of one of its recipients, or have the file re-encrypted for \
                        yours (add your recipient to .sops.yaml, then run `sops updatekeys` on \
                        the file).";

/// Word-wraps like mitchellh/go-wordwrap 1.0.1 (`WrapString`), which sops uses: breaks only
/// at whitespace, never splits a word, keeps existing newlines.
fn wrap(s: &str, lim: usize) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut current = 0usize;
    let (mut word, mut word_len) = (String::new(), 0usize);
    let (mut space, mut space_len) = (String::new(), 0usize);
    for c in s.chars() {
        if c == '\n' {
            if word.is_empty() {
                if current + space_len <= lim {
                    out.push_str(&space);
                }
            } else {
                out.push_str(&space);
                out.push_str(&word);
                word.clear();
                word_len = 0;
            }
            space.clear();
            space_len = 0;
            out.push(c);
            current = 0;
        } else if c.is_whitespace() && c != '\u{a0}' {
            if space.is_empty() || !word.is_empty() {
                current += space_len + word_len;
                out.push_str(&space);
                out.push_str(&word);
                space.clear();
                space_len = 0;
                word.clear();
                word_len = 0;
            }
            space.push(c);
            space_len += 1;
        } else {
            word.push(c);
            word_len += 1;
            if current + space_len + word_len > lim && word_len < lim {
                out.push('\n');
                current = 0;
                space.clear();
                space_len = 0;
            }
        }
    }
    if word.is_empty() {
        if current + space_len <= lim {
            out.push_str(&space);
        }
    } else {
        out.push_str(&space);
        out.push_str(&word);
    }
    out
}

/// Prefixes every line, empty ones included, like goware/prefixer.
fn prefix_lines(s: &str, prefix: &str) -> String {
    s.split_inclusive('\n')
        .map(|line| format!("{prefix}{line}"))
        .collect()
}

impl KeyFailure {
    fn user_error(&self) -> String {
        let mut block = prefix_lines(&wrap(&self.reason, 60), "  | ");
        // sops replaces the first character of the block with '-'.
        if !block.is_empty() {
            block.replace_range(..1, "-");
        }
        format!("{}: FAILED\n{}", self.name, prefix_lines(&block, "  "))
    }
}

impl DataKeyFailure {
    /// sops' last paragraph: why recovery as a whole failed.
    fn trailer(&self) -> String {
        let successes = self.groups.iter().filter(|g| g.success).count();
        if self.required == 0 {
            "Recovery failed because no master key was able to decrypt the file. In order for \
             SOPS to recover the file, at least one key has to be successful, but none were."
                .to_owned()
        } else {
            format!(
                "Recovery failed because the file was encrypted with a Shamir threshold of {r}, \
                 but only {successes} part(s) were successfully recovered, one for each \
                 successful key group. In order for SOPS to recover the file, at least {r} \
                 groups have to be successful. In order for a group to be successful, \
                 decryption has to succeed with any of the keys in that key group.",
                r = self.required
            )
        }
    }

    /// The file's recipients and the identities tried, side by side; `None` when no identity
    /// was found at all (sops' report already says where it looked).
    fn comparison(&self) -> Option<Comparison> {
        if self.identities.is_empty() {
            return None;
        }
        let mut recipients: Vec<String> = self.recipients.iter().map(|r| shown(r)).collect();
        if recipients.is_empty() {
            recipients.push("none: the file has no age key".to_owned());
        }
        let identities = self
            .identities
            .iter()
            .map(|identity| {
                let public = match &identity.public_key {
                    PublicKey::Recipient(recipient) => shown(recipient),
                    PublicKey::Unknown(what) => (*what).to_owned(),
                };
                format!("{public} (from {})", identity.source)
            })
            .collect();
        let file_recipients: Vec<String> = self.recipients.iter().map(|r| normalized(r)).collect();
        let none_match = self
            .identities
            .iter()
            .all(|identity| match &identity.public_key {
                PublicKey::Recipient(recipient) => {
                    !file_recipients.contains(&normalized(recipient))
                }
                PublicKey::Unknown(_) => false,
            });
        Some(Comparison {
            recipients,
            identities,
            conclusion: none_match.then_some(NO_MATCH),
        })
    }

    /// The identity sources named by relative paths (resolved against the working directory).
    pub fn relative_path_sources(&self) -> impl Iterator<Item = &str> {
        self.relative_path_sources.iter().map(String::as_str)
    }
}

impl fmt::Display for DataKeyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                if g.success {
                    format!("Group {i}: SUCCESS")
                } else {
                    let keys: Vec<String> = g.failures.iter().map(KeyFailure::user_error).collect();
                    format!(
                        "Group {i}: FAILED\n{}",
                        prefix_lines(&keys.join("\n\n"), "  ")
                    )
                }
            })
            .collect();
        write!(
            f,
            "Failed to get the data key required to decrypt the SOPS file.\n\n{}\n\n{}",
            groups.join("\n\n"),
            wrap(&self.trailer(), 75)
        )?;
        if let Some(comparison) = self.comparison() {
            let list = |items: &[String]| -> String {
                items.iter().map(|item| format!("\n  {item}")).collect()
            };
            write!(
                f,
                "\n\nRecipients of the file:{}\nIdentities tried:{}",
                list(&comparison.recipients),
                list(&comparison.identities)
            )?;
            if let Some(conclusion) = comparison.conclusion {
                write!(f, "\n{}", wrap(conclusion, 75))?;
            }
        }
        Ok(())
    }
}

/// One key that could not recover the data key, for reports that list failures one by one
/// (a KRM function's results) rather than as sops' wrapped block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailedKey<'a> {
    /// The index of the key group.
    pub group: usize,
    /// The key: an age recipient, a PGP fingerprint, a KMS ARN.
    pub key: &'a str,
    /// Why it failed, on one line.
    pub reason: &'a str,
}

impl DataKeyFailure {
    /// Every key that failed, in the order they were tried.
    pub fn failed_keys(&self) -> impl Iterator<Item = FailedKey<'_>> {
        self.groups.iter().enumerate().flat_map(|(group, result)| {
            result.failures.iter().map(move |failure| FailedKey {
                group,
                key: &failure.name,
                reason: failure.reason.trim(),
            })
        })
    }

    /// The report without its per-key details, on one line: that the data key could not be
    /// recovered, why recovery as a whole failed, and the file's recipients beside the
    /// identities tried.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "Failed to get the data key required to decrypt the SOPS file. {}",
            self.trailer()
        );
        if let Some(comparison) = self.comparison() {
            out.push_str(&format!(
                " Recipients of the file: {}. Identities tried: {}.",
                comparison.recipients.join(", "),
                comparison.identities.join(", ")
            ));
            if let Some(conclusion) = comparison.conclusion {
                out.push(' ');
                out.push_str(conclusion);
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A readable name for a key kind ksops does not decrypt with.
fn kind_name(kind: &str) -> &str {
    match kind {
        "pgp" => "PGP",
        "kms" => "AWS KMS",
        "gcp_kms" => "GCP KMS",
        "azure_kv" => "Azure Key Vault",
        "hc_vault" => "HashiCorp Vault",
        "hckms" => "HuaweiCloud KMS",
        other => other,
    }
}

/// Tries a group's keys in order and returns the first recovered payload.
fn decrypt_group(
    group: &KeyGroup,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, Vec<KeyFailure>> {
    let mut failures = Vec::new();
    for key in &group.keys {
        match key {
            MasterKey::Age { recipient, enc } => match keyring.unwrap(enc) {
                Ok(payload) => return Ok(payload),
                Err(reason) => failures.push(KeyFailure {
                    name: recipient.clone(),
                    reason,
                }),
            },
            MasterKey::Unsupported { kind, id } => failures.push(KeyFailure {
                name: id.clone(),
                reason: format!(
                    "ksops decrypts with age keys only; this {} key was not tried",
                    kind_name(kind)
                ),
            }),
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
/// Each group's keys are tried in order until one works. With one group, it must succeed and
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
    let mut parts = Vec::new();
    let mut results = Vec::new();
    for group in groups {
        if groups.len() > 1 && shamir_threshold >= 2 && parts.len() >= shamir_threshold {
            break;
        }
        match decrypt_group(group, keyring) {
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
        let mut recipients: Vec<String> = Vec::new();
        for key in groups.iter().flat_map(|group| &group.keys) {
            if let MasterKey::Age { recipient, .. } = key
                && !recipients.contains(recipient)
            {
                recipients.push(recipient.clone());
            }
        }
        DataKeyError::Failed(Box::new(DataKeyFailure {
            required: shamir_threshold,
            groups: results.clone(),
            recipients,
            identities: keyring.tried_identities(),
            relative_path_sources: keyring
                .reports()
                .iter()
                .filter(|report| report.is_relative_path())
                .map(|report| report.name.clone())
                .collect(),
        }))
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
        age_encrypt_to, empty_sources, enc_blobs, have_tool, read_vector, run, vector,
    };

    const TINY_KEY: &str = "e95fa126f7426eae76ef9cf5211860926474361f603cfcaa0f624473edf4e779";
    const RECIPIENTS: [&str; 3] = [
        "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry",
        "age1upycxczex8fsvsa0t4rc9y8ghmjf5ku2shffu7zxrpvz49hkcydqmv7xla",
        "age1qskwq6r7nvpy8fder52txszzlt48gw29e902tcu8qh9rvht62vzsmsa3w6",
    ];
    const IDENTITIES: [&str; 3] = [
        "age-test-identity.txt",
        "age-test-identity-2.txt",
        "age-test-identity-3.txt",
    ];

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
             | '$HOME/.ssh/id_ed25519', '$HOME/.ssh/id_rsa',\n      \
             | 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', and\n      \
             | '$HOME/.config/sops/age/keys.txt'.\n\
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
                kind: "pgp",
                id: "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4".into(),
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
        assert!(text.contains("\n  \n  FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4: FAILED\n    - | ksops decrypts with age keys only; this PGP key was not\n      | tried\n"), "{text}");
        assert!(!text.contains("AGE-SECRET-KEY"), "{text}");
        assert!(!text.contains("token-value"), "{text}");
        for line in secret.lines().filter(|l| l.starts_with("AGE-")) {
            assert!(!text.contains(&line[16..30]), "{text}");
        }
    }

    #[test]
    fn ssh_keys_are_compared_without_comments_and_shortened_alike() {
        let ed25519 =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIASCzKk9hZTMr1AexoRfLE81Cx1adHphD2r69BRliBQW";
        assert_eq!(normalized(&format!("{ed25519} TEST ONLY\n")), ed25519);
        assert_eq!(shown(&format!("{ed25519} TEST ONLY")), ed25519);
        let body = format!("AAAAB3NzaC1yc2E{}0123456789abcdefghij", "x".repeat(300));
        assert_eq!(
            shown(&format!("ssh-rsa {body} comment")),
            "ssh-rsa AAAAB3NzaC1y…0123456789abcdefghij"
        );
        assert_eq!(shown(RECIPIENTS[0]), RECIPIENTS[0]);
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

    #[test]
    fn wrap_matches_go_wordwrap() {
        // Real sops 3.11 output (HOME=/tmp/sopstest/home, two recipients, a wrong key).
        let msg = "failed to create reader for decrypting sops data key with age: identity did \
                   not match any of the recipients: incorrect identity for recipient block. Did \
                   not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', \
                   '/tmp/sopstest/home/.ssh/id_ed25519', '/tmp/sopstest/home/.ssh/id_rsa', \
                   'SOPS_AGE_KEY', and 'SOPS_AGE_KEY_CMD'.";
        assert_eq!(
            wrap(msg, 60),
            "failed to create reader for decrypting sops data key with\n\
             age: identity did not match any of the recipients: incorrect\n\
             identity for recipient block. Did not find keys in locations\n\
             'SOPS_AGE_SSH_PRIVATE_KEY_FILE',\n\
             '/tmp/sopstest/home/.ssh/id_ed25519',\n\
             '/tmp/sopstest/home/.ssh/id_rsa', 'SOPS_AGE_KEY', and\n\
             'SOPS_AGE_KEY_CMD'."
        );
        assert_eq!(
            wrap("a verylongwordthatdoesnotfit b", 5),
            "a\nverylongwordthatdoesnotfit\nb"
        );
        assert_eq!(wrap("keep\nnewlines  here", 80), "keep\nnewlines  here");
        assert_eq!(prefix_lines("a\n\nb", "  "), "  a\n  \n  b");
    }
}
