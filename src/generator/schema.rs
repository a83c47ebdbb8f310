//! The KSOPS generator config: what a `kind: ksops` manifest may contain, read strictly.
//!
//! KSOPS reads its config with `sigs.k8s.io/yaml` into a Go struct, which silently ignores unknown
//! fields: a `files:` or `name:` one level too high or too low changes what is generated without a
//! word (issue #217). We accept exactly the fields KSOPS reads and reject everything else with
//! the field's path and, when the same name is a known field elsewhere, where it belongs.
//!
//! What we keep from KSOPS's JSON semantics, because real configs rely on them:
//! - `null` (or `~`, or an empty value) is the same as an absent field;
//! - integers and booleans in string positions become their text (`version: 2` → `"2"`,
//!   `needs-hash: true` → `"true"`), as `sigs.k8s.io/yaml` converts them for string targets.
//!
//! Where we are stricter than KSOPS (each is an error naming the field):
//! - unknown fields, including case variants (`encoding/json` matches `SecretFrom` to
//!   `secretFrom`; we say "did you mean `secretFrom`?");
//! - floats and timestamps in string positions: KSOPS stringifies them lossily (`1.10` → `"1.1"`,
//!   a date → an RFC 3339 time), so we ask for quotes;
//! - a `secretFrom` entry without `metadata.name` (KSOPS emits a nameless Secret kustomize rejects);
//! - `key=path` entries with an empty key or path, and empty paths anywhere.
//!
//! `apiVersion`, `kind` and the generator's own `metadata` are not interpreted (kustomize uses them
//! to find the plugin); they are kept only to name the generator in error messages.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::fmt;

use crate::sops::stores::yaml::parse_documents;
use crate::sops::tree::{Mapping, Value};

