//! Scalar style decisions for the YAML emitter, as go-yaml v3 makes them.
//!
//! sops turns every value into a `yaml.Node` with `Node.Encode`, which encodes the value on its
//! own (go-yaml's `stringv` picks a requested style, the emitter may overrule it) and parses the
//! text back. The final encoder then starts from the parsed node's style. So a scalar goes
//! through the style selection twice: once as a document root, once in its real position
//! (where, for example, a multi-line key must be double-quoted).
//!
//! `stringv` only writes a string plain when plain text would read back as a string, which needs
//! go-yaml v3's implicit resolver (`resolve.go`): nulls, bools, ints in every base, floats,
//! timestamps, plus the YAML 1.1 words and base-60 numbers it still quotes for old parsers.

/// A scalar presentation style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// Unquoted.
    Plain,
    /// `'…'`.
    Single,
    /// `"…"` with escapes.
    Double,
    /// A `|` block.
    Literal,
}

/// What libyaml's scalar analysis allows for a value (`yaml_emitter_analyze_scalar`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Analysis {
    /// The value holds a line break (`\n`, `\r`, U+0085, U+2028, U+2029).
    pub multiline: bool,
    /// Plain style is allowed in block context.
    pub block_plain_allowed: bool,
    /// Single quotes can represent the value.
    pub single_quoted_allowed: bool,
    /// A literal block can represent the value.
    pub block_allowed: bool,
}

