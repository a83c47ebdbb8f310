//! `ksops check`: guardrails for CI and pre-commit hooks, built on the generator and the engine.
//!
//! It walks a directory as a commit would see it (`walk`), follows every kustomization to its
//! ksops generators and `secretGenerator`s (`kustomize`), reads the `.sops.yaml` governing each
//! file (`sops_config`), decides without keys whether files are SOPS-encrypted (`encryption`),
//! looks for Secret manifests with plaintext values (`secrets`) and for encrypted files no
//! kustomization reads (generator patterns expanded as the generator expands them), and, when
//! given identities, decrypts every encrypted file. Each problem is a [`Finding`] under a stable [`Rule`] id;
//! `.ksops-check.yaml` (`settings`) lists deliberate exceptions.
//!
//! One finding per file and cause: a file that must be encrypted and is not is reported once as
//! [`Rule::UnencryptedFile`] with every reason it must be (a creation rule, a generator), never
//! again as [`Rule::PlaintextSecret`]. Nothing here prints or reads the environment: the command
//! line layer passes the options in and formats the report.

mod encryption;
mod findings;
mod kustomize;
mod locate;
mod pattern;
mod secrets;
mod settings;
mod sops_config;
mod walk;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Component, Path, PathBuf};

pub use findings::{Finding, Rule};
pub use kustomize::{LEGACY_PLUGINS, legacy_plugin_path};
pub use settings::SETTINGS_FILE;
pub use walk::WalkError;

use crate::generator::{ConfineError, GlobError, Root, RootPolicy, expand_config, expand_pattern};
use crate::limits::{self, Limits, MAX_FILES_PER_GENERATOR};
use crate::sops::CONFIG_FILE_NAME;
use crate::sops::Format;
use crate::sops::Keyring;
use crate::sops::Segment;
use crate::sops::{DecryptError, Inspected, Metadata, inspect};
use crate::sops::{parse_json, parse_manifests};
use encryption::Encryption;
use kustomize::{Discovery, GeneratorSite, Origin, Reference};
use locate::line_of;
use settings::Settings;
use sops_config::{SopsConfigs, drift};

/// The tool that will run the generators, for generators it would not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// `kubectl kustomize --enable-alpha-plugins`: skips KRM exec functions, and finds legacy
    /// plugins only in the plugin home.
    Kubectl,
    /// `kustomize build --enable-alpha-plugins --enable-exec`: runs both styles, and finds legacy
    /// plugins only in the plugin home.
    Kustomize,
    /// `kpt fn eval --exec ksops --fn-config CONFIG`: runs ksops on whatever config it is given,
    /// annotated as a KRM function or not, so it skips no ksops generator.
    Kpt,
}

impl Host {
    /// The host named on the command line.
    pub fn from_name(name: &str) -> Option<Host> {
        match name {
            "kubectl" => Some(Host::Kubectl),
            "kustomize" => Some(Host::Kustomize),
            "kpt" => Some(Host::Kpt),
            _ => None,
        }
    }
}

/// How to check.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions<'a> {
    /// Report generators this host would not run: silently skipped, or with no plugin entry.
    pub host: Option<Host>,
    /// How far generator references may reach (as `KSOPS_ROOT`; never unconfined here).
    pub root_policy: RootPolicy,
    /// Decrypt every encrypted file with these identities (`--decrypt`).
    pub keyring: Option<&'a Keyring>,
}

/// What was checked and found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The findings, sorted by file, line and rule.
    pub findings: Vec<Finding>,
    /// Findings dropped by `.ksops-check.yaml`.
    pub allowed: usize,
    /// What was looked at.
    pub stats: Stats,
}

/// Counts of what a check looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files in the tree (after `.gitignore`).
    pub files: usize,
    /// Kustomization files.
    pub kustomizations: usize,
    /// ksops generator configs.
    pub generators: usize,
    /// SOPS-encrypted files found (in the tree or read by generators).
    pub encrypted: usize,
    /// Files decrypted with `--decrypt`.
    pub decrypted: usize,
}

/// The check could not run (as opposed to finding problems).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The directory cannot be checked.
    #[error("cannot check {dir}: {cause}")]
    Dir {
        /// The directory as given.
        dir: String,
        /// Why.
        cause: io::Error,
    },
    /// A directory in the tree could not be listed.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// `.ksops-check.yaml` is invalid.
    #[error("{SETTINGS_FILE}: {0}")]
    Settings(String),
    /// A kustomization's root could not be opened with the chosen policy.
    #[error("kustomization directory {dir}: {cause}")]
    Root {
        /// The directory, relative to the checked one.
        dir: String,
        /// Why.
        cause: ConfineError,
    },
}

