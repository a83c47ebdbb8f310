//! Running one generator config: decrypt every referenced file (in parallel, bounded), assemble
//! the Secrets, and frame the output exactly as KSOPS does.
//!
//! All or nothing: any failure in any file fails the whole generator and nothing is returned,
//! so kustomize never receives a partial set of Secrets.
//!
//! [`ValueMode`] chooses what becomes of the encrypted values: decrypted (the normal run),
//! decrypted and shown as markers ([`redact`](super::redact)), or not decrypted at all
//! ([`dry_run`](mod@super::dry_run)). Every other step, check and refusal is the same in all three.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use zeroize::Zeroizing;

use crate::generator::binding::{Binding, BindingError};
use crate::generator::confine::{ConfineError, Root};
use crate::generator::dry_run::{self, DryRunError};
use crate::generator::envfile::{EnvError, parse_env};
use crate::generator::glob::{GlobError, expand_config};
use crate::generator::redact::Redactor;
use crate::generator::schema::{GeneratorConfig, GeneratorId};
use crate::generator::secret::{SecretBuilder, SecretError, StandIn, render};
use crate::sops::Document;
use crate::sops::emit_store;
use crate::sops::{DataKeyError, DataKeyFailure, Keyring};
use crate::sops::{DecryptError, Decrypted, Inspected, Metadata, inspect};
use crate::sops::{EmitOptions, Format, StoreError};

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

impl GenerateError {
    /// The data-key report, when the failure is that no identity recovered a file's data key.
    pub fn data_key_failure(&self) -> Option<&DataKeyFailure> {
        match &*self.failure {
            Failure::Decrypt(DecryptError::DataKey(DataKeyError::Failed(report))) => Some(report),
            _ => None,
        }
    }
}

/// The step that failed for one entry.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A pattern could not be expanded (no match, outside the root, too many files).
    #[error("expanding the pattern: {0}")]
    Pattern(GlobError),
    /// The file could not be read (missing, outside the root, not a regular file, too large).
    #[error("reading the file: {0}")]
    Read(ConfineError),
    /// The file could not be decrypted.
    #[error("decrypting the file: {0}{note}", note = relative_paths_note(.0))]
    Decrypt(DecryptError),
    /// The file cannot be dry-run.
    #[error("dry run: {0}")]
    DryRun(DryRunError),
    /// The file or Secret does not satisfy the tenant binding.
    #[error("tenant binding: {0}")]
    Binding(BindingError),
    /// A decrypted `envs` file is not valid UTF-8.
    #[error("the decrypted env file is not UTF-8 text")]
    EnvNotUtf8,
    /// A decrypted `envs` file could not be parsed.
    #[error("parsing the decrypted env file: {0}")]
    Env(EnvError),
    /// A Secret key is invalid or produced twice.
    #[error(transparent)]
    Secret(SecretError),
    /// A Secret could not be written as YAML.
    #[error("writing the Secret: {0}")]
    Emit(StoreError),
    /// A `files` entry that is not a Kubernetes manifest where objects are needed.
    #[error(
        "a KRM function returns objects, so a `files` entry must be a YAML or JSON manifest, not \
         {0:?}; use secretFrom for other files"
    )]
    NotAManifest(Format),
    /// A decryption worker thread stopped without a result.
    #[error("a decryption worker stopped unexpectedly")]
    Worker,
}

