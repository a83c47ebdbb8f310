//! Recovering a file's data key from its key groups, and sops' report when that fails.

use std::fmt;

use thiserror::Error;
use zeroize::Zeroizing;

use super::identities::Keyring;
use super::shamir::{self, ShamirError};
use crate::sops::cipher::DataKey;
use crate::sops::metadata::{KeyGroup, MasterKey};

/// Why the data key could not be recovered.
#[derive(Debug, Error)]
pub enum DataKeyError {
    /// The metadata has no key group at all.
    #[error("No keys found in file")]
    NoKeys,
    /// Not enough groups could be decrypted; displays sops' multi-line report.
    #[error("{0}")]
    Failed(DataKeyFailure),
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

/// sops' `getDataKeyError`: per group and per key, what failed and why.
#[derive(Clone, Debug)]
pub struct DataKeyFailure {
    required: usize,
    groups: Vec<GroupResult>,
}

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
        let successes = self.groups.iter().filter(|g| g.success).count();
        let trailer = if self.required == 0 {
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
        };
        write!(
            f,
            "Failed to get the data key required to decrypt the SOPS file.\n\n{}\n\n{}",
            groups.join("\n\n"),
            wrap(&trailer, 75)
        )
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
        DataKeyError::Failed(DataKeyFailure {
            required: shamir_threshold,
            groups: results.clone(),
        })
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
