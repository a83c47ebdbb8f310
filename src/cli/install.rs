//! `ksops install [--with-kustomize] DIR`: copies this binary (and optionally `kustomize`) into a
//! directory, for init containers of images that have no shell (KSOPS v4.5 semantics).
//! Everything is checked before anything is copied, so a failed install leaves DIR untouched.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cli::args::InstallArgs;
use crate::cli::error::{CliError, InstallError};
use crate::cli::io::note;
use crate::cli::kustomize::find_on_path;

/// Runs `ksops install`.
pub fn run(args: &InstallArgs) -> Result<(), CliError> {
    let copies = plan(args)?;
    for (from, to) in &copies {
        copy_executable(from, to)?;
    }
    Ok(())
}

/// Every copy to make, once every precondition holds: the destination is a writable directory,
/// kustomize is on PATH when asked for, and no file would be copied onto itself.
fn plan(args: &InstallArgs) -> Result<Vec<(PathBuf, PathBuf)>, InstallError> {
    let dir = &args.destination;
    let shown = dir.display().to_string();
    if !dir.is_dir() {
        return Err(InstallError::NotADirectory(shown));
    }
    let me = std::env::current_exe().map_err(InstallError::CurrentExe)?;
    let mut copies = vec![(me, dir.join("ksops"))];
    if args.with_kustomize {
        let kustomize = find_on_path("kustomize").ok_or(InstallError::NoKustomize)?;
        copies.push((kustomize, dir.join("kustomize")));
    }
    for (from, to) in &copies {
        if same_file(from, to) {
            return Err(InstallError::SameFile(to.display().to_string()));
        }
    }
    // A probe file shows the directory is writable before anything is replaced.
    let probe = dir.join(format!(".ksops-install-{}", std::process::id()));
    fs::write(&probe, b"")
        .and_then(|()| fs::remove_file(&probe))
        .map_err(|reason| InstallError::NotWritable { dir: shown, reason })?;
    Ok(copies)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Copies by reading and writing (no `cp`, no rename across filesystems), then marks the copy
/// executable (0755).
fn copy_executable(from: &Path, to: &Path) -> Result<(), InstallError> {
    let failed = |reason| InstallError::Copy {
        file: to.display().to_string(),
        reason,
    };
    fs::copy(from, to).map_err(failed)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).map_err(failed)?;
    note(&format!("installed {}", to.display()));
    Ok(())
}
