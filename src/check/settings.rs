//! `.ksops-check.yaml`: deliberate exceptions, read from the checked directory.
//!
//! ```yaml
//! allow:
//!   - paths: [docs/examples/]        # gitignore-style patterns, relative to this file
//!     rules: [plaintext-secret]      # rule ids; every rule when left out
//!     reason: documentation samples, not real credentials
//! ```
//!
//! A finding whose file matches an entry's `paths` (the file or one of its directories) and
//! whose rule is in its `rules` is dropped from the report and counted as allowed. Every entry
//! needs a `reason`, so exceptions stay deliberate. The file is read strictly: unknown fields,
//! unknown rule ids and a missing reason are errors, never silently ignored.

use crate::check::findings::{Finding, Rule};
use crate::check::pattern::PatternList;
use crate::sops::Value;
use crate::sops::parse_yaml;

/// The settings file's name.
pub const SETTINGS_FILE: &str = ".ksops-check.yaml";

/// One allow-list entry.
#[derive(Clone, Debug)]
struct Allowance {
    paths: PatternList,
    /// `None`: every rule.
    rules: Option<Vec<Rule>>,
}

/// The parsed settings.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    allow: Vec<Allowance>,
}

impl Settings {
    /// Parses the file's text; the error says which field is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Settings, String> {
        let documents = parse_yaml(bytes).map_err(|e| e.to_string())?;
        let Some(document) = documents.first() else {
            return Ok(Settings::default());
        };
        let mut settings = Settings::default();
        for entry in document.entries() {
            match (entry.key.as_str(), &entry.value) {
                ("allow", Value::Sequence(items)) => {
                    let items = items.iter().filter(|v| !matches!(v, Value::Comment(_)));
                    for (i, item) in items.enumerate() {
                        settings
                            .allow
                            .push(allowance(item, &format!("allow[{i}]"))?);
                    }
                }
                ("allow", Value::Null) => {}
                ("allow", _) => return Err("`allow` must be a list".into()),
                (other, _) => return Err(format!("unknown field `{other}` (expected `allow`)")),
            }
        }
        Ok(settings)
    }

    /// Whether a finding is a deliberate exception.
    pub fn allows(&self, finding: &Finding) -> bool {
        self.allow.iter().any(|allowance| {
            allowance
                .rules
                .as_ref()
                .is_none_or(|rules| rules.contains(&finding.rule))
                && allowance.paths.excludes_file(&finding.file)
        })
    }
}

fn allowance(item: &Value, here: &str) -> Result<Allowance, String> {
    let Value::Mapping(map) = item else {
        return Err(format!("`{here}` must be a mapping"));
    };
    let mut paths = None;
    let mut rules = None;
    let mut reason = None;
    for entry in map.entries() {
        let field = format!("{here}.{}", entry.key);
        match entry.key.as_str() {
            "paths" => paths = Some(strings(&entry.value, &field)?),
            "rules" => {
                let ids = strings(&entry.value, &field)?;
                let known = ids
                    .iter()
                    .map(|id| {
                        Rule::from_id(id).ok_or_else(|| format!("`{field}`: unknown rule `{id}`"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                rules = Some(known);
            }
            "reason" => {
                reason = entry
                    .value
                    .as_bytes()
                    .filter(|r| !r.iter().all(u8::is_ascii_whitespace));
            }
            other => {
                return Err(format!(
                    "unknown field `{other}` in `{here}` (expected paths, rules, reason)"
                ));
            }
        }
    }
    let paths = paths
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("`{here}.paths` must list at least one path"))?;
    if reason.is_none() {
        return Err(format!(
            "`{here}.reason` is required: say why the exception is deliberate"
        ));
    }
    Ok(Allowance {
        paths: PatternList::from_lines("", paths.iter().map(String::as_str)),
        rules,
    })
}

fn strings(value: &Value, field: &str) -> Result<Vec<String>, String> {
    let error = || format!("`{field}` must be a list of strings");
    let Value::Sequence(items) = value else {
        return Err(error());
    };
    items
        .iter()
        .filter(|v| !matches!(v, Value::Comment(_)))
        .map(|item| {
            item.as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .ok_or_else(error)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: Rule, file: &str) -> Finding {
        Finding {
            rule,
            file: file.into(),
            line: None,
            message: String::new(),
            fix: String::new(),
        }
    }

    #[test]
    fn allows_by_path_and_rule() {
        let settings = Settings::parse(
            b"allow:\n  - paths: [docs/]\n    rules: [plaintext-secret]\n    reason: samples\n  - paths: ['*.example.yaml']\n    reason: templates\n",
        )
        .unwrap();
        assert!(settings.allows(&finding(Rule::PlaintextSecret, "docs/a/s.yaml")));
        assert!(!settings.allows(&finding(Rule::UnencryptedFile, "docs/a/s.yaml")));
        assert!(settings.allows(&finding(Rule::MissingFile, "x/y.example.yaml")));
        assert!(!settings.allows(&finding(Rule::PlaintextSecret, "src/s.yaml")));
    }

    #[test]
    fn is_strict() {
        for bad in [
            "allow:\n  - paths: [a]\n",
            "allow:\n  - paths: [a]\n    reason: ''\n",
            "allow:\n  - paths: [a]\n    rules: [no-such-rule]\n    reason: r\n",
            "allow:\n  - path: a\n    reason: r\n",
            "ignore: [a]\n",
            "allow:\n  - paths: []\n    reason: r\n",
        ] {
            assert!(Settings::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(Settings::parse(b"").unwrap().allow.is_empty());
    }
}
