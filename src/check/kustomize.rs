//! Finding the ksops generators and `secretGenerator`s of every kustomization in the tree.
//!
//! A kustomization is a file named `kustomization.yaml`, `kustomization.yml` or
//! `Kustomization`. Each `generators:` entry is, as kustomize reads it, a file (every document
//! in it is a generator config), a directory (a kustomization whose `resources` are the
//! configs), or an inline YAML document; in all three cases the generator runs in the directory
//! of the kustomization that lists it, so that is the root its file references resolve from.
//! An entry naming a local path that does not exist is a missing file (kustomize fails on it);
//! remote URLs are left to kustomize.
//!
//! A config is a ksops generator when its `kind` is `ksops` or `ksops-exec`, its apiVersion is
//! in KSOPS's `viaduct.ai` group, or it is a KRM exec function whose program is `ksops`.
//!
//! With a host (`--host`), generators that host would not run are findings: KRM exec functions
//! under `kubectl kustomize` (skipped silently), and legacy generators whose apiVersion/kind has
//! no entry in the plugin home ksops installs (kustomize and kubectl fail to find the plugin).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::check::findings::{Finding, Rule};
use crate::check::locate::{field_path, line_of};
use crate::check::secrets::{is_literal_secret, plaintext_secrets};
use crate::check::{Host, SETTINGS_FILE, read_capped, relative_display};
use crate::generator::{GeneratorConfig, GeneratorId};
use crate::sops::parse_yaml;
use crate::sops::{Document, Mapping, Segment, Value};

/// The names kustomize accepts for a kustomization file.
pub const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The annotations that make kustomize run a config as a KRM function.
const FUNCTION_ANNOTATIONS: [&str; 2] = ["config.kubernetes.io/function", "config.k8s.io/function"];

/// The apiVersion group of KSOPS generators.
const KSOPS_GROUP: &str = "viaduct.ai";

/// Every apiVersion/kind KSOPS generators have used, each an entry of the legacy plugin home
/// that ksops installs (`plugin/kustomize/install.sh`, `Dockerfile.repo-server`): `kind: ksops`
/// under `viaduct.ai/v1` and `viaduct.ai/v2` (KSOPS's own KRM fixtures), and the `ksops-exec`
/// kind added in KSOPS 2.2 (deprecated since 3.0, still installed by KSOPS's Makefile).
pub const LEGACY_PLUGINS: [(&str, &str); 3] = [
    ("viaduct.ai/v1", "ksops"),
    ("viaduct.ai/v2", "ksops"),
    ("viaduct.ai/v1", "ksops-exec"),
];

/// Where kustomize looks for the legacy exec plugin of a config, relative to the plugin home:
/// `<group>/<version>/<lowercased kind>/<kind>` (the group is empty for a core apiVersion).
pub fn legacy_plugin_path(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let lowercase = kind.to_lowercase();
    [group, version, &lowercase, kind]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// How deep `generators:` directories may nest (each is a kustomization of configs).
const MAX_GENERATOR_DIR_DEPTH: usize = 16;

/// Where something is written, for a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file, relative to the checked directory.
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
}

/// A file a ksops generator reads.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The generator, as `apiVersion/kind/name`.
    pub generator: String,
    /// The config entry, e.g. `secretFrom[0].envs[1]`.
    pub field: String,
    /// The path (or pattern) as written, relative to the kustomization directory.
    pub path: String,
    /// A `key=path` entry (which cannot name a pattern).
    pub keyed: bool,
    /// Where the entry is written.
    pub origin: Origin,
}

/// The ksops generators of one kustomization directory.
#[derive(Clone, Debug)]
pub struct GeneratorSite {
    /// The kustomization directory (absolute): the generators' working directory and root.
    pub dir: PathBuf,
    /// The same, relative to the checked directory (`.` for itself).
    pub relative_dir: String,
    /// Every file its ksops generators read.
    pub references: Vec<Reference>,
    /// Its valid ksops generator configs, with their ids, for what only a whole config shows
    /// (two pattern matches with the same Secret key).
    pub configs: Vec<(String, GeneratorConfig)>,
}

/// A file a kustomize `secretGenerator` puts into a Secret as it is.
#[derive(Clone, Debug)]
pub struct GeneratorInput {
    /// The path, relative to the checked directory.
    pub file: String,
    /// Read as an env file (`envs`, `env`): `KEY=value` lines.
    pub env: bool,
    /// The `secretGenerator` entry's name.
    pub secret: String,
    /// Where the entry is written.
    pub origin: Origin,
}

