//! Hand-written pieces of the well-known types: proto3-JSON forms of `Timestamp` and `Duration`
//! exactly as Go's `protojson` (the CLI and the Web UI) writes them, and conversions to and from
//! `std::time`. Written here rather than taken from a WKT crate so that the output is canonical
//! (`Z`, fractional digits in groups of three) and chrono stays out of the dependency tree.

use crate::google::protobuf::{Duration, Timestamp};
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

/// A timestamp or duration string that is not valid proto3 JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    what: &'static str,
    input: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {:?}", self.what, self.input)
    }
}

impl std::error::Error for TimestampError {}

fn err(what: &'static str, input: &str) -> TimestampError {
    TimestampError {
        what,
        input: input.chars().take(64).collect(),
    }
}

// Days from 1970-01-01 to the civil date, and back (Howard Hinnant's algorithms).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Appends `nanos` as `.ddd`, `.dddddd` or `.ddddddddd` (nothing when zero), as protojson does.
fn write_fraction(out: &mut String, nanos: u32) {
    if nanos == 0 {
        return;
    }
    if nanos % 1_000_000 == 0 {
        let _ = write!(out, ".{:03}", nanos / 1_000_000);
    } else if nanos % 1_000 == 0 {
        let _ = write!(out, ".{:06}", nanos / 1_000);
    } else {
        let _ = write!(out, ".{nanos:09}");
    }
}

/// Parses `.d{1,9}` digits into nanoseconds.
fn parse_fraction(digits: &str) -> Option<i32> {
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i32 = digits.parse().ok()?;
    Some(value * 10_i32.pow(9 - digits.len() as u32))
}

impl Timestamp {
    /// Canonical RFC 3339 text in UTC, e.g. `2026-11-22T00:46:17.663702304Z`.
    pub fn to_rfc3339(&self) -> String {
        let nanos = self.nanos.clamp(0, 999_999_999) as u32;
        let days = self.seconds.div_euclid(86_400);
        let secs_of_day = self.seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut out = String::with_capacity(30);
        let _ = write!(
            out,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        );
        write_fraction(&mut out, nanos);
        out.push('Z');
        out
    }

    /// Parses RFC 3339 text (`Z` or a numeric offset, 0 to 9 fractional digits).
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let e = || err("timestamp", text);
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(e());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let s = text.get(range).ok_or_else(e)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(e());
            }
            s.parse::<i64>().map_err(|_| e())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(e());
        }
        let mut rest = &text[19..];
        let mut nanos = 0;
        if let Some(frac) = rest.strip_prefix('.') {
            let end = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            nanos = parse_fraction(&frac[..end]).ok_or_else(e)?;
            rest = &frac[end..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let ob = rest.as_bytes();
                if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
                    return Err(e());
                }
                let oh: i64 = rest[1..3].parse().map_err(|_| e())?;
                let om: i64 = rest[4..6].parse().map_err(|_| e())?;
                let sign = if ob[0] == b'-' { -1 } else { 1 };
                sign * (oh * 3600 + om * 60)
            }
        };
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
                - offset;
        Ok(Timestamp { seconds, nanos })
    }

    /// The time as a `SystemTime` (times before 1970 are supported).
    pub fn to_system_time(&self) -> SystemTime {
        let nanos = self.nanos.clamp(0, 999_999_999) as u32;
        if self.seconds >= 0 {
            UNIX_EPOCH + std::time::Duration::new(self.seconds as u64, nanos)
        } else {
            UNIX_EPOCH - std::time::Duration::new(self.seconds.unsigned_abs(), 0)
                + std::time::Duration::new(0, nanos)
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp {
                seconds: d.as_secs() as i64,
                nanos: d.subsec_nanos() as i32,
            },
            Err(before) => {
                let d = before.duration();
                let mut seconds = -(d.as_secs() as i64);
                let mut nanos = -(d.subsec_nanos() as i32);
                if nanos < 0 {
                    seconds -= 1;
                    nanos += 1_000_000_000;
                }
                Timestamp { seconds, nanos }
            }
        }
    }
}

impl Duration {
    /// Canonical proto3-JSON text: seconds with an `s` suffix, e.g. `"10s"`, `"0.100s"`.
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(12);
        if self.seconds < 0 || self.nanos < 0 {
            out.push('-');
        }
        let _ = write!(out, "{}", self.seconds.unsigned_abs());
        write_fraction(&mut out, self.nanos.unsigned_abs());
        out.push('s');
        out
    }

    /// Parses proto3-JSON duration text (`"1.5s"`, `"-3s"`).
    pub fn parse_json(text: &str) -> Result<Self, TimestampError> {
        let e = || err("duration", text);
        let body = text.strip_suffix('s').ok_or_else(e)?;
        let (negative, body) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (body, None),
        };
        if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) {
            return Err(e());
        }
        let seconds: i64 = whole.parse().map_err(|_| e())?;
        let nanos = match frac {
            Some(f) => parse_fraction(f).ok_or_else(e)?,
            None => 0,
        };
        Ok(if negative {
            Duration {
                seconds: -seconds,
                nanos: -nanos,
            }
        } else {
            Duration { seconds, nanos }
        })
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }
}

impl TryFrom<Duration> for std::time::Duration {
    type Error = TimestampError;
    fn try_from(d: Duration) -> Result<Self, Self::Error> {
        if d.seconds < 0 || d.nanos < 0 {
            return Err(err("non-negative duration", &d.to_json_string()));
        }
        Ok(std::time::Duration::new(
            d.seconds as u64,
            d.nanos.min(999_999_999) as u32,
        ))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_json_string())
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        Duration::parse_json(&text).map_err(serde::de::Error::custom)
    }
}

/// Payloads print their encoding and, when it is short UTF-8 text, their data: far more useful in
/// logs and test failures than a list of byte values.
impl fmt::Debug for crate::temporal::api::common::v1::Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoding = self
            .metadata
            .get("encoding")
            .map(|e| String::from_utf8_lossy(e));
        let mut s = f.debug_struct("Payload");
        s.field("encoding", &encoding);
        match std::str::from_utf8(&self.data) {
            Ok(text) if text.len() <= 256 => s.field("data", &text),
            _ => s.field("data_len", &self.data.len()),
        };
        s.finish()
    }
}