/// A generator config that does not follow the KSOPS schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The config text is not YAML our parser accepts (message from the YAML parser).
    #[error("generator config is not valid YAML: {0}")]
    Yaml(String),
    /// The config text holds no document or more than one.
    #[error("generator config must be exactly one YAML document, found {0}")]
    DocumentCount(usize),
    /// The config is not a mapping.
    #[error("generator config must be a mapping, found {0}")]
    NotAMapping(&'static str),
    /// A field that KSOPS does not read at this place.
    #[error("unknown field `{field}` in {location}{hint}")]
    UnknownField {
        /// The field name as written.
        field: String,
        /// Where it was found: `the generator` (top level), `secretFrom[0]`, `secretFrom[0].metadata`.
        location: String,
        /// Either empty or `; …` explaining where the field belongs.
        hint: String,
    },
    /// A field written twice in one mapping (only reachable for trees not made by our parser,
    /// which refuses duplicate keys as go-yaml does).
    #[error("field `{field}` is given more than once in {location}")]
    DuplicateField {
        /// The field name.
        field: String,
        /// Where: `the generator`, `secretFrom[0]`, `secretFrom[0].metadata.labels`, ….
        location: String,
    },
    /// A field with a value of the wrong YAML type.
    #[error("`{path}` must be {expected}, found {found}")]
    WrongType {
        /// The field's path, e.g. `secretFrom[0].files`.
        path: String,
        /// What the schema wants ("a string", "a sequence of strings", …).
        expected: &'static str,
        /// What the YAML holds ("a mapping", "an integer", …).
        found: &'static str,
    },
    /// A float or timestamp where a string is expected: KSOPS would stringify it lossily.
    #[error(
        "`{path}` must be a string, found {found}; quote it so the value is kept exactly as written"
    )]
    AmbiguousScalar {
        /// The field's path.
        path: String,
        /// "a float" or "a timestamp".
        found: &'static str,
    },
    /// Neither `files` nor `secretFrom` is present (KSOPS's only check, same wording).
    #[error("missing the required 'files' or 'secretFrom' key in the ksops manifest")]
    MissingFilesOrSecretFrom,
    /// A `secretFrom` entry without `metadata.name`.
    #[error("`secretFrom[{index}].metadata.name` is required: it names the generated Secret")]
    MissingSecretName {
        /// The entry's position in `secretFrom`.
        index: usize,
    },
    /// A list entry that is empty or null.
    #[error("`{path}` is empty; it must name a file")]
    EmptyEntry {
        /// The entry's path, e.g. `files[2]`.
        path: String,
    },
    /// The config lists more files than [`MAX_FILES_PER_GENERATOR`].
    #[error(
        "the generator lists {count} files (`files`, and `files`, `binaryFiles` and `envs` of \
         every secretFrom entry), more than the limit of {limit}; split it into several generators"
    )]
    TooManyFiles {
        /// How many file entries the config has.
        count: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A `key=path` entry that does not split into a non-empty key and path.
    #[error("invalid format in file generator `{entry}` (`{path}`): {reason}")]
    InvalidFileEntry {
        /// The entry's path, e.g. `secretFrom[0].files[1]`.
        path: String,
        /// The entry text as written.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Who a generator is, for error messages: `generator \`viaduct.ai/v1/ksops/my-secrets\``.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeneratorId {
    /// `apiVersion`, when it is a string.
    pub api_version: Option<String>,
    /// `kind`, when it is a string.
    pub kind: Option<String>,
    /// `metadata.name`, when it is a string.
    pub name: Option<String>,
}

impl GeneratorId {
    /// Reads what it can from a config without validating it, so that even a config that fails
    /// [`GeneratorConfig::from_value`] can be named in the error message.
    pub fn peek(config: &Value) -> GeneratorId {
        let Value::Mapping(map) = config else {
            return GeneratorId::default();
        };
        let text = |v: Option<&Value>| match v {
            Some(Value::Str(b)) => String::from_utf8(b.clone()).ok(),
            _ => None,
        };
        let name = match map.get("metadata") {
            Some(Value::Mapping(meta)) => text(meta.get("name")),
            _ => None,
        };
        GeneratorId {
            api_version: text(map.get("apiVersion")),
            kind: text(map.get("kind")),
            name,
        }
    }
}

impl fmt::Display for GeneratorId {
    /// `apiVersion/kind/name`, like kustomize's resource ids; `?` stands for a missing part and a
    /// missing name is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "?".into());
        write!(f, "{}/{}", part(&self.api_version), part(&self.kind))?;
        if let Some(name) = &self.name {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

/// A path-only list entry: a top-level `files` entry or an `envs` entry.
///
/// KSOPS passes these to the file reader as written (no `key=` splitting), so a `=` here is part
/// of the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathEntry {
    /// Where the entry sits in the config, e.g. `files[0]` or `secretFrom[1].envs[0]`.
    pub field: String,
    /// The path, relative to the kustomization root.
    pub path: String,
}

impl PathEntry {
    /// How error messages name this entry: ``secretFrom[0].envs[1] (`app.env`)``.
    pub fn origin(&self) -> String {
        format!("{} (`{}`)", self.field, self.path)
    }
}

/// A `secretFrom[].files` or `secretFrom[].binaryFiles` entry: `path` or `key=path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Where the entry sits in the config, e.g. `secretFrom[0].binaryFiles[2]`.
    pub field: String,
    /// The entry text as written, for messages.
    pub entry: String,
    /// The Secret key: the part before `=`, or the path's base name.
    pub key: String,
    /// The path, relative to the kustomization root.
    pub path: String,
}

impl FileEntry {
    /// Splits an entry as KSOPS's `fileKeyPath` does: on every `=`; one part is a path whose
    /// base name is the key, two parts are `key=path`, more are an error.
    pub fn parse(field: &str, entry: &str) -> Result<FileEntry, SchemaError> {
        let invalid = |reason| SchemaError::InvalidFileEntry {
            path: field.to_string(),
            entry: entry.to_string(),
            reason,
        };
        let parts: Vec<&str> = entry.split('=').collect();
        let (key, path) = match parts.as_slice() {
            [path] => {
                if path.is_empty() {
                    return Err(SchemaError::EmptyEntry {
                        path: field.to_string(),
                    });
                }
                (go_base(path), (*path).to_string())
            }
            [key, path] => {
                if key.is_empty() {
                    return Err(invalid("the key before `=` is empty"));
                }
                if path.is_empty() {
                    return Err(invalid("the path after `=` is empty"));
                }
                ((*key).to_string(), (*path).to_string())
            }
            _ => {
                return Err(invalid(
                    "expected `path` or `key=path`; paths cannot contain `=`",
                ));
            }
        };
        Ok(FileEntry {
            field: field.to_string(),
            entry: entry.to_string(),
            key,
            path,
        })
    }

    /// How error messages name this entry: ``secretFrom[0].files[1] (`db=db.yaml`)``.
    pub fn origin(&self) -> String {
        format!("{} (`{}`)", self.field, self.entry)
    }
}

/// Go's `filepath.Base` on Unix, which KSOPS uses to derive a key from a bare path: trailing
/// slashes are dropped, then the last element is kept (`""` → `.`, `/` → `/`).
fn go_base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// `secretFrom[].metadata`: the four fields of kustomize's `types.ObjectMeta` KSOPS copies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretMetadata {
    /// The Secret's name (required).
    pub name: String,
    /// The namespace, if set and non-empty.
    pub namespace: Option<String>,
    /// Labels, sorted by key.
    pub labels: BTreeMap<String, String>,
    /// Annotations, sorted by key (kustomize reads `needs-hash` and `behavior` from here).
    pub annotations: BTreeMap<String, String>,
}

/// One `secretFrom` entry: a Secret assembled from decrypted files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretSpec {
    /// The entry's position in `secretFrom`.
    pub index: usize,
    /// Metadata copied to the Secret.
    pub metadata: SecretMetadata,
    /// The Secret's `type`, if set and non-empty.
    pub type_: Option<String>,
    /// Files whose decrypted text goes into `stringData`.
    pub files: Vec<FileEntry>,
    /// Files whose decrypted bytes go base64-encoded into `data`.
    pub binary_files: Vec<FileEntry>,
    /// Dotenv files whose variables go into `stringData`.
    pub envs: Vec<PathEntry>,
}

