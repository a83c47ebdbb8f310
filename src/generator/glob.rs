//! Patterns in generator file lists: `files: [./secrets/*.secret.yaml]` instead of every file
//! by name.
//!
//! Syntax, one path segment at a time (`/` separates segments and is never matched by a
//! wildcard): `*` any run of characters, `?` one character, `[abc]`, `[a-z]`, `[!a-z]` (or
//! `[^a-z]`) one character of (or not of) a set, `\x` the character `x` itself, and `**` as a
//! whole segment any number of directories (none included); a trailing `**` matches every file
//! below. Dot files are not special: `*` matches `.hidden`, as Go's `filepath.Match` does.
//!
//! An entry is a pattern only when it holds `*`, `?` or `[` and no file of that exact name
//! exists: a literal name with those characters keeps working.
//!
//! Confinement: a pattern is relative to the kustomization directory and may hold neither `..`
//! nor a leading `/`. The walk starts from the root's handle on the kustomization directory and
//! **never follows a symlink**: a symlinked directory is not entered and a symlink is never a
//! match (name a symlinked file literally; the confined reader follows it as far as the root
//! allows). Only regular files match, read from directory entries without opening them, so a
//! FIFO, socket or device is never opened. Each subdirectory is entered through the parent's
//! handle and checked to be the directory the listing showed, so a directory swapped for a
//! symlink during the walk is skipped. Matches are read afterwards through the confined reader,
//! like literal paths.
//!
//! Bounds: the matches count against [`MAX_FILES_PER_GENERATOR`] together with every other file
//! of the generator, and one pattern may list at most [`MAX_GLOB_DIRECTORIES`] directories and
//! [`MAX_GLOB_ENTRIES`] entries, [`MAX_GLOB_DEPTH`] levels deep. Matches are sorted by their
//! path's bytes, so the output does not depend on the order a file system lists directories in.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use cap_std::fs::Dir;

use crate::generator::confine::{ConfineError, Root};
use crate::generator::schema::{FileEntry, GeneratorConfig, PathEntry, go_base};
use crate::limits::MAX_FILES_PER_GENERATOR;
use crate::limits::{MAX_GLOB_DEPTH, MAX_GLOB_DIRECTORIES, MAX_GLOB_ENTRIES};

/// Why a pattern could not be expanded. Messages name the pattern as written, never an
/// absolute path.
#[derive(Debug, thiserror::Error)]
pub enum GlobError {
    /// The pattern's syntax is wrong (an unclosed `[`, a trailing `\`).
    #[error("invalid pattern {pattern:?}: {reason}")]
    Invalid {
        /// The pattern as written.
        pattern: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The pattern starts with `/`.
    #[error(
        "pattern {pattern:?}: absolute patterns are not allowed; write it relative to the \
         kustomization directory"
    )]
    Absolute {
        /// The pattern as written.
        pattern: String,
    },
    /// The pattern holds a `..` segment.
    #[error(
        "pattern {pattern:?}: `..` is not allowed in a pattern; a pattern only matches files \
         below the kustomization directory"
    )]
    Parent {
        /// The pattern as written.
        pattern: String,
    },
    /// The pattern matches no regular file.
    #[error(
        "pattern {pattern:?} matches no file (patterns match regular files below the \
         kustomization directory and never follow symlinks)"
    )]
    NoMatch {
        /// The pattern as written.
        pattern: String,
    },
    /// `key=pattern`: one key cannot name several files.
    #[error(
        "pattern {pattern:?} cannot have a key (one key cannot name several files); drop the \
         `key=` to key each file by its name, or name one file"
    )]
    KeyedPattern {
        /// The pattern as written (after the `key=`).
        pattern: String,
    },
    /// Two files matched into one Secret have the same name, hence the same key.
    #[error(
        "`{first}` and `{second}` would both be Secret key `{key}`; name one of them with \
         `key=path`, or narrow the pattern"
    )]
    SameKey {
        /// The shared base name.
        key: String,
        /// The file matched first.
        first: String,
        /// The file matched second.
        second: String,
    },
    /// The matches bring the generator's files past [`MAX_FILES_PER_GENERATOR`].
    #[error(
        "pattern {pattern:?} brings the generator's files past the limit of {limit}; narrow it \
         or split the files across generators"
    )]
    TooManyFiles {
        /// The pattern as written.
        pattern: String,
        /// The limit in force.
        limit: usize,
    },
    /// The walk would list too many directories or entries, or go too deep.
    #[error("pattern {pattern:?} searches more than {limit} {what}; narrow it")]
    TooBroad {
        /// The pattern as written.
        pattern: String,
        /// "directories", "directory entries" or "levels of directories".
        what: &'static str,
        /// The limit in force.
        limit: usize,
    },
    /// The kustomization directory could not be opened.
    #[error(transparent)]
    Root(ConfineError),
    /// A directory could not be listed.
    #[error("pattern {pattern:?}: listing `{dir}`: {cause}")]
    Io {
        /// The pattern as written.
        pattern: String,
        /// The directory, relative to the kustomization directory.
        dir: String,
        /// The underlying error (it names no path).
        cause: io::Error,
    },
}

