//! Caps on untrusted input that every layer applies, in one place: sizes, node counts, nesting,
//! alias expansion, files per generator, `$VAR` expansion, identity sources; the byte caps of a
//! run ([`Limits`]) and the one bounded reader that enforces the per-file cap. A hostile repository or input must not exhaust the machine; sops itself has no
//! such limits, and no real secrets file comes near them.

use std::io::{self, Read};
use std::path::Path;

/// Most nodes (keys, values, comments) one input may hold, in every store, generator configs
/// and ResourceLists (sops has no such limit).
///
/// Parsing must stay bounded in memory whatever the input, and a node costs up to a few hundred
/// bytes while it is parsed, so this keeps any input within a few hundred MiB. No secrets file
/// comes near it: an `ENC[…]` value is at least 80 bytes, so a file at the 32 MiB size cap holds
/// fewer than 400 000 encrypted values.
pub const MAX_NODES: usize = 1_000_000;

/// How deeply YAML blocks and JSON arrays and objects may nest.
///
/// Go allows 10000 levels. We stop at 1000: the engine walks trees recursively, and no real
/// secrets file comes anywhere near this.
pub const MAX_NESTING_DEPTH: usize = 1000;

/// Most nodes that YAML alias expansion may create, against "billion laughs" inputs.
pub const MAX_ALIAS_EXPANSION: usize = 1_000_000;

/// Most files one generator config may list (`files`, and `files`, `binaryFiles` and `envs` of
/// every `secretFrom` entry).
///
/// Every file is read (up to 32 MiB, 256 MiB in all) and decrypted before anything is printed,
/// so the count bounds a generator's work. Real generators list a handful of files; ten
/// thousand leaves room for generated configs (and for scripts/bench.sh's 3000-file run), while
/// a config of a million one-line entries is refused before any file is opened.
pub const MAX_FILES_PER_GENERATOR: usize = 10_000;

/// Most directories one file pattern of a generator config (`secrets/**/*.yaml`) may list.
///
/// A pattern walks the kustomization directory; a repository can make that tree as large as it
/// likes, so the walk is bounded like every other input. Real patterns list a few directories.
pub const MAX_GLOB_DIRECTORIES: usize = 10_000;

/// Most directory entries one file pattern may look at, all directories together.
pub const MAX_GLOB_ENTRIES: usize = 1_000_000;

/// How many directories deep below the kustomization directory one file pattern may search.
pub const MAX_GLOB_DEPTH: usize = 256;

/// Most bytes `$VAR` expansion may add to one decrypted `envs` file.
///
/// Each reference copies an earlier value, so `A=$A$A` repeated doubles the size at every line:
/// 40 such lines ask for a terabyte (godotenv tries, and runs out of memory). A Kubernetes
/// Secret holds at most 1 MiB, and the encrypted file itself is capped at 32 MiB, so 32 MiB of
/// expansion is far beyond any real file while keeping memory bounded.
pub const MAX_ENV_EXPANSION_BYTES: usize = 32 << 20;

/// The most an identity source (a key file, `SOPS_AGE_KEY_CMD`'s output, a decrypted identity
/// file) may hold: sops' limit for encrypted identity files.
pub const MAX_IDENTITY_SOURCE_BYTES: u64 = 1 << 24;

/// How long `gpg` may take to decrypt one PGP master key before it is stopped (sops waits
/// forever), unless `KSOPS_GPG_TIMEOUT` (whole seconds) says otherwise. Decrypting a data key takes well under a second; the margin covers a cold
/// `gpg-agent` and a smartcard. A `gpg` that waits on a passphrase prompt nobody can answer
/// (no terminal, no pinentry) then fails instead of hanging the build.
pub const GPG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Most bytes of `gpg`'s standard error kept for a report; the rest is read and dropped.
pub const MAX_GPG_STDERR_BYTES: u64 = 8 << 10;

/// How long one attempt of an AWS KMS or STS request (or a container credentials request) may
/// take unless `KSOPS_AWS_TIMEOUT` says otherwise; the AWS SDK itself sets no limit.
pub const AWS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Most bytes of one answer from a key service (Vault/OpenBao transit, AWS KMS and STS), and of
/// a certificate or credential file those clients read. A transit `batch_input` answer for
/// ten thousand data keys is about 1.5 MiB; anything beyond 4 MiB is not a key service.
pub const MAX_KEY_SERVICE_RESPONSE_BYTES: u64 = 4 << 20;

/// Caps on the bytes read from untrusted input: the per-file cap applies to every file and
/// stream ksops reads (generator files, `ksops decrypt FILE`, legacy configs, a ResourceList on
/// standard input, files `ksops check` inspects); the total applies to one generator root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes, that a reader accepts. Larger files are refused with
    /// an error naming the limit before anything is read into memory. The default,
    /// [`Limits::DEFAULT_MAX_FILE_BYTES`] (32 MiB), is far above any real Secret (the Kubernetes
    /// API refuses Secrets over 1 MiB) while keeping a hostile repo from exhausting the
    /// repo-server's memory.
    pub max_file_bytes: u64,
    /// Most bytes, all files together, that one kustomization root reads (a file listed twice
    /// counts twice). Every decrypted file is held until the generator's output is complete, so this
    /// bounds its memory: without it, one 32 MiB file listed a thousand times would ask for
    /// 32 GiB. The default, [`Limits::DEFAULT_MAX_TOTAL_BYTES`] (256 MiB), is eight files at
    /// the per-file cap, or a quarter of a million typical Secret files.
    pub max_total_bytes: u64,
}

impl Limits {
    /// The default per-file cap: 32 MiB.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
    /// The default cap on all files read through one root: 256 MiB.
    pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
            max_total_bytes: Self::DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

/// Reads `reader` to its end, or returns `None` as soon as it yields more than `limit` bytes
/// (a file can grow after it was `fstat`ed; a stream has no size). `size_hint` (the `fstat`
/// size when there is one, else 0) only sizes the buffer.
pub fn read_capped(reader: impl Read, size_hint: u64, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    if let Ok(hint) = usize::try_from(size_hint.min(limit)) {
        // Reserve what fstat promised; if that is impossible, the buffer just grows as we read.
        let _ = buf.try_reserve_exact(hint);
    }
    // One byte past the limit is enough to tell "too large" from "exactly at the limit".
    reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if u64::try_from(buf.len()).map_or(true, |len| len > limit) {
        return Ok(None);
    }
    Ok(Some(buf))
}

/// Opens `path` and reads it with [`read_capped`] under `limit`, sizing the buffer from the
/// file's length: `None` when it holds more.
pub fn read_file_capped(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata().map_or(0, |meta| meta.len());
    read_capped(file, size, limit)
}
