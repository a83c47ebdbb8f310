//! Assembling the Secret for one `secretFrom` entry.
//!
//! KSOPS fills a Go map and marshals it with `sigs.k8s.io/yaml`, so a key produced twice (two
//! files with the same base name, a file and an env variable, a repeated env variable) silently
//! keeps the last value, and key names are never checked, leaving kustomize or the API server to
//! reject them later without saying which file they came from. Here every key is validated as
//! kustomize's own `secretGenerator` does (k8s `IsConfigMapKey`) and a repeated key is an error
//! naming both entries that produced it, as kustomize's "illegally repeats the key" is.
//!
//! The output keeps KSOPS's shape: `apiVersion`, `data`, `kind`, `metadata`, `stringData`,
//! `type` (KSOPS's marshaller sorts keys), empty maps and an empty type left out, and map keys
//! sorted. Inside `metadata` we use the conventional order (name, namespace, labels,
//! annotations) rather than KSOPS's alphabetical one; kustomize re-parses the output, so the
//! order changes nothing downstream (the name-hash suffix is computed from a re-encoding).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::dry_run::{PLACEHOLDER, PLACEHOLDER_BASE64};
use super::redact::Redactor;
use super::schema::SecretMetadata;
use crate::sops::StoreError;
use crate::sops::emit_yaml;
use crate::sops::{Document, Mapping, Value};

/// Longest key Kubernetes accepts (`DNS1123SubdomainMaxLength`).
const MAX_KEY_LEN: usize = 253;

/// A Secret that cannot be assembled. Messages name keys and entries, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// A key Kubernetes would reject.
    #[error("invalid key {key:?} in Secret `{secret}` from {origin}: {reason}")]
    InvalidKey {
        /// The key as produced.
        key: String,
        /// The Secret's name.
        secret: String,
        /// The entry that produced it, e.g. ``secretFrom[0].envs[0] (`app.env`)``.
        origin: String,
        /// Why the key is invalid (k8s `IsConfigMapKey` rules, `;`-joined).
        reason: String,
    },
    /// Two entries produced the same key.
    #[error("key `{key}` of Secret `{secret}` is produced twice: by {first} and by {second}")]
    DuplicateKey {
        /// The key.
        key: String,
        /// The Secret's name.
        secret: String,
        /// The entry that produced it first.
        first: String,
        /// The entry that produced it again.
        second: String,
    },
    /// One dotenv file assigns the same variable twice.
    #[error("key `{key}` of Secret `{secret}` is assigned twice in {origin}")]
    DuplicateKeyInFile {
        /// The key.
        key: String,
        /// The Secret's name.
        secret: String,
        /// The file's entry.
        origin: String,
    },
    /// A `files` entry whose decrypted content is not text.
    #[error(
        "{origin} is not valid UTF-8 text, so it cannot go into `stringData` as key `{key}`; \
         list it under `binaryFiles` to store it base64-encoded in `data`"
    )]
    NotUtf8 {
        /// The key it would have had.
        key: String,
        /// The entry.
        origin: String,
    },
}

/// Kubernetes' `IsConfigMapKey`: the reasons a key is invalid (empty when it is valid).
pub fn key_errors(key: &str) -> Vec<&'static str> {
    let mut errs = Vec::new();
    if key.is_empty() {
        errs.push("must not be empty");
        return errs;
    }
    if key.len() > MAX_KEY_LEN {
        errs.push("must be no more than 253 characters");
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        errs.push("must consist of alphanumeric characters, '-', '_' or '.'");
    }
    if key == "." {
        errs.push("must not be '.'");
    } else if key == ".." {
        errs.push("must not be '..'");
    } else if key.starts_with("..") {
        errs.push("must not start with '..'");
    }
    errs
}

/// What a Secret holds for each value.
#[derive(Clone, Debug, Default)]
pub enum StandIn {
    /// The decrypted values themselves.
    #[default]
    Decrypted,
    /// The dry-run placeholder ([`PLACEHOLDER`], base64-encoded under `data`).
    Placeholder,
    /// A redaction marker, under `data` too (written as it is, to be read in a diff).
    Marker(Redactor),
}

impl StandIn {
    /// What `stringData` holds for a value.
    fn string_data(&self, value: &[u8]) -> Vec<u8> {
        match self {
            StandIn::Decrypted => value.to_vec(),
            StandIn::Placeholder => PLACEHOLDER.as_bytes().to_vec(),
            StandIn::Marker(redactor) => redactor.marker(value).into_bytes(),
        }
    }