/// Everything found by following the kustomizations.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Kustomization files and ksops generator config files (relative): kustomize reads them
    /// in clear, so they are never expected to be encrypted.
    pub build_files: BTreeSet<String>,
    /// How many kustomizations were read.
    pub kustomizations: usize,
    /// How many ksops generator configs were found.
    pub generators: usize,
    /// The ksops generators, grouped by kustomization directory.
    pub sites: Vec<GeneratorSite>,
    /// Files read by `secretGenerator` `files`/`envs`/`env`.
    pub inputs: Vec<GeneratorInput>,
    /// Findings made while reading (invalid kustomizations and generators, skipped generators,
    /// `secretGenerator` literals).
    pub findings: Vec<Finding>,
    /// The kustomization directories (relative, `.` for the checked directory itself).
    pub kustomization_dirs: BTreeSet<String>,
    /// Kustomization directories whose reads are not all known: the kustomization or one of
    /// its ksops generator configs cannot be read.
    pub opaque_dirs: BTreeSet<String>,
    /// Local files a kustomization reads besides ksops generators (relative): `resources`,
    /// `components`, patches, `configMapGenerator` and `secretGenerator` inputs, and the like.
    pub reads: BTreeSet<String>,
}

/// A YAML file as read: its text (for lines) and documents.
struct Source {
    /// Relative path for findings.
    file: String,
    text: String,
    documents: Vec<Document>,
}

impl Source {
    fn line(&self, document: usize, path: &[Segment]) -> Option<usize> {
        line_of(&self.text, document, path)
    }
}

/// Reads every kustomization among `files` (relative to `root`).
pub fn discover(root: &Path, files: &[String], host: Option<Host>) -> Discovery {
    let mut discovery = Discovery::default();
    for file in files {
        let name = file.rsplit('/').next().unwrap_or(file);
        if !KUSTOMIZATION_NAMES.contains(&name) {
            continue;
        }
        discovery.build_files.insert(file.clone());
        discovery.kustomizations += 1;
        let relative_dir = file.rsplit_once('/').map_or(".", |(dir, _)| dir);
        discovery.kustomization_dirs.insert(relative_dir.to_owned());
        let source = match read_source(root, file) {
            Ok(source) => source,
            Err(reason) => {
                discovery.opaque_dirs.insert(relative_dir.to_owned());
                discovery.findings.push(Finding {
                    rule: Rule::InvalidKustomization,
                    file: file.clone(),
                    line: None,
                    message: format!("cannot be read as a kustomization: {reason}"),
                    fix: "fix the YAML: kustomize fails on this file".into(),
                });
                continue;
            }
        };
        let dir = root
            .join(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut site = GeneratorSite {
            dir: dir.clone(),
            relative_dir: relative_dir.to_owned(),
            references: Vec::new(),
            configs: Vec::new(),
        };
        let Some(kustomization) = source.documents.first() else {
            continue;
        };
        for (index, entry) in string_items(kustomization.get("generators")) {
            let entry_origin = Origin {
                file: source.file.clone(),
                line: source.line(0, &[key("generators"), Segment::Index(index)]),
            };
            for config in generator_configs(root, &dir, entry, &entry_origin, &mut discovery) {
                discovery.generator(&config, host, &mut site);
            }
        }
        secret_generators(root, &dir, &source, kustomization, &mut discovery);
        local_reads(root, &dir, kustomization, &mut discovery.reads);
        inline_patches(&source, kustomization, &mut discovery);
        if !site.references.is_empty() {
            discovery.sites.push(site);
        }
    }
    discovery
}

/// One generator config document and where it is written.
struct Config {
    value: Value,
    /// The file holding it, and its text when it is a file of its own (not inline).
    source: Option<Rc<Source>>,
    document: usize,
    /// Where the `generators:` entry that brought it in is written.
    entry: Origin,
}

impl Config {
    /// The origin of a field of the config (the entry itself for inline configs).
    fn origin(&self, path: &[Segment]) -> Origin {
        match &self.source {
            Some(source) => Origin {
                file: source.file.clone(),
                line: source
                    .line(self.document, path)
                    .or_else(|| source.line(self.document, &[])),
            },
            None => self.entry.clone(),
        }
    }
}

/// The configs one `generators:` entry brings in.
fn generator_configs(
    root: &Path,
    dir: &Path,
    entry: &str,
    entry_origin: &Origin,
    discovery: &mut Discovery,
) -> Vec<Config> {
    if entry.contains('\n') {
        return match parse_yaml(entry.as_bytes()) {
            Ok(documents) => documents
                .into_iter()
                .enumerate()
                .map(|(document, doc)| Config {
                    value: Value::Mapping(doc),
                    source: None,
                    document,
                    entry: entry_origin.clone(),
                })
                .collect(),
            Err(_) => Vec::new(),
        };
    }
    if !dir.join(entry).exists() && !looks_remote(entry) {
        discovery.findings.push(Finding {
            rule: Rule::MissingFile,
            file: entry_origin.file.clone(),
            line: entry_origin.line,
            message: format!("generators entry `{entry}` names nothing: kustomize fails on it"),
            fix: "fix the path (relative to this kustomization), or remove the entry".into(),
        });
        return Vec::new();
    }
    let mut configs = Vec::new();
    collect_config_files(
        root,
        &dir.join(entry),
        entry_origin,
        0,
        discovery,
        &mut configs,
    );
    configs
}

/// Whether a `generators:` entry is a remote target kustomize fetches (a URL or a git
/// repository reference), which cannot be checked here.
fn looks_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.contains("?ref=")
        || entry.starts_with("git@")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|host| entry.starts_with(host))
}

