//! The SOPS engine: a faithful reimplementation of `sops decrypt` 3.11 for age, PGP, AWS KMS
//! and HashiCorp Vault / OpenBao transit keys.
//!
//! It knows nothing of Kubernetes. Layout, bottom up (the modules are private; what the layers
//! above use is re-exported here, in one list):
//! - `tree`: the document model; `stores`: parsing and emitting each file format (`stores/yaml`,
//!   `json`, `dotenv`, `ini`, `binary`);
//! - `gonum`, `gotime`: Go-compatible number and time formatting that output and MAC depend on;
//! - `cipher`: the `ENC[…]` value format, the GCM primitive and Go value types; `rules`: which
//!   leaves are encrypted; `config`: `.sops.yaml`;
//! - `metadata`: the `sops` section; `keys`: identities and the data key, one folder per key
//!   type (`keys/age`, `keys/pgp`, `keys/vault`, `keys/aws`);
//! - `error`: why a file could not be read or decrypted, and which kind of failure that is;
//! - `inspect`: reading a file without a key, and the one walk over its leaves;
//! - `decrypt`: decrypting values, the MAC and the `sops decrypt` pipeline.
//!
//! Many error messages open with sops' own words (`Error unmarshalling file`, `MAC mismatch`,
//! `sops metadata not found`, …) and add ours after them: users and scripts match on sops'
//! messages, and the differential and tamper tests hold this engine's behaviour, failures
//! included, to the sops binary's.

// The engine's public API, in one list: everything the generator, `ksops check`, the command
// line, the fuzz targets and the benchmarks use. The modules themselves are private.

// Decrypting a file, and why it failed.
pub use decrypt::{DecryptOptions, Decrypted, decrypt, decrypt_documents};
pub use error::{DecryptError, FailureKind};
// Reading an encrypted file without a key, and the one walk over its leaves.
pub use inspect::{EncryptedLeaf, Inspected, Leaf, LeafContent, inspect, visit_leaves};
#[cfg(test)]
pub(crate) use inspect::{Position, walk};
// Identities and the data key.
pub use keys::{
    AwsSource, ContainerEndpoint, DataKeyError, DataKeyFailure, FailedKey, GpgSource,
    IdentitySources, Keyring, PublicKey, SOPS_HC_VAULT_ALLOWLIST, SourceReport, SourceStatus,
    TriedIdentity, VaultSource, WebIdentity, recover_data_key,
};
// The document model and the stores.
pub use gotime::Timestamp;
/// Plain YAML and JSON with sops' semantics, for what is not an encrypted file: generator
/// configs, kustomizations, Kubernetes manifests passed through (`parse_manifests` keeps plain
/// timestamps as the text they were written as), ResourceLists and reports.
pub use stores::json::{emit as emit_json, parse as parse_json};
pub use stores::yaml::{emit as emit_yaml, parse_documents as parse_yaml, parse_manifests};
pub use stores::{
    EmitOptions, Format, MetadataStyle, ParsedFile, StoreError, emit as emit_store,
    parse as parse_store,
};
pub use tree::{Comment, Document, Entry, Item, Mapping, Segment, Value};
// Values, rules and metadata.
pub use cipher::{CipherError, DataKey, ValueCipher, ValueType, is_encrypted};
pub use config::{
    CONFIG_FILE_NAME, ConfigError, CreationRule, RuleKey, RuleProblem, find as find_config,
    load_emit_options, matching_rule, parse_creation_rules,
};
pub use gonum::format_f as format_go_float;
pub use metadata::{KeyGroup, KmsKey, MasterKey, Metadata, MetadataError};
pub use rules::{EncryptionRule, GoRegex};

mod cipher;
mod config;
mod decrypt;
mod error;
mod gonum;
mod gotime;
mod inspect;
mod keys;
mod metadata;
mod rules;
mod stores;
mod tree;
