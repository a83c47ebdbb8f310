//! Comment attribution: which node each comment belongs to, as go-yaml v3 attributes head,
//! line and foot comments and sops then converts them into its tree.
//!
//! saphyr reports no comments, so they are read from the source text between events and
//! placed so:
//!
//! - a comment on the same line after a scalar (or alias, or key) goes **before** that entry or
//!   sequence item; after a flow collection it becomes the collection's first element;
//! - full-line comments before a node are head comments of the next node, and land in the
//!   innermost collection that node starts (so a comment before `- k: v` is inside the item's
//!   mapping, one before `- a` is a sequence element);
//! - comments where block collections end are foot comments: the block right after the last
//!   node (or, when a blank line precedes them, all of them) stays in the innermost closing
//!   collection, moving outwards when a line dedents; comments at or left of the next key's
//!   column, and blocks after a blank line that follows a foot block, are heads of the next key.

use super::{Body, Builder};
use crate::sops::tree::{Comment, Item, Value};

/// One comment line found in the source.
#[derive(Debug)]
struct SrcComment {
    /// 1-based line.
    line: usize,
    /// 0-based column in characters.
    col: usize,
    /// Something other than blanks precedes it on its line.
    trailing: bool,
    /// The text after `#`.
    text: String,
}

/// Where a same-line comment after the last node goes.
#[derive(Clone, Copy)]
pub(super) enum LinePlace {
    /// Before item `index` of the frame at `depth` (the entry or element just read).
    Before { depth: usize, index: usize },
    /// Appended to the frame at `depth` (after a key: it lands before the pending entry).
    Append { depth: usize },
    /// First element of the collection just closed, which is the last child of `depth`
    /// (`None`: the document root).
    IntoLast { depth: Option<usize> },
}

impl Builder {
    /// A collection starting as an item of a block sequence: the pending comments above the
    /// item's `-` are go-yaml head comments of the item node, which sops keeps in the sequence
    /// (so `# c` before `- k: v` or `- - x` is a sequence element, unlike one after the `-`).
    pub(super) fn flush_pending_before_entry(&mut self, start: usize) {
        let Some(depth) = self.frames.len().checked_sub(1) else {
            return;
        };
        let Some(frame) = self.frames.get(depth) else {
            return;
        };
        if frame.flow || !matches!(frame.body, Body::Seq(_)) || self.pending.is_empty() {
            return;
        }
        let dash_line = self.entry_line(frame.indent, start);
        let split = self.pending.partition_point(|(line, _)| *line < dash_line);
        let before: Vec<(usize, String)> = self.pending.drain(..split).collect();
        for (_, text) in before {
            self.push_comment(depth, text);
        }
    }

    /// The line of the block sequence entry `-` (at column `indent`) that a node starting at
    /// char `start` belongs to: the nearest line at or above the node's own whose first
    /// non-blank character is a `-` in that column. Only the lines of the gap before the node
    /// are visited (comment and blank lines), so the search stays linear overall.
    fn entry_line(&self, indent: usize, start: usize) -> usize {
        let mut line = self.line_of(start);
        while line > 0 {
            let begin = self.line_starts.get(line - 1).copied().unwrap_or(0);
            let first = self.chars[begin..]
                .iter()
                .position(|c| *c != ' ')
                .map(|off| begin + off);
            if let Some(i) = first {
                if i - begin == indent && self.chars.get(i) == Some(&'-') {
                    return line;
                }
                if !matches!(self.chars.get(i), Some('#' | '\n' | '\r')) && i < start {
                    // Some other token: the entry indicator is not above it.
                    return line;
                }
            }
            line -= 1;
        }
        0
    }

    /// Pending head comments go into the innermost frame before the node about to be read.
    pub(super) fn flush_pending_here(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        match self.frames.len().checked_sub(1) {
            Some(depth) => {
                for (_, text) in pending {
                    self.push_comment(depth, text);
                }
            }
            None => self
                .doc_comments
                .extend(pending.into_iter().map(|(_, text)| text)),
        }
    }