/// Adds the configs in `path`: every document of a file, or the `resources` of a directory's
/// kustomization (recursively).
fn collect_config_files(
    root: &Path,
    path: &Path,
    entry: &Origin,
    depth: usize,
    discovery: &mut Discovery,
    out: &mut Vec<Config>,
) {
    if path.is_dir() {
        if depth >= MAX_GENERATOR_DIR_DEPTH {
            return;
        }
        let Some(kustomization) = KUSTOMIZATION_NAMES
            .iter()
            .map(|name| path.join(name))
            .find(|candidate| candidate.is_file())
        else {
            return;
        };
        let Ok(source) = read_source(root, &relative_display(root, &kustomization)) else {
            return;
        };
        let Some(doc) = source.documents.first() else {
            return;
        };
        for (_, resource) in string_items(doc.get("resources")) {
            collect_config_files(root, &path.join(resource), entry, depth + 1, discovery, out);
        }
        return;
    }
    if !path.is_file() {
        return;
    }
    let file = relative_display(root, path);
    let Ok(source) = read_source(root, &file) else {
        return;
    };
    let source = Rc::new(source);
    for (document, doc) in source.documents.iter().enumerate() {
        if is_ksops(doc) {
            discovery.build_files.insert(file.clone());
        }
        out.push(Config {
            value: Value::Mapping(doc.clone()),
            source: Some(source.clone()),
            document,
            entry: entry.clone(),
        });
    }
}

impl Discovery {
    /// Checks one generator config (ignored unless it is a ksops generator).
    fn generator(&mut self, config: &Config, host: Option<Host>, site: &mut GeneratorSite) {
        let Value::Mapping(doc) = &config.value else {
            return;
        };
        if !is_ksops(doc) {
            return;
        }
        self.generators += 1;
        let peeked = GeneratorId::peek(&config.value);
        let id = peeked.to_string();
        if let Some(finding) = host.and_then(|host| not_run(host, doc, config, &peeked)) {
            self.findings.push(finding);
        }
        let parsed = match GeneratorConfig::from_value(&config.value) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.opaque_dirs.insert(site.relative_dir.clone());
                let origin = config.origin(&[]);
                self.findings.push(Finding {
                    rule: Rule::InvalidGenerator,
                    file: origin.file,
                    line: origin.line,
                    message: format!("generator `{id}`: {error}"),
                    fix: "fix the generator config: ksops refuses it".into(),
                });
                return;
            }
        };
        let entries = parsed
            .files
            .iter()
            .map(|e| (&e.field, &e.path, false))
            .chain(parsed.secret_from.iter().flat_map(|spec| {
                spec.files
                    .iter()
                    .chain(&spec.binary_files)
                    .map(|e| (&e.field, &e.path, e.has_key()))
                    .chain(spec.envs.iter().map(|e| (&e.field, &e.path, false)))
            }));
        for (field, path, keyed) in entries {
            site.references.push(Reference {
                generator: id.clone(),
                field: field.clone(),
                path: path.clone(),
                keyed,
                origin: config.origin(&field_path(field)),
            });
        }
        site.configs.push((id, parsed));
    }
}