/// Whether libyaml treats the character as a line break.
pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable`: what may appear unescaped in a YAML stream. Note that every
/// character outside the BMP counts as non-printable, which is why emoji end up escaped.
pub(super) fn is_printable(c: char) -> bool {
    let v = u32::from(c);
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

/// Runs libyaml's scalar analysis.
pub(super) fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    // Flow-context indicators are not tracked: sops never writes a scalar inside a flow
    // collection (only empty `{}` and `[]` are flow).
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    let mut preceded_by_whitespace = true;

    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Fast path: past the first character, a run of ordinary printable ASCII (anything
        // but space, ':' and '#') only resets the "previous character" flags.
        let run = bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| i > 0 && b > b' ' && b < 0x7F && b != b':' && b != b'#')
            .count();
        if run > 0 {
            i += run;
            previous_space = false;
            previous_break = false;
            preceded_by_whitespace = false;
            continue;
        }
        let b = bytes.get(i).copied().unwrap_or(0);
        // ASCII bytes stand for themselves; other characters are decoded (the text is UTF-8).
        let (c, width) = if b.is_ascii() {
            (char::from(b), 1)
        } else {
            let c = value
                .get(i..)
                .and_then(|t| t.chars().next())
                .unwrap_or('\u{FFFD}');
            (c, c.len_utf8())
        };
        let first = i == 0;
        i += width;
        let last = i >= bytes.len();
        let followed_by_whitespace = matches!(bytes.get(i), None | Some(b' ' | b'\t'));
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' => block_indicators |= followed_by_whitespace,
                _ => {}
            }
        } else {
            match c {
                ':' => block_indicators |= followed_by_whitespace,
                '#' => block_indicators |= preceded_by_whitespace,
                _ => {}
            }
        }

        if c == '\t' {
            tab_characters = true;
        } else if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        // libyaml's `is_blankz` also counts NUL as whitespace.
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }

    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break || line_breaks {
        a.block_plain_allowed = false;
    }
    if trailing_space || space_break || special_characters {
        a.block_allowed = false;
    }
    if break_space || space_break || tab_characters || special_characters {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// `yaml_emitter_select_scalar_style` in block context; `simple_key` is set for a scalar
/// written as an implicit mapping key (`key: value`).
pub(super) fn select(requested: Style, a: &Analysis, empty: bool, simple_key: bool) -> Style {
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (empty && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

/// The style go-yaml's `stringv` asks for, before the emitter weighs in.
pub(super) fn requested_for_str(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_str(s) && !is_base60_float(s) && !is_old_bool(s) {
        Style::Plain
    } else {
        Style::Double
    }
}

/// The style a string node carries after sops' `Node.Encode` round trip (the first pass runs
/// the string through the emitter as a document root, and the parser reports what it saw).
pub(super) fn node_style(requested: Style, a: &Analysis, empty: bool) -> Style {
    select(requested, a, empty, false)
}

/// YAML 1.1 booleans that go-yaml v3 still quotes (exactly these spellings).
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Counts leading ASCII digits.
fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`, go-yaml's base-60 float pattern.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        let n = digits(b.get(i + 1..).unwrap_or_default());
        // `[0-5]?[0-9]`: one digit, or two with the first in 0..=5. Regex backtracking cannot
        // help with a longer run because a `:` or `.` or the end must follow.
        let ok = match n {
            1 => true,
            2 => b.get(i + 1).is_some_and(|c| *c <= b'5'),
            _ => false,
        };
        if !ok {
            return false;
        }
        i += 1 + n;
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, go-yaml's float pattern.
fn is_yaml_style_float(b: &[u8]) -> bool {
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let rest = b.get(i..).unwrap_or_default();
    if rest.first() == Some(&b'.') {
        let n = digits(rest.get(1..).unwrap_or_default());
        if n == 0 {
            return false;
        }
        i += 1 + n;
    } else {
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        i += n;
        if b.get(i) == Some(&b'.') {
            i += 1 + digits(b.get(i + 1..).unwrap_or_default());
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b.get(i..).unwrap_or_default());
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == b.len()
}

/// Whether decimal float text (already known to be well-formed) fits a float64, like Go's
/// `ParseFloat`, which fails on overflow but not on underflow.
fn float_in_range(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Go's `strconv.ParseUint(s, base, 64)` with an explicit base: unsigned digits only.
fn go_parse_uint(s: &str, radix: u32) -> bool {
    !s.is_empty()
        && s.bytes().all(|c| char::from(c).is_digit(radix))
        && u64::from_str_radix(s, radix).is_ok()
}

/// Go's `strconv.ParseInt(s, base, 64)` with an explicit base: optional sign, int64 range.
fn go_parse_int(s: &str, radix: u32) -> bool {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or_default()),
        Some(b'+') => (false, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    };
    if body.is_empty() || !body.bytes().all(|c| char::from(c).is_digit(radix)) {
        return false;
    }
    match u128::from_str_radix(body, radix) {
        Ok(v) if negative => v <= 1u128 << 63,
        Ok(v) => v < 1u128 << 63,
        Err(_) => false,
    }
}

/// Splits a base prefix the way Go's base-0 parsing does: `0x`/`0o`/`0b` (any case, needing at
/// least one more character), a leading `0` meaning octal, decimal otherwise.
fn base0(s: &str) -> (&str, u32) {
    let b = s.as_bytes();
    if b.first() == Some(&b'0') && b.len() >= 3 {
        let rest = s.get(2..).unwrap_or_default();
        match b.get(1) {
            Some(b'x' | b'X') => return (rest, 16),
            Some(b'o' | b'O') => return (rest, 8),
            Some(b'b' | b'B') => return (rest, 2),
            _ => {}
        }
    }
    if b.first() == Some(&b'0') {
        (s, 8)
    } else {
        (s, 10)
    }
}

/// Go's `ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeding on underscore-free text.
fn go_parse_int_base0(s: &str) -> bool {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or_default()),
        Some(b'+') => (false, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    };
    let (digits, radix) = base0(body);
    if digits.is_empty() || !digits.bytes().all(|c| char::from(c).is_digit(radix)) {
        return false;
    }
    match u128::from_str_radix(digits, radix) {
        // ParseInt covers the signed range, ParseUint (no sign allowed) the rest of uint64.
        Ok(v) if negative => v <= 1u128 << 63,
        Ok(v) if s.starts_with('+') => v < 1u128 << 63,
        Ok(v) => v <= u128::from(u64::MAX),
        Err(_) => false,
    }
}

/// Whether go-yaml v3 resolves untagged plain text to `!!str` (`resolve("", s)`).
pub(super) fn resolves_to_str(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return false; // "" is null
    };
    if matches!(
        s,
        "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "~"
            | "null"
            | "Null"
            | "NULL"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
    ) {
        return false;
    }
    match first {
        b'.' => {
            // Go's ParseFloat on text starting with '.': digits, optional exponent.
            !(is_yaml_style_float(s.as_bytes()) && float_in_range(s))
        }
        b'+' | b'-' | b'0'..=b'9' => !resolves_number_or_time(s),
        _ => true,
    }
}

