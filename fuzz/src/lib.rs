//! Helpers shared by the fuzz targets: choosing formats from input bytes, a fixed TEST ONLY
//! keyring, and the parse-then-emit round trip every store must survive.
//!
//! Every target asserts only what must hold for any input: no panic, and bounded time and
//! memory (libFuzzer's `-timeout` and `-rss_limit_mb` enforce the bounds).

use std::sync::OnceLock;

use ksops::sops::{EmitOptions, Format};
use ksops::sops::{IdentitySources, Keyring};
use ksops::sops::{emit_store, parse_store};
use zeroize::Zeroizing;

/// Every store, in a fixed order so one input byte can pick one.
pub const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

/// The format a selector byte picks (scripts/fuzz-corpus.sh writes the index of the file's
/// format in [`FORMATS`]).
pub fn format_from(selector: u8) -> Format {
    FORMATS[usize::from(selector) % FORMATS.len()]
}

/// Splits a selector byte off the input (an empty input selects 0).
pub fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, data),
    }
}

/// TEST ONLY identities: the throwaway keys the test fixtures are encrypted to, so that seeds
/// taken from the fixtures reach the value walk and the MAC instead of stopping at the data key.
const TEST_ONLY_IDENTITIES: &str = concat!(
    include_str!("../../tests/fixtures/vectors/age-test-identity.txt"),
    "\n",
    include_str!("../../tests/fixtures/generated/keys/a.txt"),
);

/// A keyring holding only the TEST ONLY identities (no environment, no `$HOME`, no terminal).
pub fn test_keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        Keyring::load(&IdentitySources {
            age_key: Some(Zeroizing::new(TEST_ONLY_IDENTITIES.to_owned())),
            ..IdentitySources::default()
        })
    })
}

/// Parses `data` as `format` and, when that succeeds, emits the documents in every format
/// (what `--output-type` allows). Errors are expected; panics are the findings.
pub fn parse_and_emit_everywhere(format: Format, data: &[u8]) {
    let Ok(parsed) = parse_store(format, data) else {
        return;
    };
    emit_everywhere(&parsed.documents);
}

/// Emits documents in every output format with default and unusual indents.
pub fn emit_everywhere(documents: &[ksops::sops::Document]) {
    for output in FORMATS {
        let _ = emit_store(output, documents, &EmitOptions::default());
    }
    let unusual = EmitOptions {
        yaml_indent: Some(2),
        json_indent: Some(0),
    };
    let _ = emit_store(Format::Yaml, documents, &unusual);
    let _ = emit_store(Format::Json, documents, &unusual);
}