/// Checks the tree under `dir`.
pub fn check(dir: &Path, options: &CheckOptions<'_>) -> Result<Report, CheckError> {
    let dir_error = |cause| CheckError::Dir {
        dir: dir.display().to_string(),
        cause,
    };
    let root = clean(&std::path::absolute(dir).map_err(dir_error)?);
    if !std::fs::metadata(&root).map_err(dir_error)?.is_dir() {
        return Err(dir_error(io::Error::other("not a directory")));
    }
    let settings = match std::fs::read(root.join(SETTINGS_FILE)) {
        Ok(bytes) => Settings::parse(&bytes).map_err(CheckError::Settings)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Settings::default(),
        Err(e) => return Err(CheckError::Settings(e.to_string())),
    };
    let files = walk::list_files(&root)?;
    let discovery = kustomize::discover(&root, &files, options.host);
    let mut checker = Checker {
        configs: SopsConfigs::new(&root),
        root,
        files: HashMap::new(),
        must_encrypt: BTreeMap::new(),
        generator_reads: BTreeSet::new(),
        findings: Vec::new(),
        stats: Stats {
            files: files.len(),
            kustomizations: discovery.kustomizations,
            generators: discovery.generators,
            ..Stats::default()
        },
    };
    checker.references(&discovery, options.root_policy)?;
    checker.tree(&files, &discovery);
    checker.unreferenced(&discovery);
    checker.generator_inputs(&discovery);
    checker.report_unencrypted();
    if let Some(keyring) = options.keyring {
        checker.decrypt(keyring);
    }
    let mut all = discovery.findings;
    all.append(&mut checker.findings);
    all.extend(checker.configs.findings());
    let before = all.len();
    all.retain(|finding| !settings.allows(finding));
    let allowed = before - all.len();
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    all.dedup();
    Ok(Report {
        findings: all,
        allowed,
        stats: checker.stats,
    })
}

/// A file `check` has read, with its format and encryption verdict.
struct CheckedFile {
    bytes: Vec<u8>,
    format: Format,
    encryption: Encryption,
}

struct Checker {
    root: PathBuf,
    configs: SopsConfigs,
    /// Files read so far, by path relative to the root.
    files: HashMap<String, CheckedFile>,
    /// Files that must be encrypted and are not, with why they must be.
    must_encrypt: BTreeMap<String, Vec<String>>,
    /// Files ksops generators read (patterns expanded), relative to the root.
    generator_reads: BTreeSet<String>,
    findings: Vec<Finding>,
    stats: Stats,
}

impl Checker {
    /// Every file a ksops generator reads: it must exist inside the root and be encrypted.
    fn references(&mut self, discovery: &Discovery, policy: RootPolicy) -> Result<(), CheckError> {
        for site in &discovery.sites {
            let root = Root::open(&site.dir, policy, Limits::default()).map_err(|cause| {
                CheckError::Root {
                    dir: relative_display(&self.root, &site.dir),
                    cause,
                }
            })?;
            for reference in &site.references {
                let named = format!("generator `{}` {}", reference.generator, reference.field);
                let paths = match expand_pattern(&root, &reference.path, MAX_FILES_PER_GENERATOR) {
                    Ok(None) => vec![reference.path.clone()],
                    Ok(Some(_)) if reference.keyed => {
                        let error = GlobError::KeyedPattern {
                            pattern: reference.path.clone(),
                        };
                        self.pattern_finding(&named, &reference.origin, &site.dir, error);
                        continue;
                    }
                    Ok(Some(matches)) => matches,
                    Err(error) => {
                        self.pattern_finding(&named, &reference.origin, &site.dir, error);
                        continue;
                    }
                };
                for path in paths {
                    self.referenced_file(&root, &site.dir, reference, &named, &path);
                }
            }
            self.same_keys(&root, site);
        }
        Ok(())
    }

