//! The dotenv store (`.env`): one `KEY=value` per line, exactly as sops 3.11 reads and writes it.
//!
//! The format is deliberately naive, and sops' quirks are part of the file format:
//! lines are split on `\n` only (a `\r` stays in the value), empty lines vanish, a line starting
//! with `#` is a comment, the key is everything before the first `=` (not trimmed), and the value
//! is everything after it with no quote handling; only the two characters `\n` become a newline.
//! The metadata is written as `sops_<flattened key>=<value>` lines.

use crate::sops::stores::flatten::{decode_newlines, unflatten, val_to_string};
use crate::sops::stores::{MetadataStyle, NodeCount, ParsedFile, StoreError};
use crate::sops::tree::{Document, Item, Mapping, Value};

/// The prefix marking metadata lines.
const SOPS_PREFIX: &str = "sops_";

/// Parses a dotenv file (encrypted or not) into one document plus its `sops_*` metadata.
///
/// Without any `sops_` line, `metadata` is `None` (sops then reports that the metadata was not
/// found). Keys and comments are text; invalid UTF-8 in them is replaced (U+FFFD), which can only
/// make such a key fail its decryption, never go unnoticed.
pub fn parse(input: &[u8]) -> Result<ParsedFile, StoreError> {
    let mut document = Mapping::new();
    let mut metadata = Vec::new();
    let mut nodes = NodeCount::default();
    for (index, line) in input.split(|&b| b == b'\n').enumerate() {
        let Some((&first, rest)) = line.split_first() else {
            continue;
        };
        // A comment is one node, an entry two (its key and its value).
        nodes.add(if first == b'#' { 1 } else { 2 })?;
        if first == b'#' {
            document.push_comment(String::from_utf8_lossy(rest));
            continue;
        }
        let Some(pos) = line.iter().position(|&b| b == b'=') else {
            // sops prints the offending line; a line number says where without echoing what
            // may be a secret.
            return Err(StoreError::Parse(format!(
                "invalid dotenv input line: line {} has no '='",
                index + 1
            )));
        };
        let key = String::from_utf8_lossy(line.get(..pos).unwrap_or_default()).into_owned();
        let value = decode_newlines(line.get(pos + 1..).unwrap_or_default());
        match key.strip_prefix(SOPS_PREFIX) {
            Some(name) => metadata.push((name.to_owned(), value)),
            None => document.push(key, Value::Str(value)),
        }
    }
    let metadata = if metadata.is_empty() {
        None
    } else {
        Some(unflatten(metadata)?)
    };
    Ok(ParsedFile {
        documents: vec![document],
        metadata,
        metadata_style: MetadataStyle::Flat,
        walk_error: None,
    })
}

