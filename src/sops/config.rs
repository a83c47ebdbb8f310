//! sops' `.sops.yaml`: the output settings that change `sops decrypt` output (`stores.*.indent`)
//! and the `creation_rules` that say which keys a file is encrypted for.
//!
//! Like sops, the file is found through `--config`, else `$SOPS_CONFIG`, else by looking for
//! `.sops.yaml` in the working directory and its parents. A malformed file fails the decrypt.
//!
//! Creation rules are read as sops 3.11 reads them: the first rule whose `path_regex` (a Go
//! regexp, unanchored) matches the file's path relative to the directory holding `.sops.yaml`
//! applies, and a rule without `path_regex` matches every file. Key lists are a comma-separated
//! string or a list (each item may itself hold commas); entries are trimmed and empty ones
//! dropped. `key_groups` (with `merge`) replaces the top-level key lists.

use std::path::{Path, PathBuf};

use crate::sops::rules::{DEFAULT_UNENCRYPTED_SUFFIX, EncryptionRule, GoRegex};
use crate::sops::stores::{EmitOptions, yaml};
use crate::sops::tree::{Mapping, Value};

/// The name sops looks for.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";

/// How many parent directories sops climbs looking for the file.
const MAX_DEPTH: usize = 100;

/// The config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("error reading config file {path}: {cause}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// It is not valid YAML or has the wrong shape.
    #[error("error loading config file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Finds `.sops.yaml` in `start` or one of its parents.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .take(MAX_DEPTH + 1)
        .map(|dir| dir.join(CONFIG_FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// Reads the output settings from a config file.
pub fn load_emit_options(path: &Path) -> Result<EmitOptions, ConfigError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        cause: source,
    })?;
    let invalid = |reason: String| ConfigError::Invalid {
        path: shown.clone(),
        reason,
    };
    let documents = yaml::parse_documents(&bytes).map_err(|e| invalid(e.to_string()))?;
    let mut options = EmitOptions::default();
    let Some(stores) = documents.first().and_then(|doc| doc.get("stores")) else {
        return Ok(options);
    };
    let stores = as_mapping(stores).ok_or_else(|| invalid("`stores` is not a mapping".into()))?;
    let indent = |store: &str| -> Result<Option<i64>, ConfigError> {
        let Some(settings) = stores.get(store) else {
            return Ok(None);
        };
        let settings = as_mapping(settings)
            .ok_or_else(|| invalid(format!("`stores.{store}` is not a mapping")))?;
        match settings.get("indent") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(_) => Err(invalid(format!(
                "`stores.{store}.indent` is not an integer"
            ))),
        }
    };
    options.yaml_indent = indent("yaml")?.map(|n| usize::try_from(n).unwrap_or(4));
    options.json_indent = indent("json")?;
    Ok(options)
}

/// One `creation_rules` entry, with what sops would refuse about it.
#[derive(Clone, Debug)]
pub struct CreationRule {
    /// Position in `creation_rules`.
    pub index: usize,
    /// `path_regex` as written; `None` when absent or empty (the rule matches every file).
    pub path_regex: Option<String>,
    /// The compiled `path_regex`, or why it does not compile (sops fails when it reaches it).
    regex: Option<Result<regex::Regex, String>>,
    /// Which values a file encrypted under this rule gets encrypted (`unencrypted_suffix`,
    /// `encrypted_regex`, …; sops' default `_unencrypted` suffix when none is set, the first
    /// one when several are, which sops refuses and [`CreationRule::problems`] reports).
    pub encryption_rule: EncryptionRule,
    /// The key groups a file encrypted under this rule gets, in order. Top-level key lists make
    /// one group.
    pub key_groups: Vec<Vec<RuleKey>>,
    /// Problems that make sops refuse the rule, each with the field it concerns
    /// (e.g. `creation_rules[1].path_regex`).
    pub problems: Vec<RuleProblem>,
}

/// A problem with one field of a creation rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleProblem {
    /// The field, e.g. `creation_rules[0].path_regex`.
    pub field: String,
    /// What is wrong, in sops' terms.
    pub reason: String,
}

