//! Running one generator config: decrypt every referenced file (in parallel, bounded), assemble
//! the Secrets, and frame the output exactly as KSOPS does.
//!
//! All or nothing: any failure in any file fails the whole generator and nothing is returned,
//! so kustomize never receives a partial set of Secrets.
//!
//! [`ValueMode`] chooses what becomes of the encrypted values: decrypted (the normal run),
//! decrypted and shown as markers ([`redact`](super::redact)), or not decrypted at all
//! ([`dry_run`](super::dry_run)). Every other step, check and refusal is the same in all three.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use zeroize::Zeroizing;

use crate::generator::binding::{Binding, BindingError};
use crate::generator::confine::{ConfineError, Root};
use crate::generator::dry_run::{self, DryRunError};
use crate::generator::envfile::{EnvError, parse_env};
use crate::generator::redact::Redactor;
use crate::generator::schema::{GeneratorConfig, GeneratorId};
use crate::generator::secret::{SecretBuilder, SecretError, StandIn, render};
use crate::sops::keys::Keyring;
use crate::sops::stores::{EmitOptions, Format, StoreError};
use crate::sops::{DecryptError, decrypt_documents, inspect, stores};

/// KSOPS's default for `KSOPS_CONCURRENCY_LIMIT`.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 20;

/// What the generator does with encrypted values.
#[derive(Debug)]
pub enum ValueMode {
    /// Decrypt them with these identities.
    Decrypt(Keyring),
    /// Decrypt them (MAC verified) and emit a marker for each value.
    Redact(Keyring, Redactor),
    /// Use no key at all: check each file's structure and emit placeholders.
    DryRun,
}

impl ValueMode {
    /// What the Secrets of `secretFrom` hold for each value.
    fn stand_in(&self) -> StandIn {
        match self {
            ValueMode::Decrypt(_) => StandIn::Decrypted,
            ValueMode::Redact(_, redactor) => StandIn::Marker(redactor.clone()),
            ValueMode::DryRun => StandIn::Placeholder,
        }
    }
}

/// A generator failed. The message names the generator, the config entry and file, the step and
/// the cause; it never contains decrypted data.
#[derive(Debug, thiserror::Error)]
#[error("generator `{generator}`: {origin}: {failure}")]
pub struct GenerateError {
    /// The generator whose config referenced the file.
    pub generator: GeneratorId,
    /// The config entry, e.g. ``secretFrom[0].files[1] (`db=db.yaml`)``.
    pub origin: String,
    /// The file involved, relative to the kustomization root, when there is one.
    pub path: Option<String>,
    /// What failed.
    pub failure: Box<Failure>,
}

