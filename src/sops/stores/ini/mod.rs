//! The INI store (`.ini`), reproducing sops 3.11 on top of `gopkg.in/ini.v1` (v1.67).
//!
//! sops loads INI files with ini.v1's default options plus `AllowNonUniqueSections`, and writes
//! them with ini.v1's pretty printer. Both sides have many quirks that change what a decrypted
//! file looks like, so this module follows ini.v1 rather than any INI "standard":
//!
//! - The tree is one document whose entries are the sections, in file order, always starting
//!   with `DEFAULT` (the keys before the first header). A repeated `[name]`, even `[DEFAULT]`,
//!   starts a new section. Every value is a string.
//! - A repeated key inside a section keeps its first position and takes the last value.
//! - Comment lines gather until the next key or section header and become that key's or
//!   section's comment; an inline `#`/`;` comment is appended to it. In the tree, a section's
//!   comment is its first item and a key's comment follows the key.
//! - The `[sops]` section holds the flattened metadata.
//!
//! `parse` reads a file with ini.v1's parser and builds sops' tree from its sections; `emit`
//! turns a tree into sections as sops does and writes them with ini.v1's pretty printer.

mod emit;
mod parse;
#[cfg(test)]
mod tests;

pub use emit::emit;
pub use parse::parse;

/// The name ini.v1 gives to the keys before the first section header.
const DEFAULT_SECTION: &str = "DEFAULT";

// Go's Unicode white-space trimming, which ini.v1 applies both when reading and when writing.

/// The first character of the bytes, if they start with valid UTF-8.
fn first_char(bytes: &[u8]) -> Option<(char, usize)> {
    let len = match *bytes.first()? {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    };
    let text = std::str::from_utf8(bytes.get(..len)?).ok()?;
    text.chars().next().map(|c| (c, len))
}

/// The last character of the bytes, if they end with valid UTF-8.
fn last_char(bytes: &[u8]) -> Option<(char, usize)> {
    let floor = bytes.len().saturating_sub(4);
    let start = (floor..bytes.len())
        .rev()
        .find(|&i| bytes.get(i).is_some_and(|b| b & 0xC0 != 0x80))?;
    let text = std::str::from_utf8(bytes.get(start..)?).ok()?;
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some((c, bytes.len() - start))
}

/// Go's `TrimLeftFunc(s, unicode.IsSpace)`: stops at the first non-space or invalid byte.
fn trim_left_space(mut bytes: &[u8]) -> &[u8] {
    while let Some((c, len)) = first_char(bytes) {
        if !c.is_whitespace() {
            break;
        }
        bytes = bytes.get(len..).unwrap_or_default();
    }
    bytes
}

/// Go's `strings.TrimSpace` (Unicode white space, both ends).
fn trim_space(bytes: &[u8]) -> &[u8] {
    let mut bytes = trim_left_space(bytes);
    while let Some((c, len)) = last_char(bytes) {
        if !c.is_whitespace() {
            break;
        }
        bytes = bytes.get(..bytes.len() - len).unwrap_or_default();
    }
    bytes
}
