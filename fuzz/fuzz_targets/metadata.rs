//! The `sops` metadata section: read from a file of the store the first byte picks, then
//! decoded (key groups, rules and their regexes, timestamps, version checks).
#![no_main]

use ksops::sops::Metadata;
use ksops::sops::parse_store;
use ksops_fuzz::{format_from, split_selector};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, file) = split_selector(data);
    let Ok(parsed) = parse_store(format_from(selector), file) else {
        return;
    };
    if let Some(tree) = parsed.metadata {
        let _ = Metadata::from_tree(&tree, parsed.metadata_style);
    }
});
