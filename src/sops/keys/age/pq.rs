//! Post-quantum age identities (`AGE-SECRET-KEY-PQ-1…`, recipients `age1pq1…`), which the `age`
//! crate does not implement: the `mlkem768x25519` stanza of the age specification
//! (c2sp.org/age), as written by age 1.3 and sops 3.12.
//!
//! The stanza is HPKE (RFC 9180, base mode) with the KEM MLKEM768-X25519 (X-Wing, id `0x647a`),
//! HKDF-SHA256 and ChaCha20Poly1305, `info` = `age-encryption.org/mlkem768x25519`, empty AAD:
//! its one argument is the encapsulated key (an ML-KEM-768 ciphertext then an X25519 share), its
//! body the sealed 16-byte file key.
//!
//! The identity is a 32-byte seed. SHAKE-256 of it gives 64 bytes of ML-KEM-768 seed (`d‖z`,
//! FIPS 203 `KeyGen_internal`) then the X25519 scalar; the recipient is the ML-KEM encapsulation
//! key followed by the X25519 public key. The shared secret is
//! SHA3-256(ss_ML-KEM ‖ ss_X25519 ‖ ct_X25519 ‖ pk_X25519 ‖ `\.//^\`).

use age::DecryptError;
use age_core::format::{FileKey, Stanza};
use age_core::primitives::{bech32_decode, bech32_encode};
use base64::Engine;
use base64::prelude::BASE64_STANDARD_NO_PAD;
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use ml_kem::kem::{Decapsulate, DecapsulationKey};
use ml_kem::{B32, EncodedSizeUser, KemCore, MlKem768, MlKem768Params};
use sha2::Sha256;
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{Digest, Sha3_256, Shake256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// The stanza tag.
const STANZA_TAG: &str = "mlkem768x25519";
/// HPKE `info`.
const HPKE_INFO: &[u8] = b"age-encryption.org/mlkem768x25519";
/// HPKE `suite_id`: "HPKE", KEM 0x647a (MLKEM768-X25519), KDF 0x0001 (HKDF-SHA256), AEAD 0x0003
/// (ChaCha20Poly1305).
const SUITE_ID: &[u8] = b"HPKE\x64\x7a\x00\x01\x00\x03";
/// The X-Wing combiner's label.
const XWING_LABEL: &[u8] = b"\\.//^\\";
/// The recipient's Bech32 prefix.
const RECIPIENT_HRP: &str = "age1pq";
/// The identity's Bech32 prefix (written upper-case).
const IDENTITY_HRP: &str = "AGE-SECRET-KEY-PQ-";

const MLKEM_CIPHERTEXT_LEN: usize = 1088;
const X25519_LEN: usize = 32;
const ENC_LEN: usize = MLKEM_CIPHERTEXT_LEN + X25519_LEN;
const FILE_KEY_LEN: usize = 16;
/// The sealed file key: the key and the Poly1305 tag.
const BODY_LEN: usize = FILE_KEY_LEN + 16;

/// A post-quantum hybrid identity. The seed and both private keys are wiped on drop.
pub(super) struct HybridIdentity {
    seed: Zeroizing<[u8; 32]>,
    ml_kem: DecapsulationKey<MlKem768Params>,
    x25519: StaticSecret,
    /// The X25519 public key, which the combiner hashes.
    x25519_public: X25519Public,
}

impl HybridIdentity {
    /// Expands a 32-byte seed into the ML-KEM-768 and X25519 keys.
    fn from_seed(seed: Zeroizing<[u8; 32]>) -> HybridIdentity {
        let mut xof = Shake256::default().chain(seed.as_slice()).finalize_xof();
        let mut d = B32::default();
        let mut z = B32::default();
        let mut scalar = Zeroizing::new([0u8; 32]);
        xof.read(&mut d);
        xof.read(&mut z);
        xof.read(scalar.as_mut_slice());
        let (ml_kem, _) = MlKem768::generate_deterministic(&d, &z);
        d.as_mut_slice().zeroize();
        z.as_mut_slice().zeroize();
        let x25519 = StaticSecret::from(*scalar);
        let x25519_public = X25519Public::from(&x25519);
        HybridIdentity {
            seed,
            ml_kem,
            x25519,
            x25519_public,
        }
    }

    /// Parses `AGE-SECRET-KEY-PQ-1…`. Errors never quote the key.
    pub(super) fn parse(text: &str) -> Result<HybridIdentity, &'static str> {
        let seed = bech32_decode(
            text,
            |_| "invalid Bech32 encoding",
            |hrp| {
                // Upper-case only, like age (`bech32_decode` already refused mixed case).
                if hrp.as_str() == IDENTITY_HRP {
                    Ok(())
                } else {
                    Err("unknown type")
                }
            },
            |_, bytes| {
                let mut seed = Zeroizing::new([0u8; 32]);
                let mut len = 0;
                for byte in bytes {
                    if let Some(slot) = seed.get_mut(len) {
                        *slot = byte;
                    }
                    len += 1;
                }
                if len != seed.len() {
                    return Err("invalid MLKEM768-X25519 secret key");
                }
                Ok(seed)
            },
        )?;
        Ok(HybridIdentity::from_seed(seed))
    }

    /// The `age1pq1…` recipient.
    pub(super) fn recipient(&self) -> String {
        let mut public = self.ml_kem.encapsulation_key().as_bytes().to_vec();
        public.extend_from_slice(self.x25519_public.as_bytes());
        bech32_encode(bech32::Hrp::parse_unchecked(RECIPIENT_HRP), &public)
    }

    /// The canonical `AGE-SECRET-KEY-PQ-1…` string (upper-case), in a zeroizing buffer.
    pub(super) fn to_secret_string(&self) -> Zeroizing<String> {
        let lower = Zeroizing::new(bech32_encode(
            bech32::Hrp::parse_unchecked(IDENTITY_HRP),
            self.seed.as_slice(),
        ));
        Zeroizing::new(lower.to_ascii_uppercase())
    }

    /// HPKE `Decap` of MLKEM768-X25519, or `None` when the X25519 share is a low-order point
    /// (an all-zero shared secret, which age refuses).
    fn decapsulate(&self, enc: &[u8; ENC_LEN]) -> Option<Zeroizing<[u8; 32]>> {
        let (ct_pq, ct_t) = enc.split_at(MLKEM_CIPHERTEXT_LEN);
        let ct_pq = ml_kem::Ciphertext::<MlKem768>::try_from(ct_pq).ok()?;
        // Decapsulation is infallible (implicit rejection): a wrong key gives a wrong secret.
        let mut ss_pq = self.ml_kem.decapsulate(&ct_pq).ok()?;
        let share: [u8; X25519_LEN] = ct_t.try_into().ok()?;
        let ss_t = self.x25519.diffie_hellman(&X25519Public::from(share));
        if bool::from(ss_t.as_bytes().ct_eq(&[0u8; X25519_LEN])) {
            return None;
        }
        let mut out = Zeroizing::new([0u8; 32]);
        Sha3_256::new()
            .chain_update(ss_pq.as_slice())
            .chain_update(ss_t.as_bytes())
            .chain_update(ct_t)
            .chain_update(self.x25519_public.as_bytes())
            .chain_update(XWING_LABEL)
            .finalize_into(out.as_mut_slice().into());
        ss_pq.as_mut_slice().zeroize();
        Some(out)
    }
}

