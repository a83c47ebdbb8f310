//! The data key: the identities of each key type, unwrapping each master key's copy of the data
//! key, and Shamir key groups.
//!
//! - [`IdentitySources`]: what identity discovery reads (environment variables, `$HOME`), and
//!   [`SourceReport`]: what became of each source.
//! - [`Keyring`]: every identity those sources hold, loaded once per process.
//! - [`recover_data_key`]: unwraps a file's key groups with the keyring, combining Shamir
//!   shares when there are several groups; [`DataKeyError`] reads like sops' report
//!   ([`DataKeyFailure`]).
//!
//! Each key type ksops decrypts with is a folder here (`age/`, `pgp/`, `vault/`, `aws/`)
//! holding its identity types or settings, how they are loaded from the sources, and how they
//! unwrap a master key of that type. [`Keyring`] holds the loaded identities of each type and
//! is the one place that dispatches on [`MasterKey`]: a key type ksops cannot use (GCP KMS,
//! Azure Key Vault, HuaweiCloud KMS) is reported as not tried. A new type is a `MasterKey`
//! variant, a folder beside `age/` with the same shape, a field of [`Keyring`] and an arm of
//! its dispatch. Key services reached over the network (`vault/`, `aws/`) share the bounded
//! HTTP transport in `http.rs`; Vault transit fetches many files' data keys in one request
//! ([`Keyring::prefetch`]).
//!
//! [`MasterKey`]: crate::sops::metadata::MasterKey

mod age;
mod aws;
mod http;
mod identity;
mod keyring;
mod order;
mod pgp;
mod recover;
mod report;
mod shamir;
mod shlex;
mod sources;
#[cfg(test)]
mod testutil;
mod vault;

pub use identity::{PublicKey, TriedIdentity};
pub use keyring::Keyring;
pub use recover::{DataKeyError, recover_data_key};
pub use report::{DataKeyFailure, FailedKey};
pub use sources::{
    AwsSource, ContainerEndpoint, GpgSource, IdentitySources, SourceReport, SourceStatus,
    VaultSource, WebIdentity,
};
pub use vault::SOPS_HC_VAULT_ALLOWLIST;