/// Whether a config is a ksops generator.
fn is_ksops(doc: &Mapping) -> bool {
    let kind = doc.get("kind").and_then(Value::as_bytes);
    if matches!(kind, Some(b"ksops" | b"ksops-exec")) {
        return true;
    }
    let api_version = doc.get("apiVersion").and_then(Value::as_bytes);
    if api_version
        .and_then(|v| std::str::from_utf8(v).ok()?.split_once('/'))
        .is_some_and(|(group, _)| group == KSOPS_GROUP)
    {
        return true;
    }
    matches!(function_spec(doc), Some(FunctionSpec::Exec(path))
        if path.rsplit('/').next().is_some_and(|name| name == "ksops"))
}

/// How kustomize would run a config.
enum FunctionSpec {
    /// A KRM exec function (the program path).
    Exec(String),
    /// A KRM function of another sort (container, or a spec kustomize rejects).
    Other,
}

/// The KRM function spec from the annotations (or the old `metadata.configFn`), if any.
fn function_spec(doc: &Mapping) -> Option<FunctionSpec> {
    let Some(Value::Mapping(metadata)) = doc.get("metadata") else {
        return None;
    };
    let annotations = match metadata.get("annotations") {
        Some(Value::Mapping(annotations)) => Some(annotations),
        _ => None,
    };
    let spec = FUNCTION_ANNOTATIONS
        .iter()
        .find_map(|name| annotations?.get(name))
        .and_then(Value::as_bytes)
        .and_then(|text| parse_yaml(text).ok()?.into_iter().next());
    let spec = match (spec, metadata.get("configFn")) {
        (Some(spec), _) => spec,
        (None, Some(Value::Mapping(config_fn))) => config_fn.clone(),
        (None, _) => {
            let container =
                annotations.is_some_and(|a| a.get("config.kubernetes.io/container").is_some());
            return container.then_some(FunctionSpec::Other);
        }
    };
    // With both, kustomize runs the container.
    if spec.get("container").is_some() {
        return Some(FunctionSpec::Other);
    }
    match spec.get("exec") {
        Some(Value::Mapping(exec)) => Some(FunctionSpec::Exec(
            exec.get("path")
                .and_then(Value::as_bytes)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
        )),
        _ => Some(FunctionSpec::Other),
    }
}

/// The finding for a generator the host would not run: a KRM exec function `kubectl kustomize`
/// skips, or a legacy generator kustomize finds no plugin for. kpt runs ksops on whatever config
/// `--fn-config` names, so it has none.
fn not_run(host: Host, doc: &Mapping, config: &Config, id: &GeneratorId) -> Option<Finding> {
    let (rule, message, fix, at) = match (host, function_spec(doc)) {
        (Host::Kubectl, Some(FunctionSpec::Exec(_))) => (
            Rule::SkippedGenerator,
            format!(
                "generator `{id}` is declared as a KRM exec function, which `kubectl kustomize` \
                 silently skips: its Secrets would be missing from the build"
            ),
            "remove the config.kubernetes.io/function annotation to use the legacy plugin \
             layout, or build with `kustomize build --enable-alpha-plugins --enable-exec`"
                .to_owned(),
            annotation_path(doc),
        ),
        (Host::Kubectl | Host::Kustomize, None) => {
            let api_version = id.api_version.as_deref().unwrap_or_default();
            let kind = id.kind.as_deref().unwrap_or_default();
            if LEGACY_PLUGINS.contains(&(api_version, kind)) {
                return None;
            }
            let path = legacy_plugin_path(api_version, kind);
            let provided: Vec<String> = LEGACY_PLUGINS
                .iter()
                .map(|(api_version, kind)| format!("`{api_version}` `{kind}`"))
                .collect();
            // A known kind under an unknown apiVersion: the apiVersion is what to change.
            let wrong = if LEGACY_PLUGINS.iter().any(|(_, known)| *known == kind) {
                "apiVersion"
            } else {
                "kind"
            };
            (
                Rule::MissingPlugin,
                format!(
                    "generator `{id}` is a legacy exec plugin, which kustomize runs from \
                     `<plugin home>/{path}`: the plugin home ksops installs has no such entry \
                     (it has {}), so the build fails (`expected file with Go object code at \
                     …/{path}.so`)",
                    provided.join(", ")
                ),
                format!(
                    "use `apiVersion: viaduct.ai/v1` and `kind: ksops`; if your plugin home does \
                     have `{path}`, allow this finding in {SETTINGS_FILE}"
                ),
                vec![key(wrong)],
            )
        }
        _ => return None,
    };
    let origin = config.origin(&at);
    Some(Finding {
        rule,
        file: origin.file,
        line: origin.line,
        message,
        fix,
    })
}

