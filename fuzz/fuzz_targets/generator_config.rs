//! A `kind: ksops` generator config, as read from the repository by the legacy plugin.
#![no_main]

use ksops::generator::GeneratorConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(error) = GeneratorConfig::parse(data) {
        let _ = error.to_string();
    }
});
