//! A decrypted `secretFrom[].envs` file, parsed with godotenv's semantics (quotes, escapes,
//! `export`, variable expansion).
#![no_main]

use ksops::generator::parse_env;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_env(text);
    }
});