/// The `'D'`/`'S'` branch of go-yaml's resolver: timestamp, int, float, `0b`/`0o` forms.
fn resolves_number_or_time(s: &str) -> bool {
    if is_timestamp(s) {
        return true;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if go_parse_int_base0(&plain) {
        return true;
    }
    if is_yaml_style_float(plain.as_bytes()) && float_in_range(&plain) {
        return true;
    }
    // go-yaml retries these prefixes with an explicit base, which lets a sign follow the
    // prefix (`0b-1`, `0o+7`).
    for (prefix, radix) in [("0b", 2), ("0o", 8)] {
        if let Some(rest) = plain.strip_prefix(prefix) {
            return go_parse_int(rest, radix) || go_parse_uint(rest, radix);
        }
        if let Some(rest) = plain.strip_prefix(&format!("-{prefix}")) {
            return go_parse_int(&format!("-{rest}"), radix);
        }
    }
    false
}

/// Go's `getnum(s, false)`: one or two digits.
fn getnum(b: &[u8]) -> Option<(u32, &[u8])> {
    let d0 = b.first().filter(|c| c.is_ascii_digit())?;
    match b.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((
            u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'),
            b.get(2..).unwrap_or_default(),
        )),
        None => Some((u32::from(d0 - b'0'), b.get(1..).unwrap_or_default())),
    }
}

/// Exactly two digits (Go's `getnum(s, true)` on a two-byte field).
fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
        }
        _ => None,
    }
}

/// go-yaml's `parseTimestamp`: `time.Parse` with the layouts `2006-1-2T15:4:5.999999999Z07:00`
/// (also with a lower-case `t`), `2006-1-2 15:4:5.999999999` and `2006-1-2`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if digits(b) != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    let year: i64 = s.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let Some((month, rest)) = b.get(5..).and_then(getnum) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(b"-") else {
        return false;
    };
    let Some((day, rest)) = getnum(rest) else {
        return false;
    };
    if !(1..=12).contains(&month) {
        return false;
    }
    let date_ok = day >= 1 && day <= crate::sops::gotime::days_in_month(year, month);
    if rest.is_empty() {
        return date_ok;
    }
    let time_part = match rest.first() {
        Some(b'T' | b't') => rest.get(1..).and_then(|r| parse_clock(r, true)),
        // A space in a Go layout matches any run of spaces (`skip`/`cutspace`).
        Some(b' ') => parse_clock(trim_spaces(rest), false),
        _ => None,
    };
    time_part == Some(true) && date_ok
}

fn trim_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| **c == b' ').count();
    b.get(n..).unwrap_or_default()
}

