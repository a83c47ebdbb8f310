//! The `sops` metadata section: key groups, MAC, `lastmodified` and the encryption rule.

use std::collections::BTreeMap;

use crate::sops::gotime::Timestamp;
use crate::sops::rules::{DEFAULT_UNENCRYPTED_SUFFIX, EncryptionRule, GoRegex};
use crate::sops::stores::MetadataStyle;
use crate::sops::tree::{Mapping, Value};

/// The decoded metadata of an encrypted file.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// The key groups. A file with any top-level key list has exactly one group.
    pub key_groups: Vec<KeyGroup>,
    /// How many groups must be recovered (`shamir_threshold`; 0 when absent).
    pub shamir_threshold: usize,
    /// `lastmodified`, parsed (it is the MAC's AAD once re-formatted).
    pub last_modified: Timestamp,
    /// The encrypted MAC (`ENC[…]`), or empty.
    pub mac: String,
    /// Which leaves are encrypted.
    pub rule: EncryptionRule,
    /// Whether only encrypted values are covered by the MAC.
    pub mac_only_encrypted: bool,
    /// The sops version that wrote the file.
    pub version: String,
}

/// A group of master keys, any one of which recovers the group's data key (or Shamir share).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyGroup {
    /// The group's keys in sops' decryption order: age keys first, then the others in file order.
    pub keys: Vec<MasterKey>,
}

/// One master key of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKey {
    /// An age recipient with its armored, encrypted copy of the data key.
    Age {
        /// `age1…`, `ssh-ed25519 …`, `ssh-rsa …` or a plugin recipient.
        recipient: String,
        /// The armored age file holding the data key (or share).
        enc: String,
    },
    /// A PGP key with its armored, encrypted copy of the data key.
    Pgp {
        /// The key's fingerprint as the file records it (`fp`).
        fingerprint: String,
        /// The armored OpenPGP message holding the data key (or share).
        enc: String,
    },
    /// An AWS KMS key with its encrypted copy of the data key.
    Kms(KmsKey),
    /// A HashiCorp Vault (or OpenBao) transit key with its encrypted copy of the data key.
    ///
    /// Nothing in it is authenticated: the MAC does not cover the metadata, so the address is
    /// whatever the file says (see `keys/vault` for which addresses are contacted).
    Vault {
        /// `vault_address`: the server, e.g. `https://vault.example.com:8200`.
        address: String,
        /// `engine_path`: where the transit engine is mounted, e.g. `transit` or `sops/transit`.
        engine_path: String,
        /// `key_name`: the transit key.
        key_name: String,
        /// `enc`: transit's ciphertext of the data key (or share), `vault:v1:…`.
        enc: String,
    },
    /// A key kind ksops cannot use (GCP KMS, Azure Key Vault, HuaweiCloud KMS); listed so
    /// errors can name it.
    Unsupported {
        /// The metadata field it came from (`gcp_kms`, `azure_kv`, `hckms`).
        kind: &'static str,
        /// What sops prints for the key (fingerprint, ARN, resource id, URL).
        id: String,
    },
}

/// An AWS KMS master key (`kms` entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsKey {
    /// The KMS key's ARN (`arn`); its region decides where the key is decrypted.
    pub arn: String,
    /// A role to assume through STS before calling KMS (`role`), or empty.
    pub role: String,
    /// The encryption context (`context`), which KMS checks on decryption. Its order in the
    /// file does not matter.
    pub context: BTreeMap<String, String>,
    /// The shared-config profile whose credentials are used (`aws_profile`), or empty.
    pub aws_profile: String,
    /// The base64 ciphertext blob holding the data key (or share).
    pub enc: String,
}

impl KmsKey {
    /// How sops names the key (`ToString`): `arn[+role][|k:v,… sorted][|profile]`, with an
    /// empty context kept between the bars when a profile follows.
    pub fn label(&self) -> String {
        let mut label = self.arn.clone();
        if !self.role.is_empty() {
            label = format!("{label}+{}", self.role);
        }
        let context = self
            .context
            .iter()
            .map(|(key, value)| format!("{key}:{value}"))
            .collect::<Vec<_>>()
            .join(",");
        if !self.aws_profile.is_empty() {
            format!("{label}|{context}|{}", self.aws_profile)
        } else if !context.is_empty() {
            format!("{label}|{context}")
        } else {
            label
        }
    }
}

