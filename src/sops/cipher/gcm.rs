//! AES-256-GCM decryption with a nonce of any length, composed from AES-256 and GHASH.
//!
//! sops builds Go's GCM with the nonce size set to the decoded IV's length (it writes 32-byte
//! IVs, and any other length decrypts too), which fixed-nonce AEAD APIs cannot express: for
//! lengths other than 12 bytes the initial counter block is the GHASH of the IV, exactly as the
//! GCM specification (NIST SP 800-38D) defines it.

use aes::Aes256;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::CipherError;

/// The GCM tag length sops uses (Go's default).
const TAG_LEN: usize = 16;

/// AES-256-GCM under one key, with its key schedule and GHASH key derived once.
pub(super) struct Gcm {
    aes: Aes256,
    hash_key: Zeroizing<[u8; 16]>,
}

impl Gcm {
    /// Derives the key schedule and the GHASH key of an AES-256 key.
    pub(super) fn new(key: &[u8; 32]) -> Self {
        let aes = Aes256::new(GenericArray::from_slice(key));
        let mut hash_key = GenericArray::default();
        aes.encrypt_block(&mut hash_key);
        let mut bytes = Zeroizing::new([0u8; 16]);
        bytes.copy_from_slice(&hash_key);
        hash_key.as_mut_slice().zeroize();
        Gcm {
            aes,
            hash_key: bytes,
        }
    }

    /// AES-256-GCM decryption with a nonce of any non-zero length and a 16-byte tag at the end
    /// of `sealed`. Returns the plaintext only when the tag verifies.
    pub(super) fn open(
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
            let cipher = Gcm::new(&key);
            let opened = cipher.open(&nonce, aad, &sealed).unwrap();
            assert_eq!(opened.as_slice(), plaintext);
            assert!(cipher.open(&nonce, b"other:", &sealed).is_err());
        }
    }
}
