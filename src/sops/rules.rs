//! Which leaves of the tree are encrypted: the six path/comment rules and the comment stack.
//!
//! Decryption must make exactly the choice encryption made, so this mirrors sops' walk: the
//! path rules look at every mapping key from the root to the leaf (an ancestor decides for its
//! whole subtree), and the comment rules look at a stack holding, per nesting level, the
//! comments seen since the last non-comment item.

/// The one encryption rule a file uses.
#[derive(Clone, Debug, PartialEq)]
pub enum EncryptionRule {
    /// Leaves under no key ending with the suffix are encrypted (default `_unencrypted`).
    UnencryptedSuffix(String),
    /// Leaves under some key ending with the suffix are encrypted.
    EncryptedSuffix(String),
    /// Leaves under no key matching the regex are encrypted.
    UnencryptedRegex(GoRegex),
    /// Leaves under some key matching the regex are encrypted.
    EncryptedRegex(GoRegex),
    /// Leaves after no comment matching the regex are encrypted.
    UnencryptedCommentRegex(GoRegex),
    /// Leaves after some comment matching the regex are encrypted.
    EncryptedCommentRegex(GoRegex),
}

/// The suffix sops uses when a file names no rule.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A Go regexp as sops uses it: an unanchored search. A pattern that does not compile never
/// matches, because sops ignores `regexp.Match`'s error.
#[derive(Clone, Debug)]
pub struct GoRegex {
    source: String,
    compiled: Option<regex::bytes::Regex>,
}

impl GoRegex {
    /// Compiles a pattern; an invalid pattern is kept and never matches.
    pub fn new(source: &str) -> Self {
        GoRegex {
            source: source.to_owned(),
            compiled: compile_cached(source),
        }
    }

    /// The pattern as written in the metadata.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches anywhere in the text.
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.compiled.as_ref().is_some_and(|re| re.is_match(text))
    }
}

/// How many distinct patterns [`compile_cached`] keeps. A repository uses a handful (typically
/// one `encrypted_regex` for every file); the bound keeps hostile metadata from growing it.
const REGEX_CACHE_CAPACITY: usize = 16;

/// Compiles `source`, reusing an earlier compilation of the same pattern in this process:
/// every file of a generator carries its own copy of the rule, and compiling it costs more
/// than decrypting a typical file's values.
fn compile_cached(source: &str) -> Option<regex::bytes::Regex> {
    type Cache = Vec<(String, Option<regex::bytes::Regex>)>;
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(Vec::new());
    if let Ok(cache) = CACHE.lock()
        && let Some((_, compiled)) = cache.iter().find(|(s, _)| s == source)
    {
        return compiled.clone();
    }
    let compiled = regex::bytes::Regex::new(source).ok();
    if let Ok(mut cache) = CACHE.lock()
        && cache.len() < REGEX_CACHE_CAPACITY
    {
        cache.push((source.to_owned(), compiled.clone()));
    }
    compiled
}

impl PartialEq for GoRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The comments active at each nesting level of the walk, outermost first.
#[derive(Debug, Default)]
pub struct CommentStack {
    levels: Vec<Vec<Vec<u8>>>,
}

impl CommentStack {
    /// Opens a level for a mapping or sequence being entered.
    pub fn enter(&mut self) {
        self.levels.push(Vec::new());
    }

    /// Closes the innermost level.
    pub fn leave(&mut self) {
        self.levels.pop();
    }

    /// Records a comment at the innermost level (before the comment itself is evaluated).
    pub fn push(&mut self, text: &[u8]) {
        if let Some(level) = self.levels.last_mut() {
            level.push(text.to_vec());
        }
    }

    /// Forgets the innermost level's comments, after a non-comment item has been walked.
    pub fn clear_innermost(&mut self) {
        if let Some(level) = self.levels.last_mut() {
            level.clear();
        }
    }
}

