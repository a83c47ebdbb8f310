//! Value encryption: a file's data key, and the decryption of its `ENC[…]` values.
//!
//! A value is opened in three steps, one module each: `enc_value` splits the
//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` text into its base64 fields, `gcm` opens the
//! sealed bytes with AES-256-GCM (with sops' arbitrary-length nonce), and `gotype` turns the
//! plaintext back into the typed value its `type:` names.

mod enc_value;
mod gcm;
mod gotype;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::sops::tree::Value;
use enc_value::GO_STD_BASE64;
use gcm::Gcm;
use gotype::convert;

pub use enc_value::{is_encrypted, value_type};
pub use gotype::ValueType;

/// The 32-byte AES-256 key that encrypts every value of a file. Zeroized on drop.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// Wraps raw key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        DataKey(Zeroizing::new(bytes))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Why a value could not be decrypted. Messages follow sops' wording and never contain the
/// plaintext; they quote the encrypted input only, as sops does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The text is not an `ENC[…]` value. The text itself is not kept: a value that should be
    /// encrypted but is not may well be a plaintext secret.
    #[error(
        "the value does not match sops' data format (expected ENC[AES256_GCM,data:…,iv:…,tag:…,type:…])"
    )]
    Format,
    /// One of the base64 fields is malformed.
    #[error("Error base64-decoding {field}: illegal base64 data")]
    Base64 {
        /// `data`, `iv` or `tag`.
        field: &'static str,
    },
    /// GCM authentication failed: wrong key, wrong AAD (renamed or moved value), or tampering.
    #[error("Could not decrypt with AES_GCM: cipher: message authentication failed")]
    Authentication,
    /// The plaintext does not parse as its declared type.
    #[error("Could not convert decrypted value to type {kind}")]
    Conversion {
        /// The declared type.
        kind: &'static str,
    },
    /// `type:bytes`, written only by the Python sops 1.x; sops 3.11 cannot read it either.
    #[error(
        "Unsupported datatype: bytes (written by sops 1.x; sops 3 cannot decrypt it either). Re-encrypt the file with a current sops"
    )]
    BytesType,
    /// An unknown `type:`.
    #[error("Unknown datatype: {0}")]
    UnknownType(String),
}

/// AES-256-GCM keyed with a file's data key. The key schedule and the GHASH key are derived
/// once per file, not once per value.
pub struct ValueCipher {
    gcm: Gcm,
}

impl ValueCipher {
    /// Prepares the cipher for a data key.
    pub fn new(key: &DataKey) -> Self {
        ValueCipher {
            gcm: Gcm::new(key.as_bytes()),
        }
    }