impl MasterKey {
    /// The key's type as sops names it in its decryption order (`age`, `pgp`, `kms`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            MasterKey::Age { .. } => "age",
            MasterKey::Pgp { .. } => "pgp",
            MasterKey::Kms(_) => "kms",
            MasterKey::Vault { .. } => "hc_vault",
            MasterKey::Unsupported { kind, .. } => kind,
        }
    }

    /// The key as sops names it in reports: the age recipient, the PGP fingerprint, the Vault
    /// key's URL (`{vault_address}/v1/{engine_path}/keys/{key_name}`), the KMS identifier.
    pub fn name(&self) -> String {
        match self {
            MasterKey::Age { recipient, .. } => recipient.clone(),
            MasterKey::Pgp { fingerprint, .. } => fingerprint.clone(),
            MasterKey::Vault {
                address,
                engine_path,
                key_name,
                ..
            } => format!("{address}/v1/{engine_path}/keys/{key_name}"),
            MasterKey::Kms(key) => key.label(),
            MasterKey::Unsupported { id, .. } => id.clone(),
        }
    }

    /// Where sops loads this key's type when it builds a group, before sorting by the
    /// decryption order.
    pub(crate) fn load_rank(&self) -> usize {
        let kind = self.kind();
        KEY_KINDS
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(KEY_KINDS.len())
    }
}

/// Why the metadata section cannot be used. Messages follow sops where sops has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// A field has the wrong type or shape.
    #[error("invalid sops metadata: {0}")]
    Invalid(String),
    /// `lastmodified` (or a key's `created_at`) is not RFC 3339.
    #[error(transparent)]
    Time(#[from] crate::sops::gotime::TimeParseError),
    /// More than one encryption rule is set.
    #[error(
        "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
    )]
    ConflictingRules,
    /// No key list holds any key.
    #[error("No keys found in file")]
    NoKeys,
    /// The `version` field is missing or not semver.
    #[error("{0}")]
    Version(String),
    /// JSON files from the Python sops 1.x store `version` as a number.
    #[error(
        "SOPS versions higher than 2.0.10 can not automatically decrypt JSON files created with SOPS 1.x. In order to be able to decrypt this file, you can either edit it manually and make sure the JSON value under `sops -> version` is a string, or you can rollback to SOPS 2.0.10, decrypt the file, and then re-encrypt it with a newer version."
    )]
    NumericVersion,
}

/// Reads fields of a metadata mapping the way sops' decoder for its store fills its struct.
///
/// YAML (go-yaml): exact field names, one entry per name (duplicates are refused while
/// parsing). JSON and the flat stores (Go `encoding/json`): field names match
/// case-insensitively and every matching entry is decoded in turn over the previous one (see
/// [`decode_over`]); an entry of the wrong type fails the whole decode even when a later entry
/// would replace it.
struct Fields<'a> {
    map: &'a Mapping,
    style: MetadataStyle,
}

impl<'a> Fields<'a> {
    fn new(value: &'a Value, style: MetadataStyle, what: &str) -> Result<Self, MetadataError> {
        match value {
            Value::Mapping(map) => Ok(Fields { map, style }),
            _ => Err(MetadataError::Invalid(format!("{what} is not a mapping"))),
        }
    }

    /// The entries decoded into field `name`, in order, with their exact keys.
    fn matches(&self, name: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + '_ {
        self.map.entries().filter_map(move |entry| {
            let matches = match self.style {
                MetadataStyle::Yaml => entry.key == name,
                MetadataStyle::Json | MetadataStyle::Flat => entry.key.eq_ignore_ascii_case(name),
            };
            matches.then_some((entry.key.as_str(), &entry.value))
        })
    }

    /// The field's value once every matching entry is decoded (`None`: absent or null).
    fn get(&self, name: &'a str) -> Option<Value> {
        self.matches(name)
            .fold(None, |current, (_, next)| decode_over(current, next))
    }