/// The path of the function annotation that is present (for its line).
fn annotation_path(doc: &Mapping) -> Vec<Segment> {
    let annotations = match doc.get("metadata") {
        Some(Value::Mapping(m)) => match m.get("annotations") {
            Some(Value::Mapping(a)) => Some(a),
            _ => None,
        },
        _ => None,
    };
    match FUNCTION_ANNOTATIONS
        .iter()
        .find(|name| annotations.is_some_and(|a| a.get(name).is_some()))
    {
        Some(name) => vec![key("metadata"), key("annotations"), key(name)],
        None => vec![key("metadata"), key("configFn")],
    }
}

/// kustomize `secretGenerator` entries: literals are findings now, files are checked later.
fn secret_generators(
    root: &Path,
    dir: &Path,
    source: &Source,
    kustomization: &Mapping,
    discovery: &mut Discovery,
) {
    let Some(Value::Sequence(entries)) = kustomization.get("secretGenerator") else {
        return;
    };
    let entries = entries.iter().filter(|v| !matches!(v, Value::Comment(_)));
    for (index, entry) in entries.enumerate() {
        let Value::Mapping(entry) = entry else {
            continue;
        };
        let name = entry
            .get("name")
            .and_then(Value::as_bytes)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let at = |field: &str, item: Option<usize>| {
            let mut path = vec![key("secretGenerator"), Segment::Index(index), key(field)];
            path.extend(item.map(Segment::Index));
            Origin {
                file: source.file.clone(),
                line: source.line(0, &path),
            }
        };
        let literals: Vec<usize> = string_items(entry.get("literals"))
            .filter(|(_, literal)| {
                literal
                    .split_once('=')
                    .is_some_and(|(_, value)| is_literal_secret(value))
            })
            .map(|(i, _)| i)
            .collect();
        if let Some(&first) = literals.first() {
            let origin = at("literals", Some(first));
            discovery.findings.push(Finding {
                rule: Rule::PlaintextSecret,
                file: origin.file,
                line: origin.line,
                message: format!(
                    "secretGenerator `{name}` has {} plaintext literal value(s) in the kustomization",
                    literals.len()
                ),
                fix: "move the values into a SOPS-encrypted file read by a ksops generator".into(),
            });
        }
        let mut inputs: Vec<(Option<usize>, &str, &str)> = Vec::new();
        for field in ["files", "envs"] {
            for (i, item) in string_items(entry.get(field)) {
                let path = item.split_once('=').map_or(item, |(_, path)| path);
                inputs.push((Some(i), field, path));
            }
        }
        if let Some(Value::Str(env)) = entry.get("env") {
            inputs.push((None, "env", std::str::from_utf8(env).unwrap_or_default()));
        }
        for (item, field, path) in inputs {
            discovery.inputs.push(GeneratorInput {
                file: relative_display(root, &dir.join(path)),
                env: field != "files",
                secret: name.clone(),
                origin: at(field, item),
            });
        }
    }
}

/// The kustomization fields whose items are local files or directories kustomize reads.
const READ_LISTS: [&str; 8] = [
    "resources",
    "components",
    "bases",
    "crds",
    "configurations",
    "patchesStrategicMerge",
    "generators",
    "transformers",
];

/// The kustomization fields whose items are mappings naming one file under `path`.
const READ_PATHS: [&str; 3] = ["patches", "patchesJson6902", "replacements"];