    /// Decrypts one `ENC[…]` value with the value's AAD, and converts the plaintext to its
    /// declared type.
    ///
    /// An empty string decrypts to an empty string without error, as in sops: empty values are
    /// never encrypted.
    pub fn decrypt_value(&self, text: &str, aad: &[u8]) -> Result<Value, CipherError> {
        if text.is_empty() {
            return Ok(Value::Str(Vec::new()));
        }
        let parsed = enc_value::parse(text).ok_or(CipherError::Format)?;
        let decode = |field: &'static str, b64: &str| {
            // Go's base64 decoder skips carriage returns (and newlines, which the pattern
            // already excludes); a JSON `\r` escape can put one inside a field.
            let decoded = if b64.contains('\r') {
                GO_STD_BASE64.decode(b64.replace('\r', ""))
            } else {
                GO_STD_BASE64.decode(b64)
            };
            decoded.map_err(|_| CipherError::Base64 { field })
        };
        let mut sealed = decode("data", parsed.data)?;
        let iv = decode("iv", parsed.iv)?;
        sealed.extend_from_slice(&decode("tag", parsed.tag)?);
        let plaintext = self.gcm.open(&iv, aad, &sealed)?;
        convert(plaintext, parsed.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::Comment;

    fn tiny_key() -> ValueCipher {
        let mut key = [0u8; 32];
        let hex = "e95fa126f7426eae76ef9cf5211860926474361f603cfcaa0f624473edf4e779";
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        ValueCipher::new(&DataKey::new(key))
    }

    const USER: &str = "ENC[AES256_GCM,data:76UAAQo=,iv:ICPH0pFU2Ui7onGvkP6Zzv21um3QHwbWsmKGlaYjLiY=,tag:R5MJJesksxiH7HYLTADXtg==,type:str]";

    #[test]
    fn decrypts_the_worked_example() {
        let key = tiny_key();
        assert_eq!(key.decrypt_value(USER, b"user:"), Ok(Value::str("alice")));
        let port = "ENC[AES256_GCM,data:DuC5Ng==,iv:+Gi0ihC6vhyY+mK31Xd1RoWZh/3XcVd2FHvAZxUsyCM=,tag:p71h1pu7Wxf5AscryEKzYA==,type:int]";
        assert_eq!(key.decrypt_value(port, b"port:"), Ok(Value::Int(5432)));
        let comment = "ENC[AES256_GCM,data:Ng4k03E=,iv:kulYCbBfwt6hwey5sn5HR5kFOQ3X9RTme5nRkbOfxZg=,tag:6kE2SMlrtIoLJc9saHQhkg==,type:comment]";
        assert_eq!(
            key.decrypt_value(comment, b":"),
            Ok(Value::Comment(Comment(" note".into())))
        );
        let enabled = "ENC[AES256_GCM,data:IV3EYw==,iv:Ue8XntOeJsPzIjZIapcxUUpd7eVGCZ9HK0RgdZGJwEk=,tag:EJOnWSMAZ7I78wWD06bRIQ==,type:bool]";
        assert_eq!(
            key.decrypt_value(enabled, b"db:enabled:"),
            Ok(Value::Bool(true))
        );
    }

    #[test]
    fn refuses_wrong_aad_key_and_tampering() {
        let key = tiny_key();
        assert_eq!(
            key.decrypt_value(USER, b"other:"),
            Err(CipherError::Authentication)
        );
        assert_eq!(
            ValueCipher::new(&DataKey::new([7; 32])).decrypt_value(USER, b"user:"),
            Err(CipherError::Authentication)
        );
        let flipped = USER.replace("76UAAQo=", "76UAAQs=");
        assert_eq!(
            key.decrypt_value(&flipped, b"user:"),
            Err(CipherError::Authentication)
        );
    }

    #[test]
    fn data_and_tag_split_point_does_not_matter() {
        // sops concatenates data‖tag before opening, so moving bytes across the boundary works.
        let key = tiny_key();
        let data = GO_STD_BASE64.decode("76UAAQo=").unwrap();
        let tag = GO_STD_BASE64.decode("R5MJJesksxiH7HYLTADXtg==").unwrap();
        let mut all = data.clone();
        all.extend_from_slice(&tag);
        let (d, t) = all.split_at(3);
        let moved = format!(
            "ENC[AES256_GCM,data:{},iv:ICPH0pFU2Ui7onGvkP6Zzv21um3QHwbWsmKGlaYjLiY=,tag:{},type:str]",
            GO_STD_BASE64.encode(d),
            GO_STD_BASE64.encode(t)
        );
        assert_eq!(key.decrypt_value(&moved, b"user:"), Ok(Value::str("alice")));
    }

    #[test]
    fn format_errors() {
        let key = tiny_key();
        assert_eq!(key.decrypt_value("", b"a:"), Ok(Value::Str(vec![])));
        assert!(matches!(
            key.decrypt_value("plain", b"a:"),
            Err(CipherError::Format)
        ));
        let unpadded = USER.replace("76UAAQo=", "76UAAQo");
        assert_eq!(
            key.decrypt_value(&unpadded, b"user:"),
            Err(CipherError::Base64 { field: "data" })
        );
        // Go's base64 skips carriage returns anywhere in a field, padding included.
        let with_cr = USER.replace("76UAAQo=", "76U\rAAQo\r=\r");
        assert_eq!(
            key.decrypt_value(&with_cr, b"user:"),
            Ok(Value::str("alice"))
        );
        // Trailing text after the closing bracket is ignored, as in sops.
        let trailing = format!("{USER}trailing");
        assert_eq!(
            key.decrypt_value(&trailing, b"user:"),
            Ok(Value::str("alice"))
        );
    }
}