/// RFC 9180 `LabeledExpand` with HKDF-SHA256.
fn labeled_expand(prk: &Hkdf<Sha256>, label: &[u8], context: &[u8], out: &mut [u8]) {
    let length = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    // Lengths here are 32 and 12, far below HKDF-SHA256's limit of 8160 bytes.
    let _ = prk.expand_multi_info(&[&length, b"HPKE-v1", SUITE_ID, label, context], out);
}

/// RFC 9180 `LabeledExtract` with HKDF-SHA256.
fn labeled_extract(salt: &[u8], label: &[u8], ikm: &[u8]) -> (Zeroizing<[u8; 32]>, Hkdf<Sha256>) {
    let mut input = Zeroizing::new(Vec::with_capacity(
        7 + SUITE_ID.len() + label.len() + ikm.len(),
    ));
    input.extend_from_slice(b"HPKE-v1");
    input.extend_from_slice(SUITE_ID);
    input.extend_from_slice(label);
    input.extend_from_slice(ikm);
    let (prk, hkdf) = Hkdf::<Sha256>::extract(Some(salt), &input);
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&prk);
    (bytes, hkdf)
}

/// RFC 9180 base-mode `KeySchedule` for `HPKE_INFO`, then `Open` of the first message (sequence
/// number 0, so the nonce is the base nonce) with empty AAD.
fn hpke_open(shared_secret: &[u8; 32], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (psk_id_hash, _) = labeled_extract(b"", b"psk_id_hash", b"");
    let (info_hash, _) = labeled_extract(b"", b"info_hash", HPKE_INFO);
    let mut context = Vec::with_capacity(1 + 64);
    context.push(0); // mode_base
    context.extend_from_slice(psk_id_hash.as_slice());
    context.extend_from_slice(info_hash.as_slice());
    let (_, secret) = labeled_extract(shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    labeled_expand(&secret, b"key", &context, key.as_mut_slice());
    labeled_expand(&secret, b"base_nonce", &context, &mut nonce);
    let cipher = ChaCha20Poly1305::new(key.as_slice().into());
    let payload = Payload {
        msg: sealed,
        aad: b"",
    };
    cipher
        .decrypt(&nonce.into(), payload)
        .ok()
        .map(Zeroizing::new)
}

impl age::Identity for HybridIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        // Like age: a malformed stanza for this type fails the header; a well-formed one that
        // does not open is for another key.
        let [arg] = stanza.args.as_slice() else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        let Ok(enc) = BASE64_STANDARD_NO_PAD.decode(arg) else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        let (Ok(enc), BODY_LEN) = (<[u8; ENC_LEN]>::try_from(enc), stanza.body.len()) else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        let Some(shared_secret) = self.decapsulate(&enc) else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        let file_key = hpke_open(&shared_secret, &stanza.body)?;
        let file_key: &[u8; FILE_KEY_LEN] = file_key.as_slice().try_into().ok()?;
        Some(Ok(FileKey::init_with_mut(|k| k.copy_from_slice(file_key))))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use age::secrecy::ExposeSecret;
    use sha2::Digest as _;

    use super::*;
    use crate::sops::keys::testutil::vector;

    /// One file of age's test kit (c2sp.org/CCTV/age): header lines, a blank line, the age file.
    struct KitVector {
        expect: String,
        payload: Option<String>,
        identities: Vec<String>,
        compressed: bool,
        file: Vec<u8>,
    }

    fn read_kit(path: &std::path::Path) -> KitVector {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let split = raw
            .windows(2)
            .position(|w| w == b"\n\n")
            .unwrap_or_else(|| panic!("{}: no blank line", path.display()));
        let head = std::str::from_utf8(&raw[..split]).unwrap_or_else(|e| panic!("{e}"));
        let mut v = KitVector {
            expect: String::new(),
            payload: None,
            identities: Vec::new(),
            compressed: false,
            file: raw[split + 2..].to_vec(),
        };
        for line in head.lines() {
            let (key, value) = line.split_once(": ").unwrap_or((line, ""));
            match key {
                "expect" => v.expect = value.to_owned(),
                "payload" => v.payload = Some(value.to_owned()),
                "identity" => v.identities.push(value.to_owned()),
                "compressed" => v.compressed = value == "zlib",
                _ => {}
            }
        }
        v
    }

    /// What decrypting a test-kit file with `HybridIdentity` (and X25519 identities) gives, in
    /// the kit's words.
    fn outcome(v: &KitVector) -> (String, Option<Vec<u8>>) {
        assert!(!v.compressed, "compressed vectors are stored inflated");
        let ids: Vec<Box<dyn age::Identity>> = v
            .identities
            .iter()
            .map(|s| -> Box<dyn age::Identity> {
                if s.starts_with("AGE-SECRET-KEY-PQ-1") {
                    Box::new(HybridIdentity::parse(s).unwrap_or_else(|e| panic!("{e}")))
                } else {
                    Box::new(
                        s.parse::<age::x25519::Identity>()
                            .unwrap_or_else(|e| panic!("{e}")),
                    )
                }
            })
            .collect();
        let reader = age::armor::ArmoredReader::new(v.file.as_slice());
        let decryptor = match age::Decryptor::new_buffered(reader) {
            Ok(d) => d,
            Err(_) => return ("header failure".into(), None),
        };
        match decryptor.decrypt(ids.iter().map(|i| i.as_ref())) {
            Err(DecryptError::NoMatchingKeys) => ("no match".into(), None),
            Err(_) => ("header failure".into(), None),
            Ok(mut r) => {
                let mut out = Vec::new();
                match r.read_to_end(&mut out) {
                    Ok(_) => ("success".into(), Some(out)),
                    Err(_) => ("payload failure".into(), None),
                }
            }
        }
    }

    #[test]
    fn age_test_kit_hybrid_vectors() {
        let dir = vector("age-testkit");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains("hybrid"))
            .collect();
        names.sort();
        assert!(names.len() >= 15, "{names:?}");
        for name in names {
            let v = read_kit(&dir.join(&name));
            let (got, plain) = outcome(&v);
            assert_eq!(got, v.expect, "{name}");
            if let (Some(plain), Some(want)) = (plain, &v.payload) {
                let digest = sha2::Sha256::digest(&plain);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(&hex, want, "{name}");
            }
        }
    }

    #[test]
    fn recipients_agree_with_typage() {
        // The fixture keys were made by typage, an independent implementation.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/generated-pq/keys");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            let public = text.lines().find_map(|l| l.strip_prefix("# public key: "));
            let secret = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-PQ-1"));
            let (Some(public), Some(secret)) = (public, secret) else {
                panic!("{}: not a key file", path.display());
            };
            let id = HybridIdentity::parse(secret).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(id.recipient(), public, "{}", path.display());
            seen += 1;
        }
        assert_eq!(seen, 3);
    }

    #[test]
    fn recipient_and_round_trip_of_the_identity_string() {
        // The key pair of age's own command tests (cmd/age/testdata/hybrid.txt).
        let text = std::fs::read_to_string(vector("age-testkit/pq-keypair.txt"))
            .unwrap_or_else(|e| panic!("{e}"));
        let public = text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap_or_else(|| panic!("no public key line"));
        let secret = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-PQ-1"))
            .unwrap_or_else(|| panic!("no identity line"));
        let id = HybridIdentity::parse(secret).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.recipient(), public);
        assert_eq!(id.to_secret_string().as_str(), secret);

        // Lower-case, a wrong type, a wrong length, a broken checksum.
        let lower = secret.to_ascii_lowercase();
        assert_eq!(HybridIdentity::parse(&lower).err(), Some("unknown type"));
        let x25519 = age::x25519::Identity::generate();
        let x25519 = x25519.to_string();
        assert_eq!(
            HybridIdentity::parse(x25519.expose_secret()).err(),
            Some("unknown type")
        );
        let short = bech32_encode(bech32::Hrp::parse_unchecked(IDENTITY_HRP), &[7; 31])
            .to_ascii_uppercase();
        assert_eq!(
            HybridIdentity::parse(&short).err(),
            Some("invalid MLKEM768-X25519 secret key")
        );
        let mut broken = secret.to_owned();
        broken.pop();
        broken.push(if secret.ends_with('Q') { 'P' } else { 'Q' });
        assert_eq!(
            HybridIdentity::parse(&broken).err(),
            Some("invalid Bech32 encoding")
        );
    }
}