/// The step that failed for one entry.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The file could not be read (missing, outside the root, not a regular file, too large).
    #[error("reading the file: {0}")]
    Read(#[source] ConfineError),
    /// The file could not be decrypted.
    #[error("decrypting the file: {0}")]
    Decrypt(#[source] DecryptError),
    /// The file cannot be dry-run.
    #[error("dry run: {0}")]
    DryRun(#[source] DryRunError),
    /// The file or Secret does not satisfy the tenant binding.
    #[error("tenant binding: {0}")]
    Binding(#[source] BindingError),
    /// A decrypted `envs` file is not valid UTF-8.
    #[error("the decrypted env file is not UTF-8 text")]
    EnvNotUtf8,
    /// A decrypted `envs` file could not be parsed.
    #[error("parsing the decrypted env file: {0}")]
    Env(#[source] EnvError),
    /// A Secret key is invalid or produced twice.
    #[error("{0}")]
    Secret(#[source] SecretError),
    /// A Secret could not be written as YAML.
    #[error("writing the Secret: {0}")]
    Emit(#[source] StoreError),
    /// A decryption worker thread stopped without a result.
    #[error("a decryption worker stopped unexpectedly")]
    Worker,
}

/// Where a decrypted file goes.
#[derive(Clone, Copy)]
enum Use {
    /// A top-level `files` entry: the decrypted document is emitted as it is.
    Manifest,
    /// `secretFrom[s].files[i]`: `stringData`.
    Text { secret: usize, entry: usize },
    /// `secretFrom[s].binaryFiles[i]`: `data`, base64.
    Binary { secret: usize, entry: usize },
    /// `secretFrom[s].envs[i]`: one `stringData` key per variable.
    Env { secret: usize },
}

/// One file to decrypt.
struct Job<'c> {
    path: &'c str,
    origin: String,
    usage: Use,
}

/// What a generator produced: every decrypted `files` manifest and every assembled Secret, each
/// already serialized. Written out in KSOPS's framing by [`Generated::write_to`].
///
/// The parts are kept apart rather than joined into one buffer so that the output is never held
/// twice: a caller writes them straight to its destination.
#[derive(Debug, Default)]
pub struct Generated {
    manifests: Vec<Zeroizing<Vec<u8>>>,
    secrets: Vec<Zeroizing<Vec<u8>>>,
}

impl Generated {
    /// Writes the YAML stream KSOPS would print. KSOPS's framing: every decrypted manifest as it
    /// is, followed by `\n---\n` unless it is the last document overall; then every Secret
    /// followed by `---\n` unless it is the last one.
    pub fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        for (i, manifest) in self.manifests.iter().enumerate() {
            out.write_all(manifest)?;
            if i + 1 < self.manifests.len() || !self.secrets.is_empty() {
                out.write_all(b"\n---\n")?;
            }
        }
        for (i, secret) in self.secrets.iter().enumerate() {
            out.write_all(secret)?;
            if i + 1 < self.secrets.len() {
                out.write_all(b"---\n")?;
            }
        }
        Ok(())
    }

    /// The YAML stream KSOPS would print, in one buffer.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let parts = self.manifests.iter().chain(&self.secrets);
        let mut out = Zeroizing::new(Vec::with_capacity(parts.map(|p| p.len() + 5).sum()));
        // Writing into a Vec cannot fail.
        let _ = self.write_to(&mut *out);
        out
    }
}

/// Runs a generator: returns what KSOPS would print, once every file has been decrypted.
///
/// `values` says whether values are decrypted, redacted or replaced by placeholders.
/// `concurrency` bounds how many files are decrypted at once (KSOPS's `KSOPS_CONCURRENCY_LIMIT`).
/// `binding` (off by default) ties manifests and Secrets to the destination namespace; in a dry
/// run it checks the namespace as written, which no MAC can vouch for without the key.
pub fn generate(
    config: &GeneratorConfig,
    root: &Root,
    values: &ValueMode,
    concurrency: usize,
    binding: &Binding,
) -> Result<Generated, Box<GenerateError>> {
    // Checked before decrypting anything: a Secret config for another namespace needs no key.
    let mut builders = Vec::with_capacity(config.secret_from.len());
    for spec in &config.secret_from {
        let namespace = binding
            .secret_namespace(spec.metadata.namespace.as_deref())
            .map_err(|e| {
                let origin = format!("secretFrom[{}] (`{}`)", spec.index, spec.metadata.name);
                fail(config, origin, None, Failure::Binding(e))
            })?;
        let mut metadata = spec.metadata.clone();
        metadata.namespace = namespace;
        builders.push(
            SecretBuilder::new(&metadata, spec.type_.as_deref()).with_stand_in(values.stand_in()),
        );
    }

    let jobs = jobs(config);
    let plaintexts = decrypt_all(&jobs, root, values, concurrency, binding)
        .map_err(|(job, failure)| fail(config, job.origin.clone(), Some(job.path), *failure))?;

    let mut manifests = Vec::new();
    for (job, plaintext) in jobs.iter().zip(plaintexts) {
        let built = match job.usage {
            Use::Manifest => {
                manifests.push(plaintext);
                Ok(())
            }
            Use::Text { secret, entry } => with_builder(&mut builders, secret, |b| {
                let file = &config.secret_from[secret].files[entry];
                b.add_string(&file.key, &plaintext, &job.origin)
                    .map_err(Failure::Secret)
            }),
            Use::Binary { secret, entry } => with_builder(&mut builders, secret, |b| {
                let file = &config.secret_from[secret].binary_files[entry];
                b.add_binary(&file.key, &plaintext, &job.origin)
                    .map_err(Failure::Secret)
            }),
            Use::Env { secret, .. } => with_builder(&mut builders, secret, |b| {
                let text = std::str::from_utf8(&plaintext).map_err(|_| Failure::EnvNotUtf8)?;
                let pairs = Zeroizing::new(parse_env(text).map_err(Failure::Env)?);
                b.add_env(&pairs, &job.origin).map_err(Failure::Secret)
            }),
        };
        built.map_err(|failure| fail(config, job.origin.clone(), Some(job.path), failure))?;
    }

    let secrets = builders
        .into_iter()
        .zip(&config.secret_from)
        .map(|(builder, spec)| {
            render(&[builder.build_document()]).map_err(|e| {
                let origin = format!("secretFrom[{}] (`{}`)", spec.index, spec.metadata.name);
                fail(config, origin, None, Failure::Emit(e))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Generated {
        manifests,
        secrets: secrets.into_iter().map(Zeroizing::new).collect(),
    })
}

fn with_builder(
    builders: &mut [SecretBuilder],
    index: usize,
    add: impl FnOnce(&mut SecretBuilder) -> Result<(), Failure>,
) -> Result<(), Failure> {
    match builders.get_mut(index) {
        Some(builder) => add(builder),
        None => Ok(()),
    }
}

fn fail(
    config: &GeneratorConfig,
    origin: String,
    path: Option<&str>,
    failure: Failure,
) -> Box<GenerateError> {
    Box::new(GenerateError {
        generator: config.id.clone(),
        origin,
        path: path.map(str::to_owned),
        failure: Box::new(failure),
    })
}

/// Every file of the config, in KSOPS's order: `files`, then each `secretFrom` entry's
/// `files`, `binaryFiles` and `envs`.
fn jobs(config: &GeneratorConfig) -> Vec<Job<'_>> {
    let mut jobs: Vec<Job<'_>> = config
        .files
        .iter()
        .map(|f| Job {
            path: &f.path,
            origin: f.origin(),
            usage: Use::Manifest,
        })
        .collect();
    for (secret, spec) in config.secret_from.iter().enumerate() {
        for (entry, f) in spec.files.iter().enumerate() {
            jobs.push(Job {
                path: &f.path,
                origin: f.origin(),
                usage: Use::Text { secret, entry },
            });
        }
        for (entry, f) in spec.binary_files.iter().enumerate() {
            jobs.push(Job {
                path: &f.path,
                origin: f.origin(),
                usage: Use::Binary { secret, entry },
            });
        }
        for f in &spec.envs {
            jobs.push(Job {
                path: &f.path,
                origin: f.origin(),
                usage: Use::Env { secret },
            });
        }
    }
    jobs
}

type JobResult = Result<Zeroizing<Vec<u8>>, Failure>;

/// The first failing job in config order, and what failed.
type FirstFailure<'j, 'c> = (&'j Job<'c>, Box<Failure>);

/// Decrypts every job's file with at most `concurrency` threads, keeping input order. Every job
/// runs, so the error reported is always the first one in config order.
fn decrypt_all<'j, 'c>(
    jobs: &'j [Job<'c>],
    root: &Root,
    values: &ValueMode,
    concurrency: usize,
    binding: &Binding,
) -> Result<Vec<Zeroizing<Vec<u8>>>, FirstFailure<'j, 'c>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = concurrency.clamp(1, cores.max(1)).min(jobs.len().max(1));
    let results: Vec<Mutex<Option<JobResult>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(index) else { break };
            let bind = matches!(job.usage, Use::Manifest).then_some(binding);
            let result = decrypt_one(job.path, root, values, bind);
            if let Some(slot) = results.get(index)
                && let Ok(mut slot) = slot.lock()
            {
                *slot = Some(result);
            }
        }
    };
    if workers <= 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(work);
            }
        });
    }
    let mut plaintexts = Vec::with_capacity(jobs.len());
    for (job, slot) in jobs.iter().zip(results) {
        let result = slot
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or(Err(Failure::Worker));
        match result {
            Ok(plaintext) => plaintexts.push(plaintext),
            Err(failure) => return Err((job, Box::new(failure))),
        }
    }
    Ok(plaintexts)
}

