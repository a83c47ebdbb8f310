//! What `ksops check` reports: the rules, each with a stable id, and the findings.

use std::fmt;

/// A check rule. Its [`id`](Rule::id) is stable: scripts and allow-lists refer to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A file that must be SOPS-encrypted is not (or only partly): matched by a creation rule's
    /// `path_regex`, read by a ksops generator, or carrying `sops` metadata with values in clear.
    UnencryptedFile,
    /// A Kubernetes Secret manifest, or a kustomize `secretGenerator`, holds plaintext values.
    PlaintextSecret,
    /// A ksops generator names a file that does not exist (or is not a regular file).
    MissingFile,
    /// A ksops generator names a file outside its kustomization root.
    OutsideRoot,
    /// A ksops generator config that ksops refuses.
    InvalidGenerator,
    /// A ksops generator the host named by `--host` silently skips (a KRM exec function under
    /// `kubectl kustomize`).
    SkippedGenerator,
    /// A legacy ksops generator whose apiVersion/kind has no entry in the plugin home ksops
    /// installs (see [`LEGACY_PLUGINS`](crate::check::LEGACY_PLUGINS)): the kustomize or kubectl
    /// named by `--host` fails to find its plugin.
    MissingPlugin,
    /// A kustomization file that cannot be read as YAML.
    InvalidKustomization,
    /// A `.sops.yaml` that sops cannot use (invalid YAML, wrong shape, bad `path_regex`, …).
    InvalidSopsConfig,
    /// A `.sops.yaml` key that is not a valid recipient (a placeholder).
    InvalidRecipient,
    /// An encrypted file whose recipients differ from what its creation rule requires now.
    RecipientDrift,
    /// With `--decrypt`: a file that does not decrypt or whose MAC does not verify.
    DecryptFailed,
    /// An encrypted file under a kustomization directory that nothing in that build reads (no
    /// ksops generator, `resources`, `secretGenerator`, `configMapGenerator` or patch): the
    /// Secret it holds is never deployed.
    UnreferencedEncryptedFile,
}

impl Rule {
    /// Every rule, in the order they are documented.
    pub const ALL: [Rule; 13] = [
        Rule::UnencryptedFile,
        Rule::PlaintextSecret,
        Rule::MissingFile,
        Rule::OutsideRoot,
        Rule::InvalidGenerator,
        Rule::SkippedGenerator,
        Rule::MissingPlugin,
        Rule::InvalidKustomization,
        Rule::InvalidSopsConfig,
        Rule::InvalidRecipient,
        Rule::RecipientDrift,
        Rule::DecryptFailed,
        Rule::UnreferencedEncryptedFile,
    ];

    /// The stable id printed in reports and accepted in `.ksops-check.yaml`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::UnencryptedFile => "unencrypted-file",
            Rule::PlaintextSecret => "plaintext-secret",
            Rule::MissingFile => "missing-file",
            Rule::OutsideRoot => "outside-root",
            Rule::InvalidGenerator => "invalid-generator",
            Rule::SkippedGenerator => "skipped-generator",
            Rule::MissingPlugin => "missing-plugin",
            Rule::InvalidKustomization => "invalid-kustomization",
            Rule::InvalidSopsConfig => "invalid-sops-config",
            Rule::InvalidRecipient => "invalid-recipient",
            Rule::RecipientDrift => "recipient-drift",
            Rule::DecryptFailed => "decrypt-failed",
            Rule::UnreferencedEncryptedFile => "unreferenced-encrypted-file",
        }
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem found. Messages name files and fields, never a secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Rule,
    /// The file, relative to the checked directory, `/`-separated.
    pub file: String,
    /// The 1-based line, when it is known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    /// The order reports use: by file, line, then rule.
    pub fn sort_key(&self) -> (&str, usize, Rule) {
        (&self.file, self.line.unwrap_or(0), self.rule)
    }
}