/// A validated KSOPS generator config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// apiVersion/kind/metadata.name of the generator, for messages.
    pub id: GeneratorId,
    /// Files decrypted and passed through as manifests, in order.
    pub files: Vec<PathEntry>,
    /// Secrets to assemble, in order.
    pub secret_from: Vec<SecretSpec>,
}

/// The most files one generator may list, all fields together.
///
/// Every file is read (up to 32 MiB, 256 MiB in all) and decrypted before anything is printed,
/// so the count bounds a generator's work. Real generators list a handful of files; ten
/// thousand leaves room for generated configs (and for scripts/bench.sh's 3000-file run), while
/// a config of a million one-line entries is refused before any file is opened.
pub const MAX_FILES_PER_GENERATOR: usize = 10_000;

/// Fields KSOPS reads, per place, for "did you mean" hints.
const TOP_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "files", "secretFrom"];
const SPEC_FIELDS: &[&str] = &["metadata", "type", "files", "binaryFiles", "envs"];
const META_FIELDS: &[&str] = &["name", "namespace", "labels", "annotations"];

impl GeneratorConfig {
    /// Parses config text (one YAML document) and validates it.
    pub fn parse(yaml: &[u8]) -> Result<GeneratorConfig, SchemaError> {
        GeneratorConfig::parse_identified(yaml).map_err(|named| named.1)
    }

    /// Like [`GeneratorConfig::parse`]; an invalid config's error comes with the generator's
    /// id, as far as it can be read, so that the message can say which generator it is.
    pub fn parse_identified(
        yaml: &[u8],
    ) -> Result<GeneratorConfig, Box<(GeneratorId, SchemaError)>> {
        let unnamed = |error| Box::new((GeneratorId::default(), error));
        let docs = parse_documents(yaml).map_err(|e| unnamed(SchemaError::Yaml(e.to_string())))?;
        match <[_; 1]>::try_from(docs) {
            Ok([doc]) => {
                let config = Value::Mapping(doc);
                GeneratorConfig::from_value(&config)
                    .map_err(|error| Box::new((GeneratorId::peek(&config), error)))
            }
            Err(docs) => Err(unnamed(SchemaError::DocumentCount(docs.len()))),
        }
    }

    /// Validates an already parsed config.
    pub fn from_value(config: &Value) -> Result<GeneratorConfig, SchemaError> {
        let Value::Mapping(map) = config else {
            return Err(SchemaError::NotAMapping(type_name(config)));
        };
        let mut out = GeneratorConfig {
            id: GeneratorId::peek(config),
            ..GeneratorConfig::default()
        };
        let mut files = None;
        let mut secret_from = None;
        for (key, value) in checked_entries(map, "the generator")? {
            match key {
                "apiVersion" | "kind" => {
                    string_field(value, key)?;
                }
                "metadata" => {
                    // Not interpreted (kustomize adds annotations here), but it must be a mapping
                    // for kustomize to have found the plugin at all.
                    if !matches!(value, Value::Mapping(_) | Value::Null) {
                        return Err(wrong_type("metadata", "a mapping", value));
                    }
                }
                "files" => files = string_list(value, "files")?,
                "secretFrom" => secret_from = spec_list(value)?,
                other => return Err(unknown_top(other)),
            }
        }
        if files.is_none() && secret_from.is_none() {
            return Err(SchemaError::MissingFilesOrSecretFrom);
        }
        out.files = files
            .unwrap_or_default()
            .into_iter()
            .map(|(field, path)| PathEntry { field, path })
            .collect();
        out.secret_from = secret_from.unwrap_or_default();
        let count = out.files.len()
            + out
                .secret_from
                .iter()
                .map(|s| s.files.len() + s.binary_files.len() + s.envs.len())
                .sum::<usize>();
        if count > MAX_FILES_PER_GENERATOR {
            return Err(SchemaError::TooManyFiles {
                count,
                limit: MAX_FILES_PER_GENERATOR,
            });
        }
        Ok(out)
    }
}

/// The entries of a mapping (comments skipped), refusing a key written twice.
///
/// Our YAML parser already rejects duplicate keys as go-yaml does; this keeps `from_value`
/// correct for trees built by other means.
fn checked_entries<'a>(
    map: &'a Mapping,
    location: &str,
) -> Result<Vec<(&'a str, &'a Value)>, SchemaError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for entry in map.entries() {
        if !seen.insert(entry.key.as_str()) {
            return Err(SchemaError::DuplicateField {
                field: entry.key.clone(),
                location: location.to_string(),
            });
        }
        out.push((entry.key.as_str(), &entry.value));
    }
    Ok(out)
}