/// One key a creation rule encrypts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleKey {
    /// The metadata field the key lands in: `age`, `pgp`, `kms`, `gcp_kms`, `azure_kv`,
    /// `hc_vault` or `hckms` (as in [`MasterKey::Unsupported`](crate::sops::metadata::MasterKey)).
    pub kind: &'static str,
    /// The key as sops records it in a file's metadata: the age recipient, the PGP fingerprint
    /// (spaces removed), or the KMS identifier as written.
    pub id: String,
    /// Where it is written, e.g. `creation_rules[0].age` or `creation_rules[0].key_groups[1].age[0]`.
    pub field: String,
    /// Why sops (or, for PGP, any keyring) cannot use it, if so.
    pub invalid: Option<String>,
}

impl CreationRule {
    /// Whether the rule applies to `relative_path` (relative to the directory holding the
    /// config, `/`-separated). `Err` when the regex does not compile: sops stops there.
    pub fn matches(&self, relative_path: &str) -> Result<bool, &str> {
        match &self.regex {
            None => Ok(true),
            Some(Ok(regex)) => Ok(regex.is_match(relative_path)),
            Some(Err(reason)) => Err(reason),
        }
    }
}

/// The rule sops 3.11 uses for a file: the first whose `path_regex` matches. `None` when no rule
/// matches, or when a rule with an invalid regex is reached first (sops fails there).
pub fn matching_rule<'a>(
    rules: &'a [CreationRule],
    relative_path: &str,
) -> Option<&'a CreationRule> {
    for rule in rules {
        match rule.matches(relative_path) {
            Ok(true) => return Some(rule),
            Ok(false) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Reads `creation_rules` from a config file's bytes: `None` when it has none (sops then behaves
/// as if there were no config file). Problems inside a rule are reported in
/// [`CreationRule::problems`] and [`RuleKey::invalid`]; only invalid YAML or a wrong shape is an
/// error, whose text is the reason the file is unusable.
pub fn parse_creation_rules(bytes: &[u8]) -> Result<Option<Vec<CreationRule>>, String> {
    let documents = yaml::parse_documents(bytes).map_err(|e| e.to_string())?;
    let rules = match documents.first().and_then(|doc| doc.get("creation_rules")) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Sequence(rules)) => rules,
        Some(_) => return Err("`creation_rules` is not a list".into()),
    };
    rules
        .iter()
        .filter(|rule| !matches!(rule, Value::Comment(_)))
        .enumerate()
        .map(|(index, rule)| creation_rule(index, rule))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The encryption-rule fields of which sops allows at most one per rule.
const ENCRYPTION_RULE_FIELDS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

/// Top-level key lists of a rule: (field in `.sops.yaml`, metadata kind). `hckms` is a list of
/// strings in both places.
const RULE_KEY_LISTS: [(&str, &str); 7] = [
    ("age", "age"),
    ("pgp", "pgp"),
    ("kms", "kms"),
    ("gcp_kms", "gcp_kms"),
    ("azure_keyvault", "azure_kv"),
    ("hc_vault_transit_uri", "hc_vault"),
    ("hckms", "hckms"),
];

fn creation_rule(index: usize, rule: &Value) -> Result<CreationRule, String> {
    let here = format!("creation_rules[{index}]");
    let map = as_mapping(rule).ok_or_else(|| format!("`{here}` is not a mapping"))?;
    let path_regex = scalar_text(map, "path_regex", &here)?.filter(|r| !r.is_empty());
    let mut problems = Vec::new();
    let regex = path_regex.as_ref().map(|source| {
        regex::Regex::new(source).map_err(|e| {
            let reason = format!("can not compile regexp: {e}");
            problems.push(RuleProblem {
                field: format!("{here}.path_regex"),
                reason: reason.clone(),
            });
            reason
        })
    });
    let mut set_rules = Vec::new();
    for field in ENCRYPTION_RULE_FIELDS {
        if let Some(value) = scalar_text(map, field, &here)?.filter(|v| !v.is_empty()) {
            set_rules.push((field, value));
        }
    }
    let encryption_rule = match set_rules.first() {
        None => EncryptionRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_owned()),
        Some((field, value)) => match *field {
            "unencrypted_suffix" => EncryptionRule::UnencryptedSuffix(value.clone()),
            "encrypted_suffix" => EncryptionRule::EncryptedSuffix(value.clone()),
            "unencrypted_regex" => EncryptionRule::UnencryptedRegex(GoRegex::new(value)),
            "encrypted_regex" => EncryptionRule::EncryptedRegex(GoRegex::new(value)),
            "unencrypted_comment_regex" => {
                EncryptionRule::UnencryptedCommentRegex(GoRegex::new(value))
            }
            _ => EncryptionRule::EncryptedCommentRegex(GoRegex::new(value)),
        },
    };
    if set_rules.len() > 1 {
        problems.push(RuleProblem {
            field: format!("{here}.{}", set_rules[1].0),
            reason: format!(
                "cannot use more than one of {} for the same rule (found {})",
                ENCRYPTION_RULE_FIELDS.join(", "),
                set_rules
                    .iter()
                    .map(|(field, _)| *field)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        });
    }
    let key_groups = match map.get("key_groups") {
        Some(Value::Sequence(groups)) if !groups.is_empty() => groups
            .iter()
            .filter(|group| !matches!(group, Value::Comment(_)))
            .enumerate()
            .map(|(g, group)| key_group(group, &format!("{here}.key_groups[{g}]")))
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Value::Null | Value::Sequence(_)) => {
            let mut group = Vec::new();
            for (field, kind) in RULE_KEY_LISTS {
                group.extend(key_list(map, field, kind, &here)?);
            }
            vec![group]
        }
        Some(_) => return Err(format!("`{here}.key_groups` is not a list")),
    };
    Ok(CreationRule {
        index,
        path_regex,
        regex,
        encryption_rule,
        key_groups,
        problems,
    })
}

