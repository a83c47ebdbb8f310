//! `ksops install [--with-kustomize] DIR`: copies this binary (and optionally `kustomize`) into a
//! directory, for init containers of images that have no shell (KSOPS v4.5 semantics).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cli::{CliError, find_on_path, note};

/// The flags of `ksops install`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallArgs {
    /// Where to copy the binaries.
    pub destination: PathBuf,
    /// Also copy the `kustomize` found on `PATH`.
    pub with_kustomize: bool,
}

/// Runs `ksops install`.
pub fn run(args: &InstallArgs) -> Result<(), CliError> {
    if !args.destination.is_dir() {
        return Err(CliError::Usage(format!(
            "install: the destination {} is not a directory",
            args.destination.display()
        )));
    }
    let me = std::env::current_exe().map_err(|source| CliError::Read {
        file: "the running ksops executable".into(),
        source,
    })?;
    copy_executable(&me, &args.destination.join("ksops"))?;
    if args.with_kustomize {
        let kustomize = find_on_path("kustomize").ok_or_else(|| {
            CliError::Usage("install --with-kustomize: no `kustomize` found on PATH".into())
        })?;
        copy_executable(&kustomize, &args.destination.join("kustomize"))?;
    }
    Ok(())
}

/// Copies by reading and writing (no `cp`, no rename across filesystems), then marks the copy
/// executable (0755).
fn copy_executable(from: &Path, to: &Path) -> Result<(), CliError> {
    let write_error = |source: io::Error| CliError::Install {
        file: to.display().to_string(),
        source,
    };
    fs::copy(from, to).map_err(write_error)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).map_err(write_error)?;
    note(&format!("installed {}", to.display()));
    Ok(())
}
