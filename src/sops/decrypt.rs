//! Decrypting a parsed file: its values, the MAC, and the whole `sops decrypt` pipeline.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::sops::cipher::{CipherError, ValueCipher, ValueType};
use crate::sops::error::DecryptError;
use crate::sops::gonum;
use crate::sops::inspect::{EncryptedLeaf, Inspected, Position, inspect, walk};
use crate::sops::keys::{Keyring, recover_data_key};
use crate::sops::metadata::Metadata;
use crate::sops::stores::{self, EmitOptions, Format};
use crate::sops::tree::{Document, Value};

/// What to decrypt and how to print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecryptOptions {
    /// The store the encrypted file is read with.
    pub input: Format,
    /// The store the plaintext is written with.
    pub output: Format,
    /// Skip the MAC check (`ksops decrypt --ignore-mac` only; the generator never sets it).
    pub ignore_mac: bool,
    /// Output settings from `.sops.yaml`.
    pub emit: EmitOptions,
}

/// A decrypted file: its documents with every value in clear, and its metadata.
#[derive(Debug)]
pub struct Decrypted {
    /// The documents, decrypted in place; every key, value and comment is wiped on drop.
    pub documents: Zeroizing<Vec<Document>>,
    /// The file's metadata.
    pub metadata: Metadata,
}

/// Parses, decrypts and MAC-checks a file, returning the decrypted documents.
pub fn decrypt_documents(
    input: &[u8],
    format: Format,
    keyring: &Keyring,
    ignore_mac: bool,
) -> Result<Decrypted, DecryptError> {
    inspect(input, format)?.decrypt(keyring, ignore_mac)
}

impl Inspected {
    /// Decrypts every encrypted value and checks the MAC (unless `ignore_mac`).
    pub fn decrypt(self, keyring: &Keyring, ignore_mac: bool) -> Result<Decrypted, DecryptError> {
        self.decrypt_with(keyring, ignore_mac, |_, value| value)
    }