/// How a key's identifier is read from its mapping in `key_groups`.
type KeyId = fn(&Mapping) -> String;

/// One `key_groups` entry: `age`, `pgp` and `hc_vault` are lists of strings, the cloud KMS kinds
/// lists of mappings, and `merge` nests further groups whose keys are appended.
fn key_group(group: &Value, here: &str) -> Result<Vec<RuleKey>, String> {
    let map = as_mapping(group).ok_or_else(|| format!("`{here}` is not a mapping"))?;
    let mut keys = Vec::new();
    if let Some(Value::Sequence(merged)) = map.get("merge") {
        for (m, sub) in merged
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .enumerate()
        {
            keys.extend(key_group(sub, &format!("{here}.merge[{m}]"))?);
        }
    }
    for (field, kind) in [("age", "age"), ("pgp", "pgp"), ("hc_vault", "hc_vault")] {
        keys.extend(key_list(map, field, kind, here)?);
    }
    let mapped: [(&str, &str, KeyId); 4] = [
        ("kms", "kms", |m| field_text(m, "arn")),
        ("gcp_kms", "gcp_kms", |m| field_text(m, "resource_id")),
        ("hckms", "hckms", |m| field_text(m, "key_id")),
        ("azure_keyvault", "azure_kv", |m| {
            format!(
                "{}/keys/{}/{}",
                field_text(m, "vaultUrl"),
                field_text(m, "key"),
                field_text(m, "version")
            )
        }),
    ];
    for (field, kind, id) in mapped {
        let Some(Value::Sequence(items)) = map.get(field) else {
            continue;
        };
        for (i, item) in items
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .enumerate()
        {
            if let Some(entry) = as_mapping(item) {
                keys.push(RuleKey {
                    kind,
                    id: id(entry),
                    field: format!("{here}.{field}[{i}]"),
                    invalid: None,
                });
            }
        }
    }
    Ok(keys)
}

