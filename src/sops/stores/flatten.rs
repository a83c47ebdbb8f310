//! Helpers shared by the two flat stores (dotenv and INI).
//!
//! Neither format can nest, so sops writes its metadata tree as flattened keys
//! (`age__list_0__map_enc`: a map child is `__map_<key>`, a list element `__list_<index>`) whose
//! values have their newlines escaped as `\n`. [`unflatten`] rebuilds the tree from those keys.
//! Both stores also print non-string values the same way, through sops' `ValToString`
//! ([`val_to_string`]).

use std::collections::BTreeMap;

use crate::sops::gonum;
use crate::sops::gotime::Timestamp;
use crate::sops::stores::StoreError;
use crate::sops::tree::{Item, Mapping, Value};

const MAP_SEPARATOR: &[u8] = b"__map_";
const LIST_SEPARATOR: &[u8] = b"__list_";

/// How many list slots beyond one per flattened key may be created to fill index gaps.
///
/// sops allocates a list of `index + 1` elements for `__list_<index>`, so a hostile
/// `__list_99999999` makes it allocate gigabytes (or panic). A file written by sops never has
/// gaps (every element is written), so its lists hold at most one slot per key; this slack only
/// keeps small hand-made gaps working while bounding memory linearly in the input size.
const GAP_SLACK: usize = 1024;

/// One step of a flattened key path.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A mapping key (the first token of every path is one).
    Map(String),
    /// A list position.
    List(usize),
}

/// A node of the tree being rebuilt.
#[derive(Debug)]
enum Node {
    /// A list slot no key has filled (sops leaves `nil` there).
    Hole,
    Leaf(Vec<u8>),
    Map(BTreeMap<String, Node>),
    List(Vec<Node>),
}

/// Rebuilds the metadata tree from flattened `(key, value)` pairs (the key without any `sops_`
/// prefix), the way sops' `DecodeNewLines` + `Unflatten` do.
///
/// A later duplicate key replaces an earlier one (sops collects the pairs into a Go map first).
/// Every value has each two-character `\n` turned into a newline, and every leaf is a
/// [`Value::Str`]; list gaps become [`Value::Null`]. Mapping entries come out sorted by key: the
/// metadata decoder looks fields up by name, and sops' own order is random.
///
/// sops panics when one key makes a node a leaf and another makes it a container, or on a
/// negative or enormous list index; those are reported as errors here, as are two keys that
/// land on the same leaf (`x__list_0` and `x__list_00`), whose winner is random in sops.
pub fn unflatten<I>(pairs: I) -> Result<Value, StoreError>
where
    I: IntoIterator<Item = (String, Vec<u8>)>,
{
    let mut flat: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (key, value) in pairs {
        flat.insert(key, value);
    }
    let mut budget = flat.len().saturating_add(GAP_SLACK);
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (key, value) in flat {
        let tokens = tokenize(&key)?;
        insert(&mut root, &tokens, decode_newlines(&value), &mut budget)?;
    }
    Ok(map_to_value(root))
}

/// Replaces every two-character `\n` escape with a newline (sops' `DecodeNewLines`).
pub fn decode_newlines(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'\\' && tail.first() == Some(&b'n') {
            out.push(b'\n');
            rest = tail.get(1..).unwrap_or_default();
        } else {
            out.push(first);
            rest = tail;
        }
    }
    out
}

/// Splits a flattened key into tokens the way sops' `tokenize` does: scanning left to right,
/// each separator starts a new token, and the text before the first separator is a map key.
fn tokenize(key: &str) -> Result<Vec<Token>, StoreError> {
    let bytes = key.as_bytes();
    let mut tokens = Vec::new();
    // Start of the current token's text, and whether it is a list index.
    let mut start = 0;
    let mut is_list = false;
    let mut i = 0;
    while i < bytes.len() {
        let rest = bytes.get(i..).unwrap_or_default();
        let separator = if rest.starts_with(MAP_SEPARATOR) {
            Some((MAP_SEPARATOR.len(), false))
        } else if rest.starts_with(LIST_SEPARATOR) {
            Some((LIST_SEPARATOR.len(), true))
        } else {
            None
        };
        match separator {
            Some((len, list)) => {
                tokens.push(make_token(key, start, i, is_list)?);
                i += len;
                start = i;
                is_list = list;
            }
            None => i += 1,
        }
    }
    tokens.push(make_token(key, start, bytes.len(), is_list)?);
    Ok(tokens)
}

