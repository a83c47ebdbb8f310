//! A KRM `ResourceList` on standard input: the whole function with settings that fail, then the
//! list read, every config validated, and written back (success and failure forms).
#![no_main]

use ksops::generator::GeneratorConfig;
use ksops::generator::krm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = krm::respond(data, || {
        Err::<krm::Setup, _>(std::io::Error::other("no settings in a fuzz run"))
    });
    let Ok(list) = krm::read(data) else {
        return;
    };
    for config in &list.configs {
        let _ = GeneratorConfig::from_value(config);
    }
    let failure = [krm::ErrorResult {
        message: "a failure".into(),
        file: Some("file.yaml".into()),
    }];
    let _ = krm::write(
        list.passthrough.clone(),
        list.function_config.clone(),
        &failure,
    );
    let _ = krm::write(list.passthrough, list.function_config, &[]);
});
