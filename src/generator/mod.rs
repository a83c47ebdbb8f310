//! The KSOPS generator: turns a `kind: ksops` config into Kubernetes manifests.
//!
//! - [`schema`]: the generator config, parsed strictly (unknown or misplaced fields are errors).
//! - [`envfile`]: `secretFrom[].envs` files, parsed with godotenv v1.5.1's semantics.
//! - [`secret`]: assembling one `secretFrom` entry into a Secret, with key validation.

pub mod envfile;
pub mod schema;
pub mod secret;
