//! The JSON store, byte-compatible with sops 3.11.
//!
//! Loading follows sops' two passes over the input. First `json.Unmarshal` into the metadata
//! struct: it validates the whole text (syntax errors win over everything else), requires an
//! object or `null` at the top, and picks the metadata from the top-level key that Go matches to
//! the `sops` field, **case-insensitively**. Then a token pass builds the data tree, keeping key
//! order and duplicate keys, turning every number into a float64 and rejecting numbers a float64
//! cannot hold. Only the exact key `sops` is then removed from the data.
//!
//! Emitting writes the single document as `{"k": v,…}` indented by `json.Indent`, plus a newline.

mod encode;
mod scan;

use crate::sops::stores::{MetadataStyle, ParsedFile, StoreError};
use crate::sops::tree::{Document, Entry, Item, Mapping, Value};

/// Prefix of every error from sops' first (`json.Unmarshal`) pass.
const UNMARSHAL: &str = "Error unmarshalling input json: ";

/// The key sops removes from the data and writes its metadata under.
const SOPS_KEY: &str = "sops";

/// Parses an encrypted JSON file (also the binary store's envelope).
///
/// `metadata` is `None` when the top-level value is `null` or has no key matching `sops` (the
/// caller reports `sops metadata not found`, as sops does before looking at the data). In that
/// case `documents` holds the tree as read, or nothing if a number in it overflows a float64.
pub fn parse(input: &[u8]) -> Result<ParsedFile, StoreError> {
    let scanned = scan::scan(input).map_err(|err| match err {
        scan::SyntaxError::TooManyNodes => StoreError::too_many_nodes(),
        syntax => StoreError::Parse(format!("{UNMARSHAL}{syntax}")),
    })?;
    let mapping = match scanned.top {
        Value::Mapping(mapping) => mapping,
        Value::Null => return Ok(json_file(Vec::new(), None)),
        other => {
            return Err(StoreError::Parse(format!(
                "{UNMARSHAL}json: cannot unmarshal {} into Go value of type stores.SopsFile",
                kind(&other)
            )));
        }
    };
    let Some(metadata) = metadata(&mapping)? else {
        let documents = match scanned.first_overflow {
            Some(_) => Vec::new(),
            None => vec![mapping],
        };
        return Ok(json_file(documents, None));
    };
    if let Some(literal) = scanned.first_overflow {
        return Err(StoreError::Parse(format!(
            "Could not unmarshal input data: json: cannot unmarshal number {literal} into Go value of type float64"
        )));
    }
    Ok(json_file(vec![without_sops_keys(mapping)?], Some(metadata)))
}

fn json_file(documents: Vec<Document>, metadata: Option<Value>) -> ParsedFile {
    ParsedFile {
        documents,
        metadata,
        metadata_style: MetadataStyle::Json,
        walk_error: None,
    }
}

/// Go's name for a JSON value's kind in unmarshalling errors.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Mapping(_) => "object",
        Value::Sequence(_) => "array",
        Value::Str(_) => "string",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        // The reader produces no other kinds: every number is a float.
        _ => "number",
    }
}

/// Whether Go's `encoding/json` matches this key to the struct field `sops`: field names match
/// case-insensitively with Unicode simple folding, under which `ſ` (U+017F) is an `s`.
fn is_sops_field(key: &str) -> bool {
    let mut chars = key.chars();
    let is_s = |c: Option<char>| matches!(c, Some('s' | 'S' | 'ſ'));
    is_s(chars.next())
        && matches!(chars.next(), Some('o' | 'O'))
        && matches!(chars.next(), Some('p' | 'P'))
        && is_s(chars.next())
        && chars.next().is_none()
}

