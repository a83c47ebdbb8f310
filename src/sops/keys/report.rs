//! sops' report when a file's data key cannot be recovered (`getDataKeyError`), wrapped as
//! sops wraps it, then the file's age recipients beside the public keys of the identities
//! tried; and the same report in pieces, for outputs that list failures one by one.

use std::fmt;

use super::identity::{KeyFailure, PublicKey, TriedIdentity};
use crate::sops::metadata::{KeyGroup, MasterKey};

/// The outcome of one key group.
#[derive(Clone, Debug)]
pub(super) struct GroupResult {
    pub(super) success: bool,
    /// The keys tried before success, or all keys of a failed group.
    pub(super) failures: Vec<KeyFailure>,
}

/// sops' `getDataKeyError`: per group and per key, what failed and why; then, after sops'
/// report, the file's age recipients (and PGP fingerprints) beside the public keys of the
/// identities tried.
#[derive(Clone, Debug)]
pub struct DataKeyFailure {
    required: usize,
    groups: Vec<GroupResult>,
    /// The file's age recipients and `PGP <fingerprint>`s, in file order, without repeats.
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
pub(super) fn normalized(recipient: &str) -> String {
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
/// apart), and a post-quantum recipient (`age1pq1…`, ~1960 characters) the start and end of its
/// Bech32, the same way for the file's recipients and the identities.
fn shown(recipient: &str) -> String {
    let recipient = normalized(recipient);
    let shortened = |kind: &str, body: &str| {
        let head = body.get(..12).unwrap_or_default();
        let tail = body.get(body.len() - 20..).unwrap_or_default();
        format!("{kind}{head}…{tail}")
    };
    match recipient.split_once(' ') {
        Some((kind, body)) if kind.starts_with("ssh-") && body.len() > SSH_KEY_SHOWN => {
            shortened(&format!("{kind} "), body)
        }
        _ => match recipient.strip_prefix(PQ_RECIPIENT_PREFIX) {
            Some(body) if body.len() > SSH_KEY_SHOWN => shortened(PQ_RECIPIENT_PREFIX, body),
            _ => recipient,
        },
    }
}

/// The prefix of post-quantum age recipients.
const PQ_RECIPIENT_PREFIX: &str = "age1pq1";

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

impl DataKeyFailure {
    /// The report on recovering the data key of a file with these key groups and Shamir
    /// threshold, given the outcome of each group tried.
    pub(super) fn new(
        groups: &[KeyGroup],
        required: usize,
        results: Vec<GroupResult>,
        identities: Vec<TriedIdentity>,
        relative_path_sources: Vec<String>,
    ) -> DataKeyFailure {
        let mut recipients: Vec<String> = Vec::new();
        for key in groups.iter().flat_map(|group| &group.keys) {
            let recipient = match key {
                MasterKey::Age { recipient, .. } => recipient.clone(),
                MasterKey::Pgp { fingerprint, .. } => format!("PGP {fingerprint}"),
                MasterKey::Kms(_) | MasterKey::Vault { .. } | MasterKey::Unsupported { .. } => {
                    continue;
                }
            };
            if !recipients.contains(&recipient) {
                recipients.push(recipient);
            }
        }
        DataKeyFailure {
            required,
            groups: results,
            recipients,
            identities,
            relative_path_sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::keys::testutil::RECIPIENTS;

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
        let pq = format!("age1pq1{}", "q".repeat(1900) + "tail567890abcdefghij");
        assert_eq!(shown(&pq), "age1pq1qqqqqqqqqqqq…tail567890abcdefghij");
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