/// Adds the local files a kustomization reads, other than through ksops generators, to
/// `reads` (relative to `root`): a file listed there is deployed, patched in or generated from,
/// so it is not unreferenced.
fn local_reads(root: &Path, dir: &Path, kustomization: &Mapping, reads: &mut BTreeSet<String>) {
    let mut add = |path: &str| {
        if !path.is_empty() && !path.contains('\n') && !looks_remote(path) {
            reads.insert(relative_display(root, &dir.join(path)));
        }
    };
    for field in READ_LISTS {
        for (_, item) in string_items(kustomization.get(field)) {
            add(item);
        }
    }
    for field in READ_PATHS {
        for entry in mappings(kustomization.get(field)) {
            if let Some(path) = entry.get("path").and_then(Value::as_bytes) {
                add(&String::from_utf8_lossy(path));
            }
        }
    }
    for field in ["configMapGenerator", "secretGenerator"] {
        for entry in mappings(kustomization.get(field)) {
            for list in ["files", "envs"] {
                for (_, item) in string_items(entry.get(list)) {
                    add(item.split_once('=').map_or(item, |(_, path)| path));
                }
            }
            if let Some(env) = entry.get("env").and_then(Value::as_bytes) {
                add(&String::from_utf8_lossy(env));
            }
        }
    }
    for chart in mappings(kustomization.get("helmCharts")) {
        if let Some(values) = chart.get("valuesFile").and_then(Value::as_bytes) {
            add(&String::from_utf8_lossy(values));
        }
    }
}

/// The mapping items of a sequence.
fn mappings(value: Option<&Value>) -> impl Iterator<Item = &Mapping> {
    let items: &[Value] = match value {
        Some(Value::Sequence(items)) => items,
        _ => &[],
    };
    items.iter().filter_map(|item| match item {
        Value::Mapping(map) => Some(map),
        _ => None,
    })
}

/// Secrets with plaintext values written inline in the kustomization, as `patches[].patch` or
/// `patchesStrategicMerge` documents.
fn inline_patches(source: &Source, kustomization: &Mapping, discovery: &mut Discovery) {
    let mut inline: Vec<(Vec<Segment>, &str)> = Vec::new();
    if let Some(Value::Sequence(patches)) = kustomization.get("patches") {
        let patches = patches.iter().filter(|v| !matches!(v, Value::Comment(_)));
        for (i, patch) in patches.enumerate() {
            if let Value::Mapping(patch) = patch
                && let Some(text) = patch.get("patch").and_then(Value::as_bytes)
            {
                let at = vec![key("patches"), Segment::Index(i), key("patch")];
                inline.push((at, std::str::from_utf8(text).unwrap_or_default()));
            }
        }
    }
    for (i, patch) in string_items(kustomization.get("patchesStrategicMerge")) {
        if patch.contains('\n') {
            inline.push((vec![key("patchesStrategicMerge"), Segment::Index(i)], patch));
        }
    }
    for (at, text) in inline {
        let Ok(documents) = crate::sops::parse_manifests(text.as_bytes()) else {
            continue;
        };
        for secret in plaintext_secrets(&documents) {
            discovery.findings.push(Finding {
                rule: Rule::PlaintextSecret,
                file: source.file.clone(),
                line: source.line(0, &at),
                message: format!(
                    "an inline patch of Secret {} has plaintext values: {}",
                    secret.name,
                    secret.value_names()
                ),
                fix: "move the values into a SOPS-encrypted file read by a ksops generator".into(),
            });
        }
    }
}

/// The string items of a sequence, with their indexes (comments not counted).
fn string_items(value: Option<&Value>) -> impl Iterator<Item = (usize, &str)> {
    let items: &[Value] = match value {
        Some(Value::Sequence(items)) => items,
        _ => &[],
    };
    items
        .iter()
        .filter(|v| !matches!(v, Value::Comment(_)))
        .enumerate()
        .filter_map(|(i, v)| Some((i, std::str::from_utf8(v.as_bytes()?).ok()?)))
}

fn key(name: &str) -> Segment {
    Segment::Key(name.to_owned())
}