/// A key list: a comma-separated string or a list of strings (each also split on commas, as
/// sops passes list items through the same comma-splitting parser).
fn key_list(
    map: &Mapping,
    field: &str,
    kind: &'static str,
    here: &str,
) -> Result<Vec<RuleKey>, String> {
    let written: Vec<(String, String)> = match map.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Str(text)) => vec![(
            format!("{here}.{field}"),
            String::from_utf8_lossy(text).into_owned(),
        )],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .enumerate()
            .map(|(i, item)| match item {
                Value::Str(text) => Ok((
                    format!("{here}.{field}[{i}]"),
                    String::from_utf8_lossy(text).into_owned(),
                )),
                _ => Err(format!(
                    "invalid {field} key configuration: `{here}.{field}[{i}]` is not a string"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(format!(
                "invalid {field} key configuration: `{here}.{field}` must be a string or a list of strings"
            ));
        }
    };
    Ok(written
        .iter()
        .flat_map(|(location, text)| {
            text.split(',')
                .map(str::trim)
                .filter(|key| !key.is_empty())
                .map(|key| rule_key(kind, key, location))
        })
        .collect())
}

/// What is shown instead of an age identity pasted where a recipient belongs.
const REDACTED_IDENTITY: &str = "AGE-…(an identity, redacted)";

fn rule_key(kind: &'static str, written: &str, field: &str) -> RuleKey {
    let (id, invalid) = match kind {
        // A private identity must never be echoed (nor kept longer than needed).
        "age" if is_age_identity(written) => (
            REDACTED_IDENTITY.to_owned(),
            Some(
                "this is a private age identity, not a recipient: remove it from the repository, \
                 rotate the key, and list its public `age1…` recipient instead"
                    .to_owned(),
            ),
        ),
        "age" => (written.to_owned(), age_recipient_problem(written)),
        "pgp" => {
            let fingerprint = written.replace(' ', "");
            let problem = pgp_fingerprint_problem(&fingerprint);
            (fingerprint, problem)
        }
        // `arn+role`: the metadata keeps the ARN alone.
        "kms" => (
            written
                .split('+')
                .next()
                .unwrap_or_default()
                .replace(' ', ""),
            None,
        ),
        _ => (written.to_owned(), None),
    };
    RuleKey {
        kind,
        id,
        field: field.to_owned(),
        invalid,
    }
}

/// Why sops 3.11 would refuse an age recipient: it takes `age1…` with a second `1` as a plugin
/// recipient, other `age1…` as X25519, `ssh-…` as an SSH public key, and nothing else.
pub fn age_recipient_problem(recipient: &str) -> Option<String> {
    use std::str::FromStr;
    if recipient.starts_with("age1") && recipient.matches('1').count() > 1 {
        age::plugin::Recipient::from_str(recipient)
            .err()
            .map(|e| format!("not a valid age plugin recipient ({e})"))
    } else if recipient.starts_with("age1") {
        age::x25519::Recipient::from_str(recipient)
            .err()
            .map(|e| format!("not a valid age X25519 recipient ({e})"))
    } else if recipient.starts_with("ssh-") {
        age::ssh::Recipient::from_str(recipient)
            .err()
            .map(|_| "not a valid ssh-ed25519 or ssh-rsa public key".to_owned())
    } else {
        Some("not an age recipient (`age1…`) or SSH public key (`ssh-…`)".to_owned())
    }
}

fn is_age_identity(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.starts_with("AGE-SECRET-KEY-") || upper.starts_with("AGE-PLUGIN-")
}

/// PGP fingerprints are not checked by sops when it loads the config, but a value that is not
/// a key ID or fingerprint (16, 40 or 64 hex digits) can never be in a keyring.
fn pgp_fingerprint_problem(fingerprint: &str) -> Option<String> {
    let hex = fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
    (!hex || ![16, 40, 64].contains(&fingerprint.len()))
        .then(|| "not a PGP key ID or fingerprint (16, 40 or 64 hex digits)".to_owned())
}

/// A scalar field decoded into a Go string: any scalar gives its text; a collection is an error.
fn scalar_text(map: &Mapping, field: &str, here: &str) -> Result<Option<String>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(text)) => Ok(Some(String::from_utf8_lossy(text).into_owned())),
        Some(Value::Int(i)) => Ok(Some(i.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(Value::Float(f)) => Ok(Some(crate::sops::gonum::format_g(*f, false))),
        Some(Value::Time(t)) => Ok(Some(t.to_rfc3339_nano())),
        Some(_) => Err(format!("`{here}.{field}` is not a string")),
    }
}

fn field_text(map: &Mapping, field: &str) -> String {
    map.get(field)
        .and_then(Value::as_bytes)
        .map(|b| String::from_utf8_lossy(b).trim().to_owned())
        .unwrap_or_default()
}

