//! The data key: age identities, unwrapping each recipient's copy, and Shamir key groups.
//!
//! - [`IdentitySources`]: what identity discovery reads (environment variables, `$HOME`).
//! - [`Keyring`]: every identity those sources hold, loaded once per process.
//! - [`recover_data_key`]: unwraps a file's key groups with the keyring, combining Shamir
//!   shares when there are several groups; [`DataKeyError`] reads like sops' report.

mod identities;
mod recover;
mod report;
mod shamir;
mod shlex;
mod sources;

pub use identities::{Keyring, PublicKey, SourceReport, SourceStatus, TriedIdentity};
pub use recover::{DataKeyError, recover_data_key};
pub use report::{DataKeyFailure, FailedKey};
pub use sources::IdentitySources;
#[cfg(test)]
mod testutil;
