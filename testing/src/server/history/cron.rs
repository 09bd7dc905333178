//! Cron schedules of workflows: the standard five fields (minute, hour, day of month, month, day
//! of week) with `*`, lists, ranges and steps, month and weekday names, the `@yearly`,
//! `@monthly`, `@weekly`, `@daily`, `@hourly` shorthands and `@every <duration>`; times in UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A parsed cron schedule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Schedule {
    /// Five fields; each a 64-bit set of allowed values.
    Fields {
        minutes: u64,
        hours: u64,
        days: u64,
        months: u64,
        weekdays: u64,
        /// Both day fields restricted: a day matches if either does (cron's rule).
        day_or: bool,
    },
    /// `@every 90s` etc.: fixed intervals counted from the epoch.
    Every(Duration),
}

fn names(field: usize) -> &'static [&'static str] {
    match field {
        3 => &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        4 => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        _ => &[],
    }
}

fn value(text: &str, field: usize, min: u32) -> Result<u32, String> {
    if let Ok(n) = text.parse::<u32>() {
        return Ok(n);
    }
    names(field)
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
        .map(|i| i as u32 + min)
        .ok_or_else(|| format!("{text:?} is not a valid value"))
}

fn field(text: &str, field: usize, min: u32, max: u32) -> Result<u64, String> {
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| format!("bad step in {part:?}"))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {part:?}"));
        }
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field, min)?, value(b, field, min)?)
        } else {
            let v = value(range, field, min)?;
            (v, if part.contains('/') { max } else { v })
        };
        // Sunday may be written 7.
        let (low, high) = if field == 4 {
            (low, high.min(7))
        } else {
            (low, high)
        };
        if low < min || high > max.max(if field == 4 { 7 } else { max }) || low > high {
            return Err(format!("{part:?} is out of range {min}-{max}"));
        }
        let mut v = low;
        while v <= high {
            set |= 1 << (if field == 4 { v % 7 } else { v });
            v += step;
        }
    }
    Ok(set)
}

fn parse_every(text: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .map_err(|_| format!("bad duration {text:?}"))?;
        number.clear();
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("bad duration unit {c:?} in {text:?}")),
        };
        // Hostile sizes are refused, not overflowed (found by generated inputs).
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(Duration::from_secs(secs)))
            .ok_or_else(|| format!("duration {text:?} is too long"))?;
    }
    if !number.is_empty() || total.is_zero() {
        return Err(format!("bad duration {text:?} (use e.g. 90s, 15m, 1h30m)"));
    }
    Ok(total)
}

/// Parses a cron schedule.
pub(crate) fn parse(text: &str) -> Result<Schedule, String> {
    let text = text.trim();
    let expanded = match text {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => {
            if let Some(every) = other.strip_prefix("@every ") {
                return parse_every(every.trim()).map(Schedule::Every);
            }
            other
        }
    };
    let parts: Vec<&str> = expanded.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(format!("{text:?} does not have five fields"));
    }
    Ok(Schedule::Fields {
        minutes: field(parts[0], 0, 0, 59)?,
        hours: field(parts[1], 1, 0, 23)?,
        days: field(parts[2], 2, 1, 31)?,
        months: field(parts[3], 3, 1, 12)?,
        weekdays: field(parts[4], 4, 0, 6)?,
        day_or: parts[2] != "*" && parts[4] != "*",
    })
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Schedule {
    /// The first scheduled time strictly after `after`, within about five years.
    pub(crate) fn next(&self, after: SystemTime) -> Option<SystemTime> {
        let secs = after.duration_since(UNIX_EPOCH).ok()?.as_secs();
        match self {
            Schedule::Every(every) => {
                let step = every.as_secs().max(1);
                // Checked: a huge interval or a far-future `after` has no next time (found by
                // generated inputs: these overflowed and panicked).
                let next = (secs / step).checked_add(1)?.checked_mul(step)?;
                UNIX_EPOCH.checked_add(Duration::from_secs(next))
            }
            Schedule::Fields {
                minutes,
                hours,
                days,
                months,
                weekdays,
                day_or,
            } => {
                let has = |set: u64, v: u32| set & (1 << v) != 0;
                let mut minute = secs / 60 + 1;
                let limit = minute.saturating_add(5 * 366 * 24 * 60);
                while minute < limit {
                    let day = (minute / 1440) as i64;
                    let (_, month, dom) = civil(day);
                    let weekday = (day + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
                    let day_ok = if *day_or {
                        has(*days, dom) || has(*weekdays, weekday)
                    } else {
                        has(*days, dom) && has(*weekdays, weekday)
                    };
                    if !has(*months, month) || !day_ok {
                        minute = (minute / 1440 + 1) * 1440;
                        continue;
                    }
                    let hour = ((minute / 60) % 24) as u32;
                    if !has(*hours, hour) {
                        minute = (minute / 60 + 1) * 60;
                        continue;
                    }
                    if has(*minutes, (minute % 60) as u32) {
                        return UNIX_EPOCH
                            .checked_add(Duration::from_secs(minute.checked_mul(60)?));
                    }
                    minute += 1;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn next_times() {
        // 2026-11-22T03:40:00Z is 1_795_318_800.
        let now = at(1_795_318_800);
        let every_5 = parse("*/5 * * * *").expect("parse");
        assert_eq!(every_5.next(now), Some(at(1_795_318_800 + 300)));
        let daily = parse("@daily").expect("parse");
        assert_eq!(daily.next(now), Some(at(1_795_392_000))); // 2026-11-23T00:00:00Z
        let mondays = parse("30 9 * * mon").expect("parse");
        // 2026-11-22 is a Sunday: next Monday 09:30.
        assert_eq!(
            mondays.next(now),
            Some(at(1_795_392_000 + 9 * 3600 + 30 * 60))
        );
        let every = parse("@every 90s").expect("parse");
        assert_eq!(every.next(at(0)), Some(at(90)));
        let leap = parse("0 0 29 2 *").expect("parse");
        assert!(leap.next(now).is_some(), "Feb 29 within five years");
        for bad in [
            "",
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "@every",
            "@every 5x",
            "x * * * *",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