/// Whether `text` holds a wildcard (`*`, `?`, `[`) outside an escape.
pub fn is_pattern(text: &str) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Expands a file-list entry: `None` when it is a literal path (no wildcard, or a file of that
/// exact name exists), else its matches, sorted by path bytes, `/`-separated and relative to
/// the kustomization directory. At most `limit` matches are accepted.
pub fn expand_pattern(
    root: &Root,
    entry: &str,
    limit: usize,
) -> Result<Option<Vec<String>>, GlobError> {
    if !is_pattern(entry) || root.exists(entry) {
        return Ok(None);
    }
    let pattern = Pattern::parse(entry)?;
    let dir = root.kustomization_dir().map_err(GlobError::Root)?;
    let mut walk = Walk {
        pattern: entry,
        limits: WalkLimits {
            matches: limit,
            directories: MAX_GLOB_DIRECTORIES,
            entries: MAX_GLOB_ENTRIES,
        },
        directories: 0,
        entries: 0,
        matches: BTreeSet::new(),
    };
    walk.directory(&dir, "", &pattern.segments, 0)?;
    if walk.matches.is_empty() {
        return Err(GlobError::NoMatch {
            pattern: entry.to_owned(),
        });
    }
    Ok(Some(walk.matches.into_iter().collect()))
}

/// A config entry whose pattern could not be expanded.
#[derive(Debug)]
pub struct ExpandError {
    /// Where the entry sits in the config, e.g. `files[0]`.
    pub field: String,
    /// The entry, e.g. ``files[0] (`./secrets/*.yaml`)``.
    pub origin: String,
    /// The pattern or entry as written.
    pub path: String,
    /// Why.
    pub error: GlobError,
}

/// The config with every pattern replaced by its matches, in place of the pattern, in path
/// order. Within one list (`files`, or one `secretFrom` entry's `files`, `binaryFiles` or
/// `envs`), a file a pattern matches that is already in the list (named literally, or matched
/// by an earlier pattern) is used once. Literal entries are left exactly as they are.
pub fn expand_config(
    config: &GeneratorConfig,
    root: &Root,
) -> Result<GeneratorConfig, Box<ExpandError>> {
    let mut budget = Budget {
        left: MAX_FILES_PER_GENERATOR,
    };
    let mut out = config.clone();
    out.files = expand_list(&config.files, root, &mut budget, false)?;
    for spec in &mut out.secret_from {
        spec.files = expand_list(&spec.files, root, &mut budget, true)?;
        spec.binary_files = expand_list(&spec.binary_files, root, &mut budget, true)?;
        spec.envs = expand_list(&spec.envs, root, &mut budget, false)?;
    }
    Ok(out)
}

/// How many more files the generator may read.
struct Budget {
    left: usize,
}

/// What [`expand_list`] needs of a list entry.
trait ListEntry: Clone {
    fn field(&self) -> &str;
    fn path(&self) -> &str;
    fn origin(&self) -> String;
    /// A `key=path` entry.
    fn keyed(&self) -> bool;
    /// The entry for one match of its pattern.
    fn matched(&self, path: String) -> Self;
}

impl ListEntry for PathEntry {
    fn field(&self) -> &str {
        &self.field
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn origin(&self) -> String {
        PathEntry::origin(self)
    }
    fn keyed(&self) -> bool {
        false
    }
    fn matched(&self, path: String) -> Self {
        PathEntry {
            field: self.field.clone(),
            pattern: Some(self.path.clone()),
            path,
        }
    }
}

impl ListEntry for FileEntry {
    fn field(&self) -> &str {
        &self.field
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn origin(&self) -> String {
        FileEntry::origin(self)
    }
    fn keyed(&self) -> bool {
        self.has_key()
    }
    fn matched(&self, path: String) -> Self {
        FileEntry {
            field: self.field.clone(),
            entry: path.clone(),
            key: go_base(&path),
            pattern: Some(self.path.clone()),
            path,
        }
    }
}

/// Expands one list. `keys`: the matches become Secret keys by base name, which must differ.
fn expand_list<E: ListEntry>(
    entries: &[E],
    root: &Root,
    budget: &mut Budget,
    keys: bool,
) -> Result<Vec<E>, Box<ExpandError>> {
    let fail = |entry: &E, error| {
        Box::new(ExpandError {
            field: entry.field().to_owned(),
            origin: entry.origin(),
            path: entry.path().to_owned(),
            error,
        })
    };
    // Literal entries are used as written (twice if written twice); a match they name is not
    // used again.
    let mut seen: BTreeSet<String> = entries
        .iter()
        .filter(|e| !is_pattern(e.path()))
        .map(|e| normalize(e.path()))
        .collect();
    let mut keyed_by: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let take = |budget: &mut Budget| {
            budget.left = budget.left.checked_sub(1).ok_or_else(|| {
                fail(
                    entry,
                    GlobError::TooManyFiles {
                        pattern: entry.path().to_owned(),
                        limit: MAX_FILES_PER_GENERATOR,
                    },
                )
            })?;
            Ok::<_, Box<ExpandError>>(())
        };
        let matches =
            expand_pattern(root, entry.path(), budget.left).map_err(|e| fail(entry, e))?;
        let Some(matches) = matches else {
            take(budget)?;
            seen.insert(normalize(entry.path()));
            out.push(entry.clone());
            continue;
        };
        if entry.keyed() {
            return Err(fail(
                entry,
                GlobError::KeyedPattern {
                    pattern: entry.path().to_owned(),
                },
            ));
        }
        for path in matches {
            if !seen.insert(path.clone()) {
                continue;
            }
            take(budget)?;
            if keys {
                let key = go_base(&path);
                if let Some(first) = keyed_by.insert(key.clone(), path.clone()) {
                    return Err(fail(
                        entry,
                        GlobError::SameKey {
                            key,
                            first,
                            second: path,
                        },
                    ));
                }
            }
            out.push(entry.matched(path));
        }
    }
    Ok(out)
}

/// A relative path without `.` and empty segments, for comparing a literal entry with a match.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// One path segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A name without wildcards (escapes removed).
    Literal(String),
    /// A name with wildcards.
    Wild(Vec<Token>),
    /// `**`: any number of directories.
    AnyDepth,
}

/// One element of a wildcard segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*`
    Any,
    /// `[…]`: inclusive ranges (a single character is a range of one).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A parsed pattern.
#[derive(Debug)]
struct Pattern {
    segments: Vec<Segment>,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, GlobError> {
        if text.starts_with('/') {
            return Err(GlobError::Absolute {
                pattern: text.to_owned(),
            });
        }
        let mut segments = Vec::new();
        for part in text.split('/') {
            match part {
                "" | "." => continue,
                ".." => {
                    return Err(GlobError::Parent {
                        pattern: text.to_owned(),
                    });
                }
                "**" => {
                    // `**/**` searches the same directories twice; one is enough.
                    if segments.last() != Some(&Segment::AnyDepth) {
                        segments.push(Segment::AnyDepth);
                    }
                }
                _ => segments.push(parse_segment(text, part)?),
            }
        }
        // A trailing `**` means every file below.
        if segments.last() == Some(&Segment::AnyDepth) {
            segments.push(Segment::Wild(vec![Token::Any]));
        }
        Ok(Pattern { segments })
    }
}

fn parse_segment(pattern: &str, part: &str) -> Result<Segment, GlobError> {
    let invalid = |reason| GlobError::Invalid {
        pattern: pattern.to_owned(),
        reason,
    };
    let mut tokens = Vec::new();
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            '\\' => Token::Char(chars.next().ok_or_else(|| invalid("it ends with `\\`"))?),
            '?' => Token::One,
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                Token::Any
            }
            '[' => {
                let negated = matches!(chars.peek(), Some('!' | '^'));
                if negated {
                    chars.next();
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = chars.next().ok_or_else(|| invalid("a `[` is not closed"))?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let low = if c == '\\' {
                        chars.next().ok_or_else(|| invalid("it ends with `\\`"))?
                    } else {
                        c
                    };
                    let mut high = low;
                    if chars.peek() == Some(&'-') {
                        let mut ahead = chars.clone();
                        ahead.next();
                        if let Some(end) = ahead.next().filter(|&end| end != ']') {
                            chars = ahead;
                            high = if end == '\\' {
                                chars.next().ok_or_else(|| invalid("it ends with `\\`"))?
                            } else {
                                end
                            };
                        }
                    }
                    if high < low {
                        return Err(invalid("a range in `[…]` runs backwards"));
                    }
                    ranges.push((low, high));
                }
                Token::Class { negated, ranges }
            }
            other => Token::Char(other),
        };
        tokens.push(token);
    }
    if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
        let name = tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Char(c) => Some(c),
                _ => None,
            })
            .collect();
        return Ok(Segment::Literal(name));
    }
    Ok(Segment::Wild(tokens))
}

