//! Schedule calendars in text: `CalendarSpec` strings and cron strings turned into
//! `StructuredCalendarSpec` ranges and `IntervalSpec`s, as the official server reads them.
//!
//! Not the workflow cron of `history::cron`: a schedule's calendar has seconds and years, day of
//! month AND day of week must both match (classic cron ORs them), names are prefixes of at least
//! three (months) or two (weekdays) letters, and a cron string may carry `TZ=`/`CRON_TZ=`, six or
//! seven fields and `@every <interval>/<phase>`.

use reprise::api::temporal::api::schedule::v1::{
    CalendarSpec, IntervalSpec, Range, StructuredCalendarSpec,
};
use std::time::Duration;

/// The earliest year a calendar matches.
pub(crate) const MIN_YEAR: i32 = 2000;
/// The latest year a calendar matches.
pub(crate) const MAX_YEAR: i32 = 2100;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

#[derive(Clone, Copy, PartialEq)]
enum Names {
    None,
    Month,
    Weekday,
}

fn value(text: &str, min: i32, max: i32, names: Names) -> Result<i32, String> {
    let lower = text.to_ascii_lowercase();
    let named = match names {
        Names::Month if lower.len() >= 3 => MONTHS
            .iter()
            .position(|m| m.starts_with(&lower))
            .map(|i| i as i32 + 1),
        Names::Weekday if lower.len() >= 2 => WEEKDAYS
            .iter()
            .position(|d| d.starts_with(&lower))
            .map(|i| i as i32),
        _ => None,
    };
    let v = match named {
        Some(v) => v,
        None => text
            .parse::<i32>()
            .map_err(|_| format!("invalid value {text:?}"))?,
    };
    if v < min || v > max {
        return Err(format!("{text:?} is out of range [{min}-{max}]"));
    }
    Ok(v)
}

/// Parses one calendar field (`*`, `x`, `x-z`, `x-z/y`, `x/y`, comma lists) into ranges;
/// empty text means `default`.
fn ranges(
    text: &str,
    default: &str,
    min: i32,
    max: i32,
    names: Names,
) -> Result<Vec<Range>, String> {
    let text = match text.trim() {
        "" => default,
        t => t,
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        let (part, step) = match part.split_once('/') {
            Some((p, s)) => {
                let step: i32 = s.parse().map_err(|_| format!("invalid step in {part:?}"))?;
                if step < 1 || s.contains('/') {
                    return Err(format!("malformed expression {part:?}"));
                }
                (p, Some(step))
            }
            None => (part, None),
        };
        let (start, end) = if part == "*" {
            // Every weekday is 0-6 (7 is only another name for Sunday).
            (min, if names == Names::Weekday { 6 } else { max })
        } else if let Some((a, b)) = part.split_once('-') {
            let a = value(a, min, max, names)?;
            (a, value(b, a, max, names)?)
        } else {
            let v = value(part, min, max, names)?;
            (v, if step.is_some() { max } else { v })
        };
        let step = step.unwrap_or(1);
        out.push(Range {
            start,
            end: if start == end { 0 } else { end },
            step: if step == 1 { 0 } else { step },
        });
    }
    Ok(out)
}

/// A `CalendarSpec` as structured ranges (hour, minute and second default to 0, the date
/// fields to every value).
pub(crate) fn structured(cal: &CalendarSpec) -> Result<StructuredCalendarSpec, String> {
    Ok(StructuredCalendarSpec {
        second: ranges(&cal.second, "0", 0, 59, Names::None)?,
        minute: ranges(&cal.minute, "0", 0, 59, Names::None)?,
        hour: ranges(&cal.hour, "0", 0, 23, Names::None)?,
        day_of_month: ranges(&cal.day_of_month, "*", 1, 31, Names::None)?,
        month: ranges(&cal.month, "*", 1, 12, Names::Month)?,
        // Every year is an empty list, as the official server writes it.
        year: match cal.year.trim() {
            "" | "*" => Vec::new(),
            text => ranges(text, "*", MIN_YEAR, MAX_YEAR, Names::None)?,
        },
        day_of_week: ranges(&cal.day_of_week, "*", 0, 7, Names::Weekday)?,
        comment: cal.comment.clone(),
    })
}

/// What one cron string stands for.
#[derive(Debug, PartialEq)]
pub(crate) struct Cron {
    /// A calendar (five, six or seven fields, or a shorthand).
    pub(crate) calendar: Option<StructuredCalendarSpec>,
    /// An `@every` interval.
    pub(crate) interval: Option<IntervalSpec>,
    /// The `TZ=`/`CRON_TZ=` prefix's zone ("" when absent).
    pub(crate) timezone: String,
}

