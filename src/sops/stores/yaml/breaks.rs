//! go-yaml's Unicode line breaks.
//!
//! go-yaml (YAML 1.1) treats NEL (U+0085), LS (U+2028) and PS (U+2029) as line breaks, and
//! its emitter writes LS and PS raw inside single-quoted and literal scalars, followed by the
//! indentation of the next line (`'x<LS>    y'`). saphyr (YAML 1.2) does not, so the parser
//! hands saphyr a copy where each of them is a `\n` (see [`for_saphyr`]), which gives saphyr
//! go-yaml's structure (a block scalar ending in an LS ends there when the next line is less
//! indented), then reads the affected scalars again the way go-yaml reads them: NEL reads as
//! `\n`, while LS and PS are kept and never folded.

use std::borrow::Cow;

/// Whether go-yaml reads `c` as a line break.
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether the text has line breaks that only go-yaml knows.
pub fn has_unicode_breaks(text: &str) -> bool {
    // The ASCII check is word-at-a-time; most files are ASCII and skip the char search.
    !text.is_ascii() && text.contains(['\u{85}', '\u{2028}', '\u{2029}'])
}

/// Whether go-yaml reads `c` as a line break that saphyr does not know.
fn is_go_only_break(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The text for saphyr, one char for one so char indices stay put: NEL, LS and PS become
/// `\n`, so lines and indentation are go-yaml's (a block scalar whose content ends in an LS
/// ends there when go-yaml writes the next key right after it). saphyr then reads the values
/// of single-quoted and block scalars holding LS or PS wrongly (folded, or as `\n`); the
/// parser reads those again from the original by [`single_quoted`] and [`block`].
///
/// One exception: go-yaml writes a single-quoted scalar that ends in line breaks with its
/// closing quote right after them, at column 0, which saphyr rejects as under-indented. A run
/// of these breaks followed by a quote that ends its line (blanks or a comment after it) is
/// such a closing quote, so the run becomes spaces and the scalar stays on one line for saphyr.
pub fn for_saphyr(text: &str) -> Cow<'_, str> {
    if !has_unicode_breaks(text) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_go_only_break(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = i;
        while i < chars.len() && is_go_only_break(chars[i]) {
            i += 1;
        }
        let closes_quote = chars.get(i) == Some(&'\'') && {
            let rest = chars[i + 1..]
                .iter()
                .take_while(|c| !is_break(**c))
                .find(|c| !matches!(c, ' ' | '\t'));
            matches!(rest, None | Some('#'))
        };
        let with = if closes_quote { ' ' } else { '\n' };
        out.extend(std::iter::repeat_n(with, i - run));
    }
    Cow::Owned(out)
}

/// Reads the line break at `chars[*i]` like go-yaml's `read_line`: CRLF, CR and NEL become
/// `\n`, LS and PS stay.
fn read_break(chars: &[char], i: &mut usize) -> char {
    let c = chars[*i];
    *i += 1;
    match c {
        '\r' => {
            if chars.get(*i) == Some(&'\n') {
                *i += 1;
            }
            '\n'
        }
        '\u{85}' => '\n',
        c => c,
    }
}

/// The value of the single-quoted scalar whose opening quote is at `chars[open]`, folded as
/// go-yaml folds it: a line break followed by blank lines becomes a space (or those blank
/// lines), except that an LS or PS break is kept with them.
pub fn single_quoted(chars: &[char], open: usize) -> String {
    let mut out = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        // Non-blank characters.
        while i < chars.len() && !matches!(chars[i], ' ' | '\t') && !is_break(chars[i]) {
            if chars[i] == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    out.push('\'');
                    i += 2;
                    continue;
                }
                return out;
            }
            out.push(chars[i]);
            i += 1;
        }
        // Blanks and line breaks.
        let mut whitespace = String::new();
        let mut leading_break = None;
        let mut trailing = String::new();
        while i < chars.len() && (matches!(chars[i], ' ' | '\t') || is_break(chars[i])) {
            if matches!(chars[i], ' ' | '\t') {
                if leading_break.is_none() {
                    whitespace.push(chars[i]);
                }
                i += 1;
            } else if leading_break.is_none() {
                leading_break = Some(read_break(chars, &mut i));
            } else {
                trailing.push(read_break(chars, &mut i));
            }
        }
        match leading_break {
            Some('\n') if trailing.is_empty() => out.push(' '),
            Some('\n') => out.push_str(&trailing),
            Some(other) => {
                out.push(other);
                out.push_str(&trailing);
            }
            None => out.push_str(&whitespace),
        }
    }
    out
}

/// The char index of the `|` or `>` indicator of the block scalar whose content saphyr reports
/// at `content`: the header is the last line before it that is not blank, and the indicator
/// its rightmost `|` or `>` before any comment.
pub fn block_header(chars: &[char], content: usize) -> Option<usize> {
    let mut end = content.min(chars.len());
    while end > 0 && (matches!(chars[end - 1], ' ' | '\t') || is_break(chars[end - 1])) {
        end -= 1;
    }
    let mut begin = end;
    while begin > 0 && !is_break(chars[begin - 1]) {
        begin -= 1;
    }
    let line = chars.get(begin..end)?;
    let comment = (1..line.len())
        .find(|&k| line[k] == '#' && matches!(line[k - 1], ' ' | '\t'))
        .unwrap_or(line.len());
    line[..comment]
        .iter()
        .rposition(|c| matches!(c, '|' | '>'))
        .map(|k| begin + k)
}

