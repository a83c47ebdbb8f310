//! `.sops.yaml` for the check: which creation rule governs each file, whether the config and its
//! recipients are usable, and whether an encrypted file's recipients still match its rule.
//!
//! sops looks for `.sops.yaml` from its working directory upwards; the check uses, for each
//! file, the nearest one in the file's directory or its parents, as if sops were run next to
//! the file. Within it, the rule is chosen as sops chooses it ([`matching_rule`]).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::check::findings::{Finding, Rule};
use crate::check::locate::{field_path, line_of};
use crate::check::relative_display;
use crate::sops::{CONFIG_FILE_NAME, CreationRule, matching_rule, parse_creation_rules};
use crate::sops::{MasterKey, Metadata};

/// How many parent directories sops climbs looking for `.sops.yaml`.
const MAX_PARENTS: usize = 100;

/// One `.sops.yaml`, read.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The directory holding it (absolute, lexically clean).
    pub dir: PathBuf,
    /// Its path relative to the checked directory (may start with `../`).
    pub shown: String,
    text: String,
    /// Its creation rules (`None`: it has none), or why it cannot be used.
    rules: Result<Option<Vec<CreationRule>>, String>,
}

/// The rule governing a file.
pub struct Governing<'a> {
    /// The config the rule is in.
    pub config: &'a LoadedConfig,
    /// The rule.
    pub rule: &'a CreationRule,
}

impl Governing<'_> {
    /// Whether the rule names the file as one that must be encrypted: it has a `path_regex`,
    /// and not a catch-all one. A rule without `path_regex`, or whose `path_regex` also matches
    /// ordinary manifests such as `deployment.yaml` (`.*`, `.*\.yaml`, as Flux's guide writes
    /// it), only says which keys to use when a file is encrypted, not that every file must be.
    pub fn requires_encryption(&self) -> bool {
        const ORDINARY: [[&str; 2]; 2] = [
            ["deployment.yaml", "apps/web/deployment.yaml"],
            ["deployment.json", "apps/web/deployment.json"],
        ];
        let catch_all = ORDINARY
            .iter()
            .any(|paths| paths.iter().all(|path| self.rule.matches(path) == Ok(true)));
        self.rule.path_regex.is_some() && !catch_all
    }

    /// How messages name the rule: ``creation_rules[1] (path_regex `\.secret\.yaml$`) in .sops.yaml``.
    pub fn describe(&self) -> String {
        let regex = match &self.rule.path_regex {
            Some(regex) => format!(" (path_regex `{regex}`)"),
            None => String::new(),
        };
        format!(
            "creation_rules[{}]{regex} of {}",
            self.rule.index, self.config.shown
        )
    }
}

/// Every `.sops.yaml` consulted, cached by directory.
pub struct SopsConfigs {
    root: PathBuf,
    by_dir: HashMap<PathBuf, Option<Rc<LoadedConfig>>>,
    loaded: Vec<Rc<LoadedConfig>>,
}

impl SopsConfigs {
    /// Starts with no config read; `root` is the checked directory (absolute, clean).
    pub fn new(root: &Path) -> SopsConfigs {
        SopsConfigs {
            root: root.to_path_buf(),
            by_dir: HashMap::new(),
            loaded: Vec::new(),
        }
    }

    /// Reads a `.sops.yaml` found in the tree (so it is validated even when no file uses it).
    pub fn add(&mut self, file: &str) {
        let dir = match self.root.join(file).parent() {
            Some(dir) => dir.to_path_buf(),
            None => return,
        };
        self.config_in(&dir);
    }

    /// The nearest config at or above `dir`.
    fn config_in(&mut self, dir: &Path) -> Option<Rc<LoadedConfig>> {
        if let Some(cached) = self.by_dir.get(dir) {
            return cached.clone();
        }
        let candidate = dir.join(CONFIG_FILE_NAME);
        let found = if candidate.is_file() {
            let config = Rc::new(load(&self.root, dir, &candidate));
            self.loaded.push(config.clone());
            Some(config)
        } else if dir.ancestors().count() > MAX_PARENTS + 1 {
            None
        } else {
            dir.parent().and_then(|parent| self.config_in(parent))
        };
        self.by_dir.insert(dir.to_path_buf(), found.clone());
        found
    }