/// Reads and parses a YAML file named relative to `root`.
fn read_source(root: &Path, file: &str) -> Result<Source, String> {
    let bytes = read_capped(&root.join(file)).map_err(|e| e.to_string())?;
    let documents = parse_yaml(&bytes).map_err(|e| e.to_string())?;
    Ok(Source {
        file: file.to_owned(),
        text: String::from_utf8_lossy(&bytes).into_owned(),
        documents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_paths_follow_kustomize() {
        assert_eq!(
            legacy_plugin_path("viaduct.ai/v1", "ksops"),
            "viaduct.ai/v1/ksops/ksops"
        );
        assert_eq!(
            legacy_plugin_path("viaduct.ai/v1", "ksops-exec"),
            "viaduct.ai/v1/ksops-exec/ksops-exec"
        );
        // The directory is the lowercased kind, the file the kind as written.
        assert_eq!(
            legacy_plugin_path("viaduct.ai/v2", "KSops"),
            "viaduct.ai/v2/ksops/KSops"
        );
        // A core apiVersion has no group; a group keeps every later `/` in the version.
        assert_eq!(legacy_plugin_path("v1", "ksops"), "v1/ksops/ksops");
        assert_eq!(legacy_plugin_path("a/b/c", "K"), "a/b/c/k/K");
    }

    fn doc(text: &str) -> Mapping {
        parse_yaml(text.as_bytes())
            .expect("YAML")
            .into_iter()
            .next()
            .expect("one document")
    }

    #[test]
    fn ksops_generators_are_recognised() {
        for text in [
            "apiVersion: example.com/v1\nkind: ksops\n",
            "kind: ksops-exec\n",
            "apiVersion: viaduct.ai/v1\nkind: KSOPS\n",
            "apiVersion: viaduct.ai/v3\nkind: Generator\n",
            "kind: Gen\nmetadata:\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./bin/ksops\n",
        ] {
            assert!(is_ksops(&doc(text)), "{text}");
        }
        for text in [
            "apiVersion: example.com/v1\nkind: Other\n",
            "apiVersion: viaduct.ai\nkind: Other\n",
            "apiVersion: builtins\nkind: SecretGenerator\n",
        ] {
            assert!(!is_ksops(&doc(text)), "{text}");
        }
    }

    /// The rules `not_run` reports for one config under each host.
    fn not_run_rules(text: &str) -> Vec<(Host, Option<Rule>, Option<usize>)> {
        let mapping = doc(text);
        let config = Config {
            value: Value::Mapping(mapping.clone()),
            source: Some(Rc::new(Source {
                file: "gen.yaml".into(),
                text: text.into(),
                documents: vec![mapping.clone()],
            })),
            document: 0,
            entry: Origin {
                file: "kustomization.yaml".into(),
                line: Some(2),
            },
        };
        let id = GeneratorId::peek(&config.value);
        [Host::Kubectl, Host::Kustomize, Host::Kpt]
            .into_iter()
            .map(|host| {
                let finding = not_run(host, &mapping, &config, &id);
                (
                    host,
                    finding.as_ref().map(|f| f.rule),
                    finding.and_then(|f| f.line),
                )
            })
            .collect()
    }

    #[test]
    fn hosts_report_what_they_would_not_run() {
        use Host::{Kpt, Kubectl, Kustomize};
        // Every entry ksops installs runs under every host.
        for (api_version, kind) in LEGACY_PLUGINS {
            let text = format!("apiVersion: {api_version}\nkind: {kind}\nfiles: []\n");
            assert_eq!(
                not_run_rules(&text),
                [
                    (Kubectl, None, None),
                    (Kustomize, None, None),
                    (Kpt, None, None)
                ],
                "{text}"
            );
        }
        // No plugin entry: kustomize and kubectl fail; the line is the field to change.
        let missing = Some(Rule::MissingPlugin);
        assert_eq!(
            not_run_rules("apiVersion: viaduct.ai/v2\nkind: ksops-exec\nfiles: []\n"),
            [
                (Kubectl, missing, Some(1)),
                (Kustomize, missing, Some(1)),
                (Kpt, None, None)
            ]
        );
        assert_eq!(
            not_run_rules("apiVersion: viaduct.ai/v1\nkind: Ksops\nfiles: []\n"),
            [
                (Kubectl, missing, Some(2)),
                (Kustomize, missing, Some(2)),
                (Kpt, None, None)
            ]
        );
        // A KRM exec function: any apiVersion/kind; only kubectl skips it.
        let krm = "apiVersion: example.com/v9\nkind: ksops\nmetadata:\n  annotations:\n    \
                   config.kubernetes.io/function: |\n      exec:\n        path: ksops\nfiles: []\n";
        assert_eq!(
            not_run_rules(krm),
            [
                (Kubectl, Some(Rule::SkippedGenerator), Some(5)),
                (Kustomize, None, None),
                (Kpt, None, None)
            ]
        );
    }
}