/// `secretFrom`: null is absent, otherwise a sequence of mappings.
fn spec_list(value: &Value) -> Result<Option<Vec<SecretSpec>>, SchemaError> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Sequence(items) => items,
        other => return Err(wrong_type("secretFrom", "a sequence of mappings", other)),
    };
    let mut specs = Vec::new();
    for item in items.iter().filter(|v| !matches!(v, Value::Comment(_))) {
        let index = specs.len();
        specs.push(spec(item, index)?);
    }
    Ok(Some(specs))
}

/// One `secretFrom` entry.
fn spec(value: &Value, index: usize) -> Result<SecretSpec, SchemaError> {
    let here = format!("secretFrom[{index}]");
    let Value::Mapping(map) = value else {
        return Err(wrong_type(&here, "a mapping", value));
    };
    let mut spec = SecretSpec {
        index,
        ..SecretSpec::default()
    };
    let mut name = None;
    for (key, value) in checked_entries(map, &here)? {
        let path = format!("{here}.{key}");
        match key {
            "metadata" => name = metadata(value, &path, &mut spec.metadata)?,
            "type" => spec.type_ = string_field(value, &path)?.filter(|t| !t.is_empty()),
            "files" | "binaryFiles" => {
                let entries = string_list(value, &path)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(field, entry)| FileEntry::parse(&field, &entry))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "files" {
                    spec.files = entries;
                } else {
                    spec.binary_files = entries;
                }
            }
            "envs" => {
                spec.envs = string_list(value, &path)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(field, path)| PathEntry { field, path })
                    .collect();
            }
            other => return Err(unknown_in_spec(other, &here)),
        }
    }
    match name {
        Some(name) if !name.is_empty() => spec.metadata.name = name,
        _ => return Err(SchemaError::MissingSecretName { index }),
    }
    Ok(spec)
}

/// `secretFrom[i].metadata`; returns the name (checked by the caller, which knows the index).
fn metadata(
    value: &Value,
    here: &str,
    out: &mut SecretMetadata,
) -> Result<Option<String>, SchemaError> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Mapping(map) => map,
        other => return Err(wrong_type(here, "a mapping", other)),
    };
    let mut name = None;
    for (key, value) in checked_entries(map, here)? {
        let path = format!("{here}.{key}");
        match key {
            "name" => name = string_field(value, &path)?,
            "namespace" => out.namespace = string_field(value, &path)?.filter(|n| !n.is_empty()),
            "labels" => out.labels = string_map(value, &path)?,
            "annotations" => out.annotations = string_map(value, &path)?,
            other => return Err(unknown_in_metadata(other, here)),
        }
    }
    Ok(name)
}

/// A `map<string,string>` (labels, annotations). A null value is the empty string, as
/// `encoding/json` stores a zero value for `null` map elements.
fn string_map(value: &Value, here: &str) -> Result<BTreeMap<String, String>, SchemaError> {
    let map = match value {
        Value::Null => return Ok(BTreeMap::new()),
        Value::Mapping(map) => map,
        other => return Err(wrong_type(here, "a mapping of strings", other)),
    };
    let mut out = BTreeMap::new();
    for (key, value) in checked_entries(map, here)? {
        let text = string_field(value, &format!("{here}.{key}"))?.unwrap_or_default();
        out.insert(key.to_string(), text);
    }
    Ok(out)
}

/// A list of strings; each element comes back with its path (`files[0]`). Null is absent;
/// comments inside the sequence are skipped and do not count as positions.
fn string_list(value: &Value, here: &str) -> Result<Option<Vec<(String, String)>>, SchemaError> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Sequence(items) => items,
        other => return Err(wrong_type(here, "a sequence of strings", other)),
    };
    let mut out = Vec::new();
    for item in items.iter().filter(|v| !matches!(v, Value::Comment(_))) {
        let path = format!("{here}[{}]", out.len());
        match string_field(item, &path)? {
            Some(text) if !text.is_empty() => out.push((path, text)),
            _ => return Err(SchemaError::EmptyEntry { path }),
        }
    }
    Ok(Some(out))
}

/// A string-typed field. Null is absent; integers and booleans become their text, as
/// `sigs.k8s.io/yaml` converts them when the Go target is a string.
fn string_field(value: &Value, path: &str) -> Result<Option<String>, SchemaError> {
    match value {
        Value::Null => Ok(None),
        Value::Str(bytes) => {
            String::from_utf8(bytes.clone())
                .map(Some)
                .map_err(|_| SchemaError::WrongType {
                    path: path.to_string(),
                    expected: "a string",
                    found: "binary data that is not UTF-8",
                })
        }
        Value::Int(i) => Ok(Some(i.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Float(_) | Value::Time(_) => Err(SchemaError::AmbiguousScalar {
            path: path.to_string(),
            found: type_name(value),
        }),
        other => Err(wrong_type(path, "a string", other)),
    }
}

fn wrong_type(path: &str, expected: &'static str, found: &Value) -> SchemaError {
    SchemaError::WrongType {
        path: path.to_string(),
        expected,
        found: type_name(found),
    }
}

/// How a value's YAML type reads in a message.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Time(_) => "a timestamp",
        Value::Mapping(_) => "a mapping",
        Value::Sequence(_) => "a sequence",
        Value::Comment(_) => "a comment",
    }
}

