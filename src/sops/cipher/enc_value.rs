//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value format: splitting the string into its
//! fields and checking them without the data key.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{CipherError, ValueType};

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
pub(super) const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// The parts of an `ENC[…]` value.
pub(super) struct Parsed<'a> {
    pub(super) data: &'a str,
    pub(super) iv: &'a str,
    pub(super) tag: &'a str,
    pub(super) kind: &'a str,
}

/// Splits an `ENC[…]` value the way sops' pattern
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` does: every group is greedy and
/// non-empty, `.` stops at a newline, and anything after the closing `]` is ignored. Because the
/// groups are greedy, each takes the last delimiter that still leaves room for the rest, so the
/// delimiters can be found right to left without backtracking.
pub(super) fn parse(text: &str) -> Option<Parsed<'_>> {
    let body = text.strip_prefix("ENC[AES256_GCM,data:")?;
    let line = body.split('\n').next()?.as_bytes();
    let end = rfind(line, b"]")?;
    // Each delimiter must leave at least one byte for the group before it and after it.
    let type_at = rfind(line.get(..end.checked_sub(1)?)?, b",type:")?;
    let tag_at = rfind(line.get(..type_at.checked_sub(1)?)?, b",tag:")?;
    let iv_at = rfind(line.get(..tag_at.checked_sub(1)?)?, b",iv:")?;
    if iv_at == 0 {
        return None;
    }
    // Every boundary is next to an ASCII delimiter, so these are character boundaries.
    Some(Parsed {
        data: body.get(..iv_at)?,
        iv: body.get(iv_at + 4..tag_at)?,
        tag: body.get(tag_at + 5..type_at)?,
        kind: body.get(type_at + 6..end)?,
    })
}

/// The start of the last occurrence of `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

/// Whether a string looks like an `ENC[…]` value (used to tell encrypted list comments apart).
pub fn is_encrypted(text: &str) -> bool {
    parse(text).is_some()
}

/// Checks what can be checked of an `ENC[…]` value without the data key (the format, the three
/// base64 fields, a known type) and returns its declared type. Whatever fails here also fails
/// [`ValueCipher::decrypt_value`](super::ValueCipher::decrypt_value); authenticity needs the key.
pub fn value_type(text: &str) -> Result<ValueType, CipherError> {
    let parsed = parse(text).ok_or(CipherError::Format)?;
    for (field, b64) in [
        ("data", parsed.data),
        ("iv", parsed.iv),
        ("tag", parsed.tag),
    ] {
        decode_field(field, b64)?;
    }
    ValueType::from_name(parsed.kind)
}

fn decode_field(field: &'static str, b64: &str) -> Result<Vec<u8>, CipherError> {
    GO_STD_BASE64
        .decode(b64)
        .map_err(|_| CipherError::Base64 { field })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_agrees_with_sops_pattern() {
        // The pattern sops matches, as the reference for the hand-written splitter.
        let pattern =
            regex::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]").unwrap();
        let pieces = [
            "ENC[AES256_GCM,data:",
            ",iv:",
            ",tag:",
            ",type:",
            "]",
            "a",
            "é",
            "\n",
            ",",
            ":",
            "data:",
            "iv:",
            "[",
            "x]",
            ",iv:,tag:",
        ];
        // A deterministic walk over many concatenations of the pieces.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut matched = 0;
        for _ in 0..20_000 {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            // Mostly well-formed skeletons with random pieces (often delimiters) in every slot.
            let mut text = String::from("ENC[AES256_GCM,data:");
            for delimiter in [",iv:", ",tag:", ",type:", "]", ""] {
                for _ in 0..(next() % 3) {
                    text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                }
                if next() % 8 != 0 {
                    text.push_str(delimiter);
                }
            }
            state = state.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
            let want = pattern
                .captures(&text)
                .map(|c| (1..=4).map(|i| c[i].to_owned()).collect::<Vec<_>>());
            let got =
                parse(&text).map(|p| [p.data, p.iv, p.tag, p.kind].map(str::to_owned).to_vec());
            matched += usize::from(want.is_some());
            assert_eq!(got, want, "{text:?}");
        }
        assert!(matched > 500, "only {matched} inputs matched");
    }
}