fn make_token(key: &str, start: usize, end: usize, is_list: bool) -> Result<Token, StoreError> {
    // The separators are ASCII, so token boundaries always fall on character boundaries.
    let text = key.get(start..end).unwrap_or_default();
    if is_list {
        parse_index(text).map(Token::List)
    } else {
        Ok(Token::Map(text.to_owned()))
    }
}

/// Reads a list index like Go's `strconv.Atoi`, whose error sops ignores: text that is not a
/// number counts as 0. Negative and out-of-range indices make sops panic; they are errors here.
fn parse_index(text: &str) -> Result<usize, StoreError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') => (false, text.get(1..).unwrap_or_default()),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(0);
    }
    let too_large = || StoreError::Parse(format!("metadata list index {text} is out of range"));
    let value: usize = digits.parse().map_err(|_| too_large())?;
    if negative && value != 0 {
        return Err(StoreError::Parse(format!(
            "metadata list index {text} is negative"
        )));
    }
    Ok(value)
}

fn conflict() -> StoreError {
    StoreError::Parse("conflicting flattened metadata keys".into())
}

/// Places one leaf in the tree, creating the containers its path needs.
fn insert(
    root: &mut BTreeMap<String, Node>,
    tokens: &[Token],
    value: Vec<u8>,
    budget: &mut usize,
) -> Result<(), StoreError> {
    let Some((Token::Map(first), rest)) = tokens.split_first() else {
        // `tokenize` always starts with a map token.
        return Err(conflict());
    };
    let mut slot = root.entry(first.clone()).or_insert(Node::Hole);
    for token in rest {
        slot = child_slot(slot, token, budget)?;
    }
    if matches!(slot, Node::Hole) {
        *slot = Node::Leaf(value);
        Ok(())
    } else {
        Err(conflict())
    }
}

/// The slot of `token` inside `node`, turning an unfilled `node` into the right container.
fn child_slot<'a>(
    node: &'a mut Node,
    token: &Token,
    budget: &mut usize,
) -> Result<&'a mut Node, StoreError> {
    if matches!(node, Node::Hole) {
        *node = match token {
            Token::Map(_) => Node::Map(BTreeMap::new()),
            Token::List(_) => Node::List(Vec::new()),
        };
    }
    match (node, token) {
        (Node::Map(map), Token::Map(key)) => Ok(map.entry(key.clone()).or_insert(Node::Hole)),
        (Node::List(list), Token::List(index)) => {
            if *index >= list.len() {
                let too_large =
                    || StoreError::Parse(format!("metadata list index {index} is too large"));
                // `index >= len`, so the growth is at least 1 and only `+ 1` can overflow.
                let grow = (index - list.len()).checked_add(1).ok_or_else(too_large)?;
                *budget = budget.checked_sub(grow).ok_or_else(too_large)?;
                list.resize_with(list.len() + grow, || Node::Hole);
            }
            list.get_mut(*index).ok_or_else(conflict)
        }
        _ => Err(conflict()),
    }
}

fn map_to_value(map: BTreeMap<String, Node>) -> Value {
    let mut mapping = Mapping::new();
    for (key, node) in map {
        mapping.push(key, node_to_value(node));
    }
    Value::Mapping(mapping)
}

fn node_to_value(node: Node) -> Value {
    match node {
        Node::Hole => Value::Null,
        Node::Leaf(bytes) => Value::Str(bytes),
        Node::Map(map) => map_to_value(map),
        Node::List(list) => Value::Sequence(list.into_iter().map(node_to_value).collect()),
    }
}

