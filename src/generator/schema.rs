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

use crate::limits::MAX_FILES_PER_GENERATOR;
use std::collections::BTreeMap;
use std::collections::HashSet;
use std::fmt;

use crate::sops::parse_yaml;
use crate::sops::{Mapping, Value};

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
    /// The pattern as written, when `path` is one of its matches.
    pub pattern: Option<String>,
}

impl PathEntry {
    /// How error messages name this entry: ``secretFrom[0].envs[1] (`app.env`)``, or
    /// ``files[0] (`a.yaml`, matched by `*.yaml`)``.
    pub fn origin(&self) -> String {
        format!(
            "{} (`{}`{})",
            self.field,
            self.path,
            matched_by(&self.pattern)
        )
    }
}

/// `, matched by `…`` for an entry that came from a pattern.
fn matched_by(pattern: &Option<String>) -> String {
    pattern
        .as_ref()
        .map(|p| format!(", matched by `{p}`"))
        .unwrap_or_default()
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
    /// The pattern as written, when `path` is one of its matches.
    pub pattern: Option<String>,
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
            pattern: None,
        })
    }

    /// Whether the entry names its key (`key=path`).
    pub fn has_key(&self) -> bool {
        self.entry.contains('=')
    }

    /// How error messages name this entry: ``secretFrom[0].files[1] (`db=db.yaml`)``, or
    /// ``secretFrom[0].files[0] (`a.yaml`, matched by `*.yaml`)``.
    pub fn origin(&self) -> String {
        format!(
            "{} (`{}`{})",
            self.field,
            self.entry,
            matched_by(&self.pattern)
        )
    }
}

/// Go's `filepath.Base` on Unix, which KSOPS uses to derive a key from a bare path: trailing
/// slashes are dropped, then the last element is kept (`""` → `.`, `/` → `/`).
pub(crate) fn go_base(path: &str) -> String {
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
        let docs = parse_yaml(yaml).map_err(|e| unnamed(SchemaError::Yaml(e.to_string())))?;
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
            return Err(SchemaError::NotAMapping(config.type_name()));
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
            .map(|(field, path)| PathEntry {
                field,
                path,
                pattern: None,
            })
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
                    .map(|(field, path)| PathEntry {
                        field,
                        path,
                        pattern: None,
                    })
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
            found: value.type_name(),
        }),
        other => Err(wrong_type(path, "a string", other)),
    }
}

fn wrong_type(path: &str, expected: &'static str, found: &Value) -> SchemaError {
    SchemaError::WrongType {
        path: path.to_string(),
        expected,
        found: found.type_name(),
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
mod tests;
