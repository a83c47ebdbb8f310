//! go-yaml v3 scalar resolution (`resolve.go`) for values decoded into `interface{}`.
//!
//! Only plain scalars are resolved; quoted and block scalars are strings unless an explicit tag
//! says otherwise. The rules differ from YAML 1.2's core schema (leading-zero octal, `_`
//! separators, `08` becoming a float, overflowing floats staying strings), so they are applied
//! here from the raw text rather than taken from the event parser.

use crate::sops::gotime::{Civil, Timestamp, days_in_month};

/// The value a scalar decodes to, before it becomes a tree value.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// `null`, `~`, empty.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// An integer above i64 (go-yaml gives uint64, which sops cannot walk).
    Uint(u64),
    /// A float64.
    Float(f64),
    /// A string (bytes: `!!binary` may decode to anything).
    Str(Vec<u8>),
    /// A timestamp.
    Time(Timestamp),
}

impl Resolved {
    /// Go's name for the decoded type, as sops prints it in errors.
    pub fn go_type(&self) -> &'static str {
        match self {
            Resolved::Null => "<nil>",
            Resolved::Bool(_) => "bool",
            Resolved::Int(_) => "int",
            Resolved::Uint(_) => "uint64",
            Resolved::Float(_) => "float64",
            Resolved::Str(_) => "string",
            Resolved::Time(_) => "time.Time",
        }
    }
}

/// Why an explicitly tagged scalar cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagError {
    /// The short tag, e.g. `!!int`.
    pub tag: String,
}

/// Resolves a scalar. `tag` is the short form (`!!int`, `!foo`) or `None`; `plain` says whether
/// the scalar was written without quotes or block indicators.
pub fn resolve(text: &str, plain: bool, tag: Option<&str>) -> Result<Resolved, TagError> {
    let fail = || TagError {
        tag: tag.unwrap_or("").to_owned(),
    };
    match tag {
        None | Some("!") if !plain || tag == Some("!") => {
            Ok(Resolved::Str(text.as_bytes().to_vec()))
        }
        None => Ok(resolve_plain(text, true)),
        Some("!!str") => Ok(Resolved::Str(text.as_bytes().to_vec())),
        Some("!!binary") => decode_binary(text).map(Resolved::Str).ok_or_else(fail),
        Some("!!int") => match resolve_plain(text, false) {
            r @ (Resolved::Int(_) | Resolved::Uint(_)) => Ok(r),
            _ => Err(fail()),
        },
        Some("!!float") => match resolve_plain(text, false) {
            Resolved::Int(i) => Ok(Resolved::Float(i as f64)),
            Resolved::Uint(u) => Ok(Resolved::Float(u as f64)),
            r @ Resolved::Float(_) => Ok(r),
            _ => Err(fail()),
        },
        Some("!!bool") => match resolve_plain(text, false) {
            r @ Resolved::Bool(_) => Ok(r),
            _ => Err(fail()),
        },
        Some("!!null") => match resolve_plain(text, false) {
            Resolved::Null => Ok(Resolved::Null),
            _ => Err(fail()),
        },
        Some("!!timestamp") => parse_timestamp(text).map(Resolved::Time).ok_or_else(fail),
        // `!!merge` keeps the text; unknown local or global tags decode as strings.
        Some(_) => Ok(Resolved::Str(text.as_bytes().to_vec())),
    }
}

