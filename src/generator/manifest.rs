//! What the dry run and the redacted render need to know about the objects of a `files`
//! manifest: which fields identify an object, and where a Secret keeps base64 values.

use crate::sops::{Document, Value};

/// Whether a leaf at `path` identifies its object rather than holding its data: `apiVersion`,
/// `kind`, a Secret's `type`, and `metadata.name`, `namespace`, `generateName`, `labels` and
/// `annotations`. kustomize needs these to build; neither mode may replace them.
pub fn is_identity_field(path: &[String]) -> bool {
    match path {
        [field] => matches!(field.as_str(), "apiVersion" | "kind" | "type" | "metadata"),
        [metadata, field, ..] if metadata == "metadata" => matches!(
            field.as_str(),
            "name" | "namespace" | "generateName" | "labels" | "annotations"
        ),
        _ => false,
    }
}

/// The dotted name of a field path for messages (`metadata.name`).
pub fn field_name(path: &[String]) -> String {
    path.join(".")
}

/// Whether `path` is a value of a Secret's `data`, which Kubernetes reads as base64.
pub fn is_data_value(path: &[String]) -> bool {
    matches!(path, [data, _] if data == "data")
}

/// Whether a document is a core `v1` Secret.
pub fn is_secret(document: &Document) -> bool {
    document.get("kind").and_then(Value::as_bytes) == Some(b"Secret")
        && document.get("apiVersion").and_then(Value::as_bytes) == Some(b"v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn identity_fields() {
        for yes in [
            "apiVersion",
            "kind",
            "type",
            "metadata.name",
            "metadata.namespace",
            "metadata.labels.app",
            "metadata.annotations.a",
        ] {
            assert!(is_identity_field(&path(yes)), "{yes}");
        }
        for no in [
            "data.password",
            "stringData.x",
            "spec.type",
            "metadata.finalizers",
        ] {
            assert!(!is_identity_field(&path(no)), "{no}");
        }
        assert!(is_data_value(&path("data.password")));
        assert!(!is_data_value(&path("stringData.password")));
        assert!(!is_data_value(&path("spec.data.password")));
    }
}
