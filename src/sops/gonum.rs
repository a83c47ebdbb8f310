//! Go-compatible number formatting.
//!
//! sops' output and MAC depend on how Go prints a float64, and Go prints it differently in
//! each place: `strconv.FormatFloat(v, 'f', -1, 64)` for the MAC and `type:float` plaintexts,
//! `'g'` for YAML, `encoding/json`'s own rule for JSON, and `'G'` for dotenv and INI values.
//! All of them start from the shortest decimal digits that round-trip, which Rust's own float
//! formatting also produces, so only the layout differs.

/// The shortest round-trip decimal digits of a finite, non-negative float.
struct Digits {
    /// The significant digits, without leading or trailing zeros (`"0"` for zero).
    digits: String,
    /// The decimal exponent of the first digit: value = 0.d1d2… × 10^(point).
    point: i32,
}

fn shortest(abs: f64) -> Digits {
    // `{:e}` gives the shortest round-trip digits as `d.ddde±x`.
    let sci = format!("{abs:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    Digits {
        digits,
        point: exponent + 1,
    }
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

fn sign(v: f64) -> &'static str {
    if v.is_sign_negative() { "-" } else { "" }
}

/// Positional layout of shortest digits (`%f` with as many decimals as needed).
fn layout_f(d: &Digits) -> String {
    let n = d.digits.len() as i32;
    if d.point <= 0 {
        format!("0.{}{}", "0".repeat((-d.point) as usize), d.digits)
    } else if d.point >= n {
        format!("{}{}", d.digits, "0".repeat((d.point - n) as usize))
    } else {
        let (int, frac) = d.digits.split_at(d.point as usize);
        format!("{int}.{frac}")
    }
}

/// Scientific layout of shortest digits (`%e`), with Go's two-digit minimum exponent.
fn layout_e(d: &Digits, upper: bool) -> String {
    let (first, rest) = d.digits.split_at(1);
    let exp = if d.digits == "0" { 0 } else { d.point - 1 };
    let e = if upper { 'E' } else { 'e' };
    let exp_sign = if exp < 0 { '-' } else { '+' };
    let dot = if rest.is_empty() { "" } else { "." };
    format!("{first}{dot}{rest}{e}{exp_sign}{:02}", exp.unsigned_abs())
}

/// `strconv.FormatFloat(v, 'f', -1, 64)`: never an exponent (`1e21` →
/// `1000000000000000000000`), `+Inf`/`-Inf`/`NaN` for the specials.
pub fn format_f(v: f64) -> String {
    match special(v) {
        Some(text) => text.to_owned(),
        None => format!("{}{}", sign(v), layout_f(&shortest(v.abs()))),
    }
}

/// `strconv.FormatFloat(v, 'g' or 'G', -1, 64)`: an exponent when it is below -4 or at least
/// 6 (`1e+06`, `1.5e-07`), positional otherwise.
pub fn format_g(v: f64, upper: bool) -> String {
    if let Some(text) = special(v) {
        return text.to_owned();
    }
    let d = shortest(v.abs());
    let exp = if d.digits == "0" { 0 } else { d.point - 1 };
    let body = if !(-4..6).contains(&exp) {
        layout_e(&d, upper)
    } else {
        layout_f(&d)
    };
    format!("{}{body}", sign(v))
}

/// How `encoding/json` writes a float64: positional for 1e-6 ≤ |v| < 1e21, otherwise an
/// exponent with a single-digit minimum (`1e+21`, `1e-7`). `None` for NaN and infinities,
/// which `encoding/json` refuses.
pub fn format_json(v: f64) -> Option<String> {
    if special(v).is_some() {
        return None;
    }
    let abs = v.abs();
    let d = shortest(abs);
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = layout_e(&d, false);
        // Go trims the exponent's leading zero: e-07 → e-7, e+06 → e+6.
        let e = match e.split_once('e') {
            Some((m, x)) if x.len() == 3 && x.as_bytes()[1] == b'0' => {
                format!("{m}e{}{}", &x[..1], &x[2..])
            }
            _ => e,
        };
        Some(format!("{}{e}", sign(v)))
    } else {
        Some(format!("{}{}", sign(v), layout_f(&d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_layout_matches_go() {
        let cases = [
            (1.5, "1.5"),
            (1e21, "1000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (-0.0, "-0"),
            (0.0, "0"),
            (5432.0, "5432"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (12345678901234567890.0, "12345678901234567000"),
        ];
        for (v, want) in cases {
            assert_eq!(format_f(v), want, "{v}");
        }
    }

    #[test]
    fn g_layout_matches_go() {
        let cases = [
            (1.0, "1"),
            (1000.0, "1000"),
            (1e6, "1e+06"),
            (1234567.5, "1.2345675e+06"),
            (123456.0, "123456"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (f64::INFINITY, "+Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g(v, false), want, "{v}");
        }
        assert_eq!(format_g(2e-10, true), "2E-10");
        assert_eq!(format_g(1e21, true), "1E+21");
    }

    #[test]
    fn json_layout_matches_go() {
        let cases = [
            (42.0, "42"),
            (2.0, "2"),
            (0.000001, "0.000001"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (1.5e300, "1.5e+300"),
            (12345678901234567890.0, "12345678901234567000"),
            (-0.0, "-0"),
        ];
        for (v, want) in cases {
            assert_eq!(format_json(v).as_deref(), Some(want), "{v}");
        }
        assert_eq!(format_json(f64::NAN), None);
    }
}
