//! Listing the files of the checked directory as a commit would see them.
//!
//! Version-control directories (`.git`, `.hg`, `.svn`, `.jj`, `.bzr`) are skipped, and so is
//! whatever `.gitignore` files (and `.git/info/exclude`) exclude: an ignored file is never
//! committed, so a local decrypted copy such as `*.dec.yaml` is not a finding. The `.gitignore`
//! files of the enclosing git work tree above the directory apply as well. Symbolic links are
//! not followed (a link to a directory outside the tree must not widen the check, and a link to
//! a file inside it is checked there).

use std::io;
use std::path::Path;

use crate::check::pattern::PatternList;

/// Directory names never descended into.
const VCS_DIRS: [&str; 5] = [".git", ".hg", ".svn", ".jj", ".bzr"];

/// How deep directories may nest below the checked directory.
const MAX_DEPTH: usize = 256;

/// A directory could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("listing {dir}: {source}")]
pub struct WalkError {
    /// The directory, relative to the checked one.
    pub dir: String,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// The regular files under `root` that git would not ignore, relative to it, `/`-separated and
/// sorted.
pub fn list_files(root: &Path) -> Result<Vec<String>, WalkError> {
    let (prefix, inherited) = enclosing_ignores(root);
    let mut walker = Walker {
        root,
        prefix,
        ignores: inherited,
        files: Vec::new(),
    };
    walker.directory("", 0)?;
    walker.files.sort();
    Ok(walker.files)
}

struct Walker<'a> {
    root: &'a Path,
    /// `root` relative to the matching root (the git work tree, else `root` itself), with a
    /// trailing `/` unless empty.
    prefix: String,
    /// Active pattern lists, outermost first.
    ignores: Vec<PatternList>,
    files: Vec<String>,
}

impl Walker<'_> {
    fn directory(&mut self, dir: &str, depth: usize) -> Result<(), WalkError> {
        let full = if dir.is_empty() {
            self.root.to_path_buf()
        } else {
            self.root.join(dir)
        };
        let listing_error = |source| WalkError {
            dir: if dir.is_empty() {
                ".".into()
            } else {
                dir.into()
            },
            source,
        };
        let pushed = match std::fs::read_to_string(full.join(".gitignore")) {
            Ok(text) => {
                let base = format!("{}{dir}", self.prefix);
                self.ignores.push(PatternList::parse(&base, &text));
                true
            }
            Err(_) => false,
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&full).map_err(listing_error)? {
            let entry = entry.map_err(listing_error)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = entry.file_type().map_err(listing_error)?;
            entries.push((name, kind));
        }
        for (name, kind) in entries {
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            if kind.is_dir() {
                if VCS_DIRS.contains(&name.as_str())
                    || depth >= MAX_DEPTH
                    || self.ignored(&path, true)
                {
                    continue;
                }
                self.directory(&path, depth + 1)?;
            } else if kind.is_file() && !self.ignored(&path, false) {
                self.files.push(path);
            }
        }
        if pushed {
            self.ignores.pop();
        }
        Ok(())
    }

    /// The deepest list with a matching pattern decides.
    fn ignored(&self, path: &str, is_dir: bool) -> bool {
        let full = format!("{}{path}", self.prefix);
        self.ignores
            .iter()
            .rev()
            .find_map(|list| list.decide(&full, is_dir))
            .unwrap_or(false)
    }
}

/// When `root` is inside a git work tree: its path relative to the work tree, and the ignore
/// lists that apply from above (`.git/info/exclude`, then each ancestor's `.gitignore`).
fn enclosing_ignores(root: &Path) -> (String, Vec<PatternList>) {
    let Ok(root) = std::fs::canonicalize(root) else {
        return (String::new(), Vec::new());
    };
    let Some(work_tree) = root.ancestors().find(|dir| dir.join(".git").exists()) else {
        return (String::new(), Vec::new());
    };
    let Ok(inside) = root.strip_prefix(work_tree) else {
        return (String::new(), Vec::new());
    };
    let mut lists = Vec::new();
    if let Ok(text) = std::fs::read_to_string(work_tree.join(".git/info/exclude")) {
        lists.push(PatternList::parse("", &text));
    }
    let mut base = String::new();
    let mut dir = work_tree.to_path_buf();
    for component in inside.components() {
        if let Ok(text) = std::fs::read_to_string(dir.join(".gitignore")) {
            lists.push(PatternList::parse(&base, &text));
        }
        let name = component.as_os_str().to_string_lossy();
        base = if base.is_empty() {
            name.into_owned()
        } else {
            format!("{base}/{name}")
        };
        dir.push(component);
    }
    let prefix = if base.is_empty() {
        base
    } else {
        format!("{base}/")
    };
    (prefix, lists)
}
