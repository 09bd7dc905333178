//! A schedule's spec, compiled: when does it fire after a given time. Pure: no clock, no server.
//!
//! As the official server: calendars (structured, text and cron) and intervals all contribute
//! times, the earliest wins; times are whole seconds; exclusion calendars remove times; the
//! start and end times bound the range; jitter delays each time by a deterministic amount
//! (hash of the time and the schedule) below both the jitter and the gap to the following time;
//! calendars are read in the spec's IANA time zone (UTC by default), times that a DST gap skips
//! do not happen and times that a DST fold repeats happen twice.

use super::calendar::{self, MAX_YEAR, MIN_YEAR};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use reprise::api::temporal::api::schedule::v1::{
    IntervalSpec, Range, ScheduleSpec, StructuredCalendarSpec,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One matching time: `nominal` as the spec says, `actual` with jitter added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Next {
    pub(crate) nominal: SystemTime,
    pub(crate) actual: SystemTime,
}

/// A spec ready to compute times.
#[derive(Debug, Clone)]
pub(crate) struct CompiledSpec {
    canonical: ScheduleSpec,
    tz: TimeZone,
    calendars: Vec<Calendar>,
    excludes: Vec<Calendar>,
    intervals: Vec<(i64, i64)>,
    start: Option<i64>,
    end: Option<i64>,
    jitter: Duration,
}

fn secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

fn at(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

fn pb_time(t: Option<&reprise::api::google::protobuf::Timestamp>) -> Option<i64> {
    t.map(|t| t.seconds)
}

fn pb_secs(d: Option<&reprise::api::google::protobuf::Duration>) -> i64 {
    d.map(|d| d.seconds).unwrap_or(0)
}

/// The spec as the official server keeps it: text calendars and cron strings turned into
/// structured calendars and intervals (a cron string's zone moved to `timezone_name`), ranges
/// with their end and step filled in. Errors say what is invalid.
pub(crate) fn canonicalize(spec: &ScheduleSpec) -> Result<ScheduleSpec, String> {
    let mut out = spec.clone();
    for cal in std::mem::take(&mut out.calendar) {
        out.structured_calendar.push(calendar::structured(&cal)?);
    }
    #[allow(deprecated)]
    for cal in std::mem::take(&mut out.exclude_calendar) {
        out.exclude_structured_calendar
            .push(calendar::structured(&cal)?);
    }
    let mut cron_tz: Option<String> = None;
    for text in std::mem::take(&mut out.cron_string) {
        let cron = calendar::cron(&text)?;
        if cron_tz.as_ref().is_some_and(|tz| *tz != cron.timezone) {
            return Err("conflicting timezone names".into());
        }
        cron_tz = Some(cron.timezone);
        out.structured_calendar.extend(cron.calendar);
        out.interval.extend(cron.interval);
    }
    if let Some(tz) = cron_tz.filter(|tz| !tz.is_empty()) {
        if (!out.timezone_name.is_empty() && out.timezone_name != tz)
            || !out.timezone_data.is_empty()
        {
            return Err("conflicting timezone names".into());
        }
        out.timezone_name = tz;
    }
    for cal in out
        .structured_calendar
        .iter_mut()
        .chain(out.exclude_structured_calendar.iter_mut())
    {
        validate(cal)?;
        clean(cal);
    }
    for iv in &out.interval {
        validate_interval(iv)?;
    }
    Ok(out)
}

fn validate(cal: &StructuredCalendarSpec) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut check = |ranges: &[Range], field: &str, min: i32, max: i32| {
        for r in ranges {
            if r.start < min || r.start > max {
                errors.push(format!("{field} Start is not in range [{min}-{max}]"));
            }
            if r.end != 0 && (r.end < r.start || r.end > max) {
                errors.push(format!(
                    "{field} End is before Start or not in range [{min}-{max}]"
                ));
            }
            if r.step < 0 {
                errors.push(format!("{field} has invalid Step"));
            }
        }
    };
    check(&cal.second, "Second", 0, 59);
    check(&cal.minute, "Minute", 0, 59);
    check(&cal.hour, "Hour", 0, 23);
    check(&cal.day_of_month, "DayOfMonth", 1, 31);
    check(&cal.month, "Month", 1, 12);
    check(&cal.year, "Year", MIN_YEAR, MAX_YEAR);
    check(&cal.day_of_week, "DayOfWeek", 0, 7);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid calendar spec: {}", errors.join(", ")))
    }
}

