//! The KSOPS generator: turns a `kind: ksops` config into Kubernetes manifests. It uses the SOPS
//! engine and knows nothing of the command line.
//!
//! - [`schema`]: the generator config, parsed strictly (unknown or misplaced fields are errors).
//! - [`binding`]: opt-in tenant binding to the destination namespace.
//! - [`confine`]: reading referenced files race-free beneath the kustomization root.
//! - [`envfile`]: `secretFrom[].envs` files, parsed with godotenv v1.5.1's semantics.
//! - [`secret`]: assembling one `secretFrom` entry into a Secret, with key validation.
//! - [`generate`]: running a config: parallel decryption, Secrets, KSOPS's output framing.
//! - [`krm`]: the KRM function contract (`ResourceList` in and out).
//! - [`dry_run`]: the generator's output without any key (placeholders for values);
//!   [`redact`]: decrypted output with every value shown as a keyed digest marker;
//!   [`manifest`]: which fields of a manifest both must leave alone.

pub mod binding;
pub mod confine;
pub mod dry_run;
pub mod envfile;
pub mod generate;
pub mod krm;
pub mod manifest;
pub mod redact;
pub mod schema;
pub mod secret;
