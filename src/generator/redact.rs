//! The redacted render: files are decrypted and MAC-verified as usual, but each value is emitted
//! as a marker showing its length and a keyed digest, so two renders can be diffed in a pull
//! request without showing any value:
//!
//! `<redacted len=12 hmac-sha256=0123456789abcdef>`
//!
//! `len` is the value's length in bytes (for a Secret's `data`, of the decoded bytes) and the hex
//! is the first 64 bits of HMAC-SHA256 over those bytes. The HMAC key is derived from the private
//! keys loaded ([`Keyring::derive_key`]), never from the file: the same key holder gets the same
//! markers across runs, commits and re-encryptions, and nobody without the keys can test guesses
//! of a short value against a marker. Equal values have equal markers.
//!
//! Markers replace values here, before kustomize sees them, because kustomize's name-hash suffix
//! is computed from the content: hashing real values would publish a guessable digest of them.
//! In a Secret's `data` the marker is written as it is, not base64-encoded, so that it reads in a
//! diff; the output is for review, not for applying.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::generator::manifest::{is_data_value, is_identity_field, is_secret};
use crate::sops::Inspected;
use crate::sops::Keyring;
use crate::sops::format_go_float;
use crate::sops::{Comment, Item, Value};
use crate::sops::{DecryptError, Decrypted};

/// Separates this use of the private keys from any other.
const KEY_LABEL: &str = "ksops redacted render v1";

/// How many digest bytes a marker shows.
const DIGEST_BYTES: usize = 8;

/// Turns values into markers with a key derived from the loaded private keys.
#[derive(Clone)]
pub struct Redactor {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(<key>)")
    }
}

/// No private key to derive the marker key from.
#[derive(Debug, thiserror::Error)]
#[error(
    "a redacted render keys its digests with your private keys, but no unprotected age \
     (X25519) or SSH private key was loaded (plugin and passphrase-protected identities cannot \
     be used for this). Sources: {sources}. Set SOPS_AGE_KEY_FILE to a key file that can \
     decrypt these files"
)]
pub struct NoKeyError {
    /// What each identity source gave (names and statuses only).
    pub sources: String,
}

impl Redactor {
    /// Derives the marker key from the keyring.
    pub fn from_keyring(keyring: &Keyring) -> Result<Redactor, NoKeyError> {
        match keyring.derive_key(KEY_LABEL) {
            Some(key) => Ok(Redactor { key }),
            None => Err(NoKeyError {
                sources: keyring
                    .reports()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The marker for a value's bytes.
    pub fn marker(&self, value: &[u8]) -> String {
        let mut digest = Zeroizing::new(String::with_capacity(2 * DIGEST_BYTES));
        // HMAC accepts keys of any length, so this cannot fail; an empty digest would only make
        // every marker of the run equal, never reveal a value.
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.key.as_slice()) {
            mac.update(value);
            for byte in mac.finalize().into_bytes().iter().take(DIGEST_BYTES) {
                digest.push_str(&format!("{byte:02x}"));
            }
        }
        format!(
            "<redacted len={} hmac-sha256={}>",
            value.len(),
            digest.as_str()
        )
    }

    /// A decrypted leaf's marker, of the same kind of leaf (a comment stays a comment).
    fn leaf_marker(&self, value: Value) -> Value {
        let text = Zeroizing::new(match value {
            Value::Str(bytes) => bytes,
            Value::Int(i) => i.to_string().into_bytes(),
            Value::Float(f) => format_go_float(f).into_bytes(),
            Value::Bool(b) => b.to_string().into_bytes(),
            Value::Time(t) => t.to_rfc3339_nano().into_bytes(),
            Value::Comment(Comment(text)) => {
                return Value::Comment(Comment(format!(
                    " {}",
                    self.marker(Zeroizing::new(text).as_bytes())
                )));
            }
            Value::Null | Value::Mapping(_) | Value::Sequence(_) => return value,
        });
        Value::str(self.marker(&text))
    }

    /// Decrypts a `files` manifest (MAC verified) with every encrypted value replaced by its
    /// marker, except the fields that identify an object, which kustomize needs and which are
    /// not secret values.
    pub fn decrypt_manifest(
        &self,
        inspected: Inspected,
        keyring: &Keyring,
    ) -> Result<Decrypted, DecryptError> {
        // Whether a document is a Secret may only be known once it is decrypted, so `data`
        // values are marked afterwards (over their decoded bytes when they are a Secret's).
        let mut data_values: Vec<(usize, String)> = Vec::new();
        let mut decrypted = inspected.decrypt_with(keyring, false, |leaf, value| {
            if is_identity_field(leaf.path) {
                value
            } else if is_data_value(leaf.path) {
                data_values.extend(leaf.path.get(1).map(|key| (leaf.document, key.clone())));
                value
            } else {
                self.leaf_marker(value)
            }
        })?;
        for (index, key) in data_values {
            let Some(document) = decrypted.documents.get_mut(index) else {
                continue;
            };
            let secret = is_secret(document);
            for item in &mut document.items {
                let Item::Entry(data) = item else { continue };
                if data.key != "data" {
                    continue;
                }
                let Value::Mapping(values) = &mut data.value else {
                    continue;
                };
                for item in &mut values.items {
                    if let Item::Entry(entry) = item
                        && entry.key == key
                    {
                        let value = std::mem::replace(&mut entry.value, Value::Null);
                        entry.value = match (&value, secret) {
                            (Value::Str(text), true) => match STANDARD.decode(text) {
                                Ok(bytes) => Value::str(self.marker(&Zeroizing::new(bytes))),
                                Err(_) => self.leaf_marker(value),
                            },
                            _ => self.leaf_marker(value),
                        };
                    }
                }
            }
        }
        Ok(decrypted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(byte: u8) -> Redactor {
        Redactor {
            key: Zeroizing::new([byte; 32]),
        }
    }

    #[test]
    fn markers_show_length_and_a_keyed_digest() {
        let one = redactor(1);
        let marker = one.marker(b"hunter2");
        assert!(
            marker.starts_with("<redacted len=7 hmac-sha256="),
            "{marker}"
        );
        assert_eq!(marker.len(), "<redacted len=7 hmac-sha256=>".len() + 16);
        assert_eq!(one.marker(b"hunter2"), marker);
        assert_ne!(one.marker(b"hunter3"), marker);
        assert_ne!(redactor(2).marker(b"hunter2"), marker);
        assert!(!marker.contains("hunter2"));
    }

    #[test]
    fn typed_leaves_become_string_markers() {
        let one = redactor(1);
        assert_eq!(
            one.leaf_marker(Value::Int(5432)),
            Value::str(one.marker(b"5432"))
        );
        assert_eq!(
            one.leaf_marker(Value::Bool(true)),
            Value::str(one.marker(b"true"))
        );
        let Value::Comment(Comment(text)) = one.leaf_marker(Value::Comment(Comment(" x".into())))
        else {
            panic!("a comment must stay a comment");
        };
        assert_eq!(text, format!(" {}", one.marker(b" x")));
    }
}
