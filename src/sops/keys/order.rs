//! The order in which a group's keys are tried: sops' `--decryption-order`, which ksops reads
//! from `SOPS_DECRYPTION_ORDER`.
//!
//! sops builds a group in a fixed order of key types (see [`MasterKey::load_rank`]), then
//! sorts it, stably, by each type's place in the decryption order; types the order does not
//! name keep their load order after those it names. The default is `age,pgp`.

use crate::sops::metadata::{KeyGroup, MasterKey};

/// sops' `DefaultDecryptionOrder`.
const DEFAULT: [&str; 2] = ["age", "pgp"];

/// Key types in the order they are tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DecryptionOrder(Vec<String>);

impl Default for DecryptionOrder {
    fn default() -> Self {
        DecryptionOrder(DEFAULT.map(str::to_owned).to_vec())
    }
}

impl DecryptionOrder {
    /// Reads a comma-separated list as sops does: empty or unset is the default, a type named
    /// twice is refused, and names that are no key type are kept (they match nothing).
    pub(super) fn parse(text: Option<&str>) -> Result<DecryptionOrder, String> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(DecryptionOrder::default());
        };
        let mut kinds: Vec<String> = Vec::new();
        for kind in text.split(',') {
            if kinds.iter().any(|k| k == kind) {
                return Err(format!("Duplicate decryption key type: {kind}"));
            }
            kinds.push(kind.to_owned());
        }
        Ok(DecryptionOrder(kinds))
    }

    /// The group's keys in the order they are tried.
    pub(super) fn sorted<'a>(&self, group: &'a KeyGroup) -> Vec<&'a MasterKey> {
        let mut keys: Vec<&MasterKey> = group.keys.iter().collect();
        keys.sort_by_key(|key| {
            let place = self.0.iter().position(|kind| kind == key.kind());
            (place.unwrap_or(usize::MAX), key.load_rank())
        });
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &'static str, id: &str) -> MasterKey {
        match kind {
            "age" => MasterKey::Age {
                recipient: id.into(),
                enc: String::new(),
            },
            "pgp" => MasterKey::Pgp {
                fingerprint: id.into(),
                enc: String::new(),
            },
            "kms" => MasterKey::Kms(crate::sops::metadata::KmsKey {
                arn: id.into(),
                role: String::new(),
                context: Default::default(),
                aws_profile: String::new(),
                enc: String::new(),
            }),
            "hc_vault" => MasterKey::Vault {
                address: id.into(),
                engine_path: String::new(),
                key_name: String::new(),
                enc: String::new(),
            },
            _ => MasterKey::Unsupported {
                kind,
                id: id.into(),
            },
        }
    }

    fn order(text: Option<&str>) -> Vec<String> {
        let group = KeyGroup {
            keys: vec![
                key("age", "a1"),
                key("age", "a2"),
                key("pgp", "p1"),
                key("kms", "k1"),
                key("hc_vault", "v1"),
                key("pgp", "p2"),
            ],
        };
        let order = DecryptionOrder::parse(text).unwrap();
        order
            .sorted(&group)
            .iter()
            .map(|k| match k {
                MasterKey::Vault { address, .. } => address.clone(),
                MasterKey::Kms(key) => key.arn.clone(),
                other => other.name(),
            })
            .collect()
    }

    #[test]
    fn default_is_age_then_pgp_then_the_rest_in_load_order() {
        let default = ["a1", "a2", "p1", "p2", "k1", "v1"];
        assert_eq!(order(None), default);
        assert_eq!(order(Some("")), default);
        assert_eq!(order(Some("age,pgp")), default);
    }

    #[test]
    fn named_types_first_then_load_order() {
        // sops loads kms, gcp_kms, hckms, azure_kv, hc_vault, pgp, age.
        assert_eq!(order(Some("pgp")), ["p1", "p2", "k1", "v1", "a1", "a2"]);
        assert_eq!(order(Some("pgp,age")), ["p1", "p2", "a1", "a2", "k1", "v1"]);
        assert_eq!(
            order(Some("hc_vault,age")),
            ["v1", "a1", "a2", "k1", "p1", "p2"]
        );
        assert_eq!(order(Some("nothing")), ["k1", "v1", "p1", "p2", "a1", "a2"]);
        assert_eq!(order(Some(" age")), ["k1", "v1", "p1", "p2", "a1", "a2"]);
    }

    #[test]
    fn a_type_named_twice_is_refused() {
        assert_eq!(
            DecryptionOrder::parse(Some("age,pgp,age")),
            Err("Duplicate decryption key type: age".into())
        );
    }
}
