//! Confined file access: reading the files a generator config references without ever leaving
//! the allowed root.
//!
//! On a shared Argo CD repo-server every tenant's checkout sits next to the others, and the paths
//! we read come from repository-controlled YAML. KSOPS reads them with a plain `os.ReadFile`, so
//! `../../other-app/secret.enc.yaml`, an absolute path or a symlink committed to the repo reads
//! another tenant's files (and decrypts them with the shared key). [`Root`] closes that hole the
//! way kustomize's `LoadRestrictionsRootOnly` does for its own files, but without its
//! check-then-open race:
//!
//! - the root directory is opened **once**, as a handle, when the generator starts;
//! - every reference is resolved **beneath that handle** by `cap-std` (Linux `openat2` with
//!   `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, or elsewhere a component-by-component walk holding
//!   `O_NOFOLLOW` directory handles). Symlinks are followed, but the kernel (or the walk) refuses
//!   any step that would leave the root, so swapping a path component for a symlink after some
//!   check cannot redirect the open: there is no separate check;
//! - the opened handle is then `fstat`ed: only regular files are read, and only up to
//!   [`Limits::max_file_bytes`], with a bounded reader so a growing file cannot exceed it.
//!
//! Errors name the reference as written in the config and the reason, never an absolute path
//! (the checkout path on a repo-server reveals other tenants' layout) and never file contents.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::limits::{Limits, read_capped};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

/// How far file references may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RootPolicy {
    /// Default: the kustomization root (the directory kustomize runs us in).
    #[default]
    Kustomization,
    /// Opt-in: the enclosing git work tree of the kustomization root (the nearest ancestor holding
    /// a `.git` directory or file), never further. [`Root::open`] fails if there is none.
    ///
    /// "Nearest" matters for tenant isolation: a `.git` inside the checkout can only narrow the
    /// root, and the checkout's own `.git` stops the search before sibling checkouts.
    GitWorkTree,
    /// Opt-out for local use only: any path the process can read (absolute and `..` allowed).
    /// Regular files only and the size cap still apply.
    Unconfined,
    /// An explicit outer bound handed down by `ksops argocd generate` (the whole checkout): the
    /// kustomization directory must lie inside it and files may be anywhere inside it. Opened with
    /// [`Root::open_within`], which takes the bound; [`Root::open`] refuses this policy.
    Checkout,
}

impl RootPolicy {
    /// How the root is named in error messages (never by its absolute path).
    fn describe(self) -> &'static str {
        match self {
            RootPolicy::Kustomization => "the kustomization directory",
            RootPolicy::GitWorkTree => "the enclosing git work tree",
            RootPolicy::Unconfined => "the file system",
            RootPolicy::Checkout => "the checkout",
        }
    }
}