    /// What `data` holds for a value.
    fn data(&self, value: &[u8]) -> String {
        match self {
            StandIn::Decrypted => STANDARD.encode(value),
            StandIn::Placeholder => PLACEHOLDER_BASE64.to_owned(),
            StandIn::Marker(redactor) => redactor.marker(value),
        }
    }
}

/// Collects the keys of one Secret, then builds it.
///
/// An `add_*` call that fails may have added part of its keys (`add_env` stops at the first bad
/// variable); the generator is expected to abandon the Secret on any error.
#[derive(Clone, Debug)]
pub struct SecretBuilder {
    metadata: SecretMetadata,
    type_: Option<String>,
    string_data: BTreeMap<String, Vec<u8>>,
    data: BTreeMap<String, String>,
    /// Which entry produced each key, for duplicate messages.
    origins: HashMap<String, String>,
    stand_in: StandIn,
}

impl SecretBuilder {
    /// Starts a Secret with this metadata and type (`None` or empty: no `type` field).
    pub fn new(metadata: &SecretMetadata, type_: Option<&str>) -> SecretBuilder {
        SecretBuilder {
            metadata: metadata.clone(),
            type_: type_.filter(|t| !t.is_empty()).map(str::to_string),
            string_data: BTreeMap::new(),
            data: BTreeMap::new(),
            origins: HashMap::new(),
            stand_in: StandIn::Decrypted,
        }
    }

    /// Stores `stand_in` in place of each value (every check still sees the value given).
    pub fn with_stand_in(mut self, stand_in: StandIn) -> SecretBuilder {
        self.stand_in = stand_in;
        self
    }

    /// Adds a `files` entry: the decrypted text, exactly as given, under `stringData`.
    pub fn add_string(&mut self, key: &str, bytes: &[u8], origin: &str) -> Result<(), SecretError> {
        self.claim(key, origin)?;
        if std::str::from_utf8(bytes).is_err() {
            // Release the key so the error is the only effect of this call.
            self.origins.remove(key);
            return Err(SecretError::NotUtf8 {
                key: key.to_string(),
                origin: origin.to_string(),
            });
        }
        let stored = self.stand_in.string_data(bytes);
        self.string_data.insert(key.to_string(), stored);
        Ok(())
    }

    /// Adds a `binaryFiles` entry: the decrypted bytes, standard base64, under `data`.
    pub fn add_binary(&mut self, key: &str, bytes: &[u8], origin: &str) -> Result<(), SecretError> {
        self.claim(key, origin)?;
        let stored = self.stand_in.data(bytes);
        self.data.insert(key.to_string(), stored);
        Ok(())
    }

    /// Adds the variables of one `envs` file (from [`super::envfile::parse_env`]) under
    /// `stringData`. A variable assigned twice in the file is an error too: godotenv keeps the
    /// last value, which silently drops the first.
    pub fn add_env(&mut self, pairs: &[(String, String)], origin: &str) -> Result<(), SecretError> {
        for (key, value) in pairs {
            self.claim(key, origin)?;
            let stored = self.stand_in.string_data(value.as_bytes());
            self.string_data.insert(key.clone(), stored);
        }
        Ok(())
    }

    /// Checks a key and records who produced it.
    fn claim(&mut self, key: &str, origin: &str) -> Result<(), SecretError> {
        let errs = key_errors(key);
        if !errs.is_empty() {
            return Err(SecretError::InvalidKey {
                key: key.to_string(),
                secret: self.metadata.name.clone(),
                origin: origin.to_string(),
                reason: errs.join("; "),
            });
        }
        if let Some(first) = self.origins.get(key) {
            return Err(if first == origin {
                SecretError::DuplicateKeyInFile {
                    key: key.to_string(),
                    secret: self.metadata.name.clone(),
                    origin: origin.to_string(),
                }
            } else {
                SecretError::DuplicateKey {
                    key: key.to_string(),
                    secret: self.metadata.name.clone(),
                    first: first.clone(),
                    second: origin.to_string(),
                }
            });
        }
        self.origins.insert(key.to_string(), origin.to_string());
        Ok(())
    }

