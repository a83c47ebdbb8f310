//! `secretFrom[].envs` parsing, with the semantics of godotenv v1.5.1 (`parser.go`), which
//! KSOPS calls as `godotenv.Unmarshal` on the decrypted file.
//!
//! godotenv is not a shell: it has its own quirks, and users' files were written against them,
//! so they are reproduced rather than corrected. In particular:
//! - a statement is `[export ]KEY=value` or `KEY: value`; whitespace anywhere in the key is
//!   skipped while scanning and kept inside it (`A B=1` gives key `A B`);
//! - unquoted values end at the line end (`\n` or `\r`), lose an inline comment that starts at
//!   the **last** `#` preceded by a space or tab (`a # b # c` → `a # b`), are trimmed, and expand
//!   variables;
//! - single-quoted values are literal (a `\'` does not end them and stays as written);
//! - double-quoted values may span lines, turn `\n`/`\r` into line breaks and drop the backslash
//!   of any other escape except `\$`, then expand variables;
//! - `$VAR`, `${VAR}` (names `[A-Z0-9_]+`) expand to the value of an earlier key of the same
//!   file, or to nothing; `\$` keeps a literal `$`. The process environment is never consulted
//!   (v1.5.1 did not, and it would leak the repo-server's environment into Secrets).
//!
//! Where godotenv's error messages quote the rest of the file (which holds secret values), ours
//! give only a line number and the offending character.

use crate::limits::MAX_ENV_EXPANSION_BYTES;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use zeroize::Zeroizing;

/// A dotenv file godotenv v1.5.1 would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A character that cannot be part of a variable name.
    #[error("unexpected character {ch:?} in variable name on line {line}")]
    UnexpectedCharacter {
        /// The character, as godotenv reports it (one byte read as Latin-1 when not ASCII).
        ch: char,
        /// 1-based line number.
        line: usize,
    },
    /// A quoted value without its closing quote.
    #[error("unterminated quoted value for `{key}` starting on line {line}")]
    UnterminatedQuote {
        /// The variable being assigned.
        key: String,
        /// 1-based line number of the opening quote.
        line: usize,
    },
    /// `export` followed only by spaces at the end of the file (godotenv: "zero length string").
    #[error("empty statement on line {line}")]
    ZeroLength {
        /// 1-based line number.
        line: usize,
    },
    /// Variable expansion would add more than [`MAX_ENV_EXPANSION_BYTES`] to the file's values.
    #[error(
        "expanding variables in `{key}` on line {line} exceeds the limit of {limit} bytes for the \
         whole file (each `$VAR` copies an earlier value)"
    )]
    ExpansionTooLarge {
        /// The variable being assigned.
        key: String,
        /// 1-based line number where its value starts.
        line: usize,
        /// The limit in force.
        limit: usize,
    },
}

/// Parses a decrypted dotenv file; returns the assignments in file order, duplicates included
/// (godotenv keeps the last; the caller decides). Each value is expanded against the values
/// assigned before it, so `A=1`, `A=$A-2` gives `("A","1")`, `("A","1-2")`.
///
/// The input must be text: callers holding bytes must reject invalid UTF-8 first.
pub fn parse_env(text: &str) -> Result<Vec<(String, String)>, EnvError> {
    // godotenv normalises Windows line ends first, and only those: a lone `\r` ends an
    // unquoted value but stays inside quoted ones.
    let src = Zeroizing::new(text.replace("\r\n", "\n"));
    let mut out = Vec::new();
    let mut vars = Vars::new();
    let mut pos = 0;
    let mut budget = MAX_ENV_EXPANSION_BYTES;
    while let Some(start) = statement_start(&src, pos) {
        let (key, value_start) = locate_key_name(&src, start)?;
        let (value, rest) = extract_var_value(&src, value_start, &key, &vars, &mut budget)?;
        vars.insert(key.clone(), Zeroizing::new(value.clone()));
        out.push((key, value));
        pos = rest;
    }
    Ok(out)
}

/// The values assigned so far, for expansion (decrypted text, wiped on drop).
type Vars = HashMap<String, Zeroizing<String>>;