/// Why a root could not be opened or a file could not be read.
///
/// File errors carry the reference exactly as written in the config (shown quoted, so control
/// characters cannot forge extra log lines) and never an absolute path or file contents.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// The kustomization directory could not be opened (missing, not a directory, no permission).
    #[error("cannot open the kustomization directory: {cause}")]
    KustomizationDir {
        /// The underlying error (it names no path).
        cause: io::Error,
    },
    /// [`RootPolicy::GitWorkTree`] was asked for but no ancestor of the kustomization directory
    /// holds a `.git`.
    #[error(
        "no enclosing git work tree: neither the kustomization directory nor any parent holds a .git"
    )]
    NoGitWorkTree,
    /// Looking for the enclosing git work tree failed (e.g. an ancestor could not be searched).
    /// We fail rather than skip that ancestor, which could widen the root past the repository.
    #[error("cannot determine the enclosing git work tree: {cause}")]
    GitWorkTree {
        /// The underlying error (it names no path).
        cause: io::Error,
    },
    /// [`RootPolicy::Checkout`] was passed to [`Root::open`], which has no bound to open.
    #[error("the checkout policy needs its bound (internal error)")]
    NoBound,
    /// The outer bound could not be opened, or the kustomization directory is not inside it.
    #[error("cannot confine to the checkout: {reason}")]
    Bound {
        /// Why (names no path).
        reason: String,
    },
    /// The reference is empty.
    #[error("empty file reference")]
    Empty,
    /// The reference is an absolute path, which confined policies refuse.
    #[error(
        "{reference:?}: absolute paths are not allowed; name the file relative to the kustomization directory"
    )]
    Absolute {
        /// The reference as written.
        reference: String,
    },
    /// The reference, after resolving `..` and symlinks, leads outside the allowed root.
    #[error("{reference:?}: the path leads outside {root} (through `..` or a symlink)")]
    Escapes {
        /// The reference as written.
        reference: String,
        /// How the root is described (e.g. "the kustomization directory").
        root: &'static str,
    },
    /// The file does not exist.
    #[error("{reference:?}: file not found")]
    NotFound {
        /// The reference as written.
        reference: String,
    },
    /// The reference names something other than a regular file.
    #[error("{reference:?}: not a regular file ({kind})")]
    NotRegularFile {
        /// The reference as written.
        reference: String,
        /// What it is instead, e.g. "a directory", "a FIFO".
        kind: &'static str,
    },
    /// The file is larger than [`Limits::max_file_bytes`].
    #[error("{reference:?}: file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The reference as written.
        reference: String,
        /// The limit in force.
        limit: u64,
    },
    /// Reading the file brings the bytes read through the root past [`Limits::max_total_bytes`].
    #[error(
        "{reference:?}: reading it brings the files read in this run past the limit of {limit} \
         bytes for all files together; split the files across generators or kustomizations"
    )]
    TotalTooLarge {
        /// The reference as written.
        reference: String,
        /// The limit in force.
        limit: u64,
    },
    /// Any other I/O failure (permission denied, symlink loop, read error…).
    #[error("{reference:?}: {cause}")]
    Io {
        /// The reference as written.
        reference: String,
        /// The underlying error (it names no path).
        cause: io::Error,
    },
}

/// An opened root directory: every file read goes through it.
///
/// Open it once per generator run with [`Root::open`]; [`Root::read`] can then be called any
/// number of times (also from several threads: it is `Send + Sync`).
pub struct Root {
    access: Access,
    policy: RootPolicy,
    limits: Limits,
    /// Bytes read so far, against [`Limits::max_total_bytes`].
    read_total: AtomicU64,
}

/// How [`Root::read`] reaches files.
enum Access {
    /// Beneath a directory handle. `prefix` is the kustomization directory relative to the root
    /// (empty for [`RootPolicy::Kustomization`]); it is made of real directories (it comes from a
    /// canonical path) and references are resolved after it, so `..` can climb out of the
    /// kustomization directory but never out of `dir`.
    Confined { dir: Dir, prefix: PathBuf },
    /// By ambient path, relative references taken from `base` (the kustomization directory).
    Unconfined { base: PathBuf },
}