/// Resolves the text of a plain scalar (or of a tagged one, with `timestamps` off so a tag
/// such as `!!int` is checked against the implicit type).
fn resolve_plain(text: &str, timestamps: bool) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let str_value = || Resolved::Str(text.as_bytes().to_vec());
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    if first == b'.' {
        return parse_decimal_float(text).map_or_else(str_value, Resolved::Float);
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return str_value();
    }
    if timestamps
        && first.is_ascii_digit()
        && let Some(ts) = parse_timestamp(text)
    {
        return Resolved::Time(ts);
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(r) = parse_go_int(&plain) {
        return r;
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = parse_decimal_float(&plain)
    {
        return Resolved::Float(f);
    }
    str_value()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint` (after `_` removal): sign,
/// then `0x`/`0o`/`0b`/leading-`0` octal or decimal.
fn parse_go_int(s: &str) -> Option<Resolved> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if negative {
        let limit = u128::from(i64::MAX.unsigned_abs()) + 1;
        if magnitude > limit {
            return None;
        }
        // `magnitude <= 2^63`, so the wrapping negation is exact.
        Some(Resolved::Int((magnitude as i128).wrapping_neg() as i64))
    } else if let Ok(i) = i64::try_from(magnitude) {
        Some(Resolved::Int(i))
    } else {
        u64::try_from(magnitude).ok().map(Resolved::Uint)
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `ParseFloat(s, 64)` restricted to decimal syntax; an out-of-range value is an error
/// there, so it is `None` here (the scalar then stays a string).
fn parse_decimal_float(s: &str) -> Option<f64> {
    if !is_yaml_style_float(s) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// go-yaml's `parseTimestamp`: exactly four year digits then `-`, and one of the layouts
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2 15:4:5.999999999` (UTC) or
/// `2006-1-2`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 0 };
    let year = i64::from(p.num(4, 4)?);
    p.lit(b'-')?;
    let month = p.num(1, 2)?;
    p.lit(b'-')?;
    let day = p.num(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut civil = Civil {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
    };
    if p.i == b.len() {
        return Some(Timestamp::from_civil(civil, 0, 0));
    }
    let separator = *b.get(p.i)?;
    p.i += 1;
    civil.hour = p.num(1, 2)?;
    p.lit(b':')?;
    civil.minute = p.num(1, 2)?;
    p.lit(b':')?;
    civil.second = p.num(1, 2)?;
    if civil.hour > 23 || civil.minute > 59 || civil.second > 59 {
        return None;
    }
    let mut nanos = 0u32;
    if b.get(p.i) == Some(&b'.') && b.get(p.i + 1).is_some_and(u8::is_ascii_digit) {
        p.i += 1;
        let mut count = 0;
        while let Some(d) = b.get(p.i).filter(|d| d.is_ascii_digit()) {
            if count < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            count += 1;
            p.i += 1;
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }
    let offset = match separator {
        b' ' if p.i == b.len() => 0,
        b'T' | b't' => match b.get(p.i)? {
            b'Z' if p.i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') => {
                p.i += 1;
                let oh = p.num(2, 2)?;
                p.lit(b':')?;
                let om = p.num(2, 2)?;
                if p.i != b.len() || oh > 24 || om > 60 {
                    return None;
                }
                let magnitude = (oh * 3600 + om * 60) as i32;
                if *sign == b'-' { -magnitude } else { magnitude }
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(Timestamp::from_civil(civil, nanos, offset))
}

/// A tiny byte cursor for the timestamp layouts.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// Reads between `min` and `max` digits.
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut n = 0u32;
        while self.i - start < max {
            match self.b.get(self.i) {
                Some(d) if d.is_ascii_digit() => {
                    n = n * 10 + u32::from(d - b'0');
                    self.i += 1;
                }
                _ => break,
            }
        }
        (self.i - start >= min).then_some(n)
    }

    /// Expects one literal byte.
    fn lit(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
}

/// Decodes a `!!binary` scalar: standard base64, whitespace ignored.
fn decode_binary(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Resolved {
        resolve(s, true, None).unwrap()
    }

    #[test]
    fn resolves_like_go_yaml_v3() {
        assert_eq!(plain(""), Resolved::Null);
        assert_eq!(plain("~"), Resolved::Null);
        assert_eq!(plain("NULL"), Resolved::Null);
        assert_eq!(plain("True"), Resolved::Bool(true));
        assert_eq!(plain("yes"), Resolved::Str(b"yes".to_vec()));
        assert_eq!(plain("off"), Resolved::Str(b"off".to_vec()));
        assert_eq!(plain("0x1F"), Resolved::Int(31));
        assert_eq!(plain("017"), Resolved::Int(15));
        assert_eq!(plain("0o17"), Resolved::Int(15));
        assert_eq!(plain("0b101"), Resolved::Int(5));
        assert_eq!(plain("-0b101"), Resolved::Int(-5));
        assert_eq!(plain("1_000"), Resolved::Int(1000));
        assert_eq!(plain("+7"), Resolved::Int(7));
        assert_eq!(plain("-9223372036854775808"), Resolved::Int(i64::MIN));
        assert_eq!(plain("9223372036854775808"), Resolved::Uint(1 << 63));
        assert_eq!(plain("08"), Resolved::Float(8.0));
        assert_eq!(plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(plain(".5"), Resolved::Float(0.5));
        assert_eq!(plain("1e400"), Resolved::Str(b"1e400".to_vec()));
        assert_eq!(plain("-.Inf"), Resolved::Float(f64::NEG_INFINITY));
        assert!(matches!(plain(".NaN"), Resolved::Float(f) if f.is_nan()));
        assert_eq!(plain("1:20"), Resolved::Str(b"1:20".to_vec()));
        assert_eq!(plain("<<"), Resolved::Str(b"<<".to_vec()));
        assert_eq!(
            resolve("123", false, None).unwrap(),
            Resolved::Str(b"123".to_vec())
        );
        assert_eq!(
            resolve("1", true, Some("!!float")).unwrap(),
            Resolved::Float(1.0)
        );
        assert_eq!(
            resolve("aGk=", true, Some("!!binary")).unwrap(),
            Resolved::Str(b"hi".to_vec())
        );
        assert!(resolve("abc", true, Some("!!int")).is_err());
        assert_eq!(
            resolve("x", true, Some("!foo")).unwrap(),
            Resolved::Str(b"x".to_vec())
        );
    }

    #[test]
    fn timestamps() {
        let ts = |s| match plain(s) {
            Resolved::Time(t) => t.to_rfc3339_nano(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(ts("2002-12-14"), "2002-12-14T00:00:00Z");
        assert_eq!(
            ts("2001-12-14t21:59:43.10-05:00"),
            "2001-12-14T21:59:43.1-05:00"
        );
        assert_eq!(ts("2001-12-14 21:59:43.10"), "2001-12-14T21:59:43.1Z");
        assert_eq!(ts("2001-1-4T1:2:3Z"), "2001-01-04T01:02:03Z");
        // sops 3.11 keeps these as strings.
        assert_eq!(
            plain("2001-12-14 21:59:43.10 -5"),
            Resolved::Str(b"2001-12-14 21:59:43.10 -5".to_vec())
        );
        assert_eq!(plain("2001-02-30"), Resolved::Str(b"2001-02-30".to_vec()));
    }
}