    /// Two files matched into one Secret under the same name: the generator refuses the config.
    /// (Every other expansion error is reported per entry above.)
    fn same_keys(&mut self, root: &Root, site: &GeneratorSite) {
        for (id, config) in &site.configs {
            let Err(error) = expand_config(config, root) else {
                continue;
            };
            if !matches!(error.error, GlobError::SameKey { .. }) {
                continue;
            }
            let Some(reference) = site
                .references
                .iter()
                .find(|r| &r.generator == id && r.field == error.field)
            else {
                continue;
            };
            self.findings.push(Finding {
                rule: Rule::InvalidGenerator,
                file: reference.origin.file.clone(),
                line: reference.origin.line,
                message: format!("generator `{id}` {}: {}", error.field, error.error),
                fix: "name one of the files with `key=path`, or narrow the pattern".into(),
            });
        }
    }

    /// One file a generator reads (named literally or matched by a pattern).
    fn referenced_file(
        &mut self,
        root: &Root,
        site: &Path,
        reference: &Reference,
        named: &str,
        path: &str,
    ) {
        let bytes = match root.read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.unreadable_reference(named, &reference.origin, site, error);
                return;
            }
        };
        let file = relative_display(&self.root, &site.join(path));
        self.generator_reads.insert(file.clone());
        let inspected = self.inspect_bytes(&file, bytes);
        if !inspected.encryption.is_encrypted() {
            self.must_encrypt.entry(file).or_default().push(format!(
                "it is read by generator `{}` ({} in {})",
                reference.generator, reference.field, reference.origin.file
            ));
        }
    }

    /// Records a finding on a file reference of a generator or kustomization, at `origin`.
    fn reference_finding(&mut self, rule: Rule, origin: &Origin, message: String, fix: String) {
        self.findings.push(Finding {
            rule,
            file: origin.file.clone(),
            line: origin.line,
            message,
            fix,
        });
    }

    /// A generator's pattern that ksops would refuse to expand.
    fn pattern_finding(&mut self, named: &str, origin: &Origin, site: &Path, error: GlobError) {
        let dir = relative_display(&self.root, site);
        let (rule, fix) = match error {
            GlobError::Absolute { .. } | GlobError::Parent { .. } => (
                Rule::OutsideRoot,
                format!(
                    "write the pattern relative to the kustomization directory `{dir}`, without `..` (patterns only match files below it)"
                ),
            ),
            GlobError::NoMatch { .. } => (
                Rule::MissingFile,
                format!(
                    "add the files, or fix the pattern (relative to the kustomization directory `{dir}`; it matches regular files only and never follows symlinks)"
                ),
            ),
            _ => (
                Rule::InvalidGenerator,
                "fix the generator config: ksops refuses it".to_owned(),
            ),
        };
        self.reference_finding(rule, origin, format!("{named}: {error}"), fix);
    }

    /// Encrypted files under a kustomization directory that nothing in that build reads.
    ///
    /// A file belongs to the nearest kustomization directory above it: a nested kustomization
    /// owns its own tree. A file read by any kustomization of the tree (an overlay reading a
    /// base's file through `KSOPS_ROOT=git`, say) is referenced.
    fn unreferenced(&mut self, discovery: &Discovery) {
        let mut files: Vec<&String> = self
            .files
            .iter()
            .filter(|(_, checked)| checked.encryption.metadata().is_some())
            .map(|(file, _)| file)
            .collect();
        files.sort();
        for file in files {
            if self.generator_reads.contains(file)
                || discovery.reads.contains(file)
                || discovery.build_files.contains(file)
            {
                continue;
            }
            let Some(owner) = owning_kustomization(file, &discovery.kustomization_dirs) else {
                continue;
            };
            if discovery.opaque_dirs.contains(owner) {
                continue;
            }
            let kustomization = if owner == "." {
                "the kustomization in the checked directory".to_owned()
            } else {
                format!("the kustomization in `{owner}`")
            };
            let relative = if owner == "." {
                file.as_str()
            } else {
                file.strip_prefix(owner)
                    .map_or(file.as_str(), |rest| rest.trim_start_matches('/'))
            };
            self.findings.push(Finding {
                rule: Rule::UnreferencedEncryptedFile,
                file: file.clone(),
                line: None,
                message: format!(
                    "encrypted file is not read by any ksops generator, resource,                      secretGenerator, configMapGenerator or patch of {kustomization}: what it                      holds is never deployed"
                ),
                fix: format!(
                    "add `{relative}` (or a pattern matching it) to a ksops generator's `files`                      in `{owner}`, or delete the file if it is no longer used"
                ),
            });
        }
    }

    fn unreadable_reference(
        &mut self,
        named: &str,
        origin: &Origin,
        site: &Path,
        error: ConfineError,
    ) {
        let dir = relative_display(&self.root, site);
        let (rule, fix) = match error {
            ConfineError::Absolute { .. } | ConfineError::Escapes { .. } => (
                Rule::OutsideRoot,
                format!(
                    "move the file under the kustomization directory `{dir}` and name it \
                     relative to it (ksops refuses files outside it unless KSOPS_ROOT widens the root)"
                ),
            ),
            _ => (
                Rule::MissingFile,
                format!(
                    "add the file, or fix the path (relative to the kustomization directory `{dir}`)"
                ),
            ),
        };
        self.reference_finding(rule, origin, format!("{named}: {error}"), fix);
    }

    /// Every file in the tree: creation rules, partial encryption, recipient drift and
    /// plaintext Secret manifests.
    fn tree(&mut self, files: &[String], discovery: &Discovery) {
        for file in files {
            let name = file.rsplit('/').next().unwrap_or(file);
            if name == CONFIG_FILE_NAME {
                self.configs.add(file);
                continue;
            }
            let governing = self.configs.governing(file);
            let governing = governing
                .as_ref()
                .and_then(|(config, index)| config.rule(*index));
            let matched = governing.as_ref().is_some_and(|g| g.requires_encryption())
                && name != SETTINGS_FILE
                && !discovery.build_files.contains(file);
            let format = Format::from_path(Path::new(file));
            if !matched && format == Format::Binary && !self.files.contains_key(file) {
                continue;
            }
            if self.inspect(file).is_none() {
                continue;
            }
            let Some(inspected) = self.files.get(file) else {
                continue;
            };
            // A rule that would encrypt nothing in the file (say `encrypted_regex:
            // ^(data|stringData)$` on a Deployment) does not ask for it to be encrypted.
            let required = matched
                && governing.as_ref().is_some_and(|g| {
                    Encryption::would_encrypt(format, &inspected.bytes, &g.rule.encryption_rule)
                });
            if let Some(governing) = governing.as_ref().filter(|_| required)
                && !inspected.encryption.is_encrypted()
            {
                self.must_encrypt
                    .entry(file.clone())
                    .or_default()
                    .push(format!("it is matched by {}", governing.describe()));
            }
            if let (Some(governing), Some(metadata)) = (&governing, inspected.encryption.metadata())
                && let Some(message) = drift(governing, metadata)
            {
                self.findings.push(Finding {
                    rule: Rule::RecipientDrift,
                    file: file.clone(),
                    line: None,
                    message,
                    fix: format!(
                        "re-encrypt for the current recipients: `sops updatekeys {file}` \
                         (run where sops finds {})",
                        governing.config.shown
                    ),
                });
            }
            match &inspected.encryption {
                // Values in clear where the file's own rule encrypts: edited without sops. (A
                // file whose rule encrypts nothing is a finding only where encryption is required.)
                Encryption::Partial { clear, .. } if !clear.is_empty() => {
                    self.must_encrypt.entry(file.clone()).or_default();
                }
                Encryption::Partial { .. } => {}
                Encryption::Plain { .. } => self.plaintext_secrets(file),
                Encryption::Encrypted { .. } => {}
            }
        }
    }

    /// Plaintext Secret manifests in a YAML or JSON file that is not SOPS-encrypted.
    fn plaintext_secrets(&mut self, file: &str) {
        let Some(inspected) = self.files.get(file) else {
            return;
        };
        let documents = match inspected.format {
            Format::Yaml => parse_manifests(&inspected.bytes).ok(),
            Format::Json => parse_json(&inspected.bytes).ok().map(|p| p.documents),
            _ => None,
        };
        let text = String::from_utf8_lossy(&inspected.bytes);
        for secret in secrets::plaintext_secrets(&documents.unwrap_or_default()) {
            let line = secret
                .values
                .first()
                .and_then(|path| line_of(&text, secret.document, path));
            self.findings.push(Finding {
                rule: Rule::PlaintextSecret,
                file: file.to_owned(),
                line,
                message: format!(
                    "Secret {} has plaintext values: {}",
                    secret.name,
                    secret.value_names()
                ),
                fix: format!(
                    "encrypt the file with sops (and read it through a ksops generator), or, if \
                     the values are not secret, annotate the Secret with `{}: <reason>`",
                    secrets::ALLOW_ANNOTATION
                ),
            });
        }
    }

    /// Files read by kustomize `secretGenerator`s must not be plaintext files in the tree.
    fn generator_inputs(&mut self, discovery: &Discovery) {
        for input in &discovery.inputs {
            let Some(inspected) = self.inspect(&input.file) else {
                continue;
            };
            if matches!(inspected.encryption, Encryption::Plain { .. })
                && secrets::generator_input_is_plaintext(
                    &String::from_utf8_lossy(&inspected.bytes),
                    input.env,
                )
            {
                self.findings.push(Finding {
                    rule: Rule::PlaintextSecret,
                    file: input.origin.file.clone(),
                    line: input.origin.line,
                    message: format!(
                        "secretGenerator `{}` reads `{}`, a plaintext file in the repository",
                        input.secret, input.file
                    ),
                    fix: "encrypt the file with sops and read it through a ksops generator \
                          instead of secretGenerator"
                        .into(),
                });
            }
        }
    }

    /// One finding per file that must be encrypted and is not.
    fn report_unencrypted(&mut self) {
        for (file, reasons) in std::mem::take(&mut self.must_encrypt) {
            let Some(inspected) = self.files.get(&file) else {
                continue;
            };
            let mut line = None;
            let state = match &inspected.encryption {
                Encryption::Encrypted { .. } => continue,
                Encryption::Plain {
                    invalid_metadata: None,
                } => "not SOPS-encrypted".to_owned(),
                Encryption::Plain {
                    invalid_metadata: Some(reason),
                } => format!("not SOPS-encrypted: its sops metadata is invalid ({reason})"),
                Encryption::Partial { clear, .. } if clear.is_empty() => {
                    "has sops metadata but no encrypted value (its encryption rule matches none of \
                     its keys)"
                        .to_owned()
                }
                Encryption::Partial { clear, .. } => {
                    line = self.line(&file, clear.first());
                    format!(
                        "has sops metadata but {} value(s) in clear where its encryption rule \
                         requires ENC[…] (edited without sops?): {}",
                        clear.len(),
                        clear
                            .iter()
                            .map(|(_, path)| dotted(path))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            };
            let reasons: Vec<&str> = reasons
                .iter()
                .map(String::as_str)
                .filter(|r| !r.is_empty())
                .collect();
            let must = if reasons.is_empty() {
                String::new()
            } else {
                format!(". It must be encrypted: {}", reasons.join("; "))
            };
            let fix = if matches!(inspected.encryption, Encryption::Partial { .. }) {
                format!(
                    "restore the file, then change values only with `sops edit {file}` (which \
                     encrypts them)"
                )
            } else {
                format!(
                    "encrypt it in place: `sops encrypt -i {file}` (never commit the plaintext)"
                )
            };
            self.findings.push(Finding {
                rule: Rule::UnencryptedFile,
                file,
                line,
                message: format!("{state}{must}"),
                fix,
            });
        }
        // A file reported as unencrypted is not reported again as a plaintext Secret.
        let unencrypted: BTreeSet<String> = self
            .findings
            .iter()
            .filter(|f| f.rule == Rule::UnencryptedFile)
            .map(|f| f.file.clone())
            .collect();
        self.findings
            .retain(|f| f.rule != Rule::PlaintextSecret || !unencrypted.contains(&f.file));
    }

    /// `--decrypt`: every encrypted file must decrypt and pass its MAC check.
    fn decrypt(&mut self, keyring: &Keyring) {
        let mut encrypted: Vec<(&String, &CheckedFile)> = self
            .files
            .iter()
            .filter(|(_, inspected)| inspected.encryption.is_encrypted())
            .collect();
        encrypted.sort_by_key(|(file, _)| *file);
        // Parsed first, so that data keys a key service holds come in one request per key.
        let opened: Vec<(&String, Result<Inspected, DecryptError>)> = encrypted
            .into_iter()
            .map(|(file, checked)| (file, inspect(&checked.bytes, checked.format)))
            .collect();
        let metadata: Vec<&Metadata> = opened
            .iter()
            .filter_map(|(_, opened)| opened.as_ref().ok().map(|i| &i.metadata))
            .collect();
        keyring.prefetch(&metadata);
        for (file, opened) in opened {
            self.stats.decrypted += 1;
            let Err(error) = opened.and_then(|inspected| inspected.decrypt(keyring, false)) else {
                continue;
            };
            let fix = match error {
                DecryptError::DataKey(_) => {
                    "provide an identity for one of the file's recipients (SOPS_AGE_KEY_FILE, \
                     SOPS_AGE_KEY, …), or re-encrypt it for your key with `sops updatekeys`"
                }
                _ => {
                    "the file was changed after encryption: restore it, or re-create it from the \
                     plaintext with sops"
                }
            };
            self.findings.push(Finding {
                rule: Rule::DecryptFailed,
                file: file.clone(),
                line: None,
                message: format!("does not decrypt: {error}"),
                fix: fix.into(),
            });
        }
    }

    /// Reads and inspects a file of the tree (once).
    fn inspect(&mut self, file: &str) -> Option<&CheckedFile> {
        if !self.files.contains_key(file) {
            let bytes = read_capped(&self.root.join(file)).ok()?;
            self.inspect_bytes(file, bytes);
        }
        self.files.get(file)
    }

    fn inspect_bytes(&mut self, file: &str, bytes: Vec<u8>) -> &CheckedFile {
        let stats = &mut self.stats;
        self.files.entry(file.to_owned()).or_insert_with(|| {
            let format = Format::from_path(Path::new(file));
            let encryption = Encryption::inspect(format, &bytes);
            if encryption.is_encrypted() {
                stats.encrypted += 1;
            }
            CheckedFile {
                bytes,
                format,
                encryption,
            }
        })
    }

    fn line(&self, file: &str, at: Option<&(usize, Vec<Segment>)>) -> Option<usize> {
        let inspected = self.files.get(file)?;
        let (document, path) = at?;
        if !matches!(inspected.format, Format::Yaml | Format::Json) {
            return None;
        }
        line_of(&String::from_utf8_lossy(&inspected.bytes), *document, path)
    }
}

/// The nearest kustomization directory at or above `file`'s directory, if any.
fn owning_kustomization<'d>(file: &str, dirs: &'d BTreeSet<String>) -> Option<&'d str> {
    let mut dir = file;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if let Some(found) = dirs.get(parent) {
            return Some(found);
        }
        dir = parent;
    }
    dirs.get(".").map(String::as_str)
}

