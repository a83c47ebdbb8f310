//! Tenant binding: tying decrypted objects to the Argo CD Application's destination namespace.
//!
//! With one cluster key shared by every tenant, tenant B can copy tenant A's encrypted manifest
//! into B's repository and have it decrypted into B's namespace: no path check prevents that.
//! SOPS's MAC authenticates every value, encrypted or clear (unless `mac_only_encrypted` is set),
//! so requiring the *authenticated* `metadata.namespace` to equal the destination namespace makes a
//! copied file useless elsewhere. The destination comes from the caller (the CLI reads
//! `ARGOCD_APP_NAMESPACE`, which the AppProject restricts); this module reads no environment.

use crate::sops::{Document, Value};

/// What decrypted objects are bound to. The default binds nothing (KSOPS behaviour).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Binding {
    /// When set, every `files` manifest must carry exactly this authenticated
    /// `metadata.namespace`, and `secretFrom` Secrets are put in it (a different one is refused).
    pub namespace: Option<String>,
}

/// Why a file or Secret does not satisfy the binding. Namespaces are named (they are not secret);
/// values never are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The file sets `mac_only_encrypted`, so its clear values (the namespace) are not
    /// authenticated and cannot be trusted for binding.
    #[error(
        "the file uses mac_only_encrypted, so its namespace is not authenticated; namespace binding refuses it"
    )]
    MacOnlyEncrypted,
    /// A document has no `metadata.namespace` (or it is not a string).
    #[error(
        "document {document} has no metadata.namespace; namespace binding requires `{expected}`"
    )]
    MissingNamespace {
        /// 1-based document index within the file.
        document: usize,
        /// The destination namespace.
        expected: String,
    },
    /// A document's authenticated namespace differs from the destination.
    #[error(
        "document {document} is for namespace `{found}`, but this application deploys to `{expected}`"
    )]
    WrongNamespace {
        /// 1-based document index within the file.
        document: usize,
        /// The namespace in the file.
        found: String,
        /// The destination namespace.
        expected: String,
    },
    /// A `secretFrom` entry names a namespace other than the destination.
    #[error("the Secret sets namespace `{found}`, but this application deploys to `{expected}`")]
    SecretNamespace {
        /// The namespace in the config.
        found: String,
        /// The destination namespace.
        expected: String,
    },
}

impl Binding {
    /// Checks the decrypted documents of one `files` manifest. `mac_only_encrypted` comes from the
    /// file's (MAC-verified) metadata.
    pub fn check_manifest(
        &self,
        documents: &[Document],
        mac_only_encrypted: bool,
    ) -> Result<(), BindingError> {
        let Some(expected) = &self.namespace else {
            return Ok(());
        };
        if mac_only_encrypted {
            return Err(BindingError::MacOnlyEncrypted);
        }
        if documents.is_empty() {
            return Err(BindingError::MissingNamespace {
                document: 1,
                expected: expected.clone(),
            });
        }
        for (index, doc) in documents.iter().enumerate() {
            let document = index + 1;
            let namespace = match doc.get("metadata") {
                Some(Value::Mapping(meta)) => meta.get("namespace").and_then(Value::as_bytes),
                _ => None,
            };
            match namespace {
                None | Some(b"") => {
                    return Err(BindingError::MissingNamespace {
                        document,
                        expected: expected.clone(),
                    });
                }
                Some(found) if found != expected.as_bytes() => {
                    return Err(BindingError::WrongNamespace {
                        document,
                        found: String::from_utf8_lossy(found).into_owned(),
                        expected: expected.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The namespace a `secretFrom` Secret gets: the destination when the config sets none, the
    /// config's own otherwise; a different one is refused.
    pub fn secret_namespace(
        &self,
        configured: Option<&str>,
    ) -> Result<Option<String>, BindingError> {
        match (&self.namespace, configured) {
            (None, configured) => Ok(configured.map(str::to_owned)),
            (Some(expected), None) => Ok(Some(expected.clone())),
            (Some(expected), Some(found)) if found == expected => Ok(Some(expected.clone())),
            (Some(expected), Some(found)) => Err(BindingError::SecretNamespace {
                found: found.to_owned(),
                expected: expected.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::Mapping;

    fn doc(namespace: Option<&str>) -> Document {
        let mut meta = Mapping::new();
        meta.push("name", Value::str("x"));
        if let Some(ns) = namespace {
            meta.push("namespace", Value::str(ns));
        }
        let mut doc = Mapping::new();
        doc.push("metadata", Value::Mapping(meta));
        doc
    }

    #[test]
    fn binds_manifests_and_secrets() {
        let off = Binding::default();
        assert!(off.check_manifest(&[doc(None)], true).is_ok());
        assert_eq!(off.secret_namespace(Some("x")), Ok(Some("x".into())));

        let on = Binding {
            namespace: Some("team-a".into()),
        };
        assert!(on.check_manifest(&[doc(Some("team-a"))], false).is_ok());
        assert!(matches!(
            on.check_manifest(&[doc(Some("team-a")), doc(Some("team-b"))], false),
            Err(BindingError::WrongNamespace { document: 2, .. })
        ));
        assert!(matches!(
            on.check_manifest(&[doc(None)], false),
            Err(BindingError::MissingNamespace { .. })
        ));
        assert_eq!(
            on.check_manifest(&[doc(Some("team-a"))], true),
            Err(BindingError::MacOnlyEncrypted)
        );
        assert_eq!(on.secret_namespace(None), Ok(Some("team-a".into())));
        assert_eq!(
            on.secret_namespace(Some("team-a")),
            Ok(Some("team-a".into()))
        );
        assert!(on.secret_namespace(Some("team-b")).is_err());
    }
}