    /// The config and rule governing `file` (relative to the root), if any.
    pub fn governing(&mut self, file: &str) -> Option<(Rc<LoadedConfig>, usize)> {
        let path = self.root.join(file);
        let config = self.config_in(path.parent()?)?;
        let relative = path
            .strip_prefix(&config.dir)
            .ok()?
            .to_string_lossy()
            .into_owned();
        let rules = config.rules.as_ref().ok()?.as_ref()?;
        let index = matching_rule(rules, &relative)?.index;
        Some((config, index))
    }

    /// Findings about the configs themselves: unusable files, rules sops refuses, keys that are
    /// not valid recipients.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        for config in &self.loaded {
            let rules = match &config.rules {
                Ok(Some(rules)) => rules,
                Ok(None) => continue,
                Err(reason) => {
                    findings.push(Finding {
                        rule: Rule::InvalidSopsConfig,
                        file: config.shown.clone(),
                        line: None,
                        message: format!("sops cannot load this config: {reason}"),
                        fix: "fix the file: sops refuses to encrypt with it".into(),
                    });
                    continue;
                }
            };
            for rule in rules {
                for problem in &rule.problems {
                    findings.push(Finding {
                        rule: Rule::InvalidSopsConfig,
                        file: config.shown.clone(),
                        line: config.line(&problem.field),
                        message: format!("`{}`: {}", problem.field, problem.reason),
                        fix: "fix the rule: sops refuses to use it".into(),
                    });
                }
                for key in rule.key_groups.iter().flatten() {
                    if let Some(reason) = &key.invalid {
                        findings.push(Finding {
                            rule: Rule::InvalidRecipient,
                            file: config.shown.clone(),
                            line: config.line(&key.field),
                            message: format!("`{}` holds `{}`: {reason}", key.field, key.id),
                            fix: recipient_fix(key.kind).into(),
                        });
                    }
                }
            }
        }
        findings
    }
}

impl LoadedConfig {
    /// The rule at `index`.
    pub fn rule(&self, index: usize) -> Option<Governing<'_>> {
        let rules = self.rules.as_ref().ok()?.as_ref()?;
        Some(Governing {
            config: self,
            rule: rules.get(index)?,
        })
    }

    fn line(&self, field: &str) -> Option<usize> {
        line_of(&self.text, 0, &field_path(field))
    }
}

fn load(root: &Path, dir: &Path, file: &Path) -> LoadedConfig {
    let (text, rules) = match std::fs::read(file) {
        Ok(bytes) => (
            String::from_utf8_lossy(&bytes).into_owned(),
            parse_creation_rules(&bytes),
        ),
        Err(e) => (String::new(), Err(e.to_string())),
    };
    LoadedConfig {
        dir: dir.to_path_buf(),
        shown: relative_display(root, file),
        text,
        rules,
    }
}

fn recipient_fix(kind: &str) -> &'static str {
    if kind == "pgp" {
        "put the key's full fingerprint (`gpg --fingerprint`) in .sops.yaml"
    } else {
        "put a real recipient in .sops.yaml: the `age1…` public key printed by `age-keygen -y KEYFILE` \
         (or an ssh-ed25519/ssh-rsa public key)"
    }
}