    /// Like [`Inspected::decrypt`], and hands each decrypted value to `on_value`, which returns
    /// what the document keeps in its place (a comment at an encrypted position that does not
    /// decrypt, as old sops versions wrote them, is handed over as it is). The MAC covers the
    /// decrypted values, not what `on_value` returns, and on any failure nothing is returned.
    pub fn decrypt_with(
        self,
        keyring: &Keyring,
        ignore_mac: bool,
        mut on_value: impl FnMut(&EncryptedLeaf<'_>, Value) -> Value,
    ) -> Result<Decrypted, DecryptError> {
        let Inspected {
            documents,
            metadata,
            walk_error,
        } = self;
        let key = recover_data_key(&metadata.key_groups, metadata.shamir_threshold, keyring)?;
        // sops meets this only when it walks the tree, after recovering the key.
        if let Some(message) = walk_error {
            return Err(DecryptError::Walk(message));
        }
        // Wiped on drop from here on, also when the walk fails half way through.
        let mut documents = Zeroizing::new(documents);
        let cipher = ValueCipher::new(&key);
        let mut hash = Sha512::new();
        if metadata.mac_only_encrypted {
            hash.update(mac_only_encrypted_init());
        }
        walk(&mut documents, &metadata.rule, |at, leaf, encrypted| {
            if !encrypted {
                // With mac_only_encrypted, clear values may be edited freely: only encrypted
                // ones count.
                if !metadata.mac_only_encrypted {
                    hash_value(&mut hash, &leaf);
                }
                return Ok(leaf);
            }
            let value = decrypt_leaf(&cipher, at, leaf)?;
            hash_value(&mut hash, &value);
            Ok(match ValueType::of(&value) {
                Some(value_type) => on_value(
                    &EncryptedLeaf {
                        document: at.document,
                        path: at.keys,
                        value_type,
                    },
                    value,
                ),
                None => value,
            })
        })?;
        if !ignore_mac {
            let computed: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
            verify_mac(&metadata, &cipher, &computed)?;
        }
        Ok(Decrypted {
            documents,
            metadata,
        })
    }
}

/// `sops decrypt`: returns exactly the bytes sops prints.
pub fn decrypt(
    input: &[u8],
    options: &DecryptOptions,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let decrypted = decrypt_documents(input, options.input, keyring, options.ignore_mac)?;
    stores::emit(options.output, &decrypted.documents, &options.emit)
        .map(Zeroizing::new)
        .map_err(DecryptError::Emit)
}

fn verify_mac(
    metadata: &Metadata,
    cipher: &ValueCipher,
    computed: &str,
) -> Result<(), DecryptError> {
    if metadata.mac.is_empty() {
        return Err(DecryptError::MacMissing);
    }
    let aad = metadata.last_modified.to_rfc3339();
    let stored = cipher
        .decrypt_value(&metadata.mac, aad.as_bytes())
        .map_err(DecryptError::MacUndecryptable)?;
    match stored {
        Value::Str(stored) if bool::from(stored.as_slice().ct_eq(computed.as_bytes())) => Ok(()),
        _ => Err(DecryptError::MacMismatch),
    }
}

/// The 32 bytes sops feeds the hash first when `mac_only_encrypted` is set: SHA-256("sops").
fn mac_only_encrypted_init() -> [u8; 32] {
    let mut init = [0u8; 32];
    init.copy_from_slice(&sha2::Sha256::digest(b"sops"));
    init
}

/// Decrypts one leaf at an encrypted position.
fn decrypt_leaf(
    cipher: &ValueCipher,
    at: &Position<'_>,
    leaf: Value,
) -> Result<Value, DecryptError> {
    let aad = at.aad();
    match leaf {
        // A comment that does not decrypt is kept as it is: files from old sops versions have
        // clear comments at encrypted positions. One that authenticates as `type:bytes` crashes
        // sops, so it fails here.
        Value::Comment(comment) => match cipher.decrypt_value(&comment.0, aad.as_bytes()) {
            Ok(decrypted) => Ok(decrypted),
            Err(source @ CipherError::BytesType) => Err(DecryptError::Value {
                path: aad,
                cause: source,
            }),
            Err(_) => Ok(Value::Comment(comment)),
        },
        Value::Str(text) => {
            let text = std::str::from_utf8(&text).map_err(|_| DecryptError::Value {
                path: aad.clone(),
                cause: CipherError::Format,
            })?;
            cipher
                .decrypt_value(text, aad.as_bytes())
                .map_err(|source| DecryptError::Value {
                    path: aad,
                    cause: source,
                })
        }
        other => Err(DecryptError::NotEncrypted {
            path: aad,
            found: other.type_name(),
        }),
    }
}

/// Feeds a leaf's typed rendering to the MAC: sops hashes values, never keys or structure.
fn hash_value(hash: &mut Sha512, value: &Value) {
    match value {
        Value::Str(bytes) => hash.update(bytes),
        Value::Int(i) => hash.update(i.to_string()),
        Value::Float(f) => hash.update(gonum::format_f(*f)),
        Value::Bool(true) => hash.update(b"True"),
        Value::Bool(false) => hash.update(b"False"),
        Value::Time(t) => hash.update(t.to_rfc3339_nano()),
        Value::Comment(_) | Value::Null | Value::Mapping(_) | Value::Sequence(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::error::FailureKind;
    use crate::sops::tree::Comment;

    #[test]
    fn a_comment_is_kept_unless_it_authenticates_as_bytes() {
        // TEST ONLY key and value, from the cipher's worked example (a root comment, AAD `:`).
        let mut key = [0u8; 32];
        let hex = "e95fa126f7426eae76ef9cf5211860926474361f603cfcaa0f624473edf4e779";
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        let cipher = ValueCipher::new(&crate::sops::cipher::DataKey::new(key));
        let comment = "ENC[AES256_GCM,data:Ng4k03E=,iv:kulYCbBfwt6hwey5sn5HR5kFOQ3X9RTme5nRkbOfxZg=,tag:6kE2SMlrtIoLJc9saHQhkg==,type:comment]";
        let root = Position {
            document: 0,
            keys: &[],
            path: &[],
        };
        let walk = |text: &str| decrypt_leaf(&cipher, &root, Value::Comment(Comment(text.into())));
        let decrypted = walk(comment).unwrap();
        assert!(matches!(&decrypted, Value::Comment(c) if c.0 == " note"));
        // Tampered: kept as written, as sops does for comments it cannot decrypt.
        let tampered = comment.replace("Ng4k03E=", "Ng4k03A=");
        let kept = walk(&tampered).unwrap();
        assert!(matches!(&kept, Value::Comment(c) if c.0 == tampered));
        // Authentic but `type:bytes`: sops crashes on it, so it must not pass.
        let bytes = comment.replace("type:comment", "type:bytes");
        assert!(matches!(
            walk(&bytes),
            Err(DecryptError::Value {
                cause: CipherError::BytesType,
                ..
            })
        ));
    }

    #[test]
    fn a_file_without_metadata_is_named_with_the_command_that_encrypts_it() {
        let keyring = Keyring::load(&crate::sops::keys::IdentitySources::default());
        for (format, input, sops) in [
            (
                Format::Yaml,
                &b"password: hunter2\n"[..],
                "Error unmarshalling file: sops metadata not found",
            ),
            (
                Format::Json,
                b"{\"password\": \"hunter2\"}",
                "sops metadata not found",
            ),
            (
                Format::Dotenv,
                b"PASSWORD=hunter2\n",
                "sops metadata not found",
            ),
            (
                Format::Ini,
                b"[db]\npassword = hunter2\n",
                "sops metadata not found",
            ),
        ] {
            let Err(error) = decrypt_documents(input, format, &keyring, false) else {
                panic!("{format:?}: decrypted a plaintext file");
            };
            assert_eq!(error.kind(), FailureKind::InvalidFile, "{format:?}");
            let fix = "the file is not encrypted. Encrypt it in place with `sops encrypt -i";
            assert_eq!(
                error.to_string(),
                format!("{sops}: {fix} <file>` (never commit the plaintext)"),
            );
            let named = error.for_file("secrets/db.yaml").to_string();
            assert_eq!(
                named,
                format!("{sops}: {fix} secrets/db.yaml` (never commit the plaintext)"),
            );
            assert!(!named.contains("hunter2"), "{named}");
        }
        // Other errors are unchanged; a path a shell would split is quoted.
        let error = DecryptError::MacMissing.for_file("a.yaml");
        assert!(matches!(error, DecryptError::MacMissing));
        let error = DecryptError::unencrypted(false).for_file("my secrets/it's.yaml");
        assert!(
            error
                .to_string()
                .contains(r"`sops encrypt -i 'my secrets/it'\''s.yaml'`"),
            "{error}"
        );
    }

    #[test]
    fn mac_renders_typed_values_like_sops() {
        // The worked example: alice 5432 a 1.5 hunter2 True.
        let mut hash = Sha512::new();
        for v in [
            Value::str("alice"),
            Value::Int(5432),
            Value::str("a"),
            Value::Float(1.5),
            Value::str("hunter2"),
            Value::Bool(true),
            Value::str(""),
            Value::Comment(Comment(" note".into())),
        ] {
            hash_value(&mut hash, &v);
        }
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            hex,
            "7F99D5E9B073F8529786D5B4DB4DF8C721DEF76E207B83E08DAD66EEEFC8EE01BFA73CA60045A9145971B51F4C4247421FDF1B6C2253B696D725536E6668400D"
        );
    }

    #[test]
    fn mac_only_encrypted_init_is_sha256_of_sops() {
        let hex: String = mac_only_encrypted_init()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            hex.starts_with("8a3fd2ad") && hex.ends_with("7d69"),
            "{hex}"
        );
    }
}