/// The metadata as `json.Unmarshal` fills the `sops` field: every matching key is decoded in
/// turn into the same struct, so a later object adds to (and overrides) an earlier one, and
/// `null` resets it. Concatenating the matching objects' entries gives the same result once the
/// metadata reader applies Go's last-duplicate-wins rule.
fn metadata(mapping: &Mapping) -> Result<Option<Value>, StoreError> {
    let mut merged: Option<Mapping> = None;
    for entry in mapping.entries().filter(|entry| is_sops_field(&entry.key)) {
        match &entry.value {
            Value::Null => merged = None,
            Value::Mapping(object) => merged
                .get_or_insert_with(Mapping::new)
                .items
                .extend(object.items.iter().cloned()),
            other => {
                return Err(StoreError::Parse(format!(
                    "{UNMARSHAL}json: cannot unmarshal {} into Go struct field SopsFile.sops of type stores.Metadata",
                    kind(other)
                )));
            }
        }
    }
    Ok(merged.map(Value::Mapping))
}

/// Removes the top-level `sops` entries exactly as sops 3.11 does.
///
/// sops deletes them inside a `range` loop over the original slice while shrinking it. After a
/// deletion the next entry is skipped (so of two adjacent `sops` keys the second stays in the
/// data), and once the loop runs past the shrunken slice it keeps seeing the original last entry;
/// if that one is a `sops` key, sops crashes with `slice bounds out of range`. We report that
/// case as an error instead.
fn without_sops_keys(mapping: Mapping) -> Result<Mapping, StoreError> {
    let original_len = mapping.items.len();
    let last_is_sops =
        matches!(mapping.items.last(), Some(Item::Entry(Entry { key, .. })) if key == SOPS_KEY);
    let mut remove = vec![false; original_len];
    let mut removed = 0;
    for index in 0..original_len {
        let live_len = original_len - removed;
        // Past the live part, the loop sees stale copies of the original last entry.
        let (position, is_sops) = if index < live_len {
            let position = index + removed;
            let is_sops = matches!(mapping.items.get(position), Some(Item::Entry(Entry { key, .. })) if key == SOPS_KEY);
            (position, is_sops)
        } else {
            (original_len, last_is_sops)
        };
        if !is_sops {
            continue;
        }
        if index + 1 > live_len {
            return Err(StoreError::Parse(
                "Could not unmarshal input data: the file has several top-level \"sops\" keys, which sops cannot load"
                    .to_owned(),
            ));
        }
        if let Some(flag) = remove.get_mut(position) {
            *flag = true;
        }
        removed += 1;
    }
    let items = mapping
        .items
        .into_iter()
        .zip(remove)
        .filter_map(|(item, removed)| (!removed).then_some(item))
        .collect();
    Ok(Mapping { items })
}