/// Prints a scalar the way sops' `ValToString` does for dotenv and INI output.
///
/// Floats use Go's `%G` shortest form plus `.0` when that looks like an integer (`5.0`,
/// `-0.0`, but `2E-10`, `1E+21`, `+Inf`); times use RFC 3339 (whole seconds); `nil` is `<nil>`.
/// Containers fall through to Go's `%v` ([`go_sprint_v`]); dotenv rejects them before this.
pub fn val_to_string(value: &Value) -> Vec<u8> {
    match value {
        Value::Float(v) => {
            let mut text = gonum::format_g(*v, true);
            let digits = text.strip_prefix('-').unwrap_or(&text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                text.push_str(".0");
            }
            text.into_bytes()
        }
        Value::Time(t) => t.to_rfc3339().into_bytes(),
        other => go_sprint_v(other),
    }
}

/// Go's `fmt.Sprintf("%v", v)` of a sops tree value.
///
/// A sops mapping is a slice of `{Key Value}` structs and a comment a `{Value}` struct, so
/// `{a: 1, # c}` prints as `[{a 1} {{ c} <nil>}]`; lists print as `[x y]`, floats with `%g`,
/// times with Go's `Time.String` layout.
pub fn go_sprint_v(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_v(&mut out, value);
    out
}

fn write_v(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"<nil>"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(gonum::format_g(*f, false).as_bytes()),
        Value::Str(bytes) => out.extend_from_slice(bytes),
        Value::Time(t) => out.extend_from_slice(go_time_string(t).as_bytes()),
        Value::Comment(c) => write_comment_v(out, &c.0),
        Value::Sequence(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_v(out, item);
            }
            out.push(b']');
        }
        Value::Mapping(mapping) => {
            out.push(b'[');
            for (i, item) in mapping.items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.push(b'{');
                match item {
                    Item::Entry(entry) => {
                        out.extend_from_slice(entry.key.as_bytes());
                        out.push(b' ');
                        write_v(out, &entry.value);
                    }
                    Item::Comment(c) => {
                        write_comment_v(out, &c.0);
                        out.extend_from_slice(b" <nil>");
                    }
                }
                out.push(b'}');
            }
            out.push(b']');
        }
    }
}

fn write_comment_v(out: &mut Vec<u8>, text: &str) {
    out.push(b'{');
    out.extend_from_slice(text.as_bytes());
    out.push(b'}');
}

