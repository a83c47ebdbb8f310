//! The engine's public errors: why a file could not be inspected or decrypted, and which kind of
//! failure that is.

use crate::sops::cipher::CipherError;
use crate::sops::keys::DataKeyError;
use crate::sops::metadata::MetadataError;
use crate::sops::stores::StoreError;

/// Why a file could not be decrypted. Messages never contain plaintext or key material.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The encrypted file could not be parsed.
    #[error("Error unmarshalling file: {0}")]
    Parse(StoreError),
    /// The file has no `sops` metadata: it is not encrypted. sops' words, then the fix.
    #[error(
        "{}sops metadata not found: the file is not encrypted. Encrypt it in place with \
         `sops encrypt -i {}` (never commit the plaintext)",
        if *.while_parsing { "Error unmarshalling file: " } else { "" },
        .file.as_deref().map_or_else(|| "<file>".to_owned(), shell_word)
    )]
    Unencrypted {
        /// sops reports it while unmarshalling YAML files, after parsing for the other stores.
        while_parsing: bool,
        /// The file as the user named it, for the command (see [`DecryptError::for_file`]).
        file: Option<String>,
    },
    /// The `sops` metadata is invalid.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// No identity could recover the data key.
    #[error(transparent)]
    DataKey(#[from] DataKeyError),
    /// A value failed to decrypt (wrong AAD, tampering, malformed `ENC[…]`, bad type).
    #[error("Error decrypting tree: could not decrypt the value at {path}: {cause}")]
    Value {
        /// The value's key path, sops-style (`a:b:`).
        path: String,
        /// What went wrong.
        cause: CipherError,
    },
    /// The tree cannot be walked (a YAML key that is not a string).
    #[error("Error decrypting tree: {0}")]
    Walk(String),
    /// A position that must hold an encrypted string holds another type.
    #[error(
        "Error decrypting tree: the value at {path} should be encrypted but is {found}, not an ENC[…] string"
    )]
    NotEncrypted {
        /// The value's key path.
        path: String,
        /// The type found.
        found: &'static str,
    },
    /// The stored MAC could not be decrypted (`lastmodified` or `mac` altered, or wrong key).
    #[error("Cannot decrypt MAC: {0}")]
    MacUndecryptable(CipherError),
    /// The file has no MAC.
    #[error("MAC mismatch: the file has no MAC")]
    MacMissing,
    /// The MAC does not match the contents: something was changed after encryption.
    #[error(
        "MAC mismatch: the file's MAC does not match its contents (it was modified after encryption)"
    )]
    MacMismatch,
    /// The decrypted tree could not be written in the output format.
    #[error("Error dumping file: {0}")]
    Emit(StoreError),
}

/// The kind of a [`DecryptError`]: the step of `sops decrypt` that failed. Callers map kinds to
/// what they report (the command line to sops' exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The file is not an encrypted file sops can read: it does not parse, has no metadata, or
    /// its metadata is invalid.
    InvalidFile,
    /// The decrypted tree cannot be written in the output format.
    CannotEmit,
    /// A value of the tree cannot be decrypted, or the tree cannot be walked.
    ValueDecryption,
    /// The MAC is missing, cannot be decrypted, or does not match.
    Mac,
    /// No identity recovers the data key.
    DataKey,
}

/// `text` as one shell word: as it is when it is made of characters no shell treats specially,
/// else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./+@%=:,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

impl DecryptError {
    /// The error for a file without `sops` metadata.
    pub(crate) fn unencrypted(while_parsing: bool) -> DecryptError {
        DecryptError::Unencrypted {
            while_parsing,
            file: None,
        }
    }

    /// Names the file, as the user gave it (relative), in messages that give a command to run
    /// on it. The engine decrypts bytes and never knows the path.
    pub fn for_file(self, path: &str) -> DecryptError {
        match self {
            DecryptError::Unencrypted { while_parsing, .. } => DecryptError::Unencrypted {
                while_parsing,
                file: Some(path.to_owned()),
            },
            other => other,
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            DecryptError::Parse(_)
            | DecryptError::Unencrypted { .. }
            | DecryptError::Metadata(_) => FailureKind::InvalidFile,
            DecryptError::Emit(_) => FailureKind::CannotEmit,
            DecryptError::Value { .. }
            | DecryptError::NotEncrypted { .. }
            | DecryptError::Walk(_) => FailureKind::ValueDecryption,
            DecryptError::MacUndecryptable(_)
            | DecryptError::MacMissing
            | DecryptError::MacMismatch => FailureKind::Mac,
            DecryptError::DataKey(_) => FailureKind::DataKey,
        }
    }
}
