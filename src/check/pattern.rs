//! gitignore-style path patterns: `.gitignore` files and the paths of `.ksops-check.yaml`.
//!
//! Supported: `#` comments, `!` negation, a trailing `/` for directories only, a leading or inner
//! `/` anchoring the pattern to its base directory (otherwise it matches a name at any depth),
//! `*`, `?`, `[…]` classes, `**/`, `/**/` and a trailing `/**`, and `\` escapes. As in git, the
//! last matching pattern of a list wins, and nothing inside an excluded directory is looked at.

/// One parsed pattern.
#[derive(Clone, Debug)]
struct Pattern {
    regex: regex::Regex,
    negated: bool,
    directories_only: bool,
}

/// The patterns of one file, relative to the directory that holds it.
#[derive(Clone, Debug)]
pub struct PatternList {
    /// The base directory, relative to the matching root, `/`-separated, no trailing `/`
    /// (empty for the root itself).
    base: String,
    patterns: Vec<Pattern>,
}

impl PatternList {
    /// Parses patterns, one per line (a `.gitignore` file's text).
    pub fn parse(base: &str, text: &str) -> PatternList {
        Self::from_lines(base, text.lines())
    }

    /// Parses the given patterns.
    pub fn from_lines<'a>(base: &str, lines: impl IntoIterator<Item = &'a str>) -> PatternList {
        PatternList {
            base: base.trim_end_matches('/').to_owned(),
            patterns: lines.into_iter().filter_map(Pattern::parse).collect(),
        }
    }

    /// Whether the list excludes `path` (relative to the matching root): `Some(true)` when the
    /// last matching pattern excludes it, `Some(false)` when it re-includes it, `None` when no
    /// pattern matches.
    pub fn decide(&self, path: &str, is_dir: bool) -> Option<bool> {
        let relative = if self.base.is_empty() {
            path
        } else {
            path.strip_prefix(&self.base)?.strip_prefix('/')?
        };
        self.patterns
            .iter()
            .rev()
            .find(|p| (is_dir || !p.directories_only) && p.regex.is_match(relative))
            .map(|p| !p.negated)
    }

    /// Whether the list excludes the file `path` or one of its directories.
    pub fn excludes_file(&self, path: &str) -> bool {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            if self.decide(&path[..end], true) == Some(true) {
                return true;
            }
            end += 1;
        }
        self.decide(path, false) == Some(true)
    }
}

impl Pattern {
    fn parse(line: &str) -> Option<Pattern> {
        let line = line.trim_end_matches(['\r', ' ']);
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (negated, line) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let (directories_only, line) = match line.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let anchored = line.contains('/');
        let line = line.strip_prefix('/').unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        let prefix = if anchored { "^" } else { "^(?:.*/)?" };
        let regex = regex::Regex::new(&format!("{prefix}{}$", glob_regex(line))).ok()?;
        Some(Pattern {
            regex,
            negated,
            directories_only,
        })
    }
}

/// The regex body for a `/`-separated glob.
fn glob_regex(glob: &str) -> String {
    let segments: Vec<&str> = glob.split('/').collect();
    let mut out = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if *segment == "**" {
            out.push_str(if last { ".*" } else { "(?:[^/]*/)*" });
            continue;
        }
        segment_regex(segment, &mut out);
        if !last {
            out.push('/');
        }
    }
    out
}

/// One path component: `*`, `?`, classes and escapes; everything else literal.
fn segment_regex(segment: &str, out: &mut String) {
    let chars: Vec<char> = segment.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push_str(&regex::escape(&chars[i].to_string()));
            }
            '[' => match chars[i + 1..].iter().position(|&c| c == ']') {
                Some(len) if len > 0 => {
                    let mut class = &chars[i + 1..i + 1 + len];
                    out.push('[');
                    if let Some(rest) = class.strip_prefix(&['!']) {
                        out.push('^');
                        class = rest;
                    }
                    for &c in class {
                        // `-` keeps ranges; everything else is literal inside the class.
                        if c == '-' {
                            out.push('-');
                        } else {
                            out.push_str(&regex::escape(&c.to_string()));
                        }
                    }
                    out.push(']');
                    i += len + 1;
                }
                _ => out.push_str("\\["),
            },
            other => out.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &str) -> PatternList {
        PatternList::parse("", patterns)
    }

    #[test]
    fn names_match_at_any_depth_and_slashes_anchor() {
        let l = list("target\n/build\ndocs/*.md\n");
        assert_eq!(l.decide("target", true), Some(true));
        assert_eq!(l.decide("a/b/target", false), Some(true));
        assert_eq!(l.decide("build", true), Some(true));
        assert_eq!(l.decide("a/build", true), None);
        assert_eq!(l.decide("docs/x.md", false), Some(true));
        assert_eq!(l.decide("a/docs/x.md", false), None);
        assert_eq!(l.decide("docs/a/x.md", false), None);
    }

    #[test]
    fn directories_only_negation_and_double_stars() {
        let l = list("# comment\nsecrets/\n*.dec.yaml\n!keep.dec.yaml\n**/tmp/**\n");
        assert_eq!(l.decide("secrets", false), None);
        assert_eq!(l.decide("x/secrets", true), Some(true));
        assert_eq!(l.decide("a/b.dec.yaml", false), Some(true));
        assert_eq!(l.decide("a/keep.dec.yaml", false), Some(false));
        assert_eq!(l.decide("x/tmp/y/z", false), Some(true));
        assert!(l.excludes_file("x/secrets/a.yaml"));
        assert!(!l.excludes_file("x/secret/a.yaml"));
    }

    #[test]
    fn classes_escapes_and_bases() {
        let l = PatternList::parse("sub/dir", "[ab].txt\n\\#hash\n[!c]x\n");
        assert_eq!(l.decide("sub/dir/a.txt", false), Some(true));
        assert_eq!(l.decide("sub/dir/c.txt", false), None);
        assert_eq!(l.decide("sub/dir/#hash", false), Some(true));
        assert_eq!(l.decide("sub/dir/dx", false), Some(true));
        assert_eq!(l.decide("sub/dir/cx", false), None);
        assert_eq!(l.decide("a.txt", false), None);
    }
}