    /// The Secret as a document.
    pub fn build_document(self) -> Document {
        let mut doc = Mapping::new();
        doc.push("apiVersion", Value::str("v1"));
        if !self.data.is_empty() {
            doc.push("data", Value::Mapping(string_map(self.data)));
        }
        doc.push("kind", Value::str("Secret"));
        let m = self.metadata;
        let mut meta = Mapping::new();
        meta.push("name", Value::str(m.name));
        if let Some(ns) = m.namespace.filter(|n| !n.is_empty()) {
            meta.push("namespace", Value::str(ns));
        }
        if !m.labels.is_empty() {
            meta.push("labels", Value::Mapping(string_map(m.labels)));
        }
        if !m.annotations.is_empty() {
            meta.push("annotations", Value::Mapping(string_map(m.annotations)));
        }
        doc.push("metadata", Value::Mapping(meta));
        if !self.string_data.is_empty() {
            let mut sd = Mapping::new();
            for (k, v) in self.string_data {
                sd.push(k, Value::Str(v));
            }
            doc.push("stringData", Value::Mapping(sd));
        }
        if let Some(t) = self.type_ {
            doc.push("type", Value::str(t));
        }
        doc
    }
}

fn string_map(map: BTreeMap<String, String>) -> Mapping {
    let mut out = Mapping::new();
    for (k, v) in map {
        out.push(k, Value::str(v));
    }
    out
}