/// Parses a cron string: `[CRON_TZ=zone ]fields`, `@daily` etc., `@every 1h[/15m]`.
pub(crate) fn cron(text: &str) -> Result<Cron, String> {
    let mut text = text.trim();
    let mut timezone = String::new();
    if text.starts_with("TZ=") || text.starts_with("CRON_TZ=") {
        let (tz, rest) = text
            .split_once(' ')
            .ok_or_else(|| format!("malformed cron string {text:?}"))?;
        timezone = tz
            .split_once('=')
            .map(|(_, z)| z)
            .unwrap_or_default()
            .into();
        text = rest.trim();
    }
    if let Some(every) = text.strip_prefix("@every") {
        let every = every.trim();
        if every.is_empty() {
            return Err(format!("malformed cron string {text:?}"));
        }
        let (interval, phase) = match every.split_once('/') {
            Some((i, p)) => (i, Some(p)),
            None => (every, None),
        };
        return Ok(Cron {
            calendar: None,
            interval: Some(IntervalSpec {
                interval: Some(pb_duration(duration(interval)?)),
                phase: phase.map(duration).transpose()?.map(pb_duration),
            }),
            timezone: String::new(),
        });
    }
    let text = match text {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => other,
    };
    let f: Vec<&str> = text.split_whitespace().collect();
    let s = |x: &str| x.to_string();
    let cal = match f.len() {
        5 => CalendarSpec {
            minute: s(f[0]),
            hour: s(f[1]),
            day_of_month: s(f[2]),
            month: s(f[3]),
            day_of_week: s(f[4]),
            ..Default::default()
        },
        6 => CalendarSpec {
            minute: s(f[0]),
            hour: s(f[1]),
            day_of_month: s(f[2]),
            month: s(f[3]),
            day_of_week: s(f[4]),
            year: s(f[5]),
            ..Default::default()
        },
        7 => CalendarSpec {
            second: s(f[0]),
            minute: s(f[1]),
            hour: s(f[2]),
            day_of_month: s(f[3]),
            month: s(f[4]),
            day_of_week: s(f[5]),
            year: s(f[6]),
            ..Default::default()
        },
        _ => return Err(format!("malformed cron string {text:?}")),
    };
    Ok(Cron {
        calendar: Some(structured(&cal)?),
        interval: None,
        timezone,
    })
}

fn pb_duration(d: Duration) -> reprise::api::google::protobuf::Duration {
    reprise::api::google::protobuf::Duration::from(d)
}

/// A duration as Go and the official server write them: `1h30m`, `90s`, `1.5h`, `500ms`, and
/// `d` for days.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..end].parse().map_err(|_| bad())?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: i32, end: i32, step: i32) -> Range {
        Range { start, end, step }
    }

    #[test]
    fn fields_and_names() {
        let cal = structured(&CalendarSpec {
            hour: "9-17/2".into(),
            day_of_week: "mon-fri".into(),
            month: "jan,Jul".into(),
            minute: "*/15".into(),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(cal.second, vec![r(0, 0, 0)]);
        assert_eq!(cal.minute, vec![r(0, 59, 15)]);
        assert_eq!(cal.hour, vec![r(9, 17, 2)]);
        assert_eq!(cal.day_of_week, vec![r(1, 5, 0)]);
        assert_eq!(cal.month, vec![r(1, 0, 0), r(7, 0, 0)]);
        assert_eq!(cal.year, vec![]);
        assert_eq!(cal.day_of_month, vec![r(1, 31, 0)]);
        for bad in ["60", "5-2", "*/0", "x", "1/2/3"] {
            let spec = CalendarSpec {
                minute: bad.into(),
                ..Default::default()
            };
            assert!(structured(&spec).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_strings() {
        let c = cron("CRON_TZ=America/New_York 30 9 * * 1-5").expect("valid");
        assert_eq!(c.timezone, "America/New_York");
        let cal = c.calendar.expect("calendar");
        assert_eq!((cal.minute[0].start, cal.hour[0].start), (30, 9));
        let c = cron("@every 14h/3h").expect("valid");
        let iv = c.interval.expect("interval");
        assert_eq!(iv.interval.map(|d| d.seconds), Some(14 * 3600));
        assert_eq!(iv.phase.map(|d| d.seconds), Some(3 * 3600));
        let c = cron("15 0 0 1 1 * 2030").expect("seven fields");
        assert_eq!(c.calendar.expect("calendar").second[0].start, 15);
        assert!(cron("@daily").expect("shorthand").calendar.is_some());
        assert!(cron("* * *").is_err());
        assert!(cron("TZ=UTC").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(duration("5x").is_err());
        assert!(duration("").is_err());
    }
}