fn clean(cal: &mut StructuredCalendarSpec) {
    for ranges in [
        &mut cal.second,
        &mut cal.minute,
        &mut cal.hour,
        &mut cal.day_of_month,
        &mut cal.month,
        &mut cal.year,
        &mut cal.day_of_week,
    ] {
        for r in ranges.iter_mut() {
            r.end = r.end.max(r.start);
            if r.step == 0 {
                r.step = 1;
            }
        }
    }
}

fn validate_interval(iv: &IntervalSpec) -> Result<(), String> {
    let every = iv
        .interval
        .as_ref()
        .map(|d| d.seconds as f64 + f64::from(d.nanos) / 1e9)
        .unwrap_or(0.0);
    let phase = iv
        .phase
        .as_ref()
        .map(|d| d.seconds as f64 + f64::from(d.nanos) / 1e9)
        .unwrap_or(0.0);
    if every < 1.0 {
        Err("interval is too small".into())
    } else if phase < 0.0 {
        Err("phase is negative".into())
    } else if phase >= every {
        Err("phase cannot be greater than Interval".into())
    } else {
        Ok(())
    }
}

/// The set of values of one field.
#[derive(Debug, Clone, Copy)]
struct Bits(u128);

impl Bits {
    fn of(ranges: &[Range], offset: i32) -> Bits {
        let mut bits = 0u128;
        for r in ranges {
            let step = r.step.max(1);
            let end = r.end.max(r.start);
            let mut v = r.start;
            while v <= end {
                if let Ok(i) = u32::try_from(v - offset)
                    && i < 128
                {
                    bits |= 1 << i;
                }
                v += step;
            }
        }
        Bits(bits)
    }

    fn has(self, v: i32, offset: i32) -> bool {
        u32::try_from(v - offset).is_ok_and(|i| i < 128 && self.0 & (1 << i) != 0)
    }
}

/// A structured calendar, compiled.
#[derive(Debug, Clone)]
struct Calendar {
    second: Bits,
    minute: Bits,
    hour: Bits,
    day: Bits,
    month: Bits,
    weekday: Bits,
    year: Bits,
}

fn days_from_civil(y: i32, m: i32, d: i32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i32, m: i32) -> i32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A civil time: year, month, day, hour, minute, second.
type Civil = [i32; 6];

impl Calendar {
    fn new(cal: &StructuredCalendarSpec) -> Calendar {
        // An empty field means its default: every date, and second, minute and hour 0.
        let or = |ranges: &[Range], start: i32, end: i32| -> Vec<Range> {
            if ranges.is_empty() {
                vec![Range {
                    start,
                    end,
                    step: 1,
                }]
            } else {
                ranges.to_vec()
            }
        };
        let cal = &StructuredCalendarSpec {
            second: or(&cal.second, 0, 0),
            minute: or(&cal.minute, 0, 0),
            hour: or(&cal.hour, 0, 0),
            day_of_month: or(&cal.day_of_month, 1, 31),
            month: or(&cal.month, 1, 12),
            year: or(&cal.year, MIN_YEAR, MAX_YEAR),
            day_of_week: or(&cal.day_of_week, 0, 6),
            comment: String::new(),
        };
        let mut weekday = Bits::of(&cal.day_of_week, 0);
        if weekday.has(7, 0) {
            weekday.0 |= 1; // 7 is Sunday too
        }
        Calendar {
            second: Bits::of(&cal.second, 0),
            minute: Bits::of(&cal.minute, 0),
            hour: Bits::of(&cal.hour, 0),
            day: Bits::of(&cal.day_of_month, 0),
            month: Bits::of(&cal.month, 0),
            weekday,
            year: Bits::of(&cal.year, MIN_YEAR),
        }
    }

