//! The data key: age identities, unwrapping each recipient's copy, and Shamir key groups.
//! (Interim version: X25519 identities from `SOPS_AGE_KEY_FILE`, single group.)

use std::io::Read;
use std::str::FromStr;

use crate::sops::cipher::DataKey;
use crate::sops::metadata::{KeyGroup, MasterKey};

/// Where identities are looked for.
#[derive(Clone, Debug, Default)]
pub struct IdentitySources {
    /// `SOPS_AGE_KEY_FILE`.
    pub key_file: Option<std::path::PathBuf>,
}

impl IdentitySources {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        IdentitySources {
            key_file: std::env::var_os("SOPS_AGE_KEY_FILE").map(Into::into),
        }
    }
}

/// The loaded identities.
pub struct Keyring {
    identities: Vec<age::x25519::Identity>,
}

impl Keyring {
    /// Loads every source.
    pub fn load(sources: &IdentitySources) -> Keyring {
        let mut identities = Vec::new();
        if let Some(text) = sources
            .key_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            for line in text.lines() {
                if let Ok(id) = age::x25519::Identity::from_str(line.trim()) {
                    identities.push(id);
                }
            }
        }
        Keyring { identities }
    }
}

/// The data key could not be recovered.
#[derive(Debug, thiserror::Error)]
#[error("Failed to get the data key required to decrypt the SOPS file.")]
pub struct DataKeyError;

/// Recovers the data key.
pub fn recover_data_key(
    groups: &[KeyGroup],
    _shamir_threshold: usize,
    keyring: &Keyring,
) -> Result<DataKey, DataKeyError> {
    for key in groups.iter().flat_map(|g| &g.keys) {
        if let MasterKey::Age { enc, .. } = key {
            let reader = age::armor::ArmoredReader::new(enc.as_bytes());
            let Ok(decryptor) = age::Decryptor::new(reader) else {
                continue;
            };
            let ids = keyring.identities.iter().map(|i| i as &dyn age::Identity);
            let Ok(mut r) = decryptor.decrypt(ids) else {
                continue;
            };
            let mut out = Vec::new();
            if r.read_to_end(&mut out).is_ok() && out.len() == 32 {
                let mut k = [0u8; 32];
                k.copy_from_slice(&out);
                return Ok(DataKey::new(k));
            }
        }
    }
    Err(DataKeyError)
}