    /// A scalar field: `convert` decodes one entry (`None`: wrong type); null entries leave
    /// the field as it is, and the last value wins.
    fn scalar<T>(
        &self,
        name: &'a str,
        kind: &str,
        convert: impl Fn(&str, &Value) -> Option<T>,
    ) -> Result<Option<T>, MetadataError> {
        let mut out = None;
        for (key, value) in self.matches(name) {
            if matches!(value, Value::Null) {
                continue;
            }
            let converted = convert(key, value)
                .ok_or_else(|| MetadataError::Invalid(format!("`{name}` is not {kind}")))?;
            out = Some(converted);
        }
        Ok(out)
    }

    fn string(&self, name: &'a str) -> Result<String, MetadataError> {
        let yaml = self.style == MetadataStyle::Yaml;
        let text = self.scalar(name, "a string", |_, value| string_value(value, yaml))?;
        Ok(text.unwrap_or_default())
    }

    /// A mapping of strings (a KMS `context`). Repeated entries add to it, as Go's decoders
    /// fill an existing map; null clears it. A null value is refused: sops cannot use it.
    fn string_map(&self, name: &'a str) -> Result<BTreeMap<String, String>, MetadataError> {
        let yaml = self.style == MetadataStyle::Yaml;
        let mut out = BTreeMap::new();
        for (_, value) in self.matches(name) {
            match value {
                Value::Null => out.clear(),
                Value::Mapping(map) => {
                    for entry in map.entries() {
                        let text = string_value(&entry.value, yaml).ok_or_else(|| {
                            MetadataError::Invalid(format!(
                                "`{name}` value of {:?} is not a string",
                                entry.key
                            ))
                        })?;
                        out.insert(entry.key.clone(), text);
                    }
                }
                _ => {
                    return Err(MetadataError::Invalid(format!("`{name}` is not a mapping")));
                }
            }
        }
        Ok(out)
    }

    fn list(&self, name: &'a str) -> Result<Vec<Value>, MetadataError> {
        let invalid = || MetadataError::Invalid(format!("`{name}` is not a list"));
        if self
            .matches(name)
            .any(|(_, v)| !matches!(v, Value::Sequence(_) | Value::Null))
        {
            return Err(invalid());
        }
        match self.get(name) {
            Some(Value::Sequence(items)) => Ok(items),
            _ => Ok(Vec::new()),
        }
    }

    fn bool(&self, name: &'a str) -> Result<bool, MetadataError> {
        let style = self.style;
        let flag = self.scalar(name, "a boolean", |key, value| match (style, value) {
            (_, Value::Bool(b)) => Some(*b),
            // go-yaml accepts YAML 1.1 booleans when the target is a bool field.
            (MetadataStyle::Yaml, Value::Str(text)) => match text.as_slice() {
                b"y" | b"Y" | b"yes" | b"Yes" | b"YES" | b"on" | b"On" | b"ON" => Some(true),
                b"n" | b"N" | b"no" | b"No" | b"NO" | b"off" | b"Off" | b"OFF" => Some(false),
                _ => None,
            },
            // dotenv/INI carry it as text, which sops turns into `text == "true"` for the exact
            // key only; any other spelling stays a string, which a bool field refuses.
            (MetadataStyle::Flat, Value::Str(text)) if key == name => {
                Some(text.as_slice() == b"true")
            }
            _ => None,
        })?;
        Ok(flag.unwrap_or(false))
    }

    /// A count such as `shamir_threshold`. sops reads it into a signed int; a value at or below
    /// zero never makes recovery fail for want of groups, exactly like 0, so it is clamped.
    fn count(&self, name: &'a str) -> Result<usize, MetadataError> {
        let style = self.style;
        let whole = |f: f64| (f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i64);
        let count = self.scalar(name, "a whole number", |key, value| match (style, value) {
            (_, Value::Int(i)) => Some(*i),
            // go-yaml truncates a float into an int field; JSON numbers arrive as floats.
            (MetadataStyle::Yaml, Value::Float(f)) if f.abs() < 1e15 => Some(f.trunc() as i64),
            (MetadataStyle::Json, Value::Float(f)) => whole(*f),
            // dotenv/INI write it as text, which sops converts (Atoi, or a whole float from
            // older builds) for the exact key only.
            (MetadataStyle::Flat, Value::Str(text)) if key == name => {
                let text = std::str::from_utf8(text).ok()?;
                text.parse::<i64>()
                    .ok()
                    .or_else(|| text.parse::<f64>().ok().and_then(whole))
            }
            _ => None,
        })?;
        Ok(count.map_or(0, |n| usize::try_from(n).unwrap_or(0)))
    }
}