    fn matches(&self, c: Civil) -> bool {
        let weekday = (days_from_civil(c[0], c[1], c[2]) + 4).rem_euclid(7) as i32;
        self.year.has(c[0], MIN_YEAR)
            && self.month.has(c[1], 0)
            && self.day.has(c[2], 0)
            && self.weekday.has(weekday, 0)
            && self.hour.has(c[3], 0)
            && self.minute.has(c[4], 0)
            && self.second.has(c[5], 0)
    }

    /// The first civil time at or after `c` that matches.
    fn next_civil(&self, c: Civil) -> Option<Civil> {
        let [mut y, mut mo, mut d, mut h, mut mi, mut s] = c;
        if y < MIN_YEAR {
            [y, mo, d, h, mi, s] = [MIN_YEAR, 1, 1, 0, 0, 0];
        }
        loop {
            if s >= 60 {
                (mi, s) = (mi + 1, 0);
            }
            if mi >= 60 {
                (h, mi) = (h + 1, 0);
            }
            if h >= 24 {
                (d, h) = (d + 1, 0);
            }
            if d > days_in_month(y, mo) {
                (mo, d) = (mo + 1, 1);
            }
            if mo > 12 {
                (y, mo) = (y + 1, 1);
            }
            if y > MAX_YEAR {
                return None;
            }
            let weekday = (days_from_civil(y, mo, d) + 4).rem_euclid(7) as i32;
            if !self.year.has(y, MIN_YEAR) {
                [y, mo, d, h, mi, s] = [y + 1, 1, 1, 0, 0, 0];
            } else if !self.month.has(mo, 0) {
                [mo, d, h, mi, s] = [mo + 1, 1, 0, 0, 0];
            } else if !self.day.has(d, 0) || !self.weekday.has(weekday, 0) {
                [d, h, mi, s] = [d + 1, 0, 0, 0];
            } else if !self.hour.has(h, 0) {
                [h, mi, s] = [h + 1, 0, 0];
            } else if !self.minute.has(mi, 0) {
                [mi, s] = [mi + 1, 0];
            } else if !self.second.has(s, 0) {
                s += 1;
            } else {
                return Some([y, mo, d, h, mi, s]);
            }
        }
    }
}

fn civil_of(tz: &TimeZone, secs: i64) -> Option<Civil> {
    let ts = jiff::Timestamp::from_second(secs).ok()?;
    let dt = tz.to_datetime(ts);
    Some([
        i32::from(dt.year()),
        i32::from(dt.month()),
        i32::from(dt.day()),
        i32::from(dt.hour()),
        i32::from(dt.minute()),
        i32::from(dt.second()),
    ])
}

/// The instants a civil time stands for: none in a DST gap, two in a fold.
fn instants(tz: &TimeZone, c: Civil) -> Vec<i64> {
    let Ok(dt) = DateTime::new(
        c[0] as i16,
        c[1] as i8,
        c[2] as i8,
        c[3] as i8,
        c[4] as i8,
        c[5] as i8,
        0,
    ) else {
        return Vec::new();
    };
    let to = |offset: jiff::tz::Offset| offset.to_timestamp(dt).ok().map(|t| t.as_second());
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => to(offset).into_iter().collect(),
        AmbiguousOffset::Gap { .. } => Vec::new(),
        AmbiguousOffset::Fold { before, after } => {
            to(before).into_iter().chain(to(after)).collect()
        }
    }
}

fn add_second(c: Civil) -> Civil {
    let [y, mo, d, h, mi, s] = c;
    let mut n = [y, mo, d, h, mi, s + 1];
    if n[5] >= 60 {
        n[5] = 0;
        n[4] += 1;
    }
    if n[4] >= 60 {
        n[4] = 0;
        n[3] += 1;
    }
    if n[3] >= 24 {
        n[3] = 0;
        n[2] += 1;
    }
    if n[2] > days_in_month(n[0], n[1]) {
        n[2] = 1;
        n[1] += 1;
    }
    if n[1] > 12 {
        n[1] = 1;
        n[0] += 1;
    }
    n
}

