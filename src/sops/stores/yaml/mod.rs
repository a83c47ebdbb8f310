//! The YAML store: go-yaml v3 parsing and emitting, as sops 3.11 uses it.

mod breaks;
mod emit;
#[cfg(test)]
mod emit_cases;
mod emit_machine;
mod emit_scalar;
mod parse;
mod resolve;

pub use emit::emit;
pub use parse::{parse, parse_documents, parse_manifests};