/// Whether `name` (one path segment) matches `tokens`.
fn matches(tokens: &[Token], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice, never
    // exponential.
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::Any) => {
                star = Some((t, n));
                t += 1;
                continue;
            }
            Some(token) if single(token, name[n]) => {
                t += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_t, star_n)) => {
                t = star_t + 1;
                n = star_n + 1;
                star = Some((star_t, star_n + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Any)
}

/// Whether a token other than `*` matches one character.
fn single(token: &Token, c: char) -> bool {
    match token {
        Token::Char(expected) => *expected == c,
        Token::One => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(low, high)| low <= c && c <= high) != *negated
        }
        Token::Any => false,
    }
}

/// What one pattern's walk may do.
struct WalkLimits {
    matches: usize,
    directories: usize,
    entries: usize,
}

/// One pattern's walk.
struct Walk<'p> {
    pattern: &'p str,
    limits: WalkLimits,
    directories: usize,
    entries: usize,
    matches: BTreeSet<String>,
}

/// A directory entry, typed without following symlinks.
struct Entry {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Directory,
    /// Symlinks, FIFOs, sockets, devices: never matched, never entered.
    Other,
}

impl Walk<'_> {
    fn too_broad(&self, what: &'static str, limit: usize) -> GlobError {
        GlobError::TooBroad {
            pattern: self.pattern.to_owned(),
            what,
            limit,
        }
    }

    /// Matches `segments` against the directory `dir` (at `rel`, `/`-terminated unless empty).
    fn directory(
        &mut self,
        dir: &Dir,
        rel: &str,
        segments: &[Segment],
        depth: usize,
    ) -> Result<(), GlobError> {
        let Some((segment, rest)) = segments.split_first() else {
            return Ok(());
        };
        if depth > MAX_GLOB_DEPTH {
            return Err(self.too_broad("levels of directories", MAX_GLOB_DEPTH));
        }
        match segment {
            Segment::Literal(name) => {
                let kind = match dir.symlink_metadata(name) {
                    Ok(meta) => kind_of(&meta.file_type()),
                    Err(_) => return Ok(()),
                };
                self.visit(dir, rel, name, kind, rest, depth)
            }
            Segment::Wild(tokens) => {
                for entry in self.list(dir, rel)? {
                    if matches(tokens, &entry.name) {
                        self.visit(dir, rel, &entry.name, entry.kind, rest, depth)?;
                    }
                }
                Ok(())
            }
            Segment::AnyDepth => {
                self.directory(dir, rel, rest, depth)?;
                for entry in self.list(dir, rel)? {
                    if entry.kind == Kind::Directory {
                        // The `**` stays: it matches any number of directories.
                        self.visit(dir, rel, &entry.name, entry.kind, segments, depth)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// An entry `name` of `dir` matched a segment: a match if it is the last, else a directory
    /// to continue in.
    fn visit(
        &mut self,
        dir: &Dir,
        rel: &str,
        name: &str,
        kind: Kind,
        rest: &[Segment],
        depth: usize,
    ) -> Result<(), GlobError> {
        let path = format!("{rel}{name}");
        if rest.is_empty() {
            if kind == Kind::File
                && self.matches.insert(path)
                && self.matches.len() > self.limits.matches
            {
                return Err(GlobError::TooManyFiles {
                    pattern: self.pattern.to_owned(),
                    limit: MAX_FILES_PER_GENERATOR,
                });
            }
            return Ok(());
        }
        if kind != Kind::Directory {
            return Ok(());
        }
        let Some(sub) = open_subdirectory(dir, name) else {
            return Ok(());
        };
        self.directory(&sub, &format!("{path}/"), rest, depth + 1)
    }

    /// The entries of `dir` with UTF-8 names (others cannot match a pattern written in YAML),
    /// counted against the walk's limits.
    fn list(&mut self, dir: &Dir, rel: &str) -> Result<Vec<Entry>, GlobError> {
        self.directories += 1;
        if self.directories > self.limits.directories {
            return Err(self.too_broad("directories", self.limits.directories));
        }
        let io_error = |cause| GlobError::Io {
            pattern: self.pattern.to_owned(),
            dir: if rel.is_empty() {
                ".".to_owned()
            } else {
                rel.trim_end_matches('/').to_owned()
            },
            cause,
        };
        let mut entries = Vec::new();
        for entry in dir.entries().map_err(io_error)? {
            self.entries += 1;
            if self.entries > self.limits.entries {
                return Err(self.too_broad("directory entries", self.limits.entries));
            }
            let entry = entry.map_err(io_error)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = entry.file_type().map_or(Kind::Other, |t| kind_of(&t));
            entries.push(Entry { name, kind });
        }
        Ok(entries)
    }
}

fn kind_of(file_type: &cap_std::fs::FileType) -> Kind {
    if file_type.is_symlink() {
        Kind::Other
    } else if file_type.is_dir() {
        Kind::Directory
    } else if file_type.is_file() {
        Kind::File
    } else {
        Kind::Other
    }
}

/// Opens the subdirectory `name` of `dir` if it is still the real directory the listing showed:
/// a symlink put in its place since is not followed.
fn open_subdirectory(dir: &Dir, name: &str) -> Option<Dir> {
    let before = dir.symlink_metadata(name).ok()?;
    if before.file_type().is_symlink() || !before.is_dir() {
        return None;
    }
    let sub = dir.open_dir(name).ok()?;
    same_file(&before, &sub.dir_metadata().ok()?).then_some(sub)
}

#[cfg(unix)]
fn same_file(a: &cap_std::fs::Metadata, b: &cap_std::fs::Metadata) -> bool {
    use cap_std::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Without a portable file identity, rely on the listing's check (the open stays confined).
#[cfg(not(unix))]
fn same_file(_a: &cap_std::fs::Metadata, _b: &cap_std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests;