impl CompiledSpec {
    /// Compiles a spec (canonicalizing it first).
    pub(crate) fn new(spec: &ScheduleSpec) -> Result<CompiledSpec, String> {
        let canonical = canonicalize(spec)?;
        let tz = match canonical.timezone_name.as_str() {
            "" | "UTC" => TimeZone::UTC,
            name if !canonical.timezone_data.is_empty() => {
                TimeZone::tzif(name, &canonical.timezone_data)
                    .map_err(|e| format!("invalid time zone data for {name:?}: {e}"))?
            }
            name => TimeZone::get(name).map_err(|e| format!("unknown time zone {name:?}: {e}"))?,
        };
        Ok(CompiledSpec {
            calendars: canonical
                .structured_calendar
                .iter()
                .map(Calendar::new)
                .collect(),
            excludes: canonical
                .exclude_structured_calendar
                .iter()
                .map(Calendar::new)
                .collect(),
            intervals: canonical
                .interval
                .iter()
                .map(|iv| {
                    (
                        pb_secs(iv.interval.as_ref()).max(1),
                        pb_secs(iv.phase.as_ref()).max(0),
                    )
                })
                .collect(),
            start: pb_time(canonical.start_time.as_ref()),
            end: pb_time(canonical.end_time.as_ref()),
            jitter: canonical
                .jitter
                .and_then(|d| Duration::try_from(d).ok())
                .unwrap_or_default(),
            canonical,
            tz,
        })
    }

    /// The canonical spec (what describe shows).
    pub(crate) fn canonical(&self) -> &ScheduleSpec {
        &self.canonical
    }

    fn calendar_next(&self, cal: &Calendar, after: i64) -> Option<i64> {
        // Start an hour early in civil time: a DST fold repeats an hour, and its second copy
        // comes after `after` although its civil time is before.
        let mut c = cal.next_civil(civil_of(&self.tz, after.checked_sub(3600)?)?)?;
        loop {
            if let Some(t) = instants(&self.tz, c).into_iter().find(|t| *t > after) {
                return Some(t);
            }
            c = cal.next_civil(add_second(c))?;
        }
    }

    /// The first matching second after `after` (no exclusions, bounds or jitter).
    fn raw_next(&self, after: i64) -> Option<i64> {
        let calendars = self
            .calendars
            .iter()
            .filter_map(|cal| self.calendar_next(cal, after));
        let intervals = self
            .intervals
            .iter()
            .map(|(every, phase)| ((after - phase).div_euclid(*every) + 1) * every + phase);
        calendars.chain(intervals).min()
    }

    fn excluded(&self, t: i64) -> bool {
        civil_of(&self.tz, t).is_some_and(|c| self.excludes.iter().any(|x| x.matches(c)))
    }

    /// The first time after `after` (nominal and with jitter), or `None` when the spec has no
    /// more. `seed` makes jitter differ between schedules.
    pub(crate) fn next(&self, seed: &str, after: SystemTime) -> Option<Next> {
        let mut after = secs(after);
        if let Some(start) = self.start
            && after < start
        {
            after = start - 1;
        }
        let nominal = loop {
            let t = self.raw_next(after)?;
            if self.end.is_some_and(|end| t > end) {
                return None;
            }
            if !self.excluded(t) {
                break t;
            }
            after = t;
        };
        let mut max_jitter = self.jitter;
        if let Some(following) = self.raw_next(nominal) {
            max_jitter = max_jitter.min(Duration::from_secs((following - nominal) as u64));
        }
        Some(Next {
            nominal: at(nominal),
            actual: at(nominal) + jitter(seed, nominal, max_jitter),
        })
    }
}

/// A deterministic delay below `max` for the time `nominal` of the schedule `seed`.
fn jitter(seed: &str, nominal: i64, max: Duration) -> Duration {
    // FNV-1a over the time and the seed: the official server hashes the same inputs (with a
    // different hash), so each time of each schedule gets its own stable delay.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in nominal.to_be_bytes().iter().chain(seed.as_bytes()) {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let ms = u64::try_from(max.as_millis())
        .unwrap_or(u64::MAX)
        .min(u64::from(u32::MAX));
    Duration::from_millis((u64::from(hash) * ms) >> 32)
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