/// godotenv's `isSpace`: horizontal white space only (line breaks excluded, except `\r`).
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    )
}

/// 1-based line number of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `getStatementStart`: skips white space (including line breaks) and `#` comment lines;
/// `None` at the end of the input.
fn statement_start(src: &str, mut pos: usize) -> Option<usize> {
    loop {
        let start = pos + src.get(pos..)?.find(|c: char| !c.is_whitespace())?;
        if src.as_bytes()[start] != b'#' {
            return Some(start);
        }
        // A comment runs to the line break; at the end of input there is nothing more.
        pos = start + src[start..].find('\n')?;
    }
}

/// `locateKeyName`: returns the key and where the value starts.
fn locate_key_name(src: &str, start: usize) -> Result<(String, usize), EnvError> {
    let mut s = skip_spaces(src, start);
    if src[s..].starts_with("export") {
        let after = s + "export".len();
        if src[after..].chars().next().is_some_and(is_space) {
            s = skip_spaces(src, after);
        }
    }
    if s == src.len() {
        return Err(EnvError::ZeroLength {
            line: line_of(src, s),
        });
    }
    // godotenv walks the key byte by byte and judges each byte as if it were a Latin-1 rune
    // (`rune(byte)`), so multi-byte UTF-8 letters pass through their lead and continuation
    // bytes, and the bytes 0x85/0xA0 count as spaces. Reproduced as is.
    let bytes = src.as_bytes();
    let mut key_end = None;
    for (i, &b) in bytes.iter().enumerate().skip(s) {
        let latin1 = char::from(b);
        if is_space(latin1) {
            continue;
        }
        match b {
            b'=' | b':' => {
                key_end = Some(i);
                break;
            }
            b'_' | b'.' => {}
            _ if latin1.is_alphabetic() || latin1.is_numeric() => {}
            _ => {
                // Report the character the user sees, not one byte of it.
                let char_start = (0..=i).rev().find(|&j| src.is_char_boundary(j));
                let ch = char_start
                    .and_then(|j| src[j..].chars().next())
                    .unwrap_or(latin1);
                return Err(EnvError::UnexpectedCharacter {
                    ch,
                    line: line_of(src, i),
                });
            }
        }
    }
    // With no `=`/`:` before the end of input, godotenv yields an empty key and reads the
    // whole statement as the value (`FOO` at EOF → `"" = "FOO"`).
    let (key, value_at) = match key_end {
        Some(i) => (src[s..i].trim_end_matches(char::is_whitespace), i + 1),
        None => ("", s),
    };
    Ok((key.to_string(), skip_spaces(src, value_at)))
}

fn skip_spaces(src: &str, pos: usize) -> usize {
    pos + src[pos..]
        .find(|c: char| !is_space(c))
        .unwrap_or(src.len() - pos)
}

/// `extractVarValue`: returns the value and where the next statement search starts.
fn extract_var_value(
    src: &str,
    start: usize,
    key: &str,
    vars: &Vars,
    budget: &mut usize,
) -> Result<(String, usize), EnvError> {
    let too_large = || EnvError::ExpansionTooLarge {
        key: key.to_string(),
        line: line_of(src, start),
        limit: MAX_ENV_EXPANSION_BYTES,
    };
    let rest = &src[start..];
    let quote = match rest.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => q,
        _ => {
            let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
            let line: Vec<char> = rest[..end].chars().collect();
            // The inline comment starts at the last `#` that follows a space; searching from
            // the right is godotenv's, hence `a # b # c` → `a # b`.
            let end_of_var = (1..line.len())
                .rev()
                .find(|&i| line[i] == '#' && is_space(line[i - 1]))
                .unwrap_or(line.len());
            let value: String = line[..end_of_var].iter().collect();
            let value = expand_variables(value.trim_matches(is_space), vars, budget)
                .ok_or_else(too_large)?;
            return Ok((value, start + end));
        }
    };
    let bytes = rest.as_bytes();
    for i in 1..bytes.len() {
        // A quote preceded by a backslash does not close the value, in both quote styles.
        if bytes[i] != quote || bytes[i - 1] == b'\\' {
            continue;
        }
        // godotenv trims every leading and trailing quote character, not just one of each.
        let q = char::from(quote);
        let inner = rest[..i].trim_start_matches(q).trim_end_matches(q);
        let value = if quote == b'"' {
            expand_variables(&expand_escapes(inner), vars, budget).ok_or_else(too_large)?
        } else {
            inner.to_string()
        };
        return Ok((value, start + i + 1));
    }
    Err(EnvError::UnterminatedQuote {
        key: key.to_string(),
        line: line_of(src, start),
    })
}