/// When no identity recovered a data key and some identity sources are relative paths: that
/// kustomize runs generators in the kustomization directory, so the paths were resolved there.
fn relative_paths_note(error: &DecryptError) -> String {
    let DecryptError::DataKey(DataKeyError::Failed(report)) = error else {
        return String::new();
    };
    let names: Vec<&str> = report.relative_path_sources().collect();
    if names.is_empty() {
        return String::new();
    }
    let (is, it, path) = if names.len() == 1 {
        ("is a relative path", "it is", "an absolute path")
    } else {
        ("are relative paths", "they are", "absolute paths")
    };
    format!(
        "\n\n{} {is}: kustomize runs generator plugins in the kustomization directory, so \
         {it} resolved there. Set {path}.",
        names.join(" and ")
    )
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
    let parts = assemble(config, root, values, concurrency, binding, emit_manifest)?;
    let secrets = parts
        .secrets
        .into_iter()
        .zip(&config.secret_from)
        .map(|(secret, spec)| {
            render(&[secret]).map(Zeroizing::new).map_err(|e| {
                let origin = format!("secretFrom[{}] (`{}`)", spec.index, spec.metadata.name);
                fail(config, origin, None, Failure::Emit(e))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Generated {
        manifests: parts.manifests,
        secrets,
    })
}

/// Runs a generator like [`generate`] and returns the objects it produced, in the same order
/// (every `files` document, then every Secret), as trees rather than text: what a KRM function
/// appends to its ResourceList. A `files` entry must then be a YAML or JSON manifest.
pub fn generate_objects(
    config: &GeneratorConfig,
    root: &Root,
    values: &ValueMode,
    concurrency: usize,
    binding: &Binding,
) -> Result<Zeroizing<Vec<Document>>, Box<GenerateError>> {
    let parts = assemble(config, root, values, concurrency, binding, keep_manifest)?;
    let mut objects = Zeroizing::new(Vec::new());
    for mut documents in parts.manifests {
        objects.extend(documents.drain(..).filter(|doc| !doc.is_empty()));
    }
    objects.extend(parts.secrets);
    Ok(objects)
}

/// What a generator assembled before it is written out: each `files` entry in the form `M`,
/// and each Secret as a tree.
struct Parts<M> {
    manifests: Vec<M>,
    secrets: Vec<Document>,
}

/// Turns one decrypted `files` entry into the form a caller keeps it in.
type ManifestForm<M> = fn(Decrypted, Format) -> Result<M, Failure>;

/// The `files` entry as `sops decrypt` prints it.
fn emit_manifest(decrypted: Decrypted, format: Format) -> Result<Zeroizing<Vec<u8>>, Failure> {
    emit_plaintext(&decrypted, format)
}

/// The `files` entry as trees: its documents, which must come from a YAML or JSON manifest.
fn keep_manifest(
    decrypted: Decrypted,
    format: Format,
) -> Result<Zeroizing<Vec<Document>>, Failure> {
    match format {
        Format::Yaml | Format::Json => Ok(decrypted.documents),
        other => Err(Failure::NotAManifest(other)),
    }
}

/// Expands the config's patterns, decrypts every file and assembles the Secrets.
fn assemble<M: Send>(
    config: &GeneratorConfig,
    root: &Root,
    values: &ValueMode,
    concurrency: usize,
    binding: &Binding,
    form: ManifestForm<M>,
) -> Result<Parts<M>, Box<GenerateError>> {
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

    let expanded = expand_config(config, root).map_err(|e| {
        let path = Some(e.path.as_str());
        fail(config, e.origin.clone(), path, Failure::Pattern(e.error))
    })?;
    let config = &expanded;
    let jobs = jobs(config);
    let plaintexts = decrypt_all(&jobs, root, values, concurrency, binding, form)
        .map_err(|(job, failure)| fail(config, job.origin.clone(), Some(job.path), *failure))?;

    let mut manifests = Vec::new();
    for (job, plain) in jobs.iter().zip(plaintexts) {
        let built = match (job.usage, plain) {
            (Use::Manifest, Plain::Manifest(manifest)) => {
                manifests.push(manifest);
                Ok(())
            }
            (Use::Text { secret, entry }, Plain::Text(plaintext)) => {
                with_builder(&mut builders, secret, |b| {
                    let file = &config.secret_from[secret].files[entry];
                    b.add_string(&file.key, &plaintext, &job.origin)
                        .map_err(Failure::Secret)
                })
            }
            (Use::Binary { secret, entry }, Plain::Text(plaintext)) => {
                with_builder(&mut builders, secret, |b| {
                    let file = &config.secret_from[secret].binary_files[entry];
                    b.add_binary(&file.key, &plaintext, &job.origin)
                        .map_err(Failure::Secret)
                })
            }
            (Use::Env { secret, .. }, Plain::Text(plaintext)) => {
                with_builder(&mut builders, secret, |b| {
                    let text = std::str::from_utf8(&plaintext).map_err(|_| Failure::EnvNotUtf8)?;
                    let pairs = Zeroizing::new(parse_env(text).map_err(Failure::Env)?);
                    b.add_env(&pairs, &job.origin).map_err(Failure::Secret)
                })
            }
            // `decrypt_one` keeps the form of a manifest only for manifests.
            _ => Err(Failure::Worker),
        };
        built.map_err(|failure| fail(config, job.origin.clone(), Some(job.path), failure))?;
    }
    Ok(Parts {
        manifests,
        secrets: builders
            .into_iter()
            .map(SecretBuilder::build_document)
            .collect(),
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

/// A decrypted file: a `files` manifest in the caller's form, or a `secretFrom` file's text.
enum Plain<M> {
    /// A top-level `files` entry.
    Manifest(M),
    /// A `secretFrom` file, as `sops decrypt` prints it.
    Text(Zeroizing<Vec<u8>>),
}

/// The first failing job in config order, and what failed.
type FirstFailure<'j, 'c> = (&'j Job<'c>, Box<Failure>);

/// Decrypts every job's file with at most `concurrency` threads, keeping input order. Every job
/// runs, so the error reported is always the first one in config order.
///
/// Two passes: each file is read and parsed, and decrypted right away unless the keyring would
/// fetch its data key from a key service ([`Keyring::would_prefetch`]); those wait until the
/// keyring has fetched the keys of all of them, in one request per service key
/// ([`Keyring::prefetch`]), and are decrypted in the second pass.
fn decrypt_all<'j, 'c, M: Send>(
    jobs: &'j [Job<'c>],
    root: &Root,
    values: &ValueMode,
    concurrency: usize,
    binding: &Binding,
    form: ManifestForm<M>,
) -> Result<Vec<Plain<M>>, FirstFailure<'j, 'c>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = concurrency.clamp(1, cores.max(1)).min(jobs.len().max(1));
    let keyring = match values {
        ValueMode::Decrypt(keyring) | ValueMode::Redact(keyring, _) => Some(keyring),
        ValueMode::DryRun => None,
    };
    let finish = |opened: Opened, job: &Job<'_>| {
        let bind = matches!(job.usage, Use::Manifest).then_some(binding);
        let format = Format::from_path(Path::new(job.path));
        finish_one(opened, job.path, values, bind).and_then(|decrypted| match bind {
            Some(_) => form(decrypted, format).map(Plain::Manifest),
            None => emit_plaintext(&decrypted, format).map(Plain::Text),
        })
    };
    let first = in_parallel(jobs, workers, |_, job| {
        let format = Format::from_path(Path::new(job.path));
        let manifest = matches!(job.usage, Use::Manifest);
        match open_one(job.path, format, root, values, manifest)? {
            Opened::Encrypted(inspected)
                if keyring.is_some_and(|k| k.would_prefetch(&inspected.metadata)) =>
            {
                Ok(Stage::Waiting(Box::new(inspected)))
            }
            opened => finish(opened, job).map(Stage::Done),
        }
    });
    let mut waiting = false;
    if let Some(keyring) = keyring {
        let locked: Vec<_> = first.iter().filter_map(|slot| slot.lock().ok()).collect();
        let metadata: Vec<&Metadata> = locked
            .iter()
            .filter_map(|slot| match slot.as_ref() {
                Some(Ok(Stage::Waiting(inspected))) => Some(&inspected.metadata),
                _ => None,
            })
            .collect();
        if !metadata.is_empty() {
            waiting = true;
            keyring.prefetch(&metadata);
        }
    }
    // Without waiting files every job is done: no second pass (nor its slots).
    let second = if waiting {
        in_parallel(jobs, workers, |index, job| {
            let slot = first.get(index).and_then(|slot| slot.lock().ok()?.take());
            match slot.unwrap_or(Err(Failure::Worker))? {
                Stage::Done(plain) => Ok(Stage::Done(plain)),
                Stage::Waiting(inspected) => {
                    finish(Opened::Encrypted(*inspected), job).map(Stage::Done)
                }
            }
        })
    } else {
        first
    };
    let mut plaintexts = Vec::with_capacity(jobs.len());
    for (job, slot) in jobs.iter().zip(second) {
        match take(slot) {
            Ok(Stage::Done(plaintext)) => plaintexts.push(plaintext),
            Ok(Stage::Waiting(_)) => return Err((job, Box::new(Failure::Worker))),
            Err(failure) => return Err((job, Box::new(failure))),
        }
    }
    Ok(plaintexts)
}

/// Where a job stands after the first pass.
enum Stage<M> {
    /// Decrypted.
    Done(Plain<M>),
    /// Parsed, waiting for the keyring to fetch its data key (boxed: every job has a slot of
    /// this type, and most are done).
    Waiting(Box<Inspected>),
}

/// Each job's result: a slot that a finished worker filled (`None` if its worker stopped).
type Slots<T> = Vec<Mutex<Option<Result<T, Failure>>>>;

/// Runs `task` on every job with `workers` threads; one slot per job, in job order.
fn in_parallel<'c, T: Send>(
    jobs: &[Job<'c>],
    workers: usize,
    task: impl Fn(usize, &Job<'c>) -> Result<T, Failure> + Sync,
) -> Slots<T> {
    let results: Slots<T> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(index) else { break };
            let result = task(index, job);
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
    results
}

/// What a slot holds; a job whose worker stopped without a result is [`Failure::Worker`].
fn take<T>(slot: Mutex<Option<Result<T, Failure>>>) -> Result<T, Failure> {
    slot.into_inner()
        .ok()
        .flatten()
        .unwrap_or(Err(Failure::Worker))
}

/// A file read and parsed, before its values are decrypted.
enum Opened {
    /// An encrypted file, parsed, with its metadata.
    Encrypted(Inspected),
    /// A dry run's result: nothing left to decrypt.
    DryRun(Decrypted),
}

/// Reads and parses one file the way KSOPS does, in the store its name picks (`format`). A
/// dry run is done here: it needs no key. `manifest`: the file is a top-level `files` entry.
fn open_one(
    path: &str,
    format: Format,
    root: &Root,
    values: &ValueMode,
    manifest: bool,
) -> Result<Opened, Failure> {
    let input = root.read(path).map_err(Failure::Read)?;
    match values {
        ValueMode::Decrypt(_) | ValueMode::Redact(..) => inspect(&input, format)
            .map(Opened::Encrypted)
            .map_err(|error| Failure::Decrypt(error.for_file(path))),
        ValueMode::DryRun => dry_run::read(&input, format, manifest)
            .map(Opened::DryRun)
            .map_err(|error| {
                Failure::DryRun(match error {
                    DryRunError::Invalid(error) => DryRunError::Invalid(error.for_file(path)),
                    other => other,
                })
            }),
    }
}

/// Decrypts one opened file, with the MAC always verified. A `files` manifest (given `binding`)
/// is checked against the binding on its decrypted, authenticated documents. Redaction and the
/// dry run change the values, never the checks.
fn finish_one(
    opened: Opened,
    path: &str,
    values: &ValueMode,
    binding: Option<&Binding>,
) -> Result<Decrypted, Failure> {
    let decrypted = match (opened, values) {
        (Opened::DryRun(decrypted), _) => decrypted,
        (Opened::Encrypted(inspected), ValueMode::Redact(keyring, redactor)) => {
            if binding.is_some() {
                redactor.decrypt_manifest(inspected, keyring)
            } else {
                // secretFrom values are replaced when the Secret is built.
                inspected.decrypt(keyring, false)
            }
            .map_err(|error| Failure::Decrypt(error.for_file(path)))?
        }
        (Opened::Encrypted(inspected), ValueMode::Decrypt(keyring)) => inspected
            .decrypt(keyring, false)
            .map_err(|error| Failure::Decrypt(error.for_file(path)))?,
        (Opened::Encrypted(_), ValueMode::DryRun) => return Err(Failure::Worker),
    };
    if let Some(binding) = binding {
        binding
            .check_manifest(&decrypted.documents, decrypted.metadata.mac_only_encrypted)
            .map_err(Failure::Binding)?;
    }
    Ok(decrypted)
}

/// The decrypted file as `sops decrypt` prints it with default settings.
fn emit_plaintext(decrypted: &Decrypted, format: Format) -> Result<Zeroizing<Vec<u8>>, Failure> {
    emit_store(format, &decrypted.documents, &EmitOptions::default())
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
