//! ksops: a kustomize generator that decrypts SOPS files into Kubernetes manifests.
//!
//! The crate is layered; each layer knows nothing of the ones above it:
//! - [`sops`]: the SOPS engine (stores, value cipher, MAC, data key, age identities, PGP keys
//!   through `gpg`, Vault / OpenBao transit keys over HTTP). It is a faithful reimplementation of `sops decrypt` 3.11 and knows nothing
//!   of Kubernetes.
//! - [`generator`]: the KSOPS generator (config schema, confined file access, dotenv parsing,
//!   Secret assembly), built on [`sops`]; it knows nothing of the command line.
//! - [`check`]: `ksops check`, guardrails for CI over a whole repository (plaintext Secrets,
//!   unencrypted or missing generator files, encrypted files nothing reads, stale recipients),
//!   built on [`generator`] and [`sops`]; it knows nothing of the command line.
//! - [`cli`]: command-line flags and commands built on the layers below; `main.rs` only
//!   dispatches to it and maps errors to exit codes.
//!
//! Beside them, [`limits`] holds the caps on untrusted input that every layer applies.
//!
//! Each layer's modules are private: its public API is the one list of re-exports at the top of
//! its `mod.rs` (`src/sops/mod.rs`, `src/generator/mod.rs`, `src/check/mod.rs`,
//! `src/cli/mod.rs`), and that is all the layers above, the fuzz targets and the benchmarks use.
//! Where a new piece goes: a key source beside `src/sops/keys/age/`, `pgp/` and `vault/` (dispatched in
//! `keys/keyring.rs`), a file format beside `src/sops/stores/json/`, a guardrail as a rule in
//! `src/check/findings.rs`, a command as a spec in `src/cli/args.rs` and a module in `src/cli/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod cli;
pub mod generator;
pub mod limits;
pub mod sops;
#[cfg(test)]
mod testing;
