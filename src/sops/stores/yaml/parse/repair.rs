//! Copies of the source for saphyr where it rejects text that go-yaml reads. Each copy keeps
//! every line and char index in place, so positions found in it hold for the original.

use std::collections::HashMap;

use saphyr_parser::ScanError;

use super::saphyr_events;

/// Each comment moved by [`comments_ending_block_scalars`] costs a parse of the whole text,
/// so the moves stop once they would parse this many chars in all (sops writes such a comment
/// only in rare documents; hostile ones must not make the parse quadratic without bound).
const MOVED_COMMENTS_BUDGET: usize = 64 << 20;

/// A block scalar with an indentation indicator (`|4-`) ends at the first line indented less
/// than the indicator says, and go-yaml reads a comment there as a comment (sops writes one
/// when a value such as `"\n#x"` held in a nested sequence makes go-yaml's emitter pick an
/// indicator that its own indentation does not match). saphyr instead rejects a first
/// non-empty line indented left of the scalar but right of its parent ("wrongly indented line
/// in block scalar"). Any other token there is an error for go-yaml too, so only comments are
/// repaired: this moves each such `#` to column 0 in a copy for saphyr, which ends the scalar
/// just as go-yaml does (the builder reads comments from the unmoved text). Lines and char
/// indices stay put.
pub(super) fn comments_ending_block_scalars(
    source: &str,
    first: ScanError,
) -> Result<String, ScanError> {
    const WRONG_INDENT: &str = "wrongly indented line in block scalar";
    let mut chars: Vec<char> = source.chars().collect();
    let mut error = first;
    let moves = (MOVED_COMMENTS_BUDGET / chars.len().max(1)).max(16);
    for _ in 0..moves {
        let at = error.marker().index();
        let col = error.marker().col();
        let Some(line_start) = at.checked_sub(col) else {
            return Err(error);
        };
        let movable = error.info() == WRONG_INDENT
            && col > 0
            && chars.get(at) == Some(&'#')
            && chars[line_start..at].iter().all(|c| *c == ' ');
        if !movable {
            return Err(error);
        }
        chars[line_start] = '#';
        chars[at] = ' ';
        let text: String = chars.iter().collect();
        match saphyr_events(&text) {
            Ok(_) => return Ok(text),
            Err(e) => error = e,
        }
    }
    Err(error)
}

/// go-yaml writes a flow collection holding only comments as `{`, the comment lines, and a
/// closing `}` (or `]`) at column 0. go-yaml reads that back as an empty collection and drops
/// the comments, but saphyr rejects the under-indented closing bracket. This returns a copy of
/// the text for saphyr where each such collection reads `{}` on its first line (the rest
/// blanked, line breaks kept so positions and line numbers stay put), with the char indices
/// of the fake and the real closing brackets; `None` when the text has no such collection.
pub(super) fn collapse_commented_flow(text: &str) -> Option<(String, HashMap<usize, usize>)> {
    if !text.contains("\n}") && !text.contains("\n]") {
        return None;
    }
    let mut chars: Vec<char> = text.chars().collect();
    let mut closes = HashMap::new();
    // Lines as (start, end) char ranges, end excluding the line break.
    let mut lines = Vec::new();
    let mut begin = 0;
    for (i, c) in chars.iter().enumerate() {
        if *c == '\n' {
            lines.push((begin, i));
            begin = i + 1;
        }
    }
    lines.push((begin, chars.len()));
    let first_non_blank =
        |chars: &[char], (a, b): (usize, usize)| (a..b).find(|&i| !matches!(chars[i], ' ' | '\r'));
    let mut l = 0;
    while l < lines.len() {
        let (a, b) = lines[l];
        let open = (a..b).rev().find(|&i| !matches!(chars[i], ' ' | '\r'));
        let close = match open.map(|i| chars[i]) {
            Some('{') => '}',
            Some('[') => ']',
            _ => {
                l += 1;
                continue;
            }
        };
        let mut m = l + 1;
        while m < lines.len() && first_non_blank(&chars, lines[m]).is_some_and(|i| chars[i] == '#')
        {
            m += 1;
        }
        let closing_line = lines.get(m).copied().filter(|&(c, e)| {
            m > l + 1
                && chars.get(c) == Some(&close)
                && (c + 1..e).all(|i| matches!(chars[i], ' ' | '\r'))
        });
        let (Some(open), Some((real, _))) = (open, closing_line) else {
            l += 1;
            continue;
        };
        let fake = open + 1;
        for c in &mut chars[fake..=real] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        chars[fake] = close;
        closes.insert(fake, real);
        l = m + 1;
    }
    (!closes.is_empty()).then(|| (chars.into_iter().collect(), closes))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::{docs, skeleton};

    /// go-yaml's form of a flow collection holding only comments reads back empty.
    #[test]
    fn comment_only_flow_collections_read_back_empty() {
        let got = skeleton(
            &docs(
                "a:\n    c: {\n        # x\n}\n    l:\n        - [\n            # y\n]\n        - 1\nd: 2\n",
            ),
            true,
        );
        assert_eq!(
            got,
            "---\na: {\n  c: {\n  }\n  l: [\n    - [\n    ]\n    - Int(1)\n  ]\n}\nd: Int(2)\n"
        );
    }

    /// A first line left of a block scalar's indentation indicator but right of its parent
    /// ends the scalar, and a comment there stays a comment (sops 3.11 writes `"\n#start.inf"`
    /// in a nested sequence as `|4-` whose comment-like line is indented too little; this is
    /// sops' exact decrypted output). saphyr alone rejects it as wrongly indented.
    #[test]
    fn comments_left_of_a_block_indicator_end_the_scalar() {
        let text = "a:\n    - {}\n    - - <<No-\n      - |4-\n\n        #start.inf\n      - 0.1\n    - b\nc: |4+\n\n  # d\n   # f\ne: |2\n # g\nh:\n    i: >3\n\n\n      # j\n    k: 1\n";
        let sops = "a:\n    - {}\n    - - <<No-\n      - \"\"\n      #start.inf\n      - 0.1\n    - b\nc: |4+\n\n# d\n# f\ne: \"\"\n# g\nh:\n    i: \"\"\n    # j\n    k: 1\n";
        let out = crate::sops::stores::yaml::emit::emit(&docs(text), 4).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), sops);
        // Content there is an error for go-yaml too.
        assert!(parse(b"a: |4\n  x\nsops: {}\n").is_err());
    }
}
