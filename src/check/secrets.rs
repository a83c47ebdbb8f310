//! Kubernetes Secret manifests with plaintext values.
//!
//! A document is a Secret when it has `kind: Secret` and `apiVersion: v1` (or none; Secrets
//! inside a `v1` `List` count too). A value under `data` or `stringData` is plaintext unless it is empty,
//! an `ENC[…]` value, or a template placeholder (see [`is_literal_secret`]). A Secret annotated
//! with [`ALLOW_ANNOTATION`] is a deliberate exception.

use crate::sops::is_encrypted;
use crate::sops::{Document, Mapping, Segment, Value};

/// The annotation that marks a Secret's plaintext values as deliberate; its value says why.
pub const ALLOW_ANNOTATION: &str = "ksops.dev/allow-plaintext";

/// A Secret with plaintext values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaintextSecret {
    /// The document it is in (0-based).
    pub document: usize,
    /// `metadata.name`, if any.
    pub name: String,
    /// The plaintext values' paths in the document, e.g. `[stringData, password]`.
    pub values: Vec<Vec<Segment>>,
}

impl PlaintextSecret {
    /// The values as `stringData.password`, for messages.
    pub fn value_names(&self) -> String {
        self.values
            .iter()
            .map(|path| {
                path.iter()
                    .filter_map(|segment| match segment {
                        Segment::Key(key) if key != "items" => Some(key.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a file a kustomize `secretGenerator` reads holds a literal secret. An `envs` file
/// (`env: true`) does when a `KEY=value` line has a literal value (a bare `KEY` takes its value
/// from the environment); any other file when it holds more than blank lines and `#` comments
/// and is not a template.
pub fn generator_input_is_plaintext(text: &str, env: bool) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    if env {
        lines.any(|line| {
            line.split_once('=')
                .is_some_and(|(_, value)| is_literal_secret(value))
        })
    } else {
        lines.next().is_some() && is_literal_secret(text)
    }
}

/// The Secrets with plaintext values among a file's documents.
pub fn plaintext_secrets(documents: &[Document]) -> Vec<PlaintextSecret> {
    let mut found = Vec::new();
    for (index, document) in documents.iter().enumerate() {
        let mut values = Vec::new();
        let mut names = Vec::new();
        scan_object(document, &mut Vec::new(), &mut values, &mut names);
        if !values.is_empty() {
            found.push(PlaintextSecret {
                document: index,
                name: names.join(", "),
                values,
            });
        }
    }
    found
}

/// Scans one object (and a `List`'s items), collecting plaintext value paths and Secret names.
fn scan_object(
    object: &Mapping,
    at: &mut Vec<Segment>,
    values: &mut Vec<Vec<Segment>>,
    names: &mut Vec<String>,
) {
    // `v1`, or no apiVersion at all (an incomplete manifest still carries the values).
    if !matches!(object.get("apiVersion"), None | Some(Value::Null))
        && text(object.get("apiVersion")) != Some("v1")
    {
        return;
    }
    match text(object.get("kind")) {
        Some("List") => {
            let Some(Value::Sequence(items)) = object.get("items") else {
                return;
            };
            let items = items.iter().filter(|v| !matches!(v, Value::Comment(_)));
            for (i, item) in items.enumerate() {
                if let Value::Mapping(item) = item {
                    at.extend([Segment::Key("items".into()), Segment::Index(i)]);
                    scan_object(item, at, values, names);
                    at.truncate(at.len() - 2);
                }
            }
        }
        Some("Secret") if !allowed(object) => {
            let before = values.len();
            for field in ["data", "stringData"] {
                let Some(Value::Mapping(entries)) = object.get(field) else {
                    continue;
                };
                for entry in entries.entries() {
                    if is_plaintext(&entry.value) {
                        let mut path = at.clone();
                        path.extend([Segment::Key(field.into()), Segment::Key(entry.key.clone())]);
                        values.push(path);
                    }
                }
            }
            if values.len() > before {
                let name = match object.get("metadata") {
                    Some(Value::Mapping(meta)) => text(meta.get("name")).unwrap_or_default(),
                    _ => "",
                };
                names.push(format!("`{name}`"));
            }
        }
        _ => {}
    }
}

fn allowed(object: &Mapping) -> bool {
    let Some(Value::Mapping(meta)) = object.get("metadata") else {
        return false;
    };
    matches!(meta.get("annotations"), Some(Value::Mapping(a)) if a.get(ALLOW_ANNOTATION).is_some())
}

fn is_plaintext(value: &Value) -> bool {
    match value {
        Value::Str(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            !is_encrypted(&text) && is_literal_secret(&text)
        }
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Time(_) => true,
        Value::Null | Value::Mapping(_) | Value::Sequence(_) | Value::Comment(_) => false,
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    std::str::from_utf8(value?.as_bytes()?).ok()
}

/// Whether a secret value is a literal: non-empty (once trimmed and unquoted) and not a template
/// placeholder (`{{ … }}`, `${VAR}`, `$(VAR)`, or a whole-value `<placeholder>` as the Argo CD
/// Vault Plugin uses).
pub fn is_literal_secret(value: &str) -> bool {
    let mut value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            value = inner.trim();
        }
    }
    let templated = value.contains("{{") && value.contains("}}")
        || value.contains("${") && value.contains('}')
        || value.contains("$(") && value.contains(')')
        || value.starts_with('<') && value.ends_with('>');
    !value.is_empty() && !templated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::parse_manifests;

    fn scan(text: &str) -> Vec<PlaintextSecret> {
        plaintext_secrets(&parse_manifests(text.as_bytes()).unwrap())
    }

    #[test]
    fn finds_literal_values_in_secrets_only() {
        let found = scan(
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  empty: ''\n  tpl: '{{ .Values.pw }}'\nstringData:\n  password: hunter2\n  port: 5432\n  env: ${DB_PASSWORD}\n",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].document, 1);
        assert_eq!(found[0].name, "`db`");
        assert_eq!(
            found[0].value_names(),
            "stringData.password, stringData.port"
        );
    }

    #[test]
    fn generator_inputs() {
        assert!(generator_input_is_plaintext("A=1\n", true));
        assert!(!generator_input_is_plaintext(
            "# A=1\nB=\nC\nD=${D}\nE=''\n",
            true
        ));
        assert!(generator_input_is_plaintext(
            "-----BEGIN KEY-----\nabc\n",
            false
        ));
        assert!(!generator_input_is_plaintext(
            "# placeholder only\n\n",
            false
        ));
        assert!(!generator_input_is_plaintext("{{ .Values.key }}\n", false));
    }

    #[test]
    fn annotation_lists_and_placeholders() {
        assert!(scan("apiVersion: v1\nkind: Secret\nmetadata:\n  annotations:\n    ksops.dev/allow-plaintext: demo\nstringData:\n  a: b\n").is_empty());
        assert!(
            scan(
                "apiVersion: v1\nkind: Secret\nstringData:\n  a: <path:kv/data/x#a>\n  b: $(VAR)\n"
            )
            .is_empty()
        );
        assert!(scan("apiVersion: example.com/v1\nkind: Secret\nstringData:\n  a: b\n").is_empty());
        let list = scan(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    data:\n      k: dg==\n",
        );
        assert_eq!(
            list[0].values,
            [vec![
                Segment::Key("items".into()),
                Segment::Index(0),
                Segment::Key("data".into()),
                Segment::Key("k".into())
            ]]
        );
    }
}
