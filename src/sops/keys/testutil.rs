//! Helpers shared by this module's tests: fixtures, external tools, scratch sources.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::sources::{IdentitySources, SourceReport, SourceStatus};

/// The test identities under `tests/fixtures/vectors/` (TEST ONLY keys).
pub const IDENTITIES: [&str; 3] = [
    "age-test-identity.txt",
    "age-test-identity-2.txt",
    "age-test-identity-3.txt",
];

/// The recipients of [`IDENTITIES`], in the same order.
pub const RECIPIENTS: [&str; 3] = [
    "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry",
    "age1upycxczex8fsvsa0t4rc9y8ghmjf5ku2shffu7zxrpvz49hkcydqmv7xla",
    "age1qskwq6r7nvpy8fder52txszzlt48gw29e902tcu8qh9rvht62vzsmsa3w6",
];

/// A file under `tests/fixtures/vectors/`.
pub fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vectors")
        .join(name)
}

/// Reads a fixture as text.
pub fn read_vector(name: &str) -> String {
    std::fs::read_to_string(vector(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// The armored `enc` blobs of a sops YAML file, in file order (indentation removed).
pub fn enc_blobs(sops_yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in sops_yaml.lines() {
        let t = line.trim();
        if t == "-----BEGIN AGE ENCRYPTED FILE-----" {
            current = Some(String::new());
        }
        if let Some(buf) = current.as_mut() {
            buf.push_str(t);
            buf.push('\n');
        }
        if t == "-----END AGE ENCRYPTED FILE-----" {
            out.extend(current.take());
        }
    }
    out
}

/// Whether an external tool is on `$PATH`: a missing tool fails the test unless the opt-in
/// [`crate::testing::SKIP_VAR`] is set (see [`crate::testing::require_tool`]).
pub fn have_tool(name: &str) -> bool {
    crate::testing::require_tool(name).is_some()
}

/// Runs a command, panicking with its stderr on failure; returns stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Encrypts `payload` to a recipients file with the `age` CLI, armored (as sops writes `enc`).
pub fn age_encrypt_to(recipients_file: &Path, payload: &[u8], dir: &Path) -> String {
    let input = dir.join("payload.bin");
    std::fs::write(&input, payload).unwrap_or_else(|e| panic!("{e}"));
    let out = run(Command::new("age")
        .arg("-a")
        .arg("-R")
        .arg(recipients_file)
        .arg(&input));
    String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
}

/// Sources with nothing set and no terminal: the base every test starts from.
pub fn empty_sources() -> IdentitySources {
    IdentitySources::default()
}

/// A scratch directory for one test, outside the system temporary directory.
pub fn scratch() -> tempfile::TempDir {
    crate::testing::scratch_dir("unit")
}

/// The status of the source named `name`, failing the test when there is no such report.
pub fn status<'a>(reports: &'a [SourceReport], name: &str) -> &'a SourceStatus {
    match reports.iter().find(|r| r.name == name) {
        Some(r) => &r.status,
        None => panic!("no report for {name}: {reports:?}"),
    }
}
