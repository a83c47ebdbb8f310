//! Which leaves of the tree are encrypted: the six path/comment rules and the comment stack.

/// The one encryption rule a file uses.
#[derive(Clone, Debug)]
pub enum Rule {
    /// Leaves under no key ending with the suffix are encrypted (default `_unencrypted`).
    UnencryptedSuffix(String),
    /// Leaves under some key ending with the suffix are encrypted.
    EncryptedSuffix(String),
    /// Leaves under no key matching the regex are encrypted.
    UnencryptedRegex(Regex),
    /// Leaves under some key matching the regex are encrypted.
    EncryptedRegex(Regex),
    /// Leaves after no comment matching the regex are encrypted.
    UnencryptedCommentRegex(Regex),
    /// Leaves after some comment matching the regex are encrypted.
    EncryptedCommentRegex(Regex),
}

/// A Go regexp as sops stores it: the source text, and the compiled pattern (`None` when the
/// pattern does not compile, which sops treats as "never matches").
#[derive(Clone, Debug)]
pub struct Regex {
    /// The pattern as written in the metadata.
    pub source: String,
    /// The compiled pattern.
    pub compiled: Option<regex::bytes::Regex>,
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}
