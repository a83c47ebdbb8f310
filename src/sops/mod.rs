//! The SOPS engine: a faithful reimplementation of `sops decrypt` 3.11 for age keys.
//!
//! It knows nothing of Kubernetes. Layout, bottom up:
//! - [`tree`]: the document model; [`stores`]: parsing and emitting each file format;
//! - [`gonum`], [`gotime`]: Go-compatible number and time formatting that output and MAC depend on;
//! - [`cipher`]: the `ENC[…]` value format; [`rules`]: which leaves are encrypted;
//! - [`metadata`]: the `sops` section; [`keys`]: identities and the data key;
//! - [`error`]: why a file could not be read or decrypted, and which kind of failure that is;
//! - [`inspect`](mod@inspect): reading a file without a key, and the tree walk;
//! - [`decrypt`](mod@decrypt): decrypting values, the MAC and the `sops decrypt` pipeline.
//!
//! Many error messages open with sops' own words (`Error unmarshalling file`, `MAC mismatch`,
//! `sops metadata not found`, …) and add ours after them: users and scripts match on sops'
//! messages, and the differential and tamper tests hold this engine's behaviour, failures
//! included, to the sops binary's.

pub use decrypt::{DecryptOptions, Decrypted, decrypt, decrypt_documents};
pub use error::{DecryptError, FailureKind};
pub use inspect::{EncryptedLeaf, Inspected, inspect};

pub mod cipher;
pub mod config;
pub mod decrypt;
pub mod error;
pub mod gonum;
pub mod gotime;
pub mod inspect;
pub mod keys;
pub mod metadata;
pub mod rules;
pub mod stores;
pub mod tree;