    /// Appends a comment to the frame at `depth`, after its child collection if one is open.
    fn push_comment(&mut self, depth: usize, text: String) {
        let open_child = depth + 1 < self.frames.len();
        if let Some(frame) = self.frames.get_mut(depth) {
            if open_child {
                frame.deferred.push(text);
                return;
            }
            match &mut frame.body {
                Body::Map { items, .. } => items.push(Item::Comment(Comment(text))),
                Body::Seq(items) => items.push(Value::Comment(Comment(text))),
            }
        }
    }

    fn insert_comment(&mut self, place: LinePlace, line: usize, text: String) {
        match place {
            LinePlace::Append { depth } => self.push_comment(depth, text),
            LinePlace::Before { depth, index } => {
                if let Some(frame) = self.frames.get_mut(depth) {
                    match &mut frame.body {
                        Body::Map { items, .. } => {
                            let at = index.min(items.len());
                            items.insert(at, Item::Comment(Comment(text)));
                        }
                        Body::Seq(items) => {
                            let at = index.min(items.len());
                            items.insert(at, Value::Comment(Comment(text)));
                        }
                    }
                }
            }
            LinePlace::IntoLast { depth } => {
                let target = match depth {
                    None => self.doc_root.as_mut(),
                    Some(d) => self.frames.get_mut(d).and_then(|f| match &mut f.body {
                        Body::Map { items, .. } => match items.last_mut() {
                            Some(Item::Entry(e)) => Some(&mut e.value),
                            _ => None,
                        },
                        Body::Seq(items) => items.last_mut(),
                    }),
                };
                match target {
                    Some(Value::Mapping(m)) => m.items.insert(0, Item::Comment(Comment(text))),
                    Some(Value::Sequence(s)) => s.insert(0, Value::Comment(Comment(text))),
                    _ => self.pending.push((line, text)),
                }
            }
        }
    }

    /// Collects the comments between the cursor and `end` and places them.
    pub(super) fn scan_gap(&mut self, end: usize, next_col: usize, closing: usize, doc_ends: bool) {
        let comments = self.find_comments(end);
        self.cursor = self.cursor.max(end);
        if comments.is_empty() {
            return;
        }
        let mut rest = Vec::with_capacity(comments.len());
        for c in comments {
            match self.last {
                Some((line, place)) if c.trailing && c.line == line && rest.is_empty() => {
                    self.insert_comment(place, c.line, c.text);
                }
                _ => rest.push(c),
            }
        }
        if rest.is_empty() {
            return;
        }
        if let Some(top) = self.frames.last()
            && top.flow
        {
            let depth = self.frames.len() - 1;
            for c in rest {
                if closing > 0 {
                    self.push_comment(depth, c.text);
                } else {
                    self.pending.push((c.line, c.text));
                }
            }
            return;
        }
        let closing = if doc_ends {
            self.frames.len()
        } else {
            closing.min(self.frames.len())
        };
        let last_line = self.last.map(|(line, _)| line);
        if closing == 0 || last_line.is_none() {
            self.pending
                .extend(rest.into_iter().map(|c| (c.line, c.text)));
            return;
        }
        let first = &rest[0];
        if first.col <= next_col && !(doc_ends && next_col > 0) {
            self.pending
                .extend(rest.into_iter().map(|c| (c.line, c.text)));
            return;
        }
        let immediate = last_line.is_some_and(|l| first.line == l + 1);
        let innermost = self.frames.len() - 1;
        let outermost_closing = self.frames.len() - closing;
        let mut target = Some(innermost);
        let mut block_col = first.col;
        let mut prev_line = first.line;
        let mut heads = false;
        let mut after_blank = Vec::new();
        for c in rest {
            if immediate && c.line > prev_line + 1 {
                // A blank line after the foot block: the remaining blocks head the next key.
                heads = true;
            }
            prev_line = c.line;
            if heads {
                after_blank.push(c);
                continue;
            }
            let indent = target
                .and_then(|d| self.frames.get(d))
                .map_or(0, |f| f.indent);
            if c.col != block_col && c.col < indent {
                target = self.dedent_target(c.col, outermost_closing);
                block_col = c.col;
            }
            match target {
                Some(depth) => self.push_comment(depth, c.text),
                None => self.pending.push((c.line, c.text)),
            }
        }
        if !after_blank.is_empty() {
            let next_indent = self.frames.last().map_or(0, |f| f.indent);
            self.carry_or_head(after_blank, next_indent);
        }
    }