/// Emits the first document as sops writes JSON: `indent` is `stores.json.indent` (`None` or -1
/// for a tab, `n` for n spaces; below -1 is refused). Always ends with a newline.
pub fn emit(documents: &[Document], indent: Option<i64>) -> Result<Vec<u8>, StoreError> {
    let marshal_error =
        |detail: String| StoreError::Emit(format!("Error marshaling to json: {detail}"));
    // sops only ever writes the first document (a multi-document YAML loses the others).
    let document = documents
        .first()
        .ok_or_else(|| marshal_error("there is no document to write".to_owned()))?;
    let indent = match indent {
        None | Some(-1) => Ok("\t".to_owned()),
        Some(spaces) => usize::try_from(spaces)
            .map(|spaces| " ".repeat(spaces))
            .map_err(|_| {
                marshal_error(
                    "JSON Indentation parameter smaller than -1 is not accepted".to_owned(),
                )
            }),
    };
    // sops encodes the values before it checks the indentation, so value errors come first.
    let mut out = encode::encode(document, indent.as_deref().unwrap_or("\t"))
        .map_err(|err| marshal_error(err.to_string()))?;
    indent?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const J1: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/j1.json.expected");
    const STRS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/strs.json.expected");
    const KEYS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/keys.json.expected");
    const LONG: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/long.json.expected");
    const J1_SOPS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/j1.json.sops");
    const STRS_SOPS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/strs.json.sops");
    const KEYS_SOPS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/keys.json.sops");
    const LONG_SOPS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/long.json.sops");
    const BIN_SOPS: &[u8] = include_bytes!("../../../../tests/fixtures/vectors/bin.binary.sops");

    /// A plaintext full of string and number edge cases…
    const EDGE_INPUT: &[u8] = b"{\"esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"u\": \"\\u0000\\u001f\\u007f\\u0080\\u00e9\\u2028\\u2029\\ufffd\\uFFFF\\u003C\", \"pair\": \"\\ud83d\\ude00\", \"lone_hi\": \"\\ud83dx\", \"lone_lo\": \"\\ude00\", \"hi_hi\": \"\\ud83d\\ud83d\\ude00\", \"hi_esc\": \"\\ud83d\\n\", \"hi_end\": \"\\ud83d\", \"lo_hi\": \"\\ude00\\ud83d\", \"hi_raw_lo\": \"\\ud83d\xed\xb8\x80\", \"raw_invalid\": \"a\xffb\xc3(c\xe2\x82xd\xed\xa0\x80e\xf0\x9f\x98\", \"raw_ok\": \"\xf0\x9f\x98\x80 \xe2\x80\xa8\", \"html\": \"<>&\", \"del\": \"\x7f raw\", \"nums\": [0, -0, 1.0, 1e21, 1e20, 123456789012345678901234567890, 1e-6, 1e-7, 0.000001234, 5e-324, 1.7976931348623157e308, 2.5E+3, -1.5e-10, 1e-400, 100e-2, 0.1, 0e99999999999999999999], \"k\\u0065y\\t<\": 1, \"dup\": 1, \"dup\": 2, \"nested\": {\"a\": [[], {}, [{}], {\"b\": []}, [[1]]]}, \"\\u00e9\": \"\xc3\xa9\", \"bools\": [true, false, null], \"empty\": \"\"}";
    /// …and what `sops encrypt` + `sops decrypt` (3.11) printed for it.
    const EDGE_SOPS_OUTPUT: &[u8] = b"{\n\t\"esc\": \"\\\"\\\\/\\b\\f\\n\\r\\t\",\n\t\"u\": \"\\u0000\\u001f\x7f\xc2\x80\xc3\xa9\\u2028\\u2029\xef\xbf\xbd\xef\xbf\xbf\\u003c\",\n\t\"pair\": \"\xf0\x9f\x98\x80\",\n\t\"lone_hi\": \"\xef\xbf\xbdx\",\n\t\"lone_lo\": \"\xef\xbf\xbd\",\n\t\"hi_hi\": \"\xef\xbf\xbd\xf0\x9f\x98\x80\",\n\t\"hi_esc\": \"\xef\xbf\xbd\\n\",\n\t\"hi_end\": \"\xef\xbf\xbd\",\n\t\"lo_hi\": \"\xef\xbf\xbd\xef\xbf\xbd\",\n\t\"hi_raw_lo\": \"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",\n\t\"raw_invalid\": \"a\xef\xbf\xbdb\xef\xbf\xbd(c\xef\xbf\xbd\xef\xbf\xbdxd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbde\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",\n\t\"raw_ok\": \"\xf0\x9f\x98\x80 \\u2028\",\n\t\"html\": \"\\u003c\\u003e\\u0026\",\n\t\"del\": \"\x7f raw\",\n\t\"nums\": [\n\t\t0,\n\t\t-0,\n\t\t1,\n\t\t1e+21,\n\t\t100000000000000000000,\n\t\t1.2345678901234568e+29,\n\t\t0.000001,\n\t\t1e-7,\n\t\t0.000001234,\n\t\t5e-324,\n\t\t1.7976931348623157e+308,\n\t\t2500,\n\t\t-1.5e-10,\n\t\t0,\n\t\t1,\n\t\t0.1,\n\t\t0\n\t],\n\t\"key\\t\\u003c\": 1,\n\t\"dup\": 1,\n\t\"dup\": 2,\n\t\"nested\": {\n\t\t\"a\": [\n\t\t\t[],\n\t\t\t{},\n\t\t\t[\n\t\t\t\t{}\n\t\t\t],\n\t\t\t{\n\t\t\t\t\"b\": []\n\t\t\t},\n\t\t\t[\n\t\t\t\t[\n\t\t\t\t\t1\n\t\t\t\t]\n\t\t\t]\n\t\t]\n\t},\n\t\"\xc3\xa9\": \"\xc3\xa9\",\n\t\"bools\": [\n\t\ttrue,\n\t\tfalse,\n\t\tnull\n\t],\n\t\"empty\": \"\"\n}\n";

    fn parsed(input: &[u8]) -> ParsedFile {
        parse(input).unwrap_or_else(|err| panic!("parse failed: {err}"))
    }

    fn parse_error(input: &[u8]) -> String {
        match parse(input) {
            Ok(file) => panic!("expected an error, got {file:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn round_trip(input: &[u8], indent: Option<i64>) -> Vec<u8> {
        let file = parsed(input);
        emit(&file.documents, indent).unwrap_or_else(|err| panic!("emit failed: {err}"))
    }

    fn keys(mapping: &Mapping) -> Vec<&str> {
        mapping.entries().map(|entry| entry.key.as_str()).collect()
    }

    fn as_mapping(value: Option<&Value>) -> &Mapping {
        match value {
            Some(Value::Mapping(mapping)) => mapping,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn sops_printed_plaintexts_round_trip_byte_for_byte() {
        for (name, vector) in [("j1", J1), ("strs", STRS), ("keys", KEYS), ("long", LONG)] {
            let file = parsed(vector);
            assert_eq!(file.metadata, None, "{name}");
            assert_eq!(round_trip(vector, None), vector, "{name}");
        }
    }

    #[test]
    fn string_and_number_edge_cases_match_sops() {
        assert_eq!(round_trip(EDGE_INPUT, None), EDGE_SOPS_OUTPUT);
    }

    #[test]
    fn encrypted_vectors_parse_with_their_metadata() {
        for (name, encrypted, plain) in [
            ("j1", J1_SOPS, J1),
            ("strs", STRS_SOPS, STRS),
            ("keys", KEYS_SOPS, KEYS),
            ("long", LONG_SOPS, LONG),
        ] {
            let file = parsed(encrypted);
            assert_eq!(file.metadata_style, MetadataStyle::Json);
            let [document] = file.documents.as_slice() else {
                panic!("{name}: expected one document");
            };
            let plain = parsed(plain);
            let plain_keys = plain.documents.first().map(keys).unwrap_or_default();
            assert_eq!(
                keys(document),
                plain_keys,
                "{name}: data keys (sops removed)"
            );
            let metadata = as_mapping(file.metadata.as_ref());
            let metadata_keys = keys(metadata);
            for key in ["age", "lastmodified", "mac", "version"] {
                assert!(metadata_keys.contains(&key), "{name}: metadata lacks {key}");
            }
            assert_eq!(
                metadata.get("version"),
                Some(&Value::str("3.11.0")),
                "{name}"
            );
        }
        let j1 = parsed(J1_SOPS);
        let document = j1
            .documents
            .first()
            .map(|d| d.entries().collect::<Vec<_>>())
            .unwrap_or_default();
        let value = |key: &str| {
            document
                .iter()
                .find(|entry| entry.key == key)
                .map(|entry| &entry.value)
        };
        assert!(
            matches!(value("str"), Some(Value::Str(s)) if s.starts_with(b"ENC[AES256_GCM,data:"))
        );
        assert_eq!(value("null"), Some(&Value::Null));
        assert_eq!(value("emptyobj"), Some(&Value::Mapping(Mapping::new())));
        assert_eq!(value("empty"), Some(&Value::str("")));
    }

    #[test]
    fn binary_envelope_parses() {
        let file = parsed(BIN_SOPS);
        let document = file.documents.first().map(keys).unwrap_or_default();
        assert_eq!(document, ["data"]);
        assert!(file.metadata.is_some());
    }

    #[test]
    fn indentation_follows_the_config() {
        let input = br#"{"a_unencrypted": {"b": [1, {}]}}"#;
        assert_eq!(round_trip(input, Some(-1)), round_trip(input, None));
        assert_eq!(
            round_trip(input, Some(2)),
            b"{\n  \"a_unencrypted\": {\n    \"b\": [\n      1,\n      {}\n    ]\n  }\n}\n"
        );
        assert_eq!(
            round_trip(input, Some(0)),
            b"{\n\"a_unencrypted\": {\n\"b\": [\n1,\n{}\n]\n}\n}\n"
        );
        let err = emit(&parsed(input).documents, Some(-2))
            .err()
            .map(|err| err.to_string());
        let want =
            "Error marshaling to json: JSON Indentation parameter smaller than -1 is not accepted";
        assert_eq!(err.as_deref(), Some(want));
    }

    #[test]
    fn emits_values_from_other_stores() {
        let mut inner = Mapping::new();
        inner.push_comment(" only a comment");
        let mut document = Mapping::new();
        document.push_comment(" top");
        document.push("int", Value::Int(-42));
        document.push(
            "time",
            Value::Time(
                crate::sops::gotime::Timestamp::parse_rfc3339("2024-01-02T03:04:05.500+02:00")
                    .unwrap_or_else(|err| panic!("{err:?}")),
            ),
        );
        document.push("commented", Value::Mapping(inner));
        document.push(
            "list",
            Value::Sequence(vec![
                Value::Comment(crate::sops::tree::Comment(" c".into())),
                Value::Float(1e6),
            ]),
        );
        document.push(
            "only_comments",
            Value::Sequence(vec![Value::Comment(crate::sops::tree::Comment(
                " c".into(),
            ))]),
        );
        let out =
            emit(&[document.clone(), Mapping::new()], None).unwrap_or_else(|err| panic!("{err}"));
        let want = "{\n\t\"int\": -42,\n\t\"time\": \"2024-01-02T03:04:05.5+02:00\",\n\t\"commented\": {},\n\t\"list\": [\n\t\t1000000\n\t],\n\t\"only_comments\": []\n}\n";
        assert_eq!(String::from_utf8_lossy(&out), want);
        assert_eq!(emit(&[Mapping::new()], None), Ok(b"{}\n".to_vec()));
        assert!(emit(&[], None).is_err());
    }

    #[test]
    fn float_errors_are_wrapped_like_sops() {
        let mut document = Mapping::new();
        document.push("a", Value::Float(f64::NAN));
        let err = emit(&[document], Some(-5)).err().map(|err| err.to_string());
        let want = "Error marshaling to json: Error encoding value : json: unsupported value: NaN";
        assert_eq!(err.as_deref(), Some(want));
    }

    #[test]
    fn top_level_errors_match_sops() {
        let cases: [(&[u8], &str); 8] = [
            (
                b"[1,2]",
                "Error unmarshalling input json: json: cannot unmarshal array into Go value of type stores.SopsFile",
            ),
            (
                b"5",
                "Error unmarshalling input json: json: cannot unmarshal number into Go value of type stores.SopsFile",
            ),
            (
                b"\"x\"",
                "Error unmarshalling input json: json: cannot unmarshal string into Go value of type stores.SopsFile",
            ),
            (
                b"true",
                "Error unmarshalling input json: json: cannot unmarshal bool into Go value of type stores.SopsFile",
            ),
            (
                b"",
                "Error unmarshalling input json: unexpected end of JSON input",
            ),
            (
                b"{\"a\":1} x",
                "Error unmarshalling input json: invalid character 'x' after top-level value",
            ),
            // Syntax errors anywhere win over a wrong top-level type.
            (
                b"[1 2]",
                "Error unmarshalling input json: invalid character '2' after array element",
            ),
            (
                b"{\"sops\": 5}",
                "Error unmarshalling input json: json: cannot unmarshal number into Go struct field SopsFile.sops of type stores.Metadata",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_error(input),
                want,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn missing_metadata_is_not_an_error() {
        assert_eq!(parsed(b"null").metadata, None);
        assert_eq!(parsed(br#"{"sops": null}"#).metadata, None);
        assert_eq!(parsed(br#"{"a": 1}"#).metadata, None);
        // Without metadata sops never reaches the data pass, so an overflow is no error here.
        let file = parsed(br#"{"a": 1e400}"#);
        assert_eq!((file.metadata, file.documents.len()), (None, 0));
    }

    #[test]
    fn overflowing_numbers_fail_the_data_pass() {
        for (input, literal) in [
            (&br#"{"a": -1e400, "sops": {}}"#[..], "-1e400"),
            (br#"{"a": [1e400], "sops": {}}"#, "1e400"),
            (br#"{"sops": {"x": 2e400}}"#, "2e400"),
        ] {
            let want = format!(
                "Could not unmarshal input data: json: cannot unmarshal number {literal} into Go value of type float64"
            );
            assert_eq!(parse_error(input), want);
        }
    }

    #[test]
    fn metadata_keys_fold_case_and_merge() {
        let file = parsed(r#"{"a": 1, "SOPS": {"version": "1", "mac": "m"}, "ſops": {"version": "2"}, "sops": {"lastmodified": "t"}}"#.as_bytes());
        let metadata = as_mapping(file.metadata.as_ref());
        assert_eq!(
            keys(metadata),
            ["version", "mac", "version", "lastmodified"]
        );
        assert_eq!(metadata.get("version"), Some(&Value::str("2")));
        // Only the exact `sops` key leaves the data.
        assert_eq!(
            file.documents.first().map(keys).unwrap_or_default(),
            ["a", "SOPS", "ſops"]
        );

        // `null` resets what earlier keys set.
        let file = parsed(br#"{"Sops": {"version": "1"}, "SOPs": null, "sOpS": {"mac": "m"}}"#);
        assert_eq!(keys(as_mapping(file.metadata.as_ref())), ["mac"]);
        assert_eq!(
            parsed(br#"{"sops": {"mac": "m"}, "SOPS": null}"#).metadata,
            None
        );
        // Not a fold of `sops`.
        assert_eq!(
            parsed(br#"{"sops ": {}, "sop": {}, "s\u0000ops": {}}"#).metadata,
            None
        );
        assert_eq!(
            parse_error(br#"{"sops": {}, "Sops": []}"#),
            "Error unmarshalling input json: json: cannot unmarshal array into Go struct field SopsFile.sops of type stores.Metadata"
        );
    }

    #[test]
    fn sops_keys_are_removed_like_sops_3_11() {
        let data_keys = |input: &[u8]| {
            parsed(input)
                .documents
                .first()
                .map(|d| keys(d).join(","))
                .unwrap_or_default()
        };
        assert_eq!(data_keys(br#"{"a": 1, "sops": {}}"#), "a");
        assert_eq!(data_keys(br#"{"sops": {}, "a": 1}"#), "a");
        assert_eq!(data_keys(br#"{"\u0073ops": {}, "a": 1}"#), "a");
        // After a removal sops skips the next entry, so an adjacent second `sops` stays.
        assert_eq!(data_keys(br#"{"sops": {}, "sops": {}, "a": 1}"#), "sops,a");
        assert_eq!(
            data_keys(br#"{"x": 1, "sops": {}, "sops": {}, "b": 2}"#),
            "x,sops,b"
        );
        // Where sops 3.11 crashes (slice bounds out of range), we fail cleanly.
        for input in [
            &br#"{"x": 1, "sops": {}, "y": 2, "sops": {}}"#[..],
            br#"{"sops": {}, "sops": {}}"#,
            br#"{"sops": {}, "a": 1, "sops": {}}"#,
        ] {
            assert!(parse_error(input).contains("several top-level \"sops\" keys"));
        }
    }

    /// A megabyte in and out: a quadratic path would make this test hang (no timing
    /// assertion; scripts/bench-decrypt.sh measures speed).
    #[test]
    fn large_input_round_trips() {
        let mut input = b"{".to_vec();
        for index in 0..20_000 {
            input.extend_from_slice(format!("\"key{index}\": [\"value <{index}> \\u00e9\", {index}.5, true, null, {{\"n\": -1e-9}}],").as_bytes());
        }
        input.extend_from_slice(b"\"sops\": {\"version\": \"3.11.0\"}}");
        assert!(input.len() > 1_000_000);
        let file = parsed(&input);
        let out = emit(&file.documents, None).unwrap_or_else(|err| panic!("{err}"));
        assert!(out.len() > 1_000_000);
    }
}