/// Reads and decrypts one file the way KSOPS does: the format follows the file name, the output
/// is what `sops decrypt` prints with default settings, and the MAC is always verified. A
/// `files` manifest (given `binding`) is checked against the binding on its decrypted,
/// authenticated documents before anything is emitted. Redaction and the dry run change the
/// values, never the checks.
fn decrypt_one(
    path: &str,
    root: &Root,
    values: &ValueMode,
    binding: Option<&Binding>,
) -> JobResult {
    let input = root.read(path).map_err(Failure::Read)?;
    let format = Format::from_path(std::path::Path::new(path));
    let manifest = binding.is_some();
    let decrypted = match values {
        ValueMode::Decrypt(keyring) => {
            decrypt_documents(&input, format, keyring, false).map_err(Failure::Decrypt)?
        }
        ValueMode::Redact(keyring, redactor) => inspect(&input, format)
            .and_then(|inspected| {
                if manifest {
                    redactor.decrypt_manifest(inspected, keyring)
                } else {
                    // secretFrom values are replaced when the Secret is built.
                    inspected.decrypt(keyring, false)
                }
            })
            .map_err(Failure::Decrypt)?,
        ValueMode::DryRun => dry_run::read(&input, format, manifest).map_err(Failure::DryRun)?,
    };
    if let Some(binding) = binding {
        binding
            .check_manifest(&decrypted.documents, decrypted.metadata.mac_only_encrypted)
            .map_err(Failure::Binding)?;
    }
    stores::emit(format, &decrypted.documents, &EmitOptions::default())
        .map(|emitted| {
            // Held until every file is done: an exact-size copy keeps the memory held at the
            // output's size (the emitter's buffer grew by doubling; it is wiped on drop).
            let emitted = Zeroizing::new(emitted);
            Zeroizing::new(emitted.to_vec())
        })
        .map_err(|e| Failure::Decrypt(DecryptError::Emit(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(manifests: &[&[u8]], secrets: &[&[u8]]) -> String {
        let parts = |p: &[&[u8]]| p.iter().map(|s| Zeroizing::new(s.to_vec())).collect();
        let generated = Generated {
            manifests: parts(manifests),
            secrets: parts(secrets),
        };
        String::from_utf8(generated.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn frames_output_like_ksops() {
        assert_eq!(framed(&[b"a: 1\n"], &[]), "a: 1\n");
        assert_eq!(framed(&[b"a: 1\n", b"b: 2\n"], &[]), "a: 1\n\n---\nb: 2\n");
        assert_eq!(framed(&[b"a: 1\n"], &[b"s: 1\n"]), "a: 1\n\n---\ns: 1\n");
        assert_eq!(framed(&[], &[b"s: 1\n", b"t: 2\n"]), "s: 1\n---\nt: 2\n");
        assert_eq!(framed(&[], &[]), "");
    }
}
