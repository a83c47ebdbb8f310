//! The `type:` of an encrypted value: how a decrypted plaintext becomes the typed value sops
//! encrypted, with Go's parsing rules (`strconv`, RFC 3339 times).

use zeroize::Zeroizing;

use super::CipherError;
use crate::sops::gotime::Timestamp;
use crate::sops::tree::{Comment, Value};

/// The declared type of an encrypted value (its `type:` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `str`: text (or bytes).
    Str,
    /// `int`: a 64-bit integer.
    Int,
    /// `float`: a float64.
    Float,
    /// `bool`: a boolean.
    Bool,
    /// `time`: an RFC 3339 timestamp.
    Time,
    /// `comment`: a YAML comment.
    Comment,
}

impl ValueType {
    /// The type `type:` names. `bytes` (sops 1.x) and unknown names fail as in sops.
    pub(super) fn from_name(name: &str) -> Result<ValueType, CipherError> {
        match name {
            "str" => Ok(ValueType::Str),
            "int" => Ok(ValueType::Int),
            "float" => Ok(ValueType::Float),
            "bool" => Ok(ValueType::Bool),
            "time" => Ok(ValueType::Time),
            "comment" => Ok(ValueType::Comment),
            "bytes" => Err(CipherError::BytesType),
            other => Err(CipherError::UnknownType(other.to_owned())),
        }
    }

    /// The type of a decrypted leaf; `None` for nulls and collections, which are never encrypted.
    pub fn of(value: &Value) -> Option<ValueType> {
        match value {
            Value::Str(_) => Some(ValueType::Str),
            Value::Int(_) => Some(ValueType::Int),
            Value::Float(_) => Some(ValueType::Float),
            Value::Bool(_) => Some(ValueType::Bool),
            Value::Time(_) => Some(ValueType::Time),
            Value::Comment(_) => Some(ValueType::Comment),
            Value::Null | Value::Mapping(_) | Value::Sequence(_) => None,
        }
    }
}

/// The typed value of a decrypted plaintext, by its `type:` name.
pub(super) fn convert(plaintext: Zeroizing<Vec<u8>>, kind: &str) -> Result<Value, CipherError> {
    let text = || std::str::from_utf8(&plaintext).ok();
    let conversion = |kind| CipherError::Conversion { kind };
    match ValueType::from_name(kind)? {
        ValueType::Str => Ok(Value::Str(plaintext.to_vec())),
        ValueType::Int => text()
            .and_then(|t| t.parse::<i64>().ok())
            .map(Value::Int)
            .ok_or_else(|| conversion("int")),
        ValueType::Float => text()
            .and_then(parse_go_float)
            .map(Value::Float)
            .ok_or_else(|| conversion("float")),
        ValueType::Bool => match text() {
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(Value::Bool(true)),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(Value::Bool(false)),
            _ => Err(conversion("bool")),
        },
        ValueType::Time => text()
            .and_then(|t| Timestamp::parse_rfc3339(t).ok())
            .map(Value::Time)
            .ok_or_else(|| conversion("time")),
        ValueType::Comment => Ok(Value::Comment(Comment(
            String::from_utf8_lossy(&plaintext).into_owned(),
        ))),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms sops writes and Go accepts: decimal with
/// optional sign and exponent, `Inf`/`Infinity`/`NaN` in any case. Overflow is an error in Go.
fn parse_go_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = unsigned.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    let ok_chars = unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !special && !ok_chars {
        return None;
    }
    if lower == "nan" && unsigned.len() != text.len() {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    (special || value.is_finite()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_conversions_follow_go() {
        let conv = |p: &str, k: &str| convert(Zeroizing::new(p.as_bytes().to_vec()), k);
        assert_eq!(conv("+7", "int"), Ok(Value::Int(7)));
        assert!(conv("0x1F", "int").is_err());
        assert_eq!(conv("1e3", "float"), Ok(Value::Float(1000.0)));
        assert_eq!(conv("+Inf", "float"), Ok(Value::Float(f64::INFINITY)));
        assert!(conv("1e400", "float").is_err());
        assert_eq!(conv("T", "bool"), Ok(Value::Bool(true)));
        assert!(conv("yes", "bool").is_err());
        assert_eq!(conv("x", "bytes"), Err(CipherError::BytesType));
        assert_eq!(
            conv("x", "blob"),
            Err(CipherError::UnknownType("blob".into()))
        );
        assert!(matches!(
            conv("2024-05-06T07:08:09+02:00", "time"),
            Ok(Value::Time(_))
        ));
    }
}