/// A known field at this place whose name differs only in case, or by a plural `s`
/// (`env` → `envs`, `binaryFile` → `binaryFiles`).
fn near_miss(field: &str, known: &[&'static str]) -> Option<&'static str> {
    known.iter().copied().find(|k| {
        k.eq_ignore_ascii_case(field)
            || k.len() == field.len() + 1
                && k.ends_with('s')
                && k[..k.len() - 1].eq_ignore_ascii_case(field)
    })
}

fn unknown(field: &str, location: &str, hint: String) -> SchemaError {
    SchemaError::UnknownField {
        field: field.to_string(),
        location: location.to_string(),
        hint,
    }
}

/// An unknown top-level field, with where it belongs if it is known elsewhere.
fn unknown_top(field: &str) -> SchemaError {
    let hint = if let Some(k) = near_miss(field, TOP_FIELDS) {
        format!("; did you mean `{k}`?")
    } else if let Some(k) = near_miss(field, SPEC_FIELDS) {
        format!("; `{k}` belongs inside a secretFrom entry (`secretFrom[].{k}`)")
    } else if let Some(k) = near_miss(field, META_FIELDS) {
        format!(
            "; did you mean `metadata.{k}` (the generator's own) or `secretFrom[].metadata.{k}` \
             (a generated Secret's)?"
        )
    } else if field == "stringData" || field == "data" {
        "; a ksops generator lists encrypted files (`files`, `secretFrom`), not values".into()
    } else {
        format!("; known fields are {}", list(TOP_FIELDS))
    };
    unknown(field, "the generator", hint)
}

/// An unknown field in a `secretFrom` entry.
fn unknown_in_spec(field: &str, here: &str) -> SchemaError {
    let hint = if let Some(k) = near_miss(field, SPEC_FIELDS) {
        format!("; did you mean `{here}.{k}`?")
    } else if let Some(k) = near_miss(field, META_FIELDS) {
        format!("; did you mean `{here}.metadata.{k}`?")
    } else if field == "apiVersion" || field == "kind" {
        "; generated Secrets are always `apiVersion: v1`, `kind: Secret`".into()
    } else if field == "secretFrom" {
        "; secretFrom entries cannot be nested".into()
    } else if field == "stringData" || field == "data" {
        "; a secretFrom entry lists encrypted files (`files`, `binaryFiles`, `envs`), not values"
            .into()
    } else {
        format!("; known fields are {}", list(SPEC_FIELDS))
    };
    unknown(field, here, hint)
}

/// An unknown field in `secretFrom[i].metadata`.
fn unknown_in_metadata(field: &str, here: &str) -> SchemaError {
    let parent = here.strip_suffix(".metadata").unwrap_or(here);
    let hint = if let Some(k) = near_miss(field, META_FIELDS) {
        format!("; did you mean `{here}.{k}`?")
    } else if let Some(k) = near_miss(field, SPEC_FIELDS) {
        format!("; `{k}` belongs one level up, at `{parent}.{k}`")
    } else {
        format!("; only {} are supported", list(META_FIELDS))
    };
    unknown(field, here, hint)
}

fn list(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<GeneratorConfig, SchemaError> {
        GeneratorConfig::parse(yaml.as_bytes())
    }

    fn err(yaml: &str) -> String {
        match parse(yaml) {
            Ok(c) => panic!("expected an error for {yaml:?}, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    const FULL: &str = "\
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: my-secrets
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ksops
files:
  - ./secret.enc.yaml
  # a comment between entries does not shift indexes
  - ./configmap.enc.yaml
secretFrom:
  - metadata:
      name: app
      namespace: prod
      labels:
        app: web
        version: 2
      annotations:
        kustomize.config.k8s.io/needs-hash: true
        empty:
    type: Opaque
    files:
      - ./config.yaml
      - db=secrets/db.enc.json
    binaryFiles:
      - cert.der=certs/cert.der
      - certs/key.bin
    envs:
      - ./app.env
  - metadata:
      name: second
";

    #[test]
    fn full_config() {
        let c = parse(FULL).unwrap();
        assert_eq!(c.id.to_string(), "viaduct.ai/v1/ksops/my-secrets");
        assert_eq!(
            c.files,
            vec![
                PathEntry {
                    field: "files[0]".into(),
                    path: "./secret.enc.yaml".into()
                },
                PathEntry {
                    field: "files[1]".into(),
                    path: "./configmap.enc.yaml".into()
                },
            ]
        );
        assert_eq!(c.secret_from.len(), 2);
        let s = &c.secret_from[0];
        assert_eq!(s.index, 0);
        assert_eq!(s.metadata.name, "app");
        assert_eq!(s.metadata.namespace.as_deref(), Some("prod"));
        assert_eq!(
            s.metadata.labels.iter().collect::<Vec<_>>(),
            vec![
                (&"app".to_string(), &"web".to_string()),
                (&"version".to_string(), &"2".to_string())
            ]
        );
        assert_eq!(
            s.metadata
                .annotations
                .get("kustomize.config.k8s.io/needs-hash"),
            Some(&"true".to_string())
        );
        assert_eq!(s.metadata.annotations.get("empty"), Some(&String::new()));
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        assert_eq!(s.files[0].key, "config.yaml");
        assert_eq!(s.files[0].path, "./config.yaml");
        assert_eq!(s.files[1].key, "db");
        assert_eq!(s.files[1].path, "secrets/db.enc.json");
        assert_eq!(s.files[1].field, "secretFrom[0].files[1]");
        assert_eq!(
            s.files[1].origin(),
            "secretFrom[0].files[1] (`db=secrets/db.enc.json`)"
        );
        assert_eq!(s.binary_files[0].key, "cert.der");
        assert_eq!(s.binary_files[1].key, "key.bin");
        assert_eq!(s.binary_files[1].field, "secretFrom[0].binaryFiles[1]");
        assert_eq!(s.envs[0].path, "./app.env");
        assert_eq!(s.envs[0].origin(), "secretFrom[0].envs[0] (`./app.env`)");
        let t = &c.secret_from[1];
        assert_eq!(t.index, 1);
        assert_eq!(t.metadata, {
            SecretMetadata {
                name: "second".into(),
                ..SecretMetadata::default()
            }
        });
        assert!(t.type_.is_none() && t.files.is_empty() && t.envs.is_empty());
    }

    #[test]
    fn minimal_configs() {
        // `files: []` is valid and produces nothing.
        let c = parse("files: []\n").unwrap();
        assert!(c.files.is_empty() && c.secret_from.is_empty());
        assert_eq!(c.id.to_string(), "?/?");
        let c = parse("secretFrom: []\n").unwrap();
        assert!(c.secret_from.is_empty());
        // apiVersion/kind are not validated beyond being strings; an integer is text.
        let c = parse("apiVersion: 1\nkind: ksops\nfiles: [a.yaml]\n").unwrap();
        assert_eq!(c.files[0].path, "a.yaml");
        // Top-level `files` entries are paths: no key=path splitting there (KSOPS passes
        // them to the reader as written).
        let c = parse("files: [a=b.yaml]\n").unwrap();
        assert_eq!(c.files[0].path, "a=b.yaml");
        // Nulls are absent: empty type/namespace are dropped.
        let c = parse(
            "secretFrom:\n- metadata: {name: s, namespace: '', labels: ~}\n  type: ''\n  files: ~\n",
        )
        .unwrap();
        let s = &c.secret_from[0];
        assert!(s.metadata.namespace.is_none() && s.type_.is_none() && s.files.is_empty());
    }

    #[test]
    fn missing_files_and_secret_from() {
        for yaml in [
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: x}\n",
            "files: ~\n",
            "files:\nsecretFrom:\n",
            "{}\n",
        ] {
            assert_eq!(
                parse(yaml),
                Err(SchemaError::MissingFilesOrSecretFrom),
                "{yaml}"
            );
        }
        assert_eq!(
            err("kind: ksops\n"),
            "missing the required 'files' or 'secretFrom' key in the ksops manifest"
        );
    }

    #[test]
    fn unknown_fields_say_where_they_belong() {
        let cases = [
            (
                "secretFrom:\n- name: x\n",
                "unknown field `name` in secretFrom[0]; did you mean `secretFrom[0].metadata.name`?",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n- labels: {a: b}\n",
                "unknown field `labels` in secretFrom[1]; did you mean `secretFrom[1].metadata.labels`?",
            ),
            (
                "envs: [a.env]\n",
                "unknown field `envs` in the generator; `envs` belongs inside a secretFrom entry (`secretFrom[].envs`)",
            ),
            (
                "files: []\ntype: Opaque\n",
                "unknown field `type` in the generator; `type` belongs inside a secretFrom entry (`secretFrom[].type`)",
            ),
            (
                "files: []\nbinaryFile: [x]\n",
                "unknown field `binaryFile` in the generator; `binaryFiles` belongs inside a secretFrom entry (`secretFrom[].binaryFiles`)",
            ),
            (
                "files: []\nname: x\n",
                "unknown field `name` in the generator; did you mean `metadata.name` (the generator's own) or `secretFrom[].metadata.name` (a generated Secret's)?",
            ),
            (
                "SecretFrom: []\n",
                "unknown field `SecretFrom` in the generator; did you mean `secretFrom`?",
            ),
            (
                "file: [a.yaml]\n",
                "unknown field `file` in the generator; did you mean `files`?",
            ),
            (
                "files: []\nspec: {}\n",
                "unknown field `spec` in the generator; known fields are `apiVersion`, `kind`, `metadata`, `files`, `secretFrom`",
            ),
            (
                "files: []\nstringData: {a: b}\n",
                "unknown field `stringData` in the generator; a ksops generator lists encrypted files (`files`, `secretFrom`), not values",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  env: [a.env]\n",
                "unknown field `env` in secretFrom[0]; did you mean `secretFrom[0].envs`?",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  binaryfiles: [a]\n",
                "unknown field `binaryfiles` in secretFrom[0]; did you mean `secretFrom[0].binaryFiles`?",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  kind: Secret\n",
                "unknown field `kind` in secretFrom[0]; generated Secrets are always `apiVersion: v1`, `kind: Secret`",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  secretFrom: []\n",
                "unknown field `secretFrom` in secretFrom[0]; secretFrom entries cannot be nested",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  stringData: {a: b}\n",
                "unknown field `stringData` in secretFrom[0]; a secretFrom entry lists encrypted files (`files`, `binaryFiles`, `envs`), not values",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  foo: 1\n",
                "unknown field `foo` in secretFrom[0]; known fields are `metadata`, `type`, `files`, `binaryFiles`, `envs`",
            ),
            (
                "secretFrom:\n- metadata: {name: x, type: Opaque}\n",
                "unknown field `type` in secretFrom[0].metadata; `type` belongs one level up, at `secretFrom[0].type`",
            ),
            (
                "secretFrom:\n- metadata: {name: x, files: [a]}\n",
                "unknown field `files` in secretFrom[0].metadata; `files` belongs one level up, at `secretFrom[0].files`",
            ),
            (
                "secretFrom:\n- metadata: {name: x, label: {a: b}}\n",
                "unknown field `label` in secretFrom[0].metadata; did you mean `secretFrom[0].metadata.labels`?",
            ),
            (
                "secretFrom:\n- metadata: {name: x, generateName: y}\n",
                "unknown field `generateName` in secretFrom[0].metadata; only `name`, `namespace`, `labels`, `annotations` are supported",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(err(yaml), want, "{yaml}");
        }
    }

    #[test]
    fn generator_metadata_is_not_validated() {
        let c = parse("metadata:\n  name: g\n  labels: {a: 1.5}\n  anything: [1, 2]\nfiles: []\n")
            .unwrap();
        assert_eq!(c.id.name.as_deref(), Some("g"));
        assert_eq!(
            err("metadata: [a]\nfiles: []\n"),
            "`metadata` must be a mapping, found a sequence"
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let cases = [
            (
                "files: a.yaml\n",
                "`files` must be a sequence of strings, found a string",
            ),
            (
                "files: [[a]]\n",
                "`files[0]` must be a string, found a sequence",
            ),
            (
                "files: [{a: b}]\n",
                "`files[0]` must be a string, found a mapping",
            ),
            (
                "kind: [ksops]\nfiles: []\n",
                "`kind` must be a string, found a sequence",
            ),
            (
                "secretFrom: {name: x}\n",
                "`secretFrom` must be a sequence of mappings, found a mapping",
            ),
            (
                "secretFrom: [x]\n",
                "`secretFrom[0]` must be a mapping, found a string",
            ),
            (
                "secretFrom:\n- metadata: x\n",
                "`secretFrom[0].metadata` must be a mapping, found a string",
            ),
            (
                "secretFrom:\n- metadata: {name: [x]}\n",
                "`secretFrom[0].metadata.name` must be a string, found a sequence",
            ),
            (
                "secretFrom:\n- metadata: {name: x, labels: [a]}\n",
                "`secretFrom[0].metadata.labels` must be a mapping of strings, found a sequence",
            ),
            (
                "secretFrom:\n- metadata: {name: x, annotations: {a: {b: c}}}\n",
                "`secretFrom[0].metadata.annotations.a` must be a string, found a mapping",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  type: {a: b}\n",
                "`secretFrom[0].type` must be a string, found a mapping",
            ),
            (
                "secretFrom:\n- metadata: {name: x}\n  envs: a.env\n",
                "`secretFrom[0].envs` must be a sequence of strings, found a string",
            ),
            (
                "secretFrom:\n- metadata: {name: x, labels: {v: 1.10}}\n",
                "`secretFrom[0].metadata.labels.v` must be a string, found a float; quote it so the value is kept exactly as written",
            ),
            (
                "secretFrom:\n- metadata: {name: x, annotations: {d: 2024-01-01}}\n",
                "`secretFrom[0].metadata.annotations.d` must be a string, found a timestamp; quote it so the value is kept exactly as written",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(err(yaml), want, "{yaml}");
        }
    }

    #[test]
    fn secret_name_is_required() {
        for yaml in [
            "secretFrom:\n- files: [a.yaml]\n",
            "secretFrom:\n- metadata: {namespace: x}\n",
            "secretFrom:\n- metadata: {name: ''}\n",
            "secretFrom:\n- metadata:\n",
        ] {
            assert_eq!(
                parse(yaml),
                Err(SchemaError::MissingSecretName { index: 0 })
            );
        }
        assert_eq!(
            err("secretFrom:\n- metadata: {name: a}\n- metadata: {name: ~}\n"),
            "`secretFrom[1].metadata.name` is required: it names the generated Secret"
        );
    }

    #[test]
    fn file_entries() {
        let ok = |entry: &str| FileEntry::parse("f", entry).unwrap();
        assert_eq!(
            (ok("a.yaml").key, ok("a.yaml").path),
            ("a.yaml".into(), "a.yaml".into())
        );
        assert_eq!(ok("./dir/sub/x.enc.json").key, "x.enc.json");
        assert_eq!(ok("dir/").key, "dir");
        assert_eq!(ok("/").key, "/");
        assert_eq!(ok("k=v/x").key, "k");
        assert_eq!(ok("k=v/x").path, "v/x");
        assert_eq!(ok("k=v/x").entry, "k=v/x");
        assert_eq!(
            err("secretFrom:\n- metadata: {name: x}\n  files: [a=b=c]\n"),
            "invalid format in file generator `a=b=c` (`secretFrom[0].files[0]`): expected `path` or `key=path`; paths cannot contain `=`"
        );
        assert_eq!(
            err("secretFrom:\n- metadata: {name: x}\n  binaryFiles: [ok, =p]\n"),
            "invalid format in file generator `=p` (`secretFrom[0].binaryFiles[1]`): the key before `=` is empty"
        );
        assert_eq!(
            err("secretFrom:\n- metadata: {name: x}\n  files: ['k=']\n"),
            "invalid format in file generator `k=` (`secretFrom[0].files[0]`): the path after `=` is empty"
        );
        assert_eq!(
            err("secretFrom:\n- metadata: {name: x}\n  files: ['']\n"),
            "`secretFrom[0].files[0]` is empty; it must name a file"
        );
        assert_eq!(
            err("files: [a, ~]\n"),
            "`files[1]` is empty; it must name a file"
        );
        assert_eq!(
            err("secretFrom:\n- metadata: {name: x}\n  envs: ['']\n"),
            "`secretFrom[0].envs[0]` is empty; it must name a file"
        );
    }

    #[test]
    fn yaml_level_errors() {
        assert_eq!(parse(""), Err(SchemaError::DocumentCount(0)));
        assert_eq!(
            parse("files: []\n---\nfiles: []\n"),
            Err(SchemaError::DocumentCount(2))
        );
        assert!(matches!(parse("files: [\n"), Err(SchemaError::Yaml(_))));
        assert!(matches!(parse("- a\n"), Err(SchemaError::Yaml(_))));
        // Duplicate keys are refused by the parser (go-yaml semantics)...
        assert!(matches!(
            parse("files: []\nfiles: []\n"),
            Err(SchemaError::Yaml(_))
        ));
        // ...and by `from_value` for trees built otherwise.
        let mut map = Mapping::new();
        map.push("files", Value::Sequence(vec![]));
        map.push("files", Value::Sequence(vec![]));
        assert_eq!(
            GeneratorConfig::from_value(&Value::Mapping(map))
                .unwrap_err()
                .to_string(),
            "field `files` is given more than once in the generator"
        );
        assert_eq!(
            GeneratorConfig::from_value(&Value::str("x")),
            Err(SchemaError::NotAMapping("a string"))
        );
    }

    #[test]
    fn generator_id() {
        let peek = |yaml: &str| {
            let docs = parse_documents(yaml.as_bytes()).unwrap();
            GeneratorId::peek(&Value::Mapping(docs[0].clone())).to_string()
        };
        assert_eq!(
            peek("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: s}\n"),
            "viaduct.ai/v1/ksops/s"
        );
        assert_eq!(peek("kind: ksops\n"), "?/ksops");
        assert_eq!(peek("kind: ksops\nmetadata: [x]\n"), "?/ksops");
        assert_eq!(GeneratorId::peek(&Value::Null).to_string(), "?/?");
    }

    #[test]
    fn too_many_files_are_refused_before_reading_any() {
        let entries = |n: usize, prefix: &str| -> String {
            (0..n)
                .map(|i| format!("      - {prefix}{i}.yaml\n"))
                .collect()
        };
        let config = |files: usize, envs: usize| {
            format!(
                "kind: ksops\nfiles:\n{}secretFrom:\n  - metadata: {{name: s}}\n    envs:\n{}",
                entries(files, "f").replace("      -", "  -"),
                entries(envs, "e")
            )
        };
        assert!(parse(&config(6000, 4000)).is_ok());
        assert_eq!(
            parse(&config(6000, 4001)),
            Err(SchemaError::TooManyFiles {
                count: 10_001,
                limit: MAX_FILES_PER_GENERATOR
            })
        );
        assert!(err(&config(10_001, 0)).contains("more than the limit of 10000"));
    }
}