/// The keys the check can compare: age recipients, PGP fingerprints, Vault transit key URIs and
/// AWS KMS ARNs (GCP, Azure and Huawei keys are left out on both sides).
type ComparableGroup = BTreeSet<(&'static str, String)>;

/// How an encrypted file's recipients differ from its rule's, or `None` when they match (or
/// the rule is unusable, which is reported on the config instead).
pub fn drift(governing: &Governing<'_>, metadata: &Metadata) -> Option<String> {
    let rule = governing.rule;
    let rule_usable = rule.problems.is_empty()
        && rule
            .key_groups
            .iter()
            .flatten()
            .all(|key| key.invalid.is_none());
    if !rule_usable {
        return None;
    }
    let wanted: Vec<ComparableGroup> = rule
        .key_groups
        .iter()
        .map(|group| {
            group
                .iter()
                .filter(|key| matches!(key.kind, "age" | "pgp" | "hc_vault" | "kms"))
                .map(|key| (key.kind, comparable(key.kind, &key.id)))
                .collect()
        })
        .collect();
    let have: Vec<ComparableGroup> = metadata
        .key_groups
        .iter()
        .map(|group| {
            group
                .keys
                .iter()
                .filter_map(|key| match key {
                    MasterKey::Age { recipient, .. } => Some(("age", recipient.trim().to_owned())),
                    MasterKey::Pgp {
                        fingerprint: id, ..
                    } => Some(("pgp", comparable("pgp", id))),
                    MasterKey::Vault { .. } => {
                        Some(("hc_vault", comparable("hc_vault", &key.name())))
                    }
                    MasterKey::Kms(kms) => Some(("kms", comparable("kms", &kms.arn))),
                    MasterKey::Unsupported { .. } => None,
                })
                .collect()
        })
        .collect();
    if wanted.iter().chain(&have).all(BTreeSet::is_empty) {
        return None;
    }
    let rule_name = governing.describe();
    if wanted.len() != have.len() {
        return Some(format!(
            "encrypted with {} key group(s), but {rule_name} now has {}",
            have.len(),
            wanted.len()
        ));
    }
    let mut differences = Vec::new();
    for (index, (wanted, have)) in wanted.iter().zip(&have).enumerate() {
        let in_group = if governing.rule.key_groups.len() > 1 {
            format!(" in key group {index}")
        } else {
            String::new()
        };
        let missing: Vec<String> = wanted
            .difference(have)
            .map(|(_, id)| format!("`{id}`"))
            .collect();
        let extra: Vec<String> = have
            .difference(wanted)
            .map(|(_, id)| format!("`{id}`"))
            .collect();
        if !missing.is_empty() {
            differences.push(format!(
                "not encrypted for {}{in_group}",
                missing.join(", ")
            ));
        }
        if !extra.is_empty() {
            differences.push(format!(
                "still encrypted for {}{in_group}, no longer listed",
                extra.join(", ")
            ));
        }
    }
    (!differences.is_empty()).then(|| {
        format!(
            "recipients differ from {rule_name}: {}",
            differences.join("; ")
        )
    })
}

/// The form keys are compared in: PGP fingerprints without spaces, in upper case.
fn comparable(kind: &str, id: &str) -> String {
    match kind {
        "pgp" => id.replace(' ', "").to_ascii_uppercase(),
        // `.sops.yaml` may append `+ROLE` to an ARN; the role is compared as part of the key
        // by neither sops nor this check.
        "kms" => id.trim().split('+').next().unwrap_or_default().to_owned(),
        "hc_vault" => id.trim().trim_end_matches('/').to_owned(),
        _ => id.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::Format;
    use crate::sops::parse_creation_rules;
    use crate::sops::parse_store;

    const R1: &str = "age1dmcwxcqx5vv97v9vh0xzk7gyu27w70geelgzge708g5j53jz0uvsmhtm0v";
    const R2: &str = "age15c3r3ln4t78kjj7z3665xhl0mhu2rzxp77dytx5xwehr9rs6fpzss274c6";

    fn config(rules: &str) -> LoadedConfig {
        LoadedConfig {
            dir: PathBuf::from("/r"),
            shown: ".sops.yaml".into(),
            text: rules.into(),
            rules: parse_creation_rules(rules.as_bytes()),
        }
    }

    fn metadata(groups: &str) -> Metadata {
        let text = format!(
            "a: b\nsops:\n{groups}    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: x\n    version: 3.11.0\n"
        );
        let parsed = parse_store(Format::Yaml, text.as_bytes()).unwrap();
        Metadata::from_tree(&parsed.metadata.unwrap(), parsed.metadata_style).unwrap()
    }

    fn age(recipients: &[&str]) -> String {
        let mut out = "    age:\n".to_owned();
        for r in recipients {
            out.push_str(&format!("        - recipient: {r}\n          enc: E\n"));
        }
        out
    }

    #[test]
    fn drift_names_added_and_removed_recipients() {
        let loaded = config(&format!(
            "creation_rules:\n  - path_regex: x\n    age: {R2}\n"
        ));
        let rule = loaded.rule(0).unwrap();
        assert_eq!(drift(&rule, &metadata(&age(&[R2]))), None);
        let message = drift(&rule, &metadata(&age(&[R1]))).unwrap();
        assert!(
            message.contains(&format!("not encrypted for `{R2}`")),
            "{message}"
        );
        assert!(
            message.contains(&format!("still encrypted for `{R1}`")),
            "{message}"
        );
    }

    #[test]
    fn drift_covers_vault_and_kms_keys() {
        const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/test-only";
        const URI: &str = "https://vault.example:8200/v1/sops/keys/test-only";
        let loaded = config(&format!(
            "creation_rules:\n  - kms: '{ARN}+arn:aws:iam::111122223333:role/r'\n    hc_vault_transit_uri: {URI}\n"
        ));
        let rule = loaded.rule(0).unwrap();
        let vault = |key: &str| {
            format!(
                "    hc_vault:\n        - vault_address: https://vault.example:8200\n          engine_path: sops\n          key_name: {key}\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: vault:v1:E\n"
            )
        };
        let kms = format!(
            "    kms:\n        - arn: {ARN}\n          role: arn:aws:iam::111122223333:role/r\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: E\n          aws_profile: \"\"\n"
        );
        assert_eq!(
            drift(&rule, &metadata(&format!("{kms}{}", vault("test-only")))),
            None
        );
        let message = drift(&rule, &metadata(&format!("{kms}{}", vault("old")))).unwrap();
        assert!(
            message.contains(&format!("not encrypted for `{URI}`")),
            "{message}"
        );
        assert!(
            message.contains("still encrypted for `https://vault.example:8200/v1/sops/keys/old`"),
            "{message}"
        );
        let message = drift(&rule, &metadata(&vault("test-only"))).unwrap();
        assert!(
            message.contains(&format!("not encrypted for `{ARN}`")),
            "{message}"
        );
    }

    #[test]
    fn drift_compares_key_groups_and_skips_unusable_rules() {
        let groups =
            format!("creation_rules:\n  - key_groups:\n      - age: [{R1}]\n      - age: [{R2}]\n");
        let loaded = config(&groups);
        let rule = loaded.rule(0).unwrap();
        let message = drift(&rule, &metadata(&age(&[R1, R2]))).unwrap();
        assert!(message.contains("1 key group(s)"), "{message}");
        let placeholder = config("creation_rules:\n  - age: age1xxxx\n");
        assert_eq!(
            drift(&placeholder.rule(0).unwrap(), &metadata(&age(&[R1]))),
            None
        );
    }

    #[test]
    fn broad_path_regexes_are_catch_alls() {
        for (regex, requires) in [
            (r"\.enc\.yaml$", true),
            ("secrets/", true),
            (".*", false),
            (r".*\.yaml", false),
            (r"\.ya?ml$", false),
        ] {
            let loaded = config(&format!(
                "creation_rules:\n  - path_regex: '{regex}'\n    age: {R1}\n"
            ));
            assert_eq!(
                loaded.rule(0).unwrap().requires_encryption(),
                requires,
                "{regex}"
            );
        }
    }
}
