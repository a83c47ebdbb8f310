//! A KRM `ResourceList` on standard input: read, every config validated, and the list written
//! back (success and failure forms), as the KRM function does.
#![no_main]

use ksops::generator::krm;
use ksops::generator::schema::GeneratorConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = krm::read(data) else {
        return;
    };
    for config in &list.configs {
        let _ = GeneratorConfig::from_value(config);
    }
    let failure = Some(("a failure", Some("file.yaml")));
    let _ = krm::write(
        list.passthrough.clone(),
        list.function_config.clone(),
        failure,
    );
    let _ = krm::write(list.passthrough, list.function_config, None);
});