/// Emits documents as dotenv, byte for byte as `sops decrypt` prints them.
///
/// Only the first document is written (sops indexes `branches[0]`). Each comment becomes
/// `#text`, each entry `KEY=VALUE`, with newlines in the value written as `\n` and nothing else
/// escaped; non-strings go through sops' `ValToString`. A mapping or list value is an error.
pub fn emit(documents: &[Document]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    let Some(document) = documents.first() else {
        return Ok(out);
    };
    for item in &document.items {
        match item {
            Item::Comment(comment) => {
                out.push(b'#');
                out.extend_from_slice(comment.0.as_bytes());
            }
            Item::Entry(entry) => {
                if matches!(entry.value, Value::Mapping(_) | Value::Sequence(_)) {
                    return Err(StoreError::Emit(format!(
                        "cannot use complex value in dotenv file; offending key {}",
                        entry.key
                    )));
                }
                out.extend_from_slice(entry.key.as_bytes());
                out.push(b'=');
                for &b in &val_to_string(&entry.value) {
                    if b == b'\n' {
                        out.extend_from_slice(b"\\n");
                    } else {
                        out.push(b);
                    }
                }
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::gotime::Timestamp;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vectors/");

    fn vector(name: &str) -> Vec<u8> {
        std::fs::read(format!("{VECTORS}{name}")).unwrap()
    }

    fn roundtrip(input: &[u8]) -> Vec<u8> {
        let parsed = parse(input).unwrap();
        emit(&parsed.documents).unwrap()
    }

    #[test]
    fn expected_vector_round_trips() {
        let plain = vector("d1.dotenv.expected");
        assert_eq!(roundtrip(&plain), plain);
        assert_eq!(parse(&plain).unwrap().metadata, None);
    }

    #[test]
    fn encrypted_vector_structure() {
        let parsed = parse(&vector("d1.dotenv.sops")).unwrap();
        assert_eq!(parsed.metadata_style, MetadataStyle::Flat);
        let doc = &parsed.documents[0];
        let keys: Vec<&str> = doc.entries().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "KEY",
                "QUOTED",
                "SPACED ",
                "EMPTY",
                "MULTI",
                "EQ",
                "export EXPORTED",
                "SECRET_unencrypted",
                "CR"
            ]
        );
        assert!(matches!(doc.items[0], Item::Comment(ref c) if c.0.starts_with("ENC[AES256_GCM,")));
        assert_eq!(doc.get("EMPTY"), Some(&Value::str("")));
        assert_eq!(doc.get("SECRET_unencrypted"), Some(&Value::str("clear")));

        let Some(Value::Mapping(md)) = parsed.metadata else {
            panic!("metadata is not a mapping");
        };
        let keys: Vec<&str> = md.entries().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "age",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
        assert_eq!(md.get("version"), Some(&Value::str("3.11.0")));
        assert_eq!(
            md.get("lastmodified"),
            Some(&Value::str("2026-11-22T11:12:05Z"))
        );
        let Some(Value::Sequence(age)) = md.get("age") else {
            panic!("age is not a list");
        };
        let Some(Value::Mapping(key)) = age.first() else {
            panic!("age[0] is not a mapping");
        };
        assert_eq!(
            key.get("recipient"),
            Some(&Value::str(
                "age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry"
            ))
        );
        let enc = key.get("enc").and_then(Value::as_bytes).unwrap();
        assert!(enc.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl"));
        assert!(enc.ends_with(b"\n-----END AGE ENCRYPTED FILE-----\n"));
    }

    /// Plaintexts checked against `sops decrypt` of `sops encrypt` of the same file.
    #[test]
    fn edge_cases_verified_against_sops() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"# c\nA=1\n\nB=two words\n", b"# c\nA=1\nB=two words\n"),
            (b"=v\n", b"=v\n"),
            (b"A=a\\\\nb\nB=x\\ty\n", b"A=a\\\\nb\nB=x\\ty\n"),
            (b"A=1\r\n#c\r\n", b"A=1\r\n#c\r\n"),
            (b"A=1", b"A=1\n"),
            (b"A=x # not comment\n", b"A=x # not comment\n"),
            (b" #x=1\n", b" #x=1\n"),
            (b"", b""),
            (b"#only\n", b"#only\n"),
            (b"Q='single' \"double\"\n", b"Q='single' \"double\"\n"),
        ];
        for (input, want) in cases {
            assert_eq!(
                roundtrip(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn values_keep_everything_but_escaped_newlines() {
        let parsed = parse(b"SPACED = x \nMULTI=a\\nb\nCR=v\r\n").unwrap();
        let doc = &parsed.documents[0];
        assert_eq!(doc.get("SPACED "), Some(&Value::str(" x ")));
        assert_eq!(doc.get("MULTI"), Some(&Value::str("a\nb")));
        assert_eq!(doc.get("CR"), Some(&Value::str("v\r")));
    }

    #[test]
    fn line_without_equals_is_rejected_without_echoing_it() {
        // sops: `invalid dotenv input line: BAD`.
        let err = parse(b"A=1\nsecret-text\n").unwrap_err();
        assert_eq!(
            err,
            StoreError::Parse("invalid dotenv input line: line 2 has no '='".into())
        );
        assert!(!err.to_string().contains("secret"));
        // A whitespace-only line is not empty, so it is invalid too.
        assert!(parse(b"A=1\n   \n").is_err());
    }

    #[test]
    fn sops_lines_become_metadata() {
        let parsed = parse(
            b"A=1\nsops_version=3.11.0\nsops_age__list_0__map_enc=x\\ny\nsops_mac_only_encrypted=true\n",
        )
        .unwrap();
        let doc = &parsed.documents[0];
        assert_eq!(doc.items.len(), 1);
        let Some(Value::Mapping(md)) = parsed.metadata else {
            panic!("no metadata");
        };
        assert_eq!(md.get("version"), Some(&Value::str("3.11.0")));
        assert_eq!(md.get("mac_only_encrypted"), Some(&Value::str("true")));
        let Some(Value::Sequence(age)) = md.get("age") else {
            panic!("age");
        };
        let Some(Value::Mapping(first)) = age.first() else {
            panic!("age[0]");
        };
        assert_eq!(first.get("enc"), Some(&Value::str("x\ny")));
    }

    #[test]
    fn hostile_metadata_index_is_an_error() {
        assert!(parse(b"sops_age__list_99999999__map_enc=x\n").is_err());
    }

    #[test]
    fn emits_non_strings_like_sops() {
        // `sops decrypt --output-type dotenv` of a YAML file with these values.
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05.123Z").unwrap();
        let mut doc = Mapping::new();
        doc.push("i", Value::Int(5));
        doc.push("f1", Value::Float(1.0));
        doc.push("f2", Value::Float(2e-10));
        doc.push("f6", Value::Float(1234567.0));
        doc.push("f11", Value::Float(-0.0));
        doc.push("b", Value::Bool(true));
        doc.push("t", Value::Time(t));
        doc.push("n", Value::Null);
        doc.push("s", Value::str("multi\nline"));
        doc.push_comment(" note");
        assert_eq!(
            String::from_utf8(emit(&[doc]).unwrap()).unwrap(),
            "i=5\nf1=1.0\nf2=2E-10\nf6=1.234567E+06\nf11=-0.0\nb=true\n\
             t=2024-01-02T03:04:05Z\nn=<nil>\ns=multi\\nline\n# note\n"
        );
    }

    #[test]
    fn complex_values_are_rejected() {
        let mut doc = Mapping::new();
        doc.push("a", Value::Int(1));
        doc.push("sec", Value::Mapping(Mapping::new()));
        assert_eq!(
            emit(&[doc]).unwrap_err(),
            StoreError::Emit("cannot use complex value in dotenv file; offending key sec".into())
        );
        let mut doc = Mapping::new();
        doc.push("l", Value::Sequence(vec![]));
        assert!(emit(&[doc]).is_err());
    }

    #[test]
    fn only_the_first_document_is_emitted() {
        // sops writes `a=1` for the YAML documents `a: 1` / `---` / `b: 2`.
        let mut first = Mapping::new();
        first.push("a", Value::Int(1));
        let mut second = Mapping::new();
        second.push("b", Value::Int(2));
        assert_eq!(emit(&[first, second]).unwrap(), b"a=1\n");
        assert_eq!(emit(&[]).unwrap(), b"");
    }

    /// A file sops wrote with two key groups, an `encrypted_regex` and `mac_only_encrypted`.
    const KEY_GROUPS_ENV: &str = r#"a=ENC[AES256_GCM,data:dw==,iv:CV8hVc1Enoh8JFSALsYM9ek7VUQrkAjHXmLdqlmGsN8=,tag:s2znkKjLyOq2zdyzyZeeig==,type:str]
sops_encrypted_regex=^(a|#;)
sops_key_groups__list_0__map_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBZWkw5RzhxSXFwSi9uT0Qz\nanFVQXZDamhmOGJ5NjV0dUVGaDhnMzBQZ2lFCnliSmlvNlViUGJzTW1tUFZ2ajFP\nSXFZTTFhUTNyTEFydStqdWZrVUErSDgKLS0tIGlrd3hVRld0bWJyWE8wd0lpSEhI\ndGFXazNuaElheFVkZ2RYSk0rNE1STncKWkWGTcwmZmJKqO0MrpkSbeUFsP3dVT+K\nqa4g04ZNBokUUqU98c45wJgsz4veQkIG6KJPUCkXHrTb8GK/rv4Umvs=\n-----END AGE ENCRYPTED FILE-----\n
sops_key_groups__list_0__map_age__list_0__map_recipient=age1k3swtfl3vnmx34u4z0r9nc3ehegg0tgfscmxe7eftuk6xc7zz4usnl6kry
sops_key_groups__list_1__map_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSA1SHZGdWJqa3J2VVdaQk9i\nc1Q3ZW9FSyt5emtwTUR1K1ZYbzFTZ2hGWndVCkVIOVE0M25uenhKdmhEQnRzSm5x\nY01iUldWeUZ4WEdhdXl2MmwvMjdneFEKLS0tIDkxbHpEejVYemhybW9XNTRXY1B1\nRTdxTDB0OU5JWnZIcFZYSjRObEUrblkK7a+DwwVXRFIWnDXAilQ8Z+4tjpDEQl25\nFtuaIGNA5AxO8RKOD0sQ7HgzKNrPRpXwUBuX4H1ahD3iwxxBIeip6uM=\n-----END AGE ENCRYPTED FILE-----\n
sops_key_groups__list_1__map_age__list_0__map_recipient=age1upycxczex8fsvsa0t4rc9y8ghmjf5ku2shffu7zxrpvz49hkcydqmv7xla
sops_lastmodified=2026-11-23T11:50:00Z
sops_mac=ENC[AES256_GCM,data:GBucledP1uSV/bPJ7Qsnr0fYn1Q5RklgIVAQteloyunfnA9SSJDAfQHa3Trn2WRVOdjqbXdc7MPh/c3fEM1AJF15/owCUlk6F+gL6OKWZ+EwNHgfJ6QD97I7D0JwjgK7CBVXGXo10Td8KEUen7+zYoI/CMEZbyl0/9yGRz3mUXk=,iv:6r/QQ9lsoJWLrbjPX9mptPuKdXo44JJIeRklScQzxLc=,tag:LYCQyKNErKeqRnPsWS5thg==,type:str]
sops_mac_only_encrypted=true
sops_shamir_threshold=2
sops_version=3.11.0
"#;

    #[test]
    fn key_group_metadata() {
        let parsed = parse(KEY_GROUPS_ENV.as_bytes()).unwrap();
        assert_eq!(parsed.documents[0].items.len(), 1);
        let Some(Value::Mapping(md)) = parsed.metadata else {
            panic!("no metadata");
        };
        assert_eq!(md.get("encrypted_regex"), Some(&Value::str("^(a|#;)")));
        assert_eq!(md.get("shamir_threshold"), Some(&Value::str("2")));
        let Some(Value::Sequence(groups)) = md.get("key_groups") else {
            panic!("key_groups");
        };
        assert_eq!(groups.len(), 2);
    }
}