// Hand-written so that debug output never shows the checkout's absolute path.
impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Root")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Root {
    /// Opens the root directory once (a directory handle), according to the policy.
    ///
    /// `kustomization_dir` is the directory relative references are resolved from (kustomize runs
    /// us there, so usually `.`). For [`RootPolicy::GitWorkTree`] the root is the nearest ancestor
    /// (or the directory itself) holding a `.git` directory or file.
    pub fn open(
        kustomization_dir: &Path,
        policy: RootPolicy,
        limits: Limits,
    ) -> Result<Root, ConfineError> {
        let kustomization = Dir::open_ambient_dir(kustomization_dir, ambient_authority())
            .map_err(|source| ConfineError::KustomizationDir { cause: source })?;
        let access = match policy {
            RootPolicy::Kustomization => Access::Confined {
                dir: kustomization,
                prefix: PathBuf::new(),
            },
            RootPolicy::GitWorkTree => {
                let (dir, prefix) = open_git_work_tree(kustomization_dir, &kustomization)?;
                Access::Confined { dir, prefix }
            }
            RootPolicy::Checkout => return Err(ConfineError::NoBound),
            RootPolicy::Unconfined => Access::Unconfined {
                // Absolute so that later changes of the process's cwd do not move the base.
                base: std::path::absolute(kustomization_dir)
                    .map_err(|source| ConfineError::KustomizationDir { cause: source })?,
            },
        };
        Ok(Root {
            access,
            policy,
            limits,
            read_total: AtomicU64::new(0),
        })
    }

    /// Opens `bound` (an absolute directory, e.g. the Argo CD checkout) as the root, with
    /// references resolved from `kustomization_dir`, which must lie inside it (after resolving
    /// symlinks). This is [`RootPolicy::Checkout`]: no setting can widen it.
    pub fn open_within(
        kustomization_dir: &Path,
        bound: &Path,
        limits: Limits,
    ) -> Result<Root, ConfineError> {
        let bound_error = |reason: &str| ConfineError::Bound {
            reason: reason.to_owned(),
        };
        if !bound.is_absolute() {
            return Err(bound_error("the bound is not an absolute path"));
        }
        let kustomization = Dir::open_ambient_dir(kustomization_dir, ambient_authority())
            .map_err(|source| ConfineError::KustomizationDir { cause: source })?;
        let canonical = std::fs::canonicalize(kustomization_dir)
            .map_err(|source| ConfineError::KustomizationDir { cause: source })?;
        let bound = std::fs::canonicalize(bound)
            .map_err(|_| bound_error("the checkout directory cannot be opened"))?;
        let prefix = canonical
            .strip_prefix(&bound)
            .map_err(|_| bound_error("the kustomization directory is not inside the checkout"))?
            .to_path_buf();
        let dir = Dir::open_ambient_dir(&bound, ambient_authority())
            .map_err(|_| bound_error("the checkout directory cannot be opened"))?;
        // As for the git work tree: make sure the prefix, through the bound's handle, still names
        // the directory we were started in (a rename between the steps would otherwise shift
        // what "relative to the kustomization directory" means; containment holds regardless).
        let through = if prefix.as_os_str().is_empty() {
            Path::new(".")
        } else {
            prefix.as_path()
        };
        let same = dir
            .open_dir(through)
            .and_then(|via| same_dir(&via, &kustomization))
            .map_err(|_| bound_error("the kustomization directory is not inside the checkout"))?;
        if !same {
            return Err(bound_error(
                "the kustomization directory moved while it was being opened",
            ));
        }
        Ok(Root {
            access: Access::Confined { dir, prefix },
            policy: RootPolicy::Checkout,
            limits,
            read_total: AtomicU64::new(0),
        })
    }

    /// The policy this root was opened with.
    pub fn policy(&self) -> RootPolicy {
        self.policy
    }

    /// Reads a file named relative to the kustomization dir, race-free beneath the root.
    ///
    /// For confined policies the reference must be relative; `..` and symlinks are followed but
    /// the fully resolved file must lie beneath the root (a `..` that leaves the root even
    /// momentarily, as in `../root-name/x`, is refused). Only regular files up to
    /// [`Limits::max_file_bytes`] are read; FIFOs and devices are refused without blocking.
    pub fn read(&self, reference: &str) -> Result<Vec<u8>, ConfineError> {
        if reference.is_empty() {
            return Err(ConfineError::Empty);
        }
        let path = Path::new(reference);
        let file = match &self.access {
            Access::Confined { dir, prefix } => {
                // `has_root` also catches Windows' `\x` (rooted but not absolute).
                if path.is_absolute() || path.has_root() {
                    return Err(ConfineError::Absolute {
                        reference: reference.to_owned(),
                    });
                }
                let full = prefix.join(path);
                dir.open_with(&full, &confined_open_options())
                    .map(cap_std::fs::File::into_std)
                    .map_err(|err| self.open_error(reference, err))?
            }
            Access::Unconfined { base } => ambient_open_options()
                .open(base.join(path))
                .map_err(|err| self.open_error(reference, err))?,
        };
        let bytes = read_regular_file(&file, reference, self.limits)?;
        let len = bytes.len() as u64;
        let before = self.read_total.fetch_add(len, Ordering::Relaxed);
        if before.saturating_add(len) > self.limits.max_total_bytes {
            return Err(ConfineError::TotalTooLarge {
                reference: reference.to_owned(),
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(bytes)
    }

    /// Whether something exists under the name `reference` (resolved like [`Root::read`];
    /// a name leading outside the root does not exist).
    pub fn exists(&self, reference: &str) -> bool {
        let path = Path::new(reference);
        match &self.access {
            Access::Confined { dir, prefix } => {
                !(path.is_absolute() || path.has_root()) && dir.metadata(prefix.join(path)).is_ok()
            }
            Access::Unconfined { base } => std::fs::metadata(base.join(path)).is_ok(),
        }
    }

    /// A handle on the kustomization directory, from which pattern walks start: beneath the
    /// root's handle for confined policies.
    pub fn kustomization_dir(&self) -> Result<Dir, ConfineError> {
        let opened = match &self.access {
            Access::Confined { dir, prefix } if prefix.as_os_str().is_empty() => dir.try_clone(),
            Access::Confined { dir, prefix } => dir.open_dir(prefix),
            Access::Unconfined { base } => Dir::open_ambient_dir(base, ambient_authority()),
        };
        opened.map_err(|cause| ConfineError::KustomizationDir { cause })
    }

    /// Maps an error from opening `reference` to a [`ConfineError`].
    fn open_error(&self, reference: &str, err: io::Error) -> ConfineError {
        let reference = reference.to_owned();
        if is_escape_attempt(&err) {
            return ConfineError::Escapes {
                reference,
                root: self.policy.describe(),
            };
        }
        if err.kind() == io::ErrorKind::NotFound {
            return ConfineError::NotFound { reference };
        }
        if is_special_file_error(&err) {
            return ConfineError::NotRegularFile {
                reference,
                kind: "a socket or device",
            };
        }
        ConfineError::Io {
            reference,
            cause: err,
        }
    }
}

/// Finds the nearest ancestor of the kustomization directory holding `.git`, opens it, and
/// returns its handle with the kustomization directory's path relative to it.
fn open_git_work_tree(
    kustomization_dir: &Path,
    kustomization: &Dir,
) -> Result<(Dir, PathBuf), ConfineError> {
    // The search goes by path (a directory handle cannot be asked for its parent without leaving
    // the capability model); the result is checked against the handle opened first, below.
    let canonical = std::fs::canonicalize(kustomization_dir)
        .map_err(|source| ConfineError::KustomizationDir { cause: source })?;
    let mut found = None;
    for ancestor in canonical.ancestors() {
        match std::fs::metadata(ancestor.join(".git")) {
            Ok(meta) if meta.is_dir() || meta.is_file() => {
                found = Some(ancestor);
                break;
            }
            // Something else named .git (a FIFO…) is not a work tree marker; keep looking.
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) if err.raw_os_error() == not_a_directory_errno() => {}
            Err(source) => return Err(ConfineError::GitWorkTree { cause: source }),
        }
    }
    let root_path = found.ok_or(ConfineError::NoGitWorkTree)?;
    let prefix = canonical
        .strip_prefix(root_path)
        .map_err(|_| ConfineError::GitWorkTree {
            cause: io::Error::other("the kustomization directory is not below the work tree"),
        })?
        .to_path_buf();
    let root = Dir::open_ambient_dir(root_path, ambient_authority())
        .map_err(|source| ConfineError::GitWorkTree { cause: source })?;

    // The path walk above and the opens are separate steps, so make sure that, through the root
    // handle, the prefix still names the directory we were started in. Containment does not
    // depend on this (every read stays beneath `root` regardless); it keeps "relative to the
    // kustomization directory" true.
    let through_root = if prefix.as_os_str().is_empty() {
        Path::new(".")
    } else {
        prefix.as_path()
    };
    let via_root = root
        .open_dir(through_root)
        .map_err(|source| ConfineError::GitWorkTree { cause: source })?;
    if !same_dir(&via_root, kustomization)
        .map_err(|source| ConfineError::GitWorkTree { cause: source })?
    {
        return Err(ConfineError::GitWorkTree {
            cause: io::Error::other("the kustomization directory moved while it was being opened"),
        });
    }
    Ok((root, prefix))
}

/// Whether two directory handles are the same directory (same device and inode).
#[cfg(unix)]
fn same_dir(a: &Dir, b: &Dir) -> io::Result<bool> {
    use cap_std::fs::MetadataExt;
    let (a, b) = (a.dir_metadata()?, b.dir_metadata()?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// Without a portable file identity, trust the path walk (containment does not depend on it).
#[cfg(not(unix))]
fn same_dir(_a: &Dir, _b: &Dir) -> io::Result<bool> {
    Ok(true)
}

/// The errno for "a path component is not a directory", which the `.git` probe treats as absent.
fn not_a_directory_errno() -> Option<i32> {
    #[cfg(unix)]
    {
        Some(rustix::io::Errno::NOTDIR.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Flags for opening an untrusted reference: read-only, never blocking (a FIFO would otherwise
/// wait for a writer, hanging the build until Argo's timeout), never acquiring a controlling
/// terminal. The file type is checked on the handle afterwards.
#[cfg(unix)]
fn untrusted_open_flags() -> i32 {
    use rustix::fs::OFlags;
    // OFlags holds the C `int` flag values as unsigned bits; `open` takes them as `int`.
    (OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32
}

/// Open options for [`Access::Confined`]. `cap-std` follows symlinks but only beneath the root.
fn confined_open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        options.custom_flags(untrusted_open_flags());
    }
    options
}

/// Open options for [`Access::Unconfined`]: same flags, ambient paths.
fn ambient_open_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(untrusted_open_flags());
    }
    options
}

/// Whether `cap-std` refused the open because the path would leave the root.
///
/// `cap-std` reports every escape (a `..` above the root, an absolute path or symlink, a symlink
/// leading out, and `openat2`'s `EXDEV`) as one synthetic `PermissionDenied` error with no OS error
/// code, whereas a real `EACCES`/`EPERM` always carries its errno. Misreading one for the other
/// would only change the message: the open has failed either way. The tests pin this mapping, so
/// a `cap-std` upgrade that changes it is caught.
fn is_escape_attempt(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied && err.raw_os_error().is_none()
}

/// Whether opening failed because the name is a socket or a device without a driver (`ENXIO`):
/// both are "not a regular file".
fn is_special_file_error(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        err.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
    }
}

/// Checks the opened handle is a regular file within the size cap, then reads it (bounded).
fn read_regular_file(
    file: &std::fs::File,
    reference: &str,
    limits: Limits,
) -> Result<Vec<u8>, ConfineError> {
    let io_error = |source| ConfineError::Io {
        reference: reference.to_owned(),
        cause: source,
    };
    // fstat on the handle we read from: no window for the name to change in between.
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(ConfineError::NotRegularFile {
            reference: reference.to_owned(),
            kind: describe_file_type(&meta.file_type()),
        });
    }
    let too_large = || ConfineError::TooLarge {
        reference: reference.to_owned(),
        limit: limits.max_file_bytes,
    };
    if meta.len() > limits.max_file_bytes {
        return Err(too_large());
    }
    read_capped(file, meta.len(), limits.max_file_bytes)
        .map_err(io_error)?
        .ok_or_else(too_large)
}

/// Names a non-regular file type for error messages.
fn describe_file_type(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    if file_type.is_symlink() {
        return "a symlink";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests;