/// A path as `data.password` or `items[0].data.k`.
fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Reads a file of at most [`Limits::DEFAULT_MAX_FILE_BYTES`], the cap on every input.
pub(crate) fn read_capped(path: &Path) -> io::Result<Vec<u8>> {
    let limit = Limits::DEFAULT_MAX_FILE_BYTES;
    limits::read_file_capped(path, limit)?
        .ok_or_else(|| io::Error::other(format!("larger than {limit} bytes")))
}

/// Resolves `.` and `..` without touching the file system (as Go's `filepath.Clean`).
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `root` (both absolute), `/`-separated, with `../` when it lies outside.
pub(crate) fn relative_display(root: &Path, path: &Path) -> String {
    let path = clean(path);
    let root_parts: Vec<Component<'_>> = root.components().collect();
    let path_parts: Vec<Component<'_>> = path.components().collect();
    let common = root_parts
        .iter()
        .zip(&path_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let ups = std::iter::repeat_n("..".to_owned(), root_parts.len() - common);
    let rest = path_parts[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(rest).collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_lexical() {
        let root = Path::new("/r/a");
        assert_eq!(relative_display(root, Path::new("/r/a/b/./c")), "b/c");
        assert_eq!(relative_display(root, Path::new("/r/a/b/../c")), "c");
        assert_eq!(
            relative_display(root, Path::new("/r/.sops.yaml")),
            "../.sops.yaml"
        );
        assert_eq!(relative_display(root, Path::new("/r/a")), ".");
        assert_eq!(
            dotted(&[Segment::Key("a".into()), Segment::Index(2)]),
            "a[2]"
        );
    }

    #[test]
    fn the_nearest_kustomization_owns_a_file() {
        let dirs: BTreeSet<String> = [".", "overlays/dev", "overlays/dev/nested"]
            .map(String::from)
            .into();
        let owner = |file| owning_kustomization(file, &dirs);
        assert_eq!(owner("overlays/dev/secrets/a.yaml"), Some("overlays/dev"));
        assert_eq!(owner("overlays/dev/a.yaml"), Some("overlays/dev"));
        assert_eq!(
            owner("overlays/dev/nested/s/a.yaml"),
            Some("overlays/dev/nested")
        );
        assert_eq!(owner("overlays/development/a.yaml"), Some("."));
        assert_eq!(owner("a.yaml"), Some("."));
        let no_root: BTreeSet<String> = ["overlays/dev".to_owned()].into();
        assert_eq!(owning_kustomization("other/a.yaml", &no_root), None);
    }
}
