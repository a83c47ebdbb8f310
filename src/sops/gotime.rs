//! Timestamps with Go `time.Time` semantics where sops' output depends on them.
//!
//! sops parses `lastmodified` and `type:time` values with Go's RFC 3339 parser and prints them
//! with the `RFC3339` / `RFC3339Nano` layouts. A timestamp keeps its UTC offset, because Go
//! prints the offset it parsed (`+02:00` stays `+02:00`, offset zero always prints `Z`).

use std::fmt::Write as _;

/// An instant plus the UTC offset it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
    /// Offset from UTC in seconds (east positive).
    pub offset_seconds: i32,
}

/// Why a text is not an RFC 3339 timestamp. Worded after Go's parser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("parsing time {text:?} as \"2006-01-02T15:04:05Z07:00\": {reason}")]
pub struct TimeParseError {
    /// The text that failed to parse.
    pub text: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// The civil (calendar) fields of a timestamp in its own offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
}

impl Timestamp {
    /// Builds a timestamp from calendar fields expressed in the given offset.
    pub fn from_civil(civil: Civil, nanos: u32, offset_seconds: i32) -> Self {
        let days = days_from_civil(civil.year, civil.month, civil.day);
        let local = days * 86_400
            + i64::from(civil.hour) * 3600
            + i64::from(civil.minute) * 60
            + i64::from(civil.second);
        Timestamp {
            unix_seconds: local - i64::from(offset_seconds),
            nanos,
            offset_seconds,
        }
    }

