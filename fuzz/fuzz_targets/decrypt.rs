//! The whole `sops decrypt` pipeline (parse, metadata, data key, value walk, MAC, emit) with a
//! fixed TEST ONLY keyring. The first byte picks the input and output stores and
//! `--ignore-mac`; the rest is the file. Any input must end in output or an error.
#![no_main]

use ksops::sops::EmitOptions;
use ksops::sops::{DecryptOptions, decrypt};
use ksops_fuzz::{format_from, split_selector, test_keyring};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, file) = split_selector(data);
    let options = DecryptOptions {
        input: format_from(selector & 0x07),
        output: format_from((selector >> 3) & 0x07),
        ignore_mac: selector & 0x40 != 0,
        emit: EmitOptions::default(),
    };
    if let Err(error) = decrypt(file, &options, test_keyring()) {
        // Every error has a kind and a message.
        let _ = (error.kind(), error.to_string());
    }
});