fn as_mapping(value: &Value) -> Option<&Mapping> {
    match value {
        Value::Mapping(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "age1dmcwxcqx5vv97v9vh0xzk7gyu27w70geelgzge708g5j53jz0uvsmhtm0v";
    const R2: &str = "age15c3r3ln4t78kjj7z3665xhl0mhu2rzxp77dytx5xwehr9rs6fpzss274c6";

    fn rules(text: &str) -> Vec<CreationRule> {
        parse_creation_rules(text.as_bytes()).unwrap().unwrap()
    }

    fn ids(group: &[RuleKey]) -> Vec<(&str, &str)> {
        group.iter().map(|k| (k.kind, k.id.as_str())).collect()
    }

    #[test]
    fn first_matching_rule_wins_and_no_regex_matches_all() {
        let text = format!(
            "creation_rules:\n  - path_regex: b/x\\.yaml$\n    age: {R1}\n  - path_regex: ''\n    age: {R2}\n"
        );
        let rules = rules(&text);
        assert_eq!(matching_rule(&rules, "a/b/x.yaml").unwrap().index, 0);
        assert_eq!(matching_rule(&rules, "other.yaml").unwrap().index, 1);
        assert_eq!(rules[1].path_regex, None);
    }

    #[test]
    fn an_invalid_regex_stops_the_search() {
        let rules = rules("creation_rules:\n  - path_regex: '('\n  - age: x\n");
        assert!(matching_rule(&rules, "a.yaml").is_none());
        assert_eq!(rules[0].problems[0].field, "creation_rules[0].path_regex");
    }

    #[test]
    fn key_lists_split_on_commas_and_trim() {
        let text = format!(
            "creation_rules:\n  - age: ' {R1} ,, {R2} , '\n    pgp: [' 85D77543B3D624B63CEA9E6DBC17301B491B3F21 ']\n"
        );
        let rule = &rules(&text)[0];
        assert_eq!(
            ids(&rule.key_groups[0]),
            [
                ("age", R1),
                ("age", R2),
                ("pgp", "85D77543B3D624B63CEA9E6DBC17301B491B3F21")
            ]
        );
        assert!(rule.key_groups[0].iter().all(|k| k.invalid.is_none()));
        assert_eq!(rule.key_groups[0][2].field, "creation_rules[0].pgp[0]");
    }

    #[test]
    fn key_groups_replace_top_level_lists_and_merge_nests() {
        let text = format!(
            "creation_rules:\n  - age: {R1}\n    shamir_threshold: 2\n    key_groups:\n      - age: ['{R1},{R2}']\n      - merge:\n          - age: [{R2}]\n        kms:\n          - arn: arn:aws:kms:x\n"
        );
        let rule = &rules(&text)[0];
        assert_eq!(rule.key_groups.len(), 2);
        assert_eq!(ids(&rule.key_groups[0]), [("age", R1), ("age", R2)]);
        assert_eq!(
            ids(&rule.key_groups[1]),
            [("age", R2), ("kms", "arn:aws:kms:x")]
        );
        assert_eq!(
            rule.key_groups[1][0].field,
            "creation_rules[0].key_groups[1].merge[0].age[0]"
        );
    }

    #[test]
    fn placeholders_are_invalid_recipients() {
        for bad in [
            "age1xxxxxxxxxxxxxxxxxxx",
            "AGE-PUBLIC-KEY-PLACEHOLDER",
            "<your-key>",
            "age1yubikey1notbech32",
            "ssh-ed25519 AAAAnotakey",
        ] {
            assert!(age_recipient_problem(bad).is_some(), "{bad}");
        }
        assert!(age_recipient_problem(R1).is_none());
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAkyHy1CXOkuNKoqIPMP1tfLvW6sHpqEngVgfMpgVG9y test@example";
        assert!(age_recipient_problem(ssh).is_none());
        assert!(pgp_fingerprint_problem("YOUR_FINGERPRINT").is_some());
        let pasted = rules(
            "creation_rules:\n  - age: AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n",
        );
        let key = &pasted[0].key_groups[0][0];
        assert!(
            key.invalid
                .as_deref()
                .unwrap()
                .contains("private age identity")
        );
        assert!(
            !format!("{key:?}").contains("QQQQ"),
            "the identity is not kept"
        );
    }

    #[test]
    fn conflicting_encryption_rules_and_bad_shapes() {
        let rule =
            &rules("creation_rules:\n  - encrypted_regex: a\n    unencrypted_suffix: b\n")[0];
        assert_eq!(rule.problems.len(), 1);
        assert!(parse_creation_rules(b"creation_rules: 3\n").is_err());
        assert!(parse_creation_rules(b"creation_rules:\n  - age: 5\n").is_err());
        assert!(parse_creation_rules(b"stores: {}\n").unwrap().is_none());
    }
}