/// These patterns are godotenv's own (Go RE2 syntax, which the `regex` crate shares, including
/// leftmost-first matching and `.` not matching `\n`). They are constants, so compiling them
/// cannot fail on any input.
static ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\.").expect("constant regex"));
static UNESCAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\([^$])").expect("constant regex"));
static EXPAND_VAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?").expect("constant regex"));

/// `expandEscapes` (double-quoted values): `\n` and `\r` become line breaks, then any other
/// backslash pair loses its backslash unless it escapes `$` (kept for `expandVariables`).
fn expand_escapes(s: &str) -> String {
    let out = ESCAPE.replace_all(s, |c: &Captures| match &c[0] {
        r"\n" => "\n".to_string(),
        r"\r" => "\r".to_string(),
        other => other.to_string(),
    });
    UNESCAPE.replace_all(&out, "$1").into_owned()
}

/// `expandVariables`: `\$…` loses its backslash and is not expanded; `$NAME`, `${NAME}` (and,
/// by the same pattern, `${NAME` and `$(NAME`, which swallow the brace or parenthesis) become
/// the earlier value or nothing; a `$` without a name stays.
///
/// `budget` is what the file's expansions may still copy; `None` when this value needs more.
fn expand_variables(s: &str, vars: &Vars, budget: &mut usize) -> Option<String> {
    let mut exhausted = false;
    let expanded = EXPAND_VAR
        .replace_all(s, |c: &Captures| {
            let whole = &c[0];
            // godotenv also tests `submatch[2] == "("`, which never holds (group 2 is `$`).
            if c.get(1).is_some() {
                whole[1..].to_string()
            } else if let Some(name) = c.get(4) {
                let value = vars.get(name.as_str()).map_or("", |v| v.as_str());
                match budget.checked_sub(value.len()) {
                    Some(left) if !exhausted => {
                        *budget = left;
                        value.to_string()
                    }
                    _ => {
                        exhausted = true;
                        String::new()
                    }
                }
            } else {
                whole.to_string()
            }
        })
        .into_owned();
    (!exhausted).then_some(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        match parse_env(input) {
            Ok(p) => p,
            Err(e) => panic!("{input:?} failed: {e}"),
        }
    }

    /// godotenv's map view: the last value of `key`.
    fn get(input: &str, key: &str) -> Option<String> {
        pairs(input)
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Tricky inputs and godotenv v1.5.1's result for them. Source of each expectation:
    /// - `T:<name>` — a case in godotenv's `godotenv_test.go` (`TestParsing`, `TestExpanding`,
    ///   `TestTrailingNewlines`, `TestWhitespace`, `TestVariableStringValueSeparator`) or a
    ///   fixture it loads (`quoted.env`, `plain.env`, `substitutions.env`, `comments.env`);
    /// - `P:<function>` — derived by reading v1.5.1's `parser.go` (function named).
    const TABLE: &[(&str, &str, &str, &str)] = &[
        // (source, input, key, expected value)
        ("T:TestParsing", "FOO=bar", "FOO", "bar"),
        ("T:TestParsing", "FOO =bar", "FOO", "bar"),
        ("T:TestParsing", "FOO= bar", "FOO", "bar"),
        ("T:TestParsing", r#"FOO="bar""#, "FOO", "bar"),
        ("T:TestParsing", "FOO='bar'", "FOO", "bar"),
        (
            "T:TestParsing",
            r#"FOO="escaped\"bar""#,
            "FOO",
            r#"escaped"bar"#,
        ),
        ("T:TestParsing", r#"FOO="'d'""#, "FOO", "'d'"),
        ("T:TestParsing", "OPTION_A: 1", "OPTION_A", "1"),
        ("T:TestParsing", "OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"),
        ("T:TestParsing", "OPTION_A=1:B", "OPTION_A", "1:B"),
        ("T:TestParsing", "export OPTION_A=2", "OPTION_A", "2"),
        ("T:TestParsing", r"export OPTION_B='\n'", "OPTION_B", r"\n"),
        ("T:TestParsing", "export exportFoo=2", "exportFoo", "2"),
        ("T:TestParsing", "exportFOO=2", "exportFOO", "2"),
        ("T:TestParsing", "export_FOO =2", "export_FOO", "2"),
        ("T:TestParsing", "export.FOO= 2", "export.FOO", "2"),
        ("T:TestParsing", "export\tOPTION_A=2", "OPTION_A", "2"),
        ("T:TestParsing", "  export OPTION_A=2", "OPTION_A", "2"),
        ("T:TestParsing", "\texport OPTION_A=2", "OPTION_A", "2"),
        ("T:TestParsing", r#"FOO="bar\nbaz""#, "FOO", "bar\nbaz"),
        ("T:TestParsing", "FOO.BAR=foobar", "FOO.BAR", "foobar"),
        ("T:TestParsing", "FOO=foobar=", "FOO", "foobar="),
        ("T:TestParsing", "FOO=bar ", "FOO", "bar"),
        ("T:TestParsing", "KEY=value value", "KEY", "value value"),
        ("T:TestParsing", "FOO=bar # this is foo", "FOO", "bar"),
        (
            "T:TestParsing",
            r#"FOO="bar#baz" # comment"#,
            "FOO",
            "bar#baz",
        ),
        ("T:TestParsing", "FOO='bar#baz' # comment", "FOO", "bar#baz"),
        (
            "T:TestParsing",
            r#"FOO="bar#baz#bang" # comment"#,
            "FOO",
            "bar#baz#bang",
        ),
        ("T:TestParsing", r#"FOO="ba#r""#, "FOO", "ba#r"),
        ("T:TestParsing", "FOO='ba#r'", "FOO", "ba#r"),
        ("T:TestParsing", r#"FOO="bar\n\ b\az""#, "FOO", "bar\n baz"),
        (
            "T:TestParsing",
            r#"FOO="bar\\\n\ b\az""#,
            "FOO",
            "bar\\\n baz",
        ),
        (
            "T:TestParsing",
            r#"FOO="bar\\r\ b\az""#,
            "FOO",
            "bar\\r baz",
        ),
        ("T:TestParsing", r#"="value""#, "", "value"),
        ("T:TestParsing", " KEY =value", "KEY", "value"),
        ("T:TestParsing", "\tKEY=value", "KEY", "value"),
        (
            "T:TestTrailingNewlines",
            "KEY: value value\n",
            "KEY",
            "value value",
        ),
        ("T:TestWhitespace", " \t \t\n\t \t A=a\n", "A", "a"),
        ("T:TestWhitespace", " \t\t export    A=a\n", "A", "a"),
        ("T:TestWhitespace", "A=a \t \t\n", "A", "a"),
        ("T:TestWhitespace", "export A=a\t \t \n", "A", "a"),
        ("T:TestWhitespace", "A=a ", "A", "a"),
        ("T:TestExpanding", "FOO=test\nBAR=$FOO", "BAR", "test"),
        (
            "T:TestExpanding",
            "FOO=test\nBAR=${FOO}bar",
            "BAR",
            "testbar",
        ),
        ("T:TestExpanding", "BAR=$FOO", "BAR", ""),
        (
            "T:TestExpanding",
            "FOO=test\nBAR=\"quote $FOO\"",
            "BAR",
            "quote test",
        ),
        ("T:TestExpanding", "BAR='quote $FOO'", "BAR", "quote $FOO"),
        ("T:TestExpanding", r#"FOO="foo\$BAR""#, "FOO", "foo$BAR"),
        ("T:TestExpanding", r#"FOO="foo\${BAR}""#, "FOO", "foo${BAR}"),
        (
            "T:TestExpanding",
            "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
            "BAR",
            "foo${FOO} test",
        ),
        (
            "T:TestVariableStringValueSeparator",
            "TEST_URLS=\"stratum+tcp://a:3333\nstratum+tcp://a:443\"",
            "TEST_URLS",
            "stratum+tcp://a:3333\nstratum+tcp://a:443",
        ),
        ("T:quoted.env OPTION_C", "OPTION_C=''", "OPTION_C", ""),
        ("T:quoted.env OPTION_D", r"OPTION_D='\n'", "OPTION_D", r"\n"),
        ("T:quoted.env OPTION_G", r#"OPTION_G="""#, "OPTION_G", ""),
        (
            "T:quoted.env OPTION_I",
            "OPTION_I = \"echo 'asd'\"",
            "OPTION_I",
            "echo 'asd'",
        ),
        (
            "T:quoted.env OPTION_J",
            "OPTION_J='line 1\nline 2'",
            "OPTION_J",
            "line 1\nline 2",
        ),
        (
            "T:quoted.env OPTION_K",
            "OPTION_K='line one\nthis is \\'quoted\\'\none more line'",
            "OPTION_K",
            "line one\nthis is \\'quoted\\'\none more line",
        ),
        (
            "T:quoted.env OPTION_M",
            "OPTION_M=\"line one\nthis is \\\"quoted\\\"\none more line\"",
            "OPTION_M",
            "line one\nthis is \"quoted\"\none more line",
        ),
        ("T:plain.env OPTION_F", "OPTION_F = \nX=1", "OPTION_F", ""),
        ("T:plain.env OPTION_G", "OPTION_G=\nX=1", "OPTION_G", ""),
        ("T:substitutions.env", "A=1\nD=${A}${A}", "D", "11"),
        ("T:comments.env foo", "foo=bar # baz", "foo", "bar"),
        ("T:comments.env bar", "bar=foo#baz", "bar", "foo#baz"),
        ("T:comments.env baz", "baz=\"foo\"#bar", "baz", "foo"),
        // comments.env also holds these lines; the test does not check them, v1.5.1 gives:
        (
            "P:extractVarValue (last ` #` wins)",
            "qux=thud # fred # other",
            "qux",
            "thud # fred",
        ),
        (
            "P:extractVarValue",
            "fred=qux#baz # other # more",
            "fred",
            "qux#baz # other",
        ),
        (
            "P:extractVarValue",
            "A=#not-a-comment",
            "A",
            "#not-a-comment",
        ),
        ("P:extractVarValue", "A=x\t# tab comment", "A", "x"),
        // What sops writes for a multi-line value: `\n` stays literal in unquoted values.
        (
            "P:extractVarValue (sops dotenv)",
            r"CERT=line1\nline2",
            "CERT",
            r"line1\nline2",
        ),
        ("P:extractVarValue", "A=x\rB=y", "B", "y"),
        ("P:parseBytes (CRLF)", "A=1\r\nB=2\r\n", "A", "1"),
        (
            "P:extractVarValue (inner quotes)",
            "A=it's \"fine\"",
            "A",
            "it's \"fine\"",
        ),
        // The `pa$SWORD` hazard the contract warns about: unquoted `$NAME` is expanded.
        ("P:expandVariables", "PASSWORD=pa$SWORD", "PASSWORD", "pa"),
        (
            "P:expandVariables (lowercase is not a name)",
            "P=pa$sword",
            "P",
            "pa$sword",
        ),
        ("P:expandVariables", "P=cost: $5", "P", "cost: "),
        ("P:expandVariables", "P=a$", "P", "a$"),
        ("P:expandVariables", "P=$$", "P", "$$"),
        ("P:expandVariables", "P=a\\$B", "P", "a$B"),
        ("P:expandVariables", "A=1\nP=${A", "P", "1"),
        ("P:expandVariables ($( swallowed)", "A=1\nP=$(A)", "P", "1)"),
        ("P:expandVariables", "P=$(echo hi)", "P", "$(echo hi)"),
        ("P:expandVariables (self)", "A=1\nA=$A-2", "A", "1-2"),
        (
            "P:expandVariables (single quotes)",
            "A=1\nP='$A'",
            "P",
            "$A",
        ),
        ("P:expandEscapes", r#"P="a\tb""#, "P", "atb"),
        ("P:expandEscapes", r#"P="a\\b""#, "P", r"a\b"),
        ("P:expandEscapes", r#"P="\"quoted\"""#, "P", r#""quoted\"#),
        ("P:expandEscapes", "P=\"a\\\nb\"", "P", "a\nb"),
        (
            "P:extractVarValue (single, escaped quote)",
            r"P='it\'s'",
            "P",
            r"it\'s",
        ),
        (
            "P:extractVarValue (trailing quotes trimmed)",
            r#"P="\"""#,
            "P",
            "\\",
        ),
        ("P:locateKeyName", "MY KEY=1", "MY KEY", "1"),
        ("P:locateKeyName", "KEY\t=1", "KEY", "1"),
        ("P:locateKeyName", "export=1", "export", "1"),
        (
            "P:locateKeyName (no `=` at EOF)",
            "A=1\nLONELY",
            "",
            "LONELY",
        ),
        (
            "P:getStatementStart",
            "# only\n\n  # comments\nA=1 # x\n#",
            "A",
            "1",
        ),
        (
            "P:extractVarValue (after quote)",
            "A=\"1\" # c\nB=2",
            "B",
            "2",
        ),
    ];

    #[test]
    fn godotenv_table() {
        for (source, input, key, want) in TABLE {
            assert_eq!(
                get(input, key).as_deref(),
                Some(*want),
                "{source}: {input:?} key {key:?}"
            );
        }
    }

    #[test]
    fn fixture_quoted_env_whole() {
        // godotenv's fixtures/quoted.env, every key (TestLoadQuotedEnv).
        let text = "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\n\
                    OPTION_F=\"2\"\nOPTION_G=\"\"\n#OPTION_H=\"\\n\"\nOPTION_I = \"echo 'asd'\"\n\
                    OPTION_J='line 1\nline 2'\nOPTION_K='line one\nthis is \\'quoted\\'\n\
                    one more line'\nOPTION_L=\"line 1\nline 2\"\nOPTION_M=\"line one\nthis is \
                    \\\"quoted\\\"\none more line\"\n";
        let got = pairs(text);
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "OPTION_A", "OPTION_B", "OPTION_C", "OPTION_D", "OPTION_E", "OPTION_F", "OPTION_G",
                "OPTION_I", "OPTION_J", "OPTION_K", "OPTION_L", "OPTION_M"
            ]
        );
        assert_eq!(got[10].1, "line 1\nline 2");
    }

    #[test]
    fn order_and_duplicates_are_kept() {
        assert_eq!(
            pairs("B=1\nA=2\nB=3\n"),
            vec![
                ("B".to_string(), "1".to_string()),
                ("A".to_string(), "2".to_string()),
                ("B".to_string(), "3".to_string()),
            ]
        );
        // Expansion sees the latest value at that point.
        assert_eq!(get("A=1\nA=2\nB=$A", "B").as_deref(), Some("2"));
        assert_eq!(get("B=$A\nA=1", "B").as_deref(), Some(""));
    }

    #[test]
    fn empty_inputs() {
        for input in [
            "",
            "\n",
            "\r\n",
            "\t\t ",
            "# Comment",
            "\t # comment",
            "#a\n#b",
        ] {
            assert!(pairs(input).is_empty(), "{input:?}");
        }
        // `A=` at EOF is an empty value (the EOF branch of extractVarValue).
        assert_eq!(pairs("A="), vec![("A".to_string(), String::new())]);
    }

    #[test]
    fn sops_dotenv_output() {
        // sops writes `KEY=value` lines, escapes newlines as `\n`, never quotes, and keeps
        // comments as `#` lines.
        let text = "#ENC comment kept\nDB_USER=admin\nDB_PASS=s3cr3t=x\nMULTI=a\\nb\nEMPTY=\n";
        assert_eq!(
            pairs(text),
            vec![
                ("DB_USER".to_string(), "admin".to_string()),
                ("DB_PASS".to_string(), "s3cr3t=x".to_string()),
                ("MULTI".to_string(), "a\\nb".to_string()),
                ("EMPTY".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn errors_never_quote_values() {
        // T:TestParsing `lol$wut` must fail.
        assert_eq!(
            parse_env("lol$wut"),
            Err(EnvError::UnexpectedCharacter { ch: '$', line: 1 })
        );
        // A key without `=` before the line break.
        assert_eq!(
            parse_env("A=1\nFOO\nB=2"),
            Err(EnvError::UnexpectedCharacter { ch: '\n', line: 2 })
        );
        // Text after a closing quote starts a new statement (godotenv errors the same way).
        assert_eq!(
            parse_env("A=\"x\"y\n"),
            Err(EnvError::UnexpectedCharacter { ch: '\n', line: 1 })
        );
        assert_eq!(
            parse_env("A=1\n-B=1"),
            Err(EnvError::UnexpectedCharacter { ch: '-', line: 2 })
        );
        assert_eq!(
            parse_env("A=1\nMULTI=\"hunter2\nmore"),
            Err(EnvError::UnterminatedQuote {
                key: "MULTI".into(),
                line: 2
            })
        );
        assert_eq!(
            parse_env("P='abc\\'"),
            Err(EnvError::UnterminatedQuote {
                key: "P".into(),
                line: 1
            })
        );
        assert_eq!(
            parse_env("A=1\nexport   "),
            Err(EnvError::ZeroLength { line: 2 })
        );
        // A YAML document separator is not a statement in v1.5.1 (later godotenv skips it).
        assert_eq!(
            parse_env("---\nA: 1\n"),
            Err(EnvError::UnexpectedCharacter { ch: '-', line: 1 })
        );
        let msg = parse_env("A=1\nMULTI=\"hunter2\n").unwrap_err().to_string();
        assert_eq!(
            msg,
            "unterminated quoted value for `MULTI` starting on line 2"
        );
        assert!(!msg.contains("hunter2"));
        let msg = parse_env("SECRET hunter2!").unwrap_err().to_string();
        assert_eq!(msg, "unexpected character '!' in variable name on line 1");
    }

    #[test]
    fn non_ascii_key_bytes_follow_godotenv() {
        // Lead/continuation bytes judged as Latin-1: `õ` = C3 B5 reads as `Ãµ` (two letters),
        // `à` = C3 A0 as `Ã` plus a no-break space (skipped): both are accepted.
        assert_eq!(get("õ=1", "õ").as_deref(), Some("1"));
        assert_eq!(get("à=1", "à").as_deref(), Some("1"));
        // `é` = C3 A9 reads as `Ã©`, and `©` is not a letter: refused; we name the whole
        // character rather than the byte.
        assert_eq!(
            parse_env("café=1"),
            Err(EnvError::UnexpectedCharacter { ch: 'é', line: 1 })
        );
        // `€` = E2 82 AC: 0x82 is a C1 control in Latin-1.
        assert_eq!(
            parse_env("€=1"),
            Err(EnvError::UnexpectedCharacter { ch: '€', line: 1 })
        );
    }

    #[test]
    fn doubling_expansion_is_refused_at_the_limit() {
        // Each line doubles A: 40 lines would need 16 TiB.
        let hostile = format!("A=0123456789abcdef\n{}", "A=\"$A${A}\"\n".repeat(40));
        let err = parse_env(&hostile).unwrap_err();
        // The budget counts every copy: 20 doublings of 16 bytes copy 32 MiB less 32 bytes in
        // all, so the 21st (line 22) is refused.
        assert_eq!(
            err,
            EnvError::ExpansionTooLarge {
                key: "A".into(),
                line: 22,
                limit: MAX_ENV_EXPANSION_BYTES
            }
        );
        assert!(
            err.to_string()
                .contains("exceeds the limit of 33554432 bytes")
        );
        // Expansion up to the limit itself still works.
        let ok = format!("A=0123456789abcdef\n{}", "A=$A$A\n".repeat(20));
        assert_eq!(get(&ok, "A").map(|a| a.len()), Some(16 << 20));
    }
}
