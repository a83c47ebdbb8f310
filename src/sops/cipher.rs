//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value format and its decryption.

use zeroize::Zeroizing;

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
