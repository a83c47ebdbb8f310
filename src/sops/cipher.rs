//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value format and its decryption.
//!
//! sops builds Go's GCM with the nonce size set to the decoded IV's length (it writes 32-byte
//! IVs, and any other length decrypts too), so the cipher here is AES-256-GCM with an
//! arbitrary-length nonce: for lengths other than 12 bytes the initial counter block is the
//! GHASH of the IV, exactly as the GCM specification (NIST SP 800-38D) defines it.

use aes::Aes256;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::sops::gotime::Timestamp;
use crate::sops::tree::{Comment, Value};

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

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// The GCM tag length sops uses (Go's default).
const TAG_LEN: usize = 16;

/// The parts of an `ENC[…]` value.
struct Parsed<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    kind: &'a str,
}

/// Splits an `ENC[…]` value the way sops' pattern
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` does: every group is greedy and
/// non-empty, `.` stops at a newline, and anything after the closing `]` is ignored. Because the
/// groups are greedy, each takes the last delimiter that still leaves room for the rest, so the
/// delimiters can be found right to left without backtracking.
fn parse(text: &str) -> Option<Parsed<'_>> {
    let body = text.strip_prefix("ENC[AES256_GCM,data:")?;
    let line = body.split('\n').next()?.as_bytes();
    let end = rfind(line, b"]")?;
    // Each delimiter must leave at least one byte for the group before it and after it.
    let type_at = rfind(line.get(..end.checked_sub(1)?)?, b",type:")?;
    let tag_at = rfind(line.get(..type_at.checked_sub(1)?)?, b",tag:")?;
    let iv_at = rfind(line.get(..tag_at.checked_sub(1)?)?, b",iv:")?;
    if iv_at == 0 {
        return None;
    }
    // Every boundary is next to an ASCII delimiter, so these are character boundaries.
    Some(Parsed {
        data: body.get(..iv_at)?,
        iv: body.get(iv_at + 4..tag_at)?,
        tag: body.get(tag_at + 5..type_at)?,
        kind: body.get(type_at + 6..end)?,
    })
}

/// The start of the last occurrence of `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

/// Whether a string looks like an `ENC[…]` value (used to tell encrypted list comments apart).
pub fn is_encrypted(text: &str) -> bool {
    parse(text).is_some()
}

/// AES-256-GCM keyed with a file's data key. The key schedule and the GHASH key are derived
/// once per file, not once per value.
pub struct ValueCipher {
    aes: Aes256,
    hash_key: Zeroizing<[u8; 16]>,
}

impl ValueCipher {
    /// Prepares the cipher for a data key.
    pub fn new(key: &DataKey) -> Self {
        let aes = Aes256::new(GenericArray::from_slice(key.as_bytes()));
        let mut hash_key = GenericArray::default();
        aes.encrypt_block(&mut hash_key);
        let mut bytes = Zeroizing::new([0u8; 16]);
        bytes.copy_from_slice(&hash_key);
        hash_key.as_mut_slice().zeroize();
        ValueCipher {
            aes,
            hash_key: bytes,
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
        let parsed = parse(text).ok_or(CipherError::Format)?;
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
        let plaintext = self.open(&iv, aad, &sealed)?;
        convert(plaintext, parsed.kind)
    }
}

/// The declared type of an encrypted value (its `type:` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `str`: text (or bytes).
    Str,
    /// `int`: a 64-bit integer.
    Int,
    /// `float`: a float64.
    Float,
    /// `bool`: a boolean.
    Bool,
    /// `time`: an RFC 3339 timestamp.
    Time,
    /// `comment`: a YAML comment.
    Comment,
}

impl ValueType {
    /// The type `type:` names. `bytes` (sops 1.x) and unknown names fail as in sops.
    fn from_name(name: &str) -> Result<ValueType, CipherError> {
        match name {
            "str" => Ok(ValueType::Str),
            "int" => Ok(ValueType::Int),
            "float" => Ok(ValueType::Float),
            "bool" => Ok(ValueType::Bool),
            "time" => Ok(ValueType::Time),
            "comment" => Ok(ValueType::Comment),
            "bytes" => Err(CipherError::BytesType),
            other => Err(CipherError::UnknownType(other.to_owned())),
        }
    }

    /// The type of a decrypted leaf; `None` for nulls and collections, which are never encrypted.
    pub fn of(value: &Value) -> Option<ValueType> {
        match value {
            Value::Str(_) => Some(ValueType::Str),
            Value::Int(_) => Some(ValueType::Int),
            Value::Float(_) => Some(ValueType::Float),
            Value::Bool(_) => Some(ValueType::Bool),
            Value::Time(_) => Some(ValueType::Time),
            Value::Comment(_) => Some(ValueType::Comment),
            Value::Null | Value::Mapping(_) | Value::Sequence(_) => None,
        }
    }
}

