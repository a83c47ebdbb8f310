//! Command-line behaviour that kustomize, init containers and people rely on: help, version,
//! `install`, and usage errors that are never taken for generator configs.

use crate::support;

use std::os::unix::fs::PermissionsExt;

use crate::support::TempDir;

fn ksops(args: &[&str]) -> support::RunOutput {
    let home = TempDir::new("cli-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.args(args);
    support::run(&mut cmd).expect("run ksops")
}

#[test]
fn help_and_version_go_to_stdout() {
    let help = ksops(&["--help"]);
    assert!(help.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("ksops decrypt") && text.contains("KSOPS_CONCURRENCY_LIMIT"));
    let version = ksops(&["--version"]);
    assert!(version.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("ksops "));
}

#[test]
fn install_copies_an_executable() {
    let dir = TempDir::new("cli-install");
    let out = ksops(&["install", dir.path().to_str().expect("utf8 path")]);
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed = dir.path().join("ksops");
    let mode = std::fs::metadata(&installed)
        .expect("installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        std::fs::read(&installed).expect("read copy"),
        std::fs::read(support::ksops_bin()).expect("read original")
    );
    let missing = ksops(&["install"]);
    assert!(!missing.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("install: DIR is missing"));
}

#[test]
fn subcommands_and_flags_are_not_configs() {
    for args in [&["--frobnicate"][..], &["decrypt"], &["a.yaml", "b.yaml"]] {
        let out = ksops(args);
        assert!(!out.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