    /// Places the comment blocks that follow a foot block and a blank line, as go-yaml's
    /// scanner splits them once it has emitted that foot: a block ends where a later comment
    /// line or the next token starts left of the innermost block's indentation
    /// (`next_indent`) in another column than the block's first line. Such a block is a foot
    /// comment, but its position is past the closing collections, so go-yaml gives it to the
    /// next node event; the last block, when not ended that way, heads the next node.
    fn carry_or_head(&mut self, comments: Vec<SrcComment>, next_indent: usize) {
        let mut block: Vec<(usize, String)> = Vec::new();
        let mut block_col = 0;
        let mut last_line = 0;
        for c in comments {
            if !block.is_empty() && c.col < next_indent && c.col != block_col {
                self.carried
                    .extend(std::mem::take(&mut block).into_iter().map(|(_, t)| t));
            }
            if block.is_empty() {
                block_col = c.col;
            }
            last_line = c.line;
            block.push((c.line, c.text));
        }
        let ends_block = self
            .next_token_col(last_line)
            .is_some_and(|col| col < next_indent && col != block_col);
        if ends_block {
            self.carried.extend(block.into_iter().map(|(_, t)| t));
        } else {
            self.pending.extend(block);
        }
    }

    /// Column of the first line after `line` (1-based) that holds something other than
    /// blanks and a comment, if any.
    fn next_token_col(&self, line: usize) -> Option<usize> {
        let mut l = line;
        while let Some(&begin) = self.line_starts.get(l) {
            let rest = self.chars.get(begin..)?;
            let off = rest.iter().position(|c| !matches!(c, ' ' | '\t'))?;
            if !matches!(rest.get(off), Some('#' | '\n' | '\r')) {
                return Some(off);
            }
            l += 1;
        }
        None
    }

    /// Hands the carried foot comments to the node event being read, as go-yaml's decoder
    /// and sops place them: on a key after other entries they are the previous entry's foot
    /// (so before this key); on a first key or any other node they follow that entry or item.
    pub(super) fn place_carried(&mut self, in_key: bool) {
        if self.carried.is_empty() {
            return;
        }
        let carried = std::mem::take(&mut self.carried);
        let Some(depth) = self.frames.len().checked_sub(1) else {
            self.doc_comments.extend(carried);
            return;
        };
        let has_entries = self.frames.get(depth).is_some_and(|f| match &f.body {
            Body::Map { items, .. } => items.iter().any(|i| matches!(i, Item::Entry(_))),
            Body::Seq(_) => false,
        });
        if in_key && has_entries {
            for text in carried {
                self.push_comment(depth, text);
            }
        } else {
            self.after_node = Some((depth, carried));
        }
    }

    /// The closing frame a dedented foot comment belongs to: the deepest one indented at or
    /// left of the comment, moving out of a block sequence (whose foot goes to its key).
    fn dedent_target(&self, col: usize, outermost_closing: usize) -> Option<usize> {
        let found = (outermost_closing..self.frames.len())
            .rev()
            .find(|&d| self.frames.get(d).is_some_and(|f| f.indent <= col))?;
        let is_seq = self
            .frames
            .get(found)
            .is_some_and(|f| matches!(f.body, Body::Seq(_)));
        if is_seq {
            found.checked_sub(1).filter(|&d| d >= outermost_closing)
        } else {
            Some(found)
        }
    }

