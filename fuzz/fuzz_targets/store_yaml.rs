//! The YAML store: every entry point (encrypted file, plain documents such as `.sops.yaml` and
//! generator configs, Kubernetes manifests) on arbitrary bytes, then emitting what parsed in
//! every output format, must never panic.
#![no_main]

use ksops::sops::Format;
use ksops::sops::{parse_manifests, parse_yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ksops_fuzz::parse_and_emit_everywhere(Format::Yaml, data);
    if let Ok(documents) = parse_yaml(data) {
        ksops_fuzz::emit_everywhere(&documents);
    }
    let _ = parse_manifests(data);
});