/// Parses `15:4:5[.fraction]` and, when `zone` is set, a required `Z` or `±hh:mm`. Returns
/// `Some(true)` when the whole text is consumed and every field is in range.
fn parse_clock(b: &[u8], zone: bool) -> Option<bool> {
    let (hour, rest) = getnum(b)?;
    let rest = rest.strip_prefix(b":")?;
    let (minute, rest) = getnum(rest)?;
    let rest = rest.strip_prefix(b":")?;
    let (second, mut rest) = getnum(rest)?;
    // `.999999999` is optional and takes any number of digits after a '.' or ','.
    if matches!(rest.first(), Some(b'.' | b',')) && rest.get(1).is_some_and(u8::is_ascii_digit) {
        let n = 1 + digits(rest.get(1..).unwrap_or_default());
        rest = rest.get(n..).unwrap_or_default();
    }
    if zone {
        if let Some(r) = rest.strip_prefix(b"Z") {
            rest = r;
        } else {
            let sign = *rest.first()?;
            if rest.len() < 6 || rest.get(3) != Some(&b':') {
                return None;
            }
            let hh = two_digits(rest.get(1..3)?)?;
            let mm = two_digits(rest.get(4..6)?)?;
            if !matches!(sign, b'+' | b'-') || hh > 24 || mm > 60 {
                return None;
            }
            rest = rest.get(6..).unwrap_or_default();
        }
    }
    Some(rest.is_empty() && hour < 24 && minute < 60 && second < 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_matches_go_yaml() {
        let non_str = [
            "",
            "~",
            "null",
            "Null",
            "NULL",
            "true",
            "False",
            "TRUE",
            ".inf",
            "-.Inf",
            "+.INF",
            ".NaN",
            "1",
            "-1",
            "+1",
            "0x1F",
            "0X1f",
            "0o17",
            "0b101",
            "017",
            "08",
            "1_000",
            "1__",
            "0x_1F",
            "18446744073709551615",
            "-18446744073709551615",
            "+18446744073709551615",
            "99999999999999999999",
            "1.5",
            "1.",
            ".5",
            "-.5",
            "1e3",
            "1E+3",
            "2024-01-01",
            "2024-1-1",
            "2024-01-01T10:00:00Z",
            "2024-1-1 10:00:00",
            "2024-01-01   1:2:3.5",
            "2001-12-14t21:59:43.10-05:00",
            "2024-01-01T10:00:00,5+02:00",
            "0b-1",
            "0o+7",
            "-0b1",
            "-0",
        ];
        for s in non_str {
            assert!(!resolves_to_str(s), "{s:?} should not be a string");
        }
        let strs = [
            "yes",
            "y",
            "on",
            "<<",
            "a",
            "-",
            "+",
            "-.nan",
            ".",
            ".e3",
            ".5e",
            "1e400",
            ".5e999",
            "2024-02-30",
            "2024-13-01",
            "2024-01-01T10:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01 10:00:00Z",
            "20240-01-01",
            "0x",
            "1e",
            "1.2.3",
            "0b2",
            "1:20",
            "2024-01-01T1:2:3+0200",
            "12:30",
            "TRUE ",
            "nan",
            "inf",
            "0x1p3",
        ];
        for s in strs {
            assert!(resolves_to_str(s), "{s:?} should be a string");
        }
    }

    #[test]
    fn base60_and_old_bools_are_quoted() {
        for s in ["1:20", "-1:20:30", "1_0:59.5", "190:20:30.15", "+1:2."] {
            assert!(is_base60_float(s), "{s}");
            assert_eq!(requested_for_str(s), Style::Double, "{s}");
        }
        for s in ["1:60", "1:", ":1", "a:1", "1:2:", "1:123"] {
            assert!(!is_base60_float(s), "{s}");
        }
        for s in ["y", "N", "yes", "Off", "ON"] {
            assert_eq!(requested_for_str(s), Style::Double, "{s}");
        }
        for s in ["yEs", "oN", "nO"] {
            assert_eq!(requested_for_str(s), Style::Plain, "{s}");
        }
    }

    #[test]
    fn analysis_flags() {
        let a = analyze("a: b");
        assert!(!a.block_plain_allowed && a.single_quoted_allowed);
        let a = analyze("a:b");
        assert!(a.block_plain_allowed);
        let a = analyze("a\tb");
        assert!(!a.single_quoted_allowed && a.block_allowed);
        let a = analyze("line1   \nline2");
        assert!(!a.block_allowed && a.multiline);
        let a = analyze("\u{1F600}");
        assert!(!a.single_quoted_allowed && !a.block_allowed);
        let a = analyze("a\u{2028}b");
        assert!(a.multiline && a.single_quoted_allowed && !a.block_plain_allowed);
        let a = analyze("---x");
        assert!(!a.block_plain_allowed);
        let a = analyze("a #b");
        assert!(!a.block_plain_allowed);
        let a = analyze("a#b");
        assert!(a.block_plain_allowed);
        let a = analyze("\0#");
        assert!(
            !a.block_plain_allowed,
            "NUL counts as whitespace before '#'"
        );
    }

    #[test]
    fn selection_depends_on_context() {
        let a = analyze("");
        assert_eq!(select(Style::Plain, &a, true, true), Style::Single);
        assert_eq!(select(Style::Plain, &a, true, false), Style::Plain);
        let a = analyze("x\ny");
        assert_eq!(select(Style::Literal, &a, false, true), Style::Double);
        assert_eq!(node_style(Style::Literal, &a, false), Style::Literal);
    }
}
