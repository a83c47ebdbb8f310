//! The SOPS engine: a faithful reimplementation of `sops decrypt` 3.11 for age keys.
//!
//! It knows nothing of Kubernetes. Layout, bottom up:
//! - [`tree`]: the document model; [`stores`]: parsing and emitting each file format;
//! - [`gonum`], [`gotime`]: Go-compatible number and time formatting that output and MAC depend on;
//! - [`cipher`]: the `ENC[…]` value format; [`rules`]: which leaves are encrypted;
//! - [`metadata`]: the `sops` section; [`keys`]: identities and the data key;
//! - [`inspect`](mod@inspect): reading a file without a key, and the tree walk;
//! - [`decrypt`](mod@decrypt): decrypting values, the MAC and the `sops decrypt` pipeline.

pub use decrypt::{DecryptError, DecryptOptions, Decrypted, decrypt, decrypt_documents};
pub use inspect::{EncryptedLeaf, Inspected, inspect};

pub mod cipher;
pub mod config;
pub mod decrypt;
pub mod gonum;
pub mod gotime;
pub mod inspect;
pub mod keys;
pub mod metadata;
pub mod rules;
pub mod stores;
pub mod tree;