    /// The calendar fields in the timestamp's own offset.
    pub fn civil(&self) -> Civil {
        let local = self.unix_seconds + i64::from(self.offset_seconds);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    /// Parses RFC 3339 the way Go's `time.Parse(time.RFC3339, …)` does. Go tries a strict fast
    /// path first and falls back to its general layout parser, so what is accepted is the
    /// general parser's language: `T` and `Z` upper case, a one- or two-digit hour, a fraction
    /// of seconds after `.` or `,`, a UTC offset of up to `24:60`, and range-checked fields.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeParseError> {
        let fail = |reason| TimeParseError {
            text: text.to_owned(),
            reason,
        };
        let mut cursor = Cursor {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let year = cursor
            .number(4, false)
            .ok_or_else(|| fail("cannot parse year"))?;
        let month = cursor
            .after(b'-', 2)
            .ok_or_else(|| fail("cannot parse month"))?;
        let day = cursor
            .after(b'-', 2)
            .ok_or_else(|| fail("cannot parse day"))?;
        if !cursor.eat(b'T') {
            return Err(fail("cannot parse \"T\""));
        }
        let hour = cursor
            .number(2, true)
            .ok_or_else(|| fail("cannot parse hour"))?;
        let minute = cursor
            .after(b':', 2)
            .ok_or_else(|| fail("cannot parse minute"))?;
        let second = cursor
            .after(b':', 2)
            .ok_or_else(|| fail("cannot parse second"))?;
        if !(1..=12).contains(&month) {
            return Err(fail("month out of range"));
        }
        if hour > 23 {
            return Err(fail("hour out of range"));
        }
        if minute > 59 {
            return Err(fail("minute out of range"));
        }
        if second > 59 {
            return Err(fail("second out of range"));
        }
        let b = cursor.bytes;
        let mut pos = cursor.pos;
        let mut nanos = 0u32;
        if matches!(b.get(pos), Some(b'.' | b',')) && b.get(pos + 1).is_some_and(u8::is_ascii_digit)
        {
            pos += 1;
            let start = pos;
            while b.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            let fraction = &b[start..pos];
            for i in 0..9 {
                nanos = nanos * 10 + fraction.get(i).map_or(0, |d| u32::from(d - b'0'));
            }
        }
        cursor.pos = pos;
        let offset_seconds = match b.get(pos) {
            Some(b'Z') if pos + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if pos + 6 == b.len() => {
                cursor.pos += 1;
                let (Some(oh), Some(om)) = (cursor.number(2, false), cursor.after(b':', 2)) else {
                    return Err(fail("cannot parse time zone"));
                };
                // Go's range test uses `>`: "some people do write offsets of 24 hours or 60
                // minutes".
                if oh > 24 || om > 60 {
                    return Err(fail("time zone offset out of range"));
                }
                let magnitude = (oh * 3600 + om * 60) as i32;
                if sign == b'-' { -magnitude } else { magnitude }
            }
            _ => return Err(fail("cannot parse time zone")),
        };
        if day < 1 || day > days_in_month(i64::from(year), month) {
            return Err(fail("day out of range"));
        }
        let civil = Civil {
            year: i64::from(year),
            month,
            day,
            hour,
            minute,
            second,
        };
        Ok(Timestamp::from_civil(civil, nanos, offset_seconds))
    }

    /// Formats with Go's `time.RFC3339` layout (whole seconds).
    pub fn to_rfc3339(&self) -> String {
        self.format(false)
    }

    /// Formats with Go's `time.RFC3339Nano` layout (fraction with trailing zeros trimmed).
    pub fn to_rfc3339_nano(&self) -> String {
        self.format(true)
    }

    fn format(&self, with_fraction: bool) -> String {
        let c = self.civil();
        let mut out = String::with_capacity(35);
        if c.year < 0 {
            let _ = write!(out, "-{:04}", -c.year);
        } else {
            let _ = write!(out, "{:04}", c.year);
        }
        let _ = write!(
            out,
            "-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.month, c.day, c.hour, c.minute, c.second
        );
        if with_fraction && self.nanos != 0 {
            let fraction = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        if self.offset_seconds == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset_seconds < 0 { '-' } else { '+' };
            let minutes = self.offset_seconds.unsigned_abs() / 60;
            let _ = write!(out, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
        }
        out
    }
}

/// A position in a timestamp being parsed.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.bytes.get(self.pos) == Some(&byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Go's `getnum`: exactly `width` digits, or a single digit when `flexible` and the next
    /// character is not a digit (the hour).
    fn number(&mut self, width: usize, flexible: bool) -> Option<u32> {
        let digit = |i: usize| {
            self.bytes
                .get(i)
                .filter(|c| c.is_ascii_digit())
                .map(|c| u32::from(c - b'0'))
        };
        let mut n = digit(self.pos)?;
        let mut len = 1;
        while len < width {
            match digit(self.pos + len) {
                Some(d) => n = n * 10 + d,
                None if flexible && len == 1 => break,
                None => return None,
            }
            len += 1;
        }
        self.pos += len;
        Some(n)
    }

    /// A separator followed by a `width`-digit number.
    fn after(&mut self, separator: u8, width: usize) -> Option<u32> {
        if self.eat(separator) {
            self.number(width, false)
        } else {
            None
        }
    }
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in a month of a year.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339_with_offsets_and_fractions() {
        for text in [
            "2026-11-22T11:21:32Z",
            "2001-12-14T21:59:43.1-05:00",
            "2024-05-06T07:08:09+02:00",
            "1969-12-31T23:59:59.999999999Z",
            "0001-01-01T00:00:00Z",
        ] {
            let ts = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(ts.to_rfc3339_nano(), text);
        }
    }

    #[test]
    fn canonicalises_like_go() {
        let ts = Timestamp::parse_rfc3339("2026-11-22T11:21:32.123+00:00").unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-11-22T11:21:32Z");
        assert_eq!(ts.to_rfc3339_nano(), "2026-11-22T11:21:32.123Z");
        let ts = Timestamp::parse_rfc3339("2026-11-22T12:21:32+01:00").unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-11-22T12:21:32+01:00");
        // Go's general parser: a one-digit hour, a comma before the fraction, offsets up to
        // 24:60 (printed normalised).
        let ts = Timestamp::parse_rfc3339("2026-11-22T1:21:32,5Z").unwrap();
        assert_eq!(ts.to_rfc3339_nano(), "2026-11-22T01:21:32.5Z");
        let ts = Timestamp::parse_rfc3339("2026-11-22T11:21:32+24:00").unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-11-22T11:21:32+24:00");
        let ts = Timestamp::parse_rfc3339("2026-11-22T11:21:32-23:60").unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-11-22T11:21:32-24:00");
    }

    #[test]
    fn rejects_what_go_rejects() {
        for text in [
            "",
            "2026-11-22t11:21:32Z",
            "2026-11-22T11:21:32z",
            "2026-02-30T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T11:21:60Z",
            "2026-11-22T11:21:32",
            "2026-11-22 11:21:32Z",
            "2026-11-22T123:21:32Z",
            "2026-11-22T11:2:32Z",
            "2026-11-22T11:21:32+25:00",
            "2026-11-22T11:21:32+00:61",
            "2026-11-22T11:21:32+0000",
            "2026-11-22T11:21:32Zx",
        ] {
            assert!(Timestamp::parse_rfc3339(text).is_err(), "{text}");
        }
    }
}