/// Renders Secrets as a YAML stream with 2-space indentation (documents after the first are
/// preceded by `---`). Framing the generator's whole output is the caller's business.
pub fn render(secrets: &[Document]) -> Result<Vec<u8>, StoreError> {
    emit_yaml(secrets, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::schema::GeneratorConfig;
    use crate::sops::parse_yaml;

    fn meta(name: &str) -> SecretMetadata {
        SecretMetadata {
            name: name.into(),
            ..SecretMetadata::default()
        }
    }

    fn yaml(b: SecretBuilder) -> String {
        String::from_utf8(render(&[b.build_document()]).unwrap()).unwrap()
    }

    #[test]
    fn full_secret_yaml() {
        let config = GeneratorConfig::parse(
            b"secretFrom:
- metadata:
    name: app
    namespace: prod
    labels: {z: last, app: web}
    annotations:
      kustomize.config.k8s.io/needs-hash: true
  type: kubernetes.io/tls
",
        )
        .unwrap();
        let spec = &config.secret_from[0];
        let mut b = SecretBuilder::new(&spec.metadata, spec.type_.as_deref());
        b.add_string("config.yaml", b"a: 1\nb:\n    c: 2\n", "files[0]")
            .unwrap();
        b.add_string("plain", b"hello", "files[1]").unwrap();
        b.add_binary("tls.key", &[0, 1, 2, 0xfe, 0xff], "binaryFiles[0]")
            .unwrap();
        b.add_binary("empty.bin", b"", "binaryFiles[1]").unwrap();
        b.add_env(
            &[
                ("DB_PASS".into(), "s3cr3t".into()),
                ("A_FIRST".into(), "x".into()),
            ],
            "envs[0]",
        )
        .unwrap();
        let out = yaml(b);
        assert_eq!(
            out,
            "\
apiVersion: v1
data:
  empty.bin: \"\"
  tls.key: AAEC/v8=
kind: Secret
metadata:
  name: app
  namespace: prod
  labels:
    app: web
    z: last
  annotations:
    kustomize.config.k8s.io/needs-hash: \"true\"
stringData:
  A_FIRST: x
  DB_PASS: s3cr3t
  config.yaml: |
    a: 1
    b:
        c: 2
  plain: hello
type: kubernetes.io/tls
"
        );
        // It reads back as the same values (what kustomize will see).
        let docs = parse_yaml(out.as_bytes()).unwrap();
        let sd = match docs[0].get("stringData") {
            Some(Value::Mapping(m)) => m.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sd.get("config.yaml"),
            Some(&Value::str("a: 1\nb:\n    c: 2\n"))
        );
    }

    #[test]
    fn minimal_secret_omits_empty_fields() {
        let b = SecretBuilder::new(&meta("s"), Some(""));
        assert_eq!(
            yaml(b),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
        );
        let mut b = SecretBuilder::new(&meta("s"), Some("Opaque"));
        b.add_string("k", b"", "files[0]").unwrap();
        assert_eq!(
            yaml(b),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: \"\"\ntype: Opaque\n"
        );
    }

    #[test]
    fn values_are_kept_exactly() {
        // Text that YAML would otherwise resolve to other types, or that needs quoting, must
        // round-trip as the same string.
        let values: &[&str] = &[
            "true",
            "123",
            "0x1F",
            "~",
            "null",
            "",
            " leading",
            "trailing ",
            "a: b",
            "- x",
            "#c",
            "multi\nline\n",
            "no trailing newline\nx",
            "tab\there",
            "\u{feff}bom",
            "é ✓",
        ];
        let mut b = SecretBuilder::new(&meta("s"), None);
        for (i, v) in values.iter().enumerate() {
            b.add_string(&format!("k{i:02}"), v.as_bytes(), "f")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let out = render(&[b.build_document()]).unwrap();
        let docs = parse_yaml(&out).unwrap();
        let Some(Value::Mapping(sd)) = docs[0].get("stringData") else {
            panic!("no stringData in {}", String::from_utf8_lossy(&out));
        };
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                sd.get(&format!("k{i:02}")),
                Some(&Value::str(*v)),
                "{v:?} in {}",
                String::from_utf8_lossy(&out)
            );
        }
    }

    #[test]
    fn base64_is_standard_with_padding() {
        let mut b = SecretBuilder::new(&meta("s"), None);
        b.add_binary("a", b"f", "x").unwrap();
        b.add_binary("b", b"fo", "x2").unwrap();
        b.add_binary("c", b"foo", "x3").unwrap();
        b.add_binary("d", &[0xfb, 0xff], "x4").unwrap();
        let doc = b.build_document();
        let Some(Value::Mapping(data)) = doc.get("data") else {
            panic!()
        };
        assert_eq!(data.get("a"), Some(&Value::str("Zg==")));
        assert_eq!(data.get("b"), Some(&Value::str("Zm8=")));
        assert_eq!(data.get("c"), Some(&Value::str("Zm9v")));
        // Standard alphabet (`+`/`/`), not URL-safe.
        assert_eq!(data.get("d"), Some(&Value::str("+/8=")));
    }

    #[test]
    fn key_validation() {
        let longest = "x".repeat(253);
        for ok in ["a", "A_B", "a.b-c", ".env", "a..b", "0", longest.as_str()] {
            assert!(key_errors(ok).is_empty(), "{ok}");
        }
        assert_eq!(key_errors(""), ["must not be empty"]);
        assert_eq!(key_errors("."), ["must not be '.'"]);
        assert_eq!(key_errors(".."), ["must not be '..'"]);
        assert_eq!(key_errors("..a"), ["must not start with '..'"]);
        assert_eq!(
            key_errors("a b"),
            ["must consist of alphanumeric characters, '-', '_' or '.'"]
        );
        assert_eq!(
            key_errors("dir/file"),
            ["must consist of alphanumeric characters, '-', '_' or '.'"]
        );
        assert_eq!(
            key_errors("é"),
            ["must consist of alphanumeric characters, '-', '_' or '.'"]
        );
        assert_eq!(
            key_errors(&"x".repeat(254)),
            ["must be no more than 253 characters"]
        );
        assert_eq!(
            key_errors(&format!("..{}", "/".repeat(252))),
            [
                "must be no more than 253 characters",
                "must consist of alphanumeric characters, '-', '_' or '.'",
                "must not start with '..'"
            ]
        );
    }

    #[test]
    fn invalid_keys_name_key_and_origin() {
        let mut b = SecretBuilder::new(&meta("app"), None);
        let e = b
            .add_string("my key", b"v", "secretFrom[0].files[0] (`my key=a.yaml`)")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid key \"my key\" in Secret `app` from secretFrom[0].files[0] (`my key=a.yaml`): \
             must consist of alphanumeric characters, '-', '_' or '.'"
        );
        let e = b.add_binary("..", b"v", "bin").unwrap_err();
        assert!(
            matches!(e, SecretError::InvalidKey { ref reason, .. } if reason == "must not be '..'")
        );
        // An env line without `=` at EOF gives godotenv an empty key: refused, value not shown.
        let e = b
            .add_env(&[(String::new(), "LONELY".into())], "envs[0]")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid key \"\" in Secret `app` from envs[0]: must not be empty"
        );
        assert!(!e.to_string().contains("LONELY"));
    }

    #[test]
    fn duplicate_keys_name_both_origins() {
        let mut b = SecretBuilder::new(&meta("app"), None);
        b.add_string(
            "config.yaml",
            b"a",
            "secretFrom[0].files[0] (`a/config.yaml`)",
        )
        .unwrap();
        // Same key again from another file (KSOPS kept the last silently).
        let e = b
            .add_string(
                "config.yaml",
                b"b",
                "secretFrom[0].files[1] (`b/config.yaml`)",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "key `config.yaml` of Secret `app` is produced twice: by secretFrom[0].files[0] \
             (`a/config.yaml`) and by secretFrom[0].files[1] (`b/config.yaml`)"
        );
        // Across data and stringData (KSOPS emitted both; the API server keeps stringData).
        let e = b
            .add_binary("config.yaml", b"c", "binaryFiles[0]")
            .unwrap_err();
        assert!(
            matches!(e, SecretError::DuplicateKey { ref second, .. } if second == "binaryFiles[0]")
        );
        // A file key then an env variable of the same name.
        b.add_env(&[("USER".into(), "u".into())], "envs[0]")
            .unwrap();
        let e = b
            .add_env(&[("USER".into(), "v".into())], "envs[1]")
            .unwrap_err();
        assert!(matches!(e, SecretError::DuplicateKey { ref first, .. } if first == "envs[0]"));
        // The same variable twice in one file.
        let e = b
            .add_env(
                &[("X".into(), "1".into()), ("X".into(), "2".into())],
                "secretFrom[0].envs[2] (`a.env`)",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "key `X` of Secret `app` is assigned twice in secretFrom[0].envs[2] (`a.env`)"
        );
    }

    #[test]
    fn non_utf8_string_suggests_binary_files() {
        let mut b = SecretBuilder::new(&meta("app"), None);
        let e = b
            .add_string(
                "key.der",
                &[0x30, 0x82, 0xff],
                "secretFrom[0].files[0] (`key.der`)",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "secretFrom[0].files[0] (`key.der`) is not valid UTF-8 text, so it cannot go into \
             `stringData` as key `key.der`; list it under `binaryFiles` to store it \
             base64-encoded in `data`"
        );
        // The failed call left no trace: the key is still free.
        b.add_binary(
            "key.der",
            &[0x30, 0x82, 0xff],
            "secretFrom[0].binaryFiles[0]",
        )
        .unwrap();
    }

    #[test]
    fn stand_ins_replace_values_after_every_check() {
        let keyring = crate::sops::Keyring::load(&crate::sops::IdentitySources {
            age_key: Some(zeroize::Zeroizing::new(
                "AGE-SECRET-KEY-1Z8UFGWENT7XP3GQ008FNEQLESTGXQC45688ERRHL9YLZEXX9GXVS0D4NZC".into(),
            )),
            ..Default::default()
        });
        let redactor = Redactor::from_keyring(&keyring).unwrap();
        let marker = redactor.marker(b"hunter2");
        for (stand_in, text, data) in [
            (StandIn::Placeholder, PLACEHOLDER, PLACEHOLDER_BASE64),
            (StandIn::Marker(redactor), marker.as_str(), marker.as_str()),
        ] {
            let mut b = SecretBuilder::new(&meta("s"), None).with_stand_in(stand_in);
            b.add_string("file", b"hunter2", "files[0]").unwrap();
            b.add_binary("bin", b"hunter2", "binaryFiles[0]").unwrap();
            b.add_env(&[("ENV".into(), "hunter2".into())], "envs[0]")
                .unwrap();
            assert!(b.add_string("text", &[0xff], "files[1]").is_err());
            assert!(b.add_env(&[("ENV".into(), "x".into())], "envs[1]").is_err());
            let doc = b.build_document();
            let value = |field: &str, key: &str| match doc.get(field) {
                Some(Value::Mapping(m)) => m.get(key).cloned(),
                _ => None,
            };
            assert_eq!(value("stringData", "file"), Some(Value::str(text)));
            assert_eq!(value("stringData", "ENV"), Some(Value::str(text)));
            assert_eq!(value("data", "bin"), Some(Value::str(data)));
        }
    }

    #[test]
    fn render_several() {
        let a = SecretBuilder::new(&meta("a"), None).build_document();
        let b = SecretBuilder::new(&meta("b"), None).build_document();
        let out = String::from_utf8(render(&[a, b]).unwrap()).unwrap();
        assert_eq!(
            out,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
        );
        assert!(render(&[]).unwrap().is_empty());
    }
}
