//! Shell-like word splitting for `SOPS_AGE_KEY_CMD`, following google/shlex (which sops uses).
//!
//! No shell is involved: the words become the program and its arguments. The rules are
//! google/shlex's, which differ from POSIX in small ways that matter for compatibility:
//! a backslash inside double quotes escapes *any* character, `#` starts a comment only at
//! the start of a word, and a comment ends at the next newline.

use thiserror::Error;

/// Why a command line could not be split.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// The input ended right after a backslash.
    #[error("EOF found after escape character")]
    TrailingEscape,
    /// A quote was opened and never closed.
    #[error("EOF found when expecting closing quote")]
    UnclosedQuote,
}

/// The tokenizer's states, named after google/shlex's.
#[derive(Clone, Copy)]
enum State {
    Start,
    InWord,
    Escaping,
    EscapingQuoted,
    QuotingEscaping,
    Quoting,
    Comment,
}

/// Whitespace as google/shlex classifies it (only these four separate words).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits `input` into words the way `shlex.Split` does.
pub fn split(input: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists as soon as a quote or escape starts it, even if it ends up empty (`""`).
    let mut in_token = false;
    let mut state = State::Start;
    for c in input.chars() {
        state = match state {
            State::Start => match c {
                c if is_space(c) => State::Start,
                '"' => {
                    in_token = true;
                    State::QuotingEscaping
                }
                '\'' => {
                    in_token = true;
                    State::Quoting
                }
                '\\' => {
                    in_token = true;
                    State::Escaping
                }
                '#' => State::Comment,
                c => {
                    in_token = true;
                    word.push(c);
                    State::InWord
                }
            },
            State::InWord => match c {
                c if is_space(c) => {
                    words.push(std::mem::take(&mut word));
                    in_token = false;
                    State::Start
                }
                '"' => State::QuotingEscaping,
                '\'' => State::Quoting,
                '\\' => State::Escaping,
                c => {
                    word.push(c);
                    State::InWord
                }
            },
            State::Escaping => {
                word.push(c);
                State::InWord
            }
            State::EscapingQuoted => {
                word.push(c);
                State::QuotingEscaping
            }
            State::QuotingEscaping => match c {
                '"' => State::InWord,
                '\\' => State::EscapingQuoted,
                c => {
                    word.push(c);
                    State::QuotingEscaping
                }
            },
            State::Quoting => match c {
                '\'' => State::InWord,
                c => {
                    word.push(c);
                    State::Quoting
                }
            },
            State::Comment => {
                if c == '\n' {
                    State::Start
                } else {
                    State::Comment
                }
            }
        };
    }
    match state {
        State::Escaping | State::EscapingQuoted => return Err(SplitError::TrailingEscape),
        State::Quoting | State::QuotingEscaping => return Err(SplitError::UnclosedQuote),
        State::Start | State::InWord | State::Comment => {}
    }
    if in_token {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Vec<String> {
        match split(input) {
            Ok(words) => words,
            Err(e) => panic!("split({input:?}) failed: {e}"),
        }
    }

    #[test]
    fn plain_words_and_whitespace() {
        assert_eq!(ok("  cat\t/tmp/keys.txt \n"), ["cat", "/tmp/keys.txt"]);
        assert!(ok("").is_empty());
        assert!(ok(" \t\r\n").is_empty());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(ok(r#"sh -c "echo 'a b'""#), ["sh", "-c", "echo 'a b'"]);
        assert_eq!(ok(r#"a'b c'd"#), ["ab cd"]);
        assert_eq!(ok(r#"x\ y"#), ["x y"]);
        // Inside double quotes a backslash escapes any character (google/shlex, not POSIX).
        assert_eq!(ok(r#""a\b\"c""#), [r#"ab"c"#]);
        // Single quotes keep backslashes.
        assert_eq!(ok(r#"'a\b'"#), [r"a\b"]);
        assert_eq!(ok(r#""" ''"#), ["", ""]);
    }

    #[test]
    fn comments() {
        assert_eq!(ok("cmd # comment\narg"), ["cmd", "arg"]);
        assert_eq!(ok("a#b"), ["a#b"]);
        assert_eq!(ok("# only a comment"), Vec::<String>::new());
    }

    #[test]
    fn errors() {
        assert_eq!(split(r"abc\"), Err(SplitError::TrailingEscape));
        assert_eq!(split(r#""abc"#), Err(SplitError::UnclosedQuote));
        assert_eq!(split("'abc"), Err(SplitError::UnclosedQuote));
        assert_eq!(split(r#""ab\"#), Err(SplitError::TrailingEscape));
    }
}
