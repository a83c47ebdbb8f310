//! The KSOPS generator: turns a `kind: ksops` config into Kubernetes manifests. It uses the SOPS
//! engine and knows nothing of the command line.
//!
//! The modules are private; what the layers above use is re-exported here, in one list:
//! - `schema`: the generator config, parsed strictly (unknown or misplaced fields are errors).
//! - `binding`: opt-in tenant binding to the destination namespace.
//! - `confine`: reading referenced files race-free beneath the kustomization root.
//! - `glob`: file patterns (`secrets/*.yaml`, `**`) in file lists, walked beneath the root.
//! - `envfile`: `secretFrom[].envs` files, parsed with godotenv v1.5.1's semantics.
//! - `secret`: assembling one `secretFrom` entry into a Secret, with key validation.
//! - `generate`: running a config: parallel decryption, Secrets, KSOPS's output framing (or the
//!   objects a KRM function returns).
//! - [`krm`]: the KRM function contract (`ResourceList` in and out), public as a module.
//! - `dry_run`: the generator's output without any key (placeholders for values); `redact`:
//!   decrypted output with every value shown as a keyed digest marker; `manifest`: which fields
//!   of a manifest both must leave alone.

// Running a generator config.
pub use generate::{
    DEFAULT_CONCURRENCY_LIMIT, Failure, GenerateError, Generated, ValueMode, generate,
    generate_objects,
};
pub use schema::{GeneratorConfig, GeneratorId, SchemaError};
// Where its files come from, and what binds its output.
pub use binding::{Binding, BindingError};
pub use confine::{ConfineError, Root, RootPolicy};
pub use glob::{ExpandError, GlobError, expand_config, expand_pattern, is_pattern};
// What becomes of the values without a key, or as markers.
pub use dry_run::DryRunError;
pub use redact::{NoKeyError, Redactor};
pub use secret::SecretError;
// `secretFrom[].envs` files.
pub use envfile::{EnvError, parse_env};

mod binding;
mod confine;
mod dry_run;
mod envfile;
mod generate;
mod glob;
pub mod krm;
mod manifest;
mod redact;
mod schema;
mod secret;