/// Checks what can be checked of an `ENC[…]` value without the data key (the format, the three
/// base64 fields, a known type) and returns its declared type. Whatever fails here also fails
/// [`ValueCipher::decrypt_value`]; authenticity needs the key.
pub fn value_type(text: &str) -> Result<ValueType, CipherError> {
    let parsed = parse(text).ok_or(CipherError::Format)?;
    for (field, b64) in [
        ("data", parsed.data),
        ("iv", parsed.iv),
        ("tag", parsed.tag),
    ] {
        decode_field(field, b64)?;
    }
    ValueType::from_name(parsed.kind)
}

fn decode_field(field: &'static str, b64: &str) -> Result<Vec<u8>, CipherError> {
    GO_STD_BASE64
        .decode(b64)
        .map_err(|_| CipherError::Base64 { field })
}

fn convert(plaintext: Zeroizing<Vec<u8>>, kind: &str) -> Result<Value, CipherError> {
    let text = || std::str::from_utf8(&plaintext).ok();
    let conversion = |kind| CipherError::Conversion { kind };
    match ValueType::from_name(kind)? {
        ValueType::Str => Ok(Value::Str(plaintext.to_vec())),
        ValueType::Int => text()
            .and_then(|t| t.parse::<i64>().ok())
            .map(Value::Int)
            .ok_or_else(|| conversion("int")),
        ValueType::Float => text()
            .and_then(parse_go_float)
            .map(Value::Float)
            .ok_or_else(|| conversion("float")),
        ValueType::Bool => match text() {
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(Value::Bool(true)),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(Value::Bool(false)),
            _ => Err(conversion("bool")),
        },
        ValueType::Time => text()
            .and_then(|t| Timestamp::parse_rfc3339(t).ok())
            .map(Value::Time)
            .ok_or_else(|| conversion("time")),
        ValueType::Comment => Ok(Value::Comment(Comment(
            String::from_utf8_lossy(&plaintext).into_owned(),
        ))),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms sops writes and Go accepts: decimal with
/// optional sign and exponent, `Inf`/`Infinity`/`NaN` in any case. Overflow is an error in Go.
fn parse_go_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = unsigned.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    let ok_chars = unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !special && !ok_chars {
        return None;
    }
    if lower == "nan" && unsigned.len() != text.len() {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    (special || value.is_finite()).then_some(value)
}

impl ValueCipher {
    /// AES-256-GCM decryption with a nonce of any non-zero length and a 16-byte tag at the end
    /// of `sealed`. Returns the plaintext only when the tag verifies.
    fn open(
        &self,
        iv: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        if iv.is_empty() || sealed.len() < TAG_LEN {
            return Err(CipherError::Authentication);
        }
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let aes = &self.aes;
        let hash_key = GenericArray::from_slice(self.hash_key.as_slice());

        let mut counter = GenericArray::default();
        if iv.len() == 12 {
            counter[..12].copy_from_slice(iv);
            counter[15] = 1;
        } else {
            let mut ghash = GHash::new(hash_key);
            ghash.update_padded(iv);
            let mut lengths = GenericArray::default();
            lengths[8..].copy_from_slice(&bit_len(iv.len()).to_be_bytes());
            ghash.update(&[lengths]);
            counter = ghash.finalize();
        }

        let mut ghash = GHash::new(hash_key);
        ghash.update_padded(aad);
        ghash.update_padded(ciphertext);
        let mut lengths = GenericArray::default();
        lengths[..8].copy_from_slice(&bit_len(aad.len()).to_be_bytes());
        lengths[8..].copy_from_slice(&bit_len(ciphertext.len()).to_be_bytes());
        ghash.update(&[lengths]);
        let mut expected = ghash.finalize();
        let mut mask = counter;
        aes.encrypt_block(&mut mask);
        for (e, m) in expected.iter_mut().zip(mask.iter()) {
            *e ^= m;
        }
        if !bool::from(expected.as_slice().ct_eq(tag)) {
            return Err(CipherError::Authentication);
        }

        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        let mut keystream = [GenericArray::default(); 8];
        for chunk in plaintext.chunks_mut(16 * keystream.len()) {
            let blocks = chunk.len().div_ceil(16);
            for block in keystream.iter_mut().take(blocks) {
                increment_counter(&mut counter);
                *block = counter;
            }
            aes.encrypt_blocks(&mut keystream[..blocks]);
            for (byte, k) in chunk
                .iter_mut()
                .zip(keystream.iter().flat_map(|b| b.iter()))
            {
                *byte ^= k;
            }
        }
        keystream
            .iter_mut()
            .for_each(|b| b.as_mut_slice().zeroize());
        Ok(plaintext)
    }
}

/// GCM's inc32: the last four bytes are a big-endian counter that wraps.
fn increment_counter(block: &mut GenericArray<u8, aes::cipher::consts::U16>) {
    let mut tail = [0u8; 4];
    tail.copy_from_slice(&block[12..]);
    block[12..].copy_from_slice(&u32::from_be_bytes(tail).wrapping_add(1).to_be_bytes());
}

fn bit_len(bytes: usize) -> u64 {
    (bytes as u64).wrapping_mul(8)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn any_nonce_length_matches_the_reference_gcm() {
        use aes_gcm::aead::{Aead, Payload};
        use aes_gcm::{AesGcm, KeyInit as _, aead::consts};
        let key = [0x42u8; 32];
        let aad = b"path:to:";
        let plaintext = b"the quick brown fox jumps over the lazy dog, twice over: 0123456789";
        fn seal<N: aes_gcm::aead::generic_array::ArrayLength<u8>>(
            key: &[u8; 32],
            nonce: &[u8],
            aad: &[u8],
            msg: &[u8],
        ) -> Vec<u8> {
            let cipher = AesGcm::<Aes256, N>::new(GenericArray::from_slice(key));
            cipher
                .encrypt(GenericArray::from_slice(nonce), Payload { msg, aad })
                .unwrap()
        }
        let cases: [(Vec<u8>, Vec<u8>); 3] = [
            (
                vec![1; 12],
                seal::<consts::U12>(&key, &[1; 12], aad, plaintext),
            ),
            (
                vec![2; 16],
                seal::<consts::U16>(&key, &[2; 16], aad, plaintext),
            ),
            (
                vec![3; 32],
                seal::<consts::U32>(&key, &[3; 32], aad, plaintext),
            ),
        ];
        for (nonce, sealed) in cases {
            let cipher = ValueCipher::new(&DataKey::new(key));
            let opened = cipher.open(&nonce, aad, &sealed).unwrap();
            assert_eq!(opened.as_slice(), plaintext);
            assert!(cipher.open(&nonce, b"other:", &sealed).is_err());
        }
    }

    #[test]
    fn parser_agrees_with_sops_pattern() {
        // The pattern sops matches, as the reference for the hand-written splitter.
        let pattern =
            regex::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]").unwrap();
        let pieces = [
            "ENC[AES256_GCM,data:",
            ",iv:",
            ",tag:",
            ",type:",
            "]",
            "a",
            "é",
            "\n",
            ",",
            ":",
            "data:",
            "iv:",
            "[",
            "x]",
            ",iv:,tag:",
        ];
        // A deterministic walk over many concatenations of the pieces.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut matched = 0;
        for _ in 0..20_000 {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            // Mostly well-formed skeletons with random pieces (often delimiters) in every slot.
            let mut text = String::from("ENC[AES256_GCM,data:");
            for delimiter in [",iv:", ",tag:", ",type:", "]", ""] {
                for _ in 0..(next() % 3) {
                    text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                }
                if next() % 8 != 0 {
                    text.push_str(delimiter);
                }
            }
            state = state.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
            let want = pattern
                .captures(&text)
                .map(|c| (1..=4).map(|i| c[i].to_owned()).collect::<Vec<_>>());
            let got =
                parse(&text).map(|p| [p.data, p.iv, p.tag, p.kind].map(str::to_owned).to_vec());
            matched += usize::from(want.is_some());
            assert_eq!(got, want, "{text:?}");
        }
        assert!(matched > 500, "only {matched} inputs matched");
    }

    #[test]
    fn typed_conversions_follow_go() {
        let conv = |p: &str, k: &str| convert(Zeroizing::new(p.as_bytes().to_vec()), k);
        assert_eq!(conv("+7", "int"), Ok(Value::Int(7)));
        assert!(conv("0x1F", "int").is_err());
        assert_eq!(conv("1e3", "float"), Ok(Value::Float(1000.0)));
        assert_eq!(conv("+Inf", "float"), Ok(Value::Float(f64::INFINITY)));
        assert!(conv("1e400", "float").is_err());
        assert_eq!(conv("T", "bool"), Ok(Value::Bool(true)));
        assert!(conv("yes", "bool").is_err());
        assert_eq!(conv("x", "bytes"), Err(CipherError::BytesType));
        assert_eq!(
            conv("x", "blob"),
            Err(CipherError::UnknownType("blob".into()))
        );
        assert!(matches!(
            conv("2024-05-06T07:08:09+02:00", "time"),
            Ok(Value::Time(_))
        ));
    }
}