    /// Finds comment lines between the cursor and `end` (char indices).
    fn find_comments(&mut self, end: usize) -> Vec<SrcComment> {
        let mut out = Vec::new();
        let end = end.min(self.chars.len());
        let mut i = self.cursor;
        while i < end {
            let c = self.chars[i];
            let at_line_start = i == 0 || matches!(self.chars[i - 1], '\n' | '\r');
            if c == '#' && (at_line_start || matches!(self.chars[i - 1], ' ' | '\t')) {
                let line = self.line_of(i);
                let line_start = self.line_starts.get(line - 1).copied().unwrap_or(0);
                let trailing = self.chars[line_start..i]
                    .iter()
                    .any(|c| !matches!(c, ' ' | '\t'));
                let mut j = i + 1;
                while j < self.chars.len() && !matches!(self.chars[j], '\n' | '\r') {
                    j += 1;
                }
                out.push(SrcComment {
                    line,
                    col: i - line_start,
                    trailing,
                    text: self.chars[i + 1..j].iter().collect(),
                });
                // Past the limit `run` refuses the document: stop collecting.
                if self.nodes.add(1).is_err() {
                    break;
                }
                i = j;
            } else {
                i += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::super::tests::{docs, skeleton, vectors};

    /// Encrypts `plain` with sops and checks that the comment layout sops wrote (its tree)
    /// matches ours. Fails when sops is missing, unless the opt-in skip variable is set.
    fn assert_sops_agrees(sops: &Path, scratch: &Path, index: usize, plain: &str) {
        let file = scratch.join(format!("case-{index}.yaml"));
        std::fs::write(&file, plain).unwrap();
        let out = Command::new(sops)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", scratch)
            .env("SOPS_AGE_KEY_FILE", vectors().join("age-test-identity.txt"))
            .args([
                "encrypt",
                "--age",
                "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry",
            ])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", sops.display()));
        assert!(
            out.status.success(),
            "sops failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let enc = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            skeleton(&docs(plain), false),
            skeleton(&docs(&enc), false),
            "input:\n{plain}\nsops wrote:\n{enc}"
        );
    }

    #[test]
    fn comment_layout_matches_sops() {
        let Some(sops) = crate::testing::require_tool("sops") else {
            return;
        };
        let scratch = crate::testing::scratch_dir("unit");
        for (index, case) in CASES.iter().enumerate() {
            assert_sops_agrees(&sops, scratch.path(), index, case);
        }
    }

    const CASES: &[&str] = &[
        "# top1\n\n# top2\na: 1 # la\n# between\nb: # lb\n  # hc\n  c: x # lc\n  # fc deeper\n# fb\nd:\n  - p # lp\n  # fp\n  - q\n\n  # after blank in list\ne: [1, 2] # le\nf: {x: 1} # lf\ng: &A\n  k: v\nh: *A # lh\n# end1\n\n# end2\n",
        "b:\n    c: x\n\n    # after blank\nd: 1\n",
        "b:\n    c: x\n    # fc1\n    # fc2\nd: 1\n",
        "b:\n    c: x\n  # odd\nd: 1\n",
        "b:\n    c: x\n    # fc\n\n    # hd\nd: 1\n",
        "b:\n    c: x\n# hd1\n# hd2\nd: 1\n",
        "a: 1\nb:\n    c: x\n    # end deep\n",
        "a: 1\nb:\n    c: x\n# end top\n",
        "l:\n  - a\n  # mid\n  - b\n  # end l\nm: 1\n",
        "l:\n- a\n# mid\n- b\n# end l\nm: 1\n",
        "b:\n    c: x\n    # fc\n\n    # hd\n\nd: 1\n",
        "b:\n    c: x\n\n    # b1\n\n    # b2\n    # b3\nd: 1\n",
        "b:\n    c:\n        e: 1\n    # foot-in-b\n        # deeper\nd: 1\n",
        "b:\n    c:\n        e: 1\n  # two\nd: 1\n",
        "a: 1\n\n# x\n\nb: 2\n",
        "b:\n    c:\n        e: 1\n      # six\n    # four\nd: 1\n",
        "b:\n    c: x\n\n# hd\nd: 1\n",
        "b:\n# weird\n    c: x\nd: 1\n",
        "l:\n    # c\n    - k: v\n      j: w # lj\n    - k2: v2\n      k3: v3 # lk3\n      # foot in item\n    # foot of list\nm: 1\n",
        "--- # doc line\n# head\na: | # blk\n    text\nb: 2\n...\n# after end\n---\nc: 3\n",
        "b:\n    c:\n        e: 1\n\n    # rest after blank (col4)\nd: 1\n",
        "b:\n    c: x\n    # fc\n\n# hd0\nd: 1\n",
    ];

    #[test]
    fn hand_written_expectations() {
        let got = skeleton(
            &docs("# h\na: 1 # l\nb:\n  - x # lx\n  # f\nc: [1] # lc\n"),
            true,
        );
        assert_eq!(
            got,
            "---\n# h\n# l\na: Int(1)\n# lx\nb: [\n  - #\n  - Str([120])\n  - # f\n]\n"
                .replace("  - #\n", "  - # lx\n")
                .replacen("# lx\nb", "b", 1)
                + "c: [\n  - # lc\n  - Int(1)\n]\n"
        );
    }

    /// Where go-yaml (and so sops) puts a head comment near a block sequence entry: above the
    /// `-` it is an element of that sequence; between the `-` and a key it is inside the item
    /// mapping; between the `-` and a nested `-` it is an element of the nested sequence.
    /// (Checked with sops 3.11 using empty comments, which decrypt to `""` in a sequence and
    /// stay `#` in a mapping.)
    #[test]
    fn head_comments_around_sequence_entries() {
        let got = skeleton(
            &docs(
                "c:\n    - a\n    #1\n    - k: b\n    -\n        #2\n        k: b\n    - #3\n      - b\n    - - #4\n        k: b\n    - #5\n      - k: b\n    #6\n    - - k: b\n",
            ),
            true,
        );
        assert_eq!(
            got,
            "---\nc: [\n  - Str([97])\n  - #1\n  - {\n    k: Str([98])\n  }\n  - {\n    #2\n    k: Str([98])\n  }\n  - [\n    - #3\n    - Str([98])\n  ]\n  - [\n    - {\n      #4\n      k: Str([98])\n    }\n  ]\n  - [\n    - #5\n    - {\n      k: Str([98])\n    }\n  ]\n  - #6\n  - [\n    - {\n      k: Str([98])\n    }\n  ]\n]\n"
        );
    }

    /// Foot comments that dedent out of a nested mapping follow it in the outer mapping.
    #[test]
    fn foot_after_blank_goes_to_the_next_node() {
        // sops 3.11 output for each input: go-yaml hands the block after `# foot` and a blank
        // line to the next node, which sops prints after the item or first entry.
        let cases = [
            (
                "a:\n  - x: {}\n    # foot\n\n    # c2\n  - |-\n",
                "a:\n    - x: {}\n      # foot\n    - \"\"\n    # c2\n",
            ),
            (
                "a:\n  - x: {}\n    # foot\n\n    # c2\n  - k: v\n",
                "a:\n    - x: {}\n      # foot\n    - k: v\n      # c2\n",
            ),
            (
                "a:\n  - x: {}\n    # foot\n\n    # c2\n  - - k\n",
                "a:\n    - x: {}\n      # foot\n    - - k\n      # c2\n",
            ),
            (
                "a:\n  - x: {}\n    # foot\n\n    # c2\n  - [k]\n",
                "a:\n    - x: {}\n      # foot\n    - - k\n",
            ),
        ];
        for (input, want) in cases {
            let docs = docs(input);
            let got = crate::sops::stores::yaml::emit::emit(&docs, 4).unwrap_or_default();
            assert_eq!(String::from_utf8_lossy(&got), want, "input {input:?}");
        }
    }

    #[test]
    fn dedented_foot_comments_follow_the_closed_child() {
        let got = skeleton(
            &docs("a:\n    t:\n        x: 1\n        # ab\n    # todo\n# enc\nv: 2\n"),
            true,
        );
        assert_eq!(
            got,
            "---\na: {\n  t: {\n    x: Int(1)\n    # ab\n  }\n  # todo\n}\n# enc\nv: Int(2)\n"
        );
    }
}
