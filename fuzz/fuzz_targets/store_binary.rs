//! The binary store: parsing arbitrary bytes as an encrypted file, then emitting what parsed in
//! every output format, must never panic.
#![no_main]

use ksops::sops::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ksops_fuzz::parse_and_emit_everywhere(Format::Binary, data));