/// The value of the block scalar whose `|` or `>` indicator is at `chars[header]`, read as
/// go-yaml's `yaml_parser_scan_block_scalar` reads it. `parent_indent` is the column of the
/// enclosing block collection (-1 at the document root).
pub fn block(chars: &[char], header: usize, parent_indent: isize) -> String {
    let mut i = header;
    let literal = chars.get(i) == Some(&'|');
    i += 1;
    // Header indicators: chomping (`+`/`-`) and an indentation digit, in either order.
    let mut chomping = 0;
    let mut increment = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '+' => chomping = 1,
            '-' => chomping = -1,
            '1'..='9' => increment = c as usize - '0' as usize,
            _ => break,
        }
        i += 1;
    }
    // The rest of the header line (blanks, a comment) and its break are not content.
    while i < chars.len() && !is_break(chars[i]) {
        i += 1;
    }
    if i < chars.len() {
        read_break(chars, &mut i);
    }
    let mut indent = if increment == 0 {
        0
    } else {
        usize::try_from(parent_indent.max(0)).unwrap_or(0) + increment
    };
    let min_indent = usize::try_from(parent_indent + 1).unwrap_or(0).max(1);
    let mut out = String::new();
    let mut leading_break = String::new();
    let mut trailing = String::new();
    let mut col = block_breaks(chars, &mut i, &mut indent, min_indent, &mut trailing);
    let mut leading_blank = false;
    while col == indent && i < chars.len() {
        let trailing_blank = matches!(chars[i], ' ' | '\t');
        if !literal && leading_break.starts_with('\n') {
            if !leading_blank && !trailing_blank {
                if trailing.is_empty() {
                    out.push(' ');
                }
                leading_break.clear();
            }
        } else {
            out.push_str(&leading_break);
            leading_break.clear();
        }
        out.push_str(&trailing);
        trailing.clear();
        leading_blank = trailing_blank;
        while i < chars.len() && !is_break(chars[i]) {
            out.push(chars[i]);
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        leading_break.push(read_break(chars, &mut i));
        col = block_breaks(chars, &mut i, &mut indent, min_indent, &mut trailing);
    }
    if chomping != -1 {
        out.push_str(&leading_break);
    }
    if chomping == 1 {
        out.push_str(&trailing);
    }
    out
}

/// go-yaml's `yaml_parser_scan_block_scalar_breaks`: skips indentation and collects empty
/// lines from the start of a line, fixing an auto-detected indentation on the way. Returns the
/// column reached.
fn block_breaks(
    chars: &[char],
    i: &mut usize,
    indent: &mut usize,
    min_indent: usize,
    trailing: &mut String,
) -> usize {
    let mut max_indent = 0;
    loop {
        let mut col = 0;
        while (*indent == 0 || col < *indent) && chars.get(*i) == Some(&' ') {
            col += 1;
            *i += 1;
        }
        max_indent = max_indent.max(col);
        if !chars.get(*i).is_some_and(|c| is_break(*c)) {
            if *indent == 0 {
                *indent = max_indent.max(min_indent);
            }
            return col;
        }
        trailing.push(read_break(chars, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn single_quoted_keeps_ls_and_drops_the_indentation_after_it() {
        assert_eq!(single_quoted(&chars("'x\u{2028}    y'"), 0), "x\u{2028}y");
        assert_eq!(
            single_quoted(&chars("'\u{2028}      $HOME'"), 0),
            "\u{2028}$HOME"
        );
        assert_eq!(single_quoted(&chars("'a\n   b'"), 0), "a b");
        assert_eq!(single_quoted(&chars("'a \n\n   b'"), 0), "a\nb");
        assert_eq!(
            single_quoted(&chars("'a\u{2029}\n b''c'"), 0),
            "a\u{2029}\nb'c"
        );
        assert_eq!(single_quoted(&chars("'a\u{85} b'"), 0), "a b");
    }

    /// go-yaml's breaks are `\n` for saphyr, except a run right before a closing quote.
    #[test]
    fn for_saphyr_keeps_closing_quotes_on_their_line() {
        assert_eq!(
            for_saphyr("a: |\n    q\u{2028}  m: 'r'\n"),
            "a: |\n    q\n  m: 'r'\n"
        );
        assert_eq!(
            for_saphyr("o: 's\u{2028}\u{2029}' # c\n- 'x\u{2028}'\n"),
            "o: 's  ' # c\n- 'x '\n"
        );
        // A top-level single-quoted key after a block scalar ending in LS opens a scalar.
        assert_eq!(
            for_saphyr("z: |\n    u\u{2028}'k': v\n"),
            "z: |\n    u\n'k': v\n"
        );
        assert_eq!(for_saphyr("a\u{85}b"), "a\nb");
    }

    #[test]
    fn block_scalars_keep_ls_as_a_line_break() {
        let text = chars("|4+\n\u{2028}\n      next: 1\n");
        assert_eq!(block(&text, 0, 6), "\u{2028}\n");
        let text = chars("|\n    x\u{2028}    y\n");
        assert_eq!(block(&text, 0, 0), "x\u{2028}y\n");
        let text = chars("|-\n    a\n    b\u{2028}    c\n\u{2028}    d\nn: 1\n");
        assert_eq!(block(&text, 0, 0), "a\nb\u{2028}c\n\u{2028}d");
        let text = chars("|4\n\u{2028}    z\n");
        assert_eq!(block(&text, 0, 0), "\u{2028}z\n");
        let text = chars(">\n  a\n  b\n\n  c\n");
        assert_eq!(block(&text, 0, 0), "a b\nc\n");
        let text = chars("'a|b': |+ # c|d>\n\n    x\n");
        assert_eq!(block_header(&text, 22), Some(7));
        assert_eq!(block_header(&text, 19), Some(7));
    }
}