/// Go's `Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
///
/// The zone name is `UTC` for offset zero (Go parses `Z` and, with a UTC local zone, `+00:00`
/// to the UTC location) and otherwise repeats the numeric offset, as Go does for the unnamed
/// fixed zones its RFC 3339 parser creates.
fn go_time_string(t: &Timestamp) -> String {
    let c = t.civil();
    let mut out = if c.year < 0 {
        format!("-{:04}", -c.year)
    } else {
        format!("{:04}", c.year)
    };
    out.push_str(&format!(
        "-{:02}-{:02} {:02}:{:02}:{:02}",
        c.month, c.day, c.hour, c.minute, c.second
    ));
    if t.nanos != 0 {
        let fraction = format!("{:09}", t.nanos);
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    let sign = if t.offset_seconds < 0 { '-' } else { '+' };
    let minutes = t.offset_seconds.unsigned_abs() / 60;
    let numeric = format!("{sign}{:02}{:02}", minutes / 60, minutes % 60);
    out.push(' ');
    out.push_str(&numeric);
    out.push(' ');
    if t.offset_seconds == 0 {
        out.push_str("UTC");
    } else {
        out.push_str(&numeric);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::Comment;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn s(text: &str) -> Value {
        Value::str(text)
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        let mut m = Mapping::new();
        for (k, v) in entries {
            m.push(k, v);
        }
        Value::Mapping(m)
    }

    #[test]
    fn tokenize_follows_sops_scan() {
        assert_eq!(
            tokenize("age__list_0__map_enc").unwrap(),
            vec![
                Token::Map("age".into()),
                Token::List(0),
                Token::Map("enc".into())
            ]
        );
        // A leading separator yields an empty first map key.
        assert_eq!(
            tokenize("__map_x").unwrap(),
            vec![Token::Map(String::new()), Token::Map("x".into())]
        );
        // `a___map_b`: the separator is found one byte later, so the key keeps an underscore.
        assert_eq!(
            tokenize("a___map_b").unwrap(),
            vec![Token::Map("a_".into()), Token::Map("b".into())]
        );
        assert_eq!(tokenize("plain").unwrap(), vec![Token::Map("plain".into())]);
    }

    #[test]
    fn list_index_follows_atoi() {
        assert_eq!(parse_index("12").unwrap(), 12);
        assert_eq!(parse_index("+3").unwrap(), 3);
        assert_eq!(parse_index("-0").unwrap(), 0);
        // Not a number: Atoi fails and sops uses 0.
        assert_eq!(parse_index("x").unwrap(), 0);
        assert_eq!(parse_index("").unwrap(), 0);
        assert_eq!(parse_index("1_0").unwrap(), 0);
        assert!(parse_index("-1").is_err());
        assert!(parse_index("99999999999999999999999").is_err());
    }

    #[test]
    fn unflattens_sops_metadata() {
        let tree = unflatten(pairs(&[
            ("age__list_0__map_recipient", "age1x"),
            (
                "age__list_0__map_enc",
                "-----BEGIN-----\\nAAA\\n-----END-----\\n",
            ),
            ("age__list_1__map_recipient", "age1y"),
            ("lastmodified", "2026-11-22T11:12:05Z"),
            ("mac_only_encrypted", "true"),
        ]))
        .unwrap();
        let want = map(vec![
            (
                "age",
                Value::Sequence(vec![
                    map(vec![
                        ("enc", s("-----BEGIN-----\nAAA\n-----END-----\n")),
                        ("recipient", s("age1x")),
                    ]),
                    map(vec![("recipient", s("age1y"))]),
                ]),
            ),
            ("lastmodified", s("2026-11-22T11:12:05Z")),
            ("mac_only_encrypted", s("true")),
        ]);
        assert_eq!(tree, want);
    }

    #[test]
    fn unflattens_key_groups() {
        let tree = unflatten(pairs(&[
            ("key_groups__list_0__map_age__list_0__map_recipient", "r0"),
            ("key_groups__list_1__map_age__list_0__map_recipient", "r1"),
            ("shamir_threshold", "2"),
        ]))
        .unwrap();
        let group = |r: &str| {
            map(vec![(
                "age",
                Value::Sequence(vec![map(vec![("recipient", s(r))])]),
            )])
        };
        assert_eq!(
            tree,
            map(vec![
                (
                    "key_groups",
                    Value::Sequence(vec![group("r0"), group("r1")])
                ),
                ("shamir_threshold", s("2")),
            ])
        );
    }

    #[test]
    fn later_duplicate_wins_and_gaps_are_null() {
        let tree = unflatten(pairs(&[("a", "1"), ("l__list_2", "z"), ("a", "2")])).unwrap();
        assert_eq!(
            tree,
            map(vec![
                ("a", s("2")),
                ("l", Value::Sequence(vec![Value::Null, Value::Null, s("z")])),
            ])
        );
    }

    #[test]
    fn scalar_list_elements() {
        let tree = unflatten(pairs(&[("l__list_1", "b"), ("l__list_0", "a")])).unwrap();
        assert_eq!(
            tree,
            map(vec![("l", Value::Sequence(vec![s("a"), s("b")]))])
        );
    }

    #[test]
    fn hostile_indices_fail_without_allocating() {
        for key in [
            "age__list_99999999",
            "age__list_18446744073709551615",
            "age__list_99999999999999999999999",
            "age__list_-1__map_enc",
        ] {
            assert!(unflatten(pairs(&[(key, "x")])).is_err(), "{key}");
        }
        // Many keys, each with a moderate gap, still stay within the linear budget.
        let many: Vec<(String, Vec<u8>)> = (0..2000)
            .map(|i| (format!("k{i}__list_900"), b"x".to_vec()))
            .collect();
        assert!(unflatten(many).is_err());
    }

    #[test]
    fn conflicting_shapes_are_errors() {
        for set in [
            &[("a", "1"), ("a__map_b", "2")][..],
            &[("a__list_0", "1"), ("a__list_0__map_b", "2")][..],
            &[("a__map_b", "1"), ("a__list_0", "2")][..],
            &[("a__list_0", "1"), ("a__list_00", "2")][..],
        ] {
            let err = unflatten(pairs(set)).unwrap_err();
            assert_eq!(
                err,
                StoreError::Parse("conflicting flattened metadata keys".into())
            );
        }
    }

    #[test]
    fn decodes_escaped_newlines_only() {
        assert_eq!(decode_newlines(b"a\\nb"), b"a\nb");
        assert_eq!(decode_newlines(b"a\\\\nb"), b"a\\\nb");
        assert_eq!(decode_newlines(b"trailing\\"), b"trailing\\");
        assert_eq!(decode_newlines(b"\\t"), b"\\t");
    }

    #[test]
    fn val_to_string_matches_sops() {
        // Expectations from `sops decrypt --output-type dotenv` of a YAML file.
        let cases: Vec<(Value, &str)> = vec![
            (Value::Int(5), "5"),
            (Value::Float(1.0), "1.0"),
            (Value::Float(2e-10), "2E-10"),
            (Value::Float(1.5), "1.5"),
            (Value::Float(1e21), "1E+21"),
            (Value::Float(123456.0), "123456.0"),
            (Value::Float(1234567.0), "1.234567E+06"),
            (Value::Float(f64::INFINITY), "+Inf"),
            (Value::Float(f64::NEG_INFINITY), "-Inf"),
            (Value::Float(f64::NAN), "NaN"),
            (Value::Float(0.0001), "0.0001"),
            (Value::Float(-0.0), "-0.0"),
            (Value::Float(100000.0), "100000.0"),
            (Value::Bool(true), "true"),
            (Value::Null, "<nil>"),
            (s("multi\nline"), "multi\nline"),
        ];
        for (value, want) in cases {
            assert_eq!(val_to_string(&value), want.as_bytes(), "{value:?}");
        }
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05.123Z").unwrap();
        assert_eq!(val_to_string(&Value::Time(t)), b"2024-01-02T03:04:05Z");
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05+02:00").unwrap();
        assert_eq!(val_to_string(&Value::Time(t)), b"2024-01-02T03:04:05+02:00");
    }

    #[test]
    fn go_v_of_containers_matches_sops() {
        // `sops decrypt --output-type ini` of YAML lists and maps.
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05.5Z").unwrap();
        let list = Value::Sequence(vec![
            Value::Float(5.0),
            Value::Float(1e21),
            s("a b"),
            Value::Time(t),
            Value::Null,
            Value::Bool(true),
            Value::Sequence(vec![Value::Int(1), Value::Sequence(vec![Value::Int(2)])]),
            map(vec![
                ("x", Value::Float(1.5)),
                ("y", Value::Sequence(vec![s("a")])),
            ]),
            Value::Float(-0.0),
            Value::Float(f64::INFINITY),
            Value::Float(1e6),
            s(""),
        ]);
        assert_eq!(
            String::from_utf8(val_to_string(&list)).unwrap(),
            "[5 1e+21 a b 2024-01-02 03:04:05.5 +0000 UTC <nil> true [1 [2]] \
             [{x 1.5} {y [a]}] -0 +Inf 1e+06 ]"
        );
        let mut m = Mapping::new();
        m.push_comment(" mc");
        m.push("k", s("v"));
        m.push_comment(" tail");
        assert_eq!(
            val_to_string(&Value::Mapping(m)),
            b"[{{ mc} <nil>} {k v} {{ tail} <nil>}]"
        );
        let seq = Value::Sequence(vec![
            s("a"),
            Value::Comment(Comment(" lcom".into())),
            s("b"),
        ]);
        assert_eq!(val_to_string(&seq), b"[a { lcom} b]");
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05+02:00").unwrap();
        assert_eq!(go_time_string(&t), "2024-01-02 03:04:05 +0200 +0200");
    }
}