/// A scalar decoded into a Go string field: any string; in YAML (go-yaml decodes any scalar
/// into a string) also numbers, booleans and timestamps, as written. The parser keeps floats
/// and timestamps of the metadata as their text; these print as written.
fn string_value(value: &Value, yaml: bool) -> Option<String> {
    match value {
        Value::Str(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::Int(i) if yaml => Some(i.to_string()),
        Value::Bool(b) if yaml => Some(b.to_string()),
        Value::Float(f) if yaml => Some(crate::sops::gonum::format_g(*f, false)),
        Value::Time(t) if yaml => Some(t.to_rfc3339_nano()),
        _ => None,
    }
}

/// Decodes `next` over a field that already holds `current`, as Go's JSON decoder does when a
/// field appears twice: null clears a list and leaves anything else alone; a list is decoded
/// element by element into the existing elements (an object element keeps the fields the new
/// one lacks) and takes the new length; anything else replaces the old value.
fn decode_over(current: Option<Value>, next: &Value) -> Option<Value> {
    match (current, next) {
        (Some(Value::Sequence(_)) | None, Value::Null) => None,
        (current, Value::Null) => current,
        (Some(Value::Sequence(old)), Value::Sequence(new)) => {
            let mut old = old.into_iter();
            let merged = new
                .iter()
                .map(|element| match (old.next(), element) {
                    (Some(Value::Mapping(mut kept)), Value::Mapping(fields)) => {
                        kept.items.extend(fields.items.iter().cloned());
                        Value::Mapping(kept)
                    }
                    (Some(kept), Value::Null) => kept,
                    (_, element) => element.clone(),
                })
                .collect();
            Some(Value::Sequence(merged))
        }
        (_, next) => Some(next.clone()),
    }
}

/// The key kinds sops knows, in the order sops builds a group from them.
const KEY_KINDS: [&str; 7] = [
    "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age",
];

impl Metadata {
    /// Decodes the metadata tree a store extracted.
    pub fn from_tree(tree: &Value, style: MetadataStyle) -> Result<Metadata, MetadataError> {
        let fields = Fields::new(tree, style, "sops metadata")?;
        if style == MetadataStyle::Json && matches!(fields.get("version"), Some(Value::Float(_))) {
            return Err(MetadataError::NumericVersion);
        }
        let last_modified = Timestamp::parse_rfc3339(&fields.string("lastmodified")?)?;
        let key_groups = key_groups(&fields)?;
        let rule = rule(&fields)?;
        let version = fields.string("version")?;
        check_version(&version)?;
        Ok(Metadata {
            key_groups,
            shamir_threshold: fields.count("shamir_threshold")?,
            last_modified,
            mac: fields.string("mac")?,
            rule,
            mac_only_encrypted: fields.bool("mac_only_encrypted")?,
            version,
        })
    }
}

fn key_groups(fields: &Fields<'_>) -> Result<Vec<KeyGroup>, MetadataError> {
    let has_top_level = KEY_KINDS
        .iter()
        .map(|kind| fields.list(kind).map(|l| !l.is_empty()))
        .collect::<Result<Vec<_>, _>>()?
        .contains(&true);
    if has_top_level {
        return Ok(vec![key_group(fields)?]);
    }
    let groups = fields.list("key_groups")?;
    if groups.is_empty() {
        return Err(MetadataError::NoKeys);
    }
    groups
        .iter()
        .map(|group| key_group(&Fields::new(group, fields.style, "a key group")?))
        .collect()
}

/// Builds one group in sops' decryption order: age keys first, then PGP, then the rest in
/// the order sops loads them.
fn key_group(fields: &Fields<'_>) -> Result<KeyGroup, MetadataError> {
    let mut age = Vec::new();
    let mut pgp = Vec::new();
    let mut others = Vec::new();
    for kind in KEY_KINDS {
        for entry in &fields.list(kind)? {
            let key = Fields::new(entry, fields.style, kind)?;
            if kind == "age" {
                age.push(MasterKey::Age {
                    recipient: key.string("recipient")?,
                    enc: key.string("enc")?,
                });
                continue;
            }
            // sops parses every other key's creation time when loading, so a bad one fails
            // the whole file even though the key is never used.
            Timestamp::parse_rfc3339(&key.string("created_at")?)?;
            let id = match kind {
                "kms" => {
                    others.push(MasterKey::Kms(KmsKey {
                        arn: key.string("arn")?,
                        role: key.string("role")?,
                        context: key.string_map("context")?,
                        aws_profile: key.string("aws_profile")?,
                        enc: key.string("enc")?,
                    }));
                    continue;
                }
                "gcp_kms" => key.string("resource_id")?,
                "hckms" => key.string("key_id")?,
                "azure_kv" => format!(
                    "{}/keys/{}/{}",
                    key.string("vault_url")?,
                    key.string("name")?,
                    key.string("version")?
                ),
                "hc_vault" => {
                    others.push(MasterKey::Vault {
                        address: key.string("vault_address")?,
                        engine_path: key.string("engine_path")?,
                        key_name: key.string("key_name")?,
                        enc: key.string("enc")?,
                    });
                    continue;
                }
                _ => {
                    pgp.push(MasterKey::Pgp {
                        fingerprint: key.string("fp")?,
                        enc: key.string("enc")?,
                    });
                    continue;
                }
            };
            others.push(MasterKey::Unsupported { kind, id });
        }
    }
    Ok(KeyGroup {
        keys: age.into_iter().chain(pgp).chain(others).collect(),
    })
}

fn rule(fields: &Fields<'_>) -> Result<EncryptionRule, MetadataError> {
    let mut rules = Vec::new();
    let mut add = |name: &str, make: fn(&str) -> EncryptionRule| -> Result<(), MetadataError> {
        let value = fields.string(name)?;
        if !value.is_empty() {
            rules.push(make(&value));
        }
        Ok(())
    };
    add("unencrypted_suffix", |s| {
        EncryptionRule::UnencryptedSuffix(s.to_owned())
    })?;
    add("encrypted_suffix", |s| {
        EncryptionRule::EncryptedSuffix(s.to_owned())
    })?;
    add("unencrypted_regex", |s| {
        EncryptionRule::UnencryptedRegex(GoRegex::new(s))
    })?;
    add("encrypted_regex", |s| {
        EncryptionRule::EncryptedRegex(GoRegex::new(s))
    })?;
    add("unencrypted_comment_regex", |s| {
        EncryptionRule::UnencryptedCommentRegex(GoRegex::new(s))
    })?;
    add("encrypted_comment_regex", |s| {
        EncryptionRule::EncryptedCommentRegex(GoRegex::new(s))
    })?;
    match rules.len() {
        0 => Ok(EncryptionRule::UnencryptedSuffix(
            DEFAULT_UNENCRYPTED_SUFFIX.to_owned(),
        )),
        1 => Ok(rules.remove(0)),
        _ => Err(MetadataError::ConflictingRules),
    }
}

/// sops checks the writer's version as semver (for an old KMS bug) before decrypting; files
/// from the Python 1.x line are let through.
fn check_version(version: &str) -> Result<(), MetadataError> {
    if version.starts_with("1.") {
        return Ok(());
    }
    if version.is_empty() {
        return Err(MetadataError::Version("Version string empty".into()));
    }
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        return Err(MetadataError::Version(
            "No Major.Minor.Patch elements found".into(),
        ));
    }
    let names = ["Major", "Minor", "Patch"];
    for (part, name) in parts.iter().zip(names) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MetadataError::Version(format!(
                "Invalid character(s) found in {} number {part:?}",
                name.to_lowercase()
            )));
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err(MetadataError::Version(format!(
                "{name} number must not contain leading zeroes {part:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        let mut m = Mapping::new();
        for (k, v) in entries {
            m.push(k, v);
        }
        Value::Mapping(m)
    }

    fn age_key(recipient: &str) -> Value {
        map(vec![
            ("recipient", Value::str(recipient)),
            ("enc", Value::str("E")),
        ])
    }

    fn base(extra: Vec<(&str, Value)>) -> Vec<(&'static str, Value)> {
        let mut fields: Vec<(&'static str, Value)> = vec![
            ("age", Value::Sequence(vec![age_key("age1a")])),
            ("lastmodified", Value::str("2026-11-22T11:21:32Z")),
            ("mac", Value::str("ENC[x]")),
            ("version", Value::str("3.11.0")),
        ];
        for (k, v) in extra {
            let k: &'static str = Box::leak(k.to_owned().into_boxed_str());
            fields.push((k, v));
        }
        fields
    }

    fn pgp_key(fp: &str, created_at: &str) -> Value {
        map(vec![
            ("created_at", Value::str(created_at)),
            ("enc", Value::str("-----BEGIN PGP MESSAGE-----")),
            ("fp", Value::str(fp)),
        ])
    }

    #[test]
    fn pgp_entries_keep_fingerprint_and_enc_in_file_order() {
        let keys = vec![
            pgp_key("FP2", "2026-01-01T00:00:00Z"),
            pgp_key("FP1", "2026-01-01T00:00:00Z"),
        ];
        let tree = map(base(vec![
            ("pgp", Value::Sequence(keys)),
            ("kms", Value::Sequence(vec![])),
        ]));
        let meta = Metadata::from_tree(&tree, MetadataStyle::Yaml).unwrap();
        let pgp = |fp: &str| MasterKey::Pgp {
            fingerprint: fp.into(),
            enc: "-----BEGIN PGP MESSAGE-----".into(),
        };
        assert_eq!(meta.key_groups[0].keys[1..], [pgp("FP2"), pgp("FP1")]);
        assert_eq!(meta.key_groups[0].keys[1].kind(), "pgp");
        // As in sops, a PGP key's creation time must parse even though it is not used.
        let bad = map(base(vec![(
            "pgp",
            Value::Sequence(vec![pgp_key("FP", "yesterday")]),
        )]));
        assert!(matches!(
            Metadata::from_tree(&bad, MetadataStyle::Yaml),
            Err(MetadataError::Time(_))
        ));
    }

    fn kms_key(context: Vec<(&str, Value)>, extra: Vec<(&str, Value)>) -> Value {
        let mut fields = vec![
            (
                "arn",
                Value::str("arn:aws:kms:eu-west-1:111122223333:key/test-only"),
            ),
            ("context", map(context)),
            ("created_at", Value::str("2026-01-01T00:00:00Z")),
            ("enc", Value::str("QUJD")),
        ];
        fields.extend(extra);
        map(fields)
    }

    #[test]
    fn kms_entries_keep_role_context_and_profile() {
        let decode = |key: Value, style| {
            let tree = map(base(vec![("kms", Value::Sequence(vec![key]))]));
            match Metadata::from_tree(&tree, style).unwrap().key_groups[0].keys[1].clone() {
                MasterKey::Kms(key) => key,
                other => panic!("{other:?}"),
            }
        };
        let a = decode(
            kms_key(
                vec![("team", Value::str("shop")), ("env", Value::str("prod"))],
                vec![],
            ),
            MetadataStyle::Yaml,
        );
        let b = decode(
            kms_key(
                vec![("env", Value::str("prod")), ("team", Value::str("shop"))],
                vec![],
            ),
            MetadataStyle::Yaml,
        );
        // The context's order does not matter; sops' label sorts it.
        assert_eq!(a, b);
        assert_eq!(
            a.label(),
            "arn:aws:kms:eu-west-1:111122223333:key/test-only|env:prod,team:shop"
        );
        assert_eq!(a.enc, "QUJD");
        let full = decode(
            kms_key(
                vec![],
                vec![
                    ("role", Value::str("arn:aws:iam::111122223333:role/r")),
                    ("aws_profile", Value::str("team")),
                ],
            ),
            MetadataStyle::Yaml,
        );
        assert_eq!(
            full.label(),
            "arn:aws:kms:eu-west-1:111122223333:key/test-only+arn:aws:iam::111122223333:role/r||team"
        );
        // go-yaml decodes any scalar into a string; Go's JSON decoder does not.
        let numeric = kms_key(vec![("n", Value::Int(1))], vec![]);
        assert_eq!(
            decode(numeric.clone(), MetadataStyle::Yaml).context["n"],
            "1"
        );
        let tree = map(base(vec![("kms", Value::Sequence(vec![numeric]))]));
        assert!(Metadata::from_tree(&tree, MetadataStyle::Json).is_err());
    }

    #[test]
    fn vault_entries_keep_address_path_key_and_enc() {
        let vault = map(vec![
            (
                "vault_address",
                Value::str("https://vault.example.invalid:8200"),
            ),
            ("engine_path", Value::str("sops/transit")),
            ("key_name", Value::str("k1")),
            ("created_at", Value::str("2026-01-01T00:00:00Z")),
            ("enc", Value::str("vault:v1:TEST-ONLY")),
        ]);
        let tree = map(base(vec![("hc_vault", Value::Sequence(vec![vault]))]));
        let meta = Metadata::from_tree(&tree, MetadataStyle::Yaml).unwrap();
        let key = &meta.key_groups[0].keys[1];
        assert_eq!(
            key,
            &MasterKey::Vault {
                address: "https://vault.example.invalid:8200".into(),
                engine_path: "sops/transit".into(),
                key_name: "k1".into(),
                enc: "vault:v1:TEST-ONLY".into(),
            }
        );
        assert_eq!(key.kind(), "hc_vault");
        assert_eq!(
            key.name(),
            "https://vault.example.invalid:8200/v1/sops/transit/keys/k1"
        );
    }

    #[test]
    fn decodes_a_single_group_with_the_default_rule() {
        let meta = Metadata::from_tree(&map(base(vec![])), MetadataStyle::Yaml).unwrap();
        assert_eq!(meta.key_groups.len(), 1);
        assert_eq!(
            meta.rule,
            EncryptionRule::UnencryptedSuffix("_unencrypted".into())
        );
        assert_eq!(meta.last_modified.to_rfc3339(), "2026-11-22T11:21:32Z");
        assert!(!meta.mac_only_encrypted);
    }

    #[test]
    fn orders_age_keys_first() {
        let pgp = map(vec![
            ("created_at", Value::str("2026-01-01T00:00:00Z")),
            ("enc", Value::str("x")),
            ("fp", Value::str("FP")),
        ]);
        let group = map(vec![
            ("pgp", Value::Sequence(vec![pgp])),
            ("hc_vault", Value::Sequence(vec![])),
            ("age", Value::Sequence(vec![age_key("age1b")])),
        ]);
        let tree = map(vec![
            ("shamir_threshold", Value::Int(2)),
            ("key_groups", Value::Sequence(vec![group.clone(), group])),
            ("lastmodified", Value::str("2026-11-22T11:21:32Z")),
            ("mac", Value::str("")),
            ("version", Value::str("3.11.0")),
        ]);
        let meta = Metadata::from_tree(&tree, MetadataStyle::Yaml).unwrap();
        assert_eq!(meta.shamir_threshold, 2);
        assert_eq!(meta.key_groups.len(), 2);
        assert!(matches!(meta.key_groups[0].keys[0], MasterKey::Age { .. }));
        assert_eq!(
            meta.key_groups[0].keys[1],
            MasterKey::Pgp {
                fingerprint: "FP".into(),
                enc: "x".into()
            }
        );
    }

    #[test]
    fn json_field_names_are_case_insensitive_and_last_wins() {
        let mut fields = base(vec![]);
        fields.push(("LastModified", Value::str("2026-11-23T00:00:00Z")));
        let meta = Metadata::from_tree(&map(fields), MetadataStyle::Json).unwrap();
        assert_eq!(meta.last_modified.to_rfc3339(), "2026-11-23T00:00:00Z");
        let mut fields = base(vec![]);
        fields.push(("LastModified", Value::str("bad")));
        assert!(Metadata::from_tree(&map(fields), MetadataStyle::Yaml).is_ok());
    }

    #[test]
    fn flat_stores_carry_booleans_and_thresholds_as_text() {
        let fields = base(vec![
            ("mac_only_encrypted", Value::str("true")),
            ("shamir_threshold", Value::str("2.0")),
        ]);
        let meta = Metadata::from_tree(&map(fields), MetadataStyle::Flat).unwrap();
        assert!(meta.mac_only_encrypted);
        assert_eq!(meta.shamir_threshold, 2);
    }

    #[test]
    fn repeated_fields_decode_over_each_other_like_go_json() {
        // Flat stores unflatten `Age__list_0__map_enc` and `age__list_0__map_recipient` into two
        // entries (sorted, as Go's map marshalling sorts them) that Go decodes into one list.
        let fields = vec![
            (
                "Age",
                Value::Sequence(vec![map(vec![("enc", Value::str("E"))])]),
            ),
            (
                "age",
                Value::Sequence(vec![map(vec![("recipient", Value::str("age1a"))])]),
            ),
            ("lastmodified", Value::str("2026-11-22T11:21:32Z")),
            ("mac", Value::str("ENC[x]")),
            ("Mac", Value::Null),
            ("version", Value::str("3.11.0")),
        ];
        let meta = Metadata::from_tree(&map(fields), MetadataStyle::Flat).unwrap();
        assert_eq!(
            meta.key_groups[0].keys,
            [MasterKey::Age {
                recipient: "age1a".into(),
                enc: "E".into()
            }]
        );
        // A null entry leaves a string field as it was.
        assert_eq!(meta.mac, "ENC[x]");
    }

    #[test]
    fn flat_text_is_converted_for_the_exact_key_only() {
        for (key, value) in [
            ("Shamir_threshold", "2"),
            ("shamir_threshold", "two"),
            ("MAC_ONLY_ENCRYPTED", "true"),
        ] {
            let fields = base(vec![(key, Value::str(value))]);
            assert!(
                Metadata::from_tree(&map(fields), MetadataStyle::Flat).is_err(),
                "{key}={value}"
            );
        }
        let fields = base(vec![("mac_only_encrypted", Value::str("yes"))]);
        let meta = Metadata::from_tree(&map(fields), MetadataStyle::Flat).unwrap();
        assert!(!meta.mac_only_encrypted);
    }

    #[test]
    fn typed_fields_follow_go_yaml() {
        let decode = |extra| Metadata::from_tree(&map(base(extra)), MetadataStyle::Yaml);
        // YAML 1.1 booleans decode into a bool field.
        let meta = decode(vec![("mac_only_encrypted", Value::str("yes"))]).unwrap();
        assert!(meta.mac_only_encrypted);
        let meta = decode(vec![("mac_only_encrypted", Value::str("Off"))]).unwrap();
        assert!(!meta.mac_only_encrypted);
        assert!(decode(vec![("mac_only_encrypted", Value::str("maybe"))]).is_err());
        // A negative threshold is as permissive as none; a float is truncated.
        let meta = decode(vec![("shamir_threshold", Value::Int(-1))]).unwrap();
        assert_eq!(meta.shamir_threshold, 0);
        let meta = decode(vec![("shamir_threshold", Value::Float(2.7))]).unwrap();
        assert_eq!(meta.shamir_threshold, 2);
        assert!(decode(vec![("shamir_threshold", Value::str("2"))]).is_err());
    }

    #[test]
    fn refuses_what_sops_refuses() {
        let err = |fields| Metadata::from_tree(&map(fields), MetadataStyle::Yaml).unwrap_err();
        assert_eq!(
            err(base(vec![
                ("encrypted_regex", Value::str("a")),
                ("unencrypted_suffix", Value::str("b"))
            ])),
            MetadataError::ConflictingRules
        );
        let mut no_version = base(vec![]);
        no_version.retain(|(k, _)| *k != "version");
        assert_eq!(err(no_version).to_string(), "Version string empty");
        let mut short = base(vec![]);
        short.retain(|(k, _)| *k != "version");
        short.push(("version", Value::str("3.11")));
        assert_eq!(
            err(short).to_string(),
            "No Major.Minor.Patch elements found"
        );
        let mut no_keys = base(vec![]);
        no_keys.retain(|(k, _)| *k != "age");
        assert_eq!(err(no_keys), MetadataError::NoKeys);
        let mut bad_time = base(vec![]);
        bad_time.retain(|(k, _)| *k != "lastmodified");
        assert!(matches!(err(bad_time), MetadataError::Time(_)));
        let mut numeric = base(vec![]);
        numeric.retain(|(k, _)| *k != "version");
        numeric.push(("version", Value::Float(1.0)));
        assert_eq!(
            Metadata::from_tree(&map(numeric), MetadataStyle::Json).unwrap_err(),
            MetadataError::NumericVersion
        );
    }
}