impl EncryptionRule {
    /// Whether the leaf at `path` (mapping keys from the root) is encrypted, given the active
    /// comments. `leaf_is_comment` is true when the leaf itself is a comment node (not an
    /// encrypted list comment, which is still a string when this is asked).
    pub fn encrypts(&self, path: &[&str], comments: &CommentStack, leaf_is_comment: bool) -> bool {
        match self {
            EncryptionRule::UnencryptedSuffix(suffix) => {
                !path.iter().any(|key| key.ends_with(suffix.as_str()))
            }
            EncryptionRule::EncryptedSuffix(suffix) => {
                path.iter().any(|key| key.ends_with(suffix.as_str()))
            }
            EncryptionRule::UnencryptedRegex(re) => {
                !path.iter().any(|key| re.is_match(key.as_bytes()))
            }
            EncryptionRule::EncryptedRegex(re) => {
                path.iter().any(|key| re.is_match(key.as_bytes()))
            }
            EncryptionRule::UnencryptedCommentRegex(re) => !comments
                .levels
                .iter()
                .flatten()
                .any(|comment| re.is_match(comment)),
            EncryptionRule::EncryptedCommentRegex(re) => {
                // sops skips the innermost level's last comment when evaluating a comment: the
                // marker comment itself stays clear, what follows it is encrypted.
                let innermost = comments.levels.len().saturating_sub(1);
                comments.levels.iter().enumerate().any(|(depth, level)| {
                    let skip_last = leaf_is_comment && depth == innermost;
                    let considered = if skip_last {
                        &level[..level.len().saturating_sub(1)]
                    } else {
                        &level[..]
                    };
                    considered.iter().any(|comment| re.is_match(comment))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(levels: &[&[&str]]) -> CommentStack {
        let mut s = CommentStack::default();
        for level in levels {
            s.enter();
            for c in *level {
                s.push(c.as_bytes());
            }
        }
        s
    }

    #[test]
    fn path_rules_let_any_ancestor_decide() {
        let none = stack(&[&[]]);
        let suffix = EncryptionRule::UnencryptedSuffix("_unencrypted".into());
        assert!(suffix.encrypts(&["a", "b"], &none, false));
        assert!(!suffix.encrypts(&["db_unencrypted", "pass"], &none, false));
        let enc = EncryptionRule::EncryptedRegex(GoRegex::new("^(data|stringData)$"));
        assert!(enc.encrypts(&["data", "nested", "deep"], &none, false));
        assert!(!enc.encrypts(&["metadata", "name"], &none, false));
        assert!(
            !enc.encrypts(&[], &none, true),
            "top-level comments match no key"
        );
        let unenc = EncryptionRule::UnencryptedRegex(GoRegex::new("pub"));
        assert!(!unenc.encrypts(&["x", "public"], &none, false));
        let esuffix = EncryptionRule::EncryptedSuffix("_enc".into());
        assert!(esuffix.encrypts(&["pw_enc"], &none, false));
        assert!(!esuffix.encrypts(&["pw"], &none, false));
    }

    #[test]
    fn invalid_regex_never_matches() {
        let none = stack(&[&[]]);
        let rule = EncryptionRule::EncryptedRegex(GoRegex::new("("));
        assert!(!rule.encrypts(&["("], &none, false));
    }

    #[test]
    fn comment_rules_follow_the_stack() {
        let unenc = EncryptionRule::UnencryptedCommentRegex(GoRegex::new("sops:noenc"));
        assert!(!unenc.encrypts(&["public"], &stack(&[&[" sops:noenc"]]), false));
        assert!(!unenc.encrypts(&[], &stack(&[&[" sops:noenc"]]), true));
        assert!(unenc.encrypts(&["secret"], &stack(&[&[" other"]]), false));

        let enc = EncryptionRule::EncryptedCommentRegex(GoRegex::new("sops:enc"));
        // The marker itself stays clear…
        assert!(!enc.encrypts(&[], &stack(&[&[" sops:enc"]]), true));
        // …the value after it is encrypted…
        assert!(enc.encrypts(&["secret"], &stack(&[&[" sops:enc"]]), false));
        // …and so is a further comment, and anything nested below a marked item.
        assert!(enc.encrypts(&[], &stack(&[&[" sops:enc", " more"]]), true));
        assert!(enc.encrypts(&["n", "x"], &stack(&[&[" sops:enc"], &[]]), false));
        assert!(enc.encrypts(&["n"], &stack(&[&[" sops:enc"], &[" c"]]), true));
    }
}
