use super::*;
use reprise::api::temporal::api::schedule::v1::CalendarSpec;

fn t(rfc3339: &str) -> SystemTime {
    let ts: jiff::Timestamp = rfc3339.parse().expect("timestamp");
    at(ts.as_second())
}

fn show(time: SystemTime) -> String {
    jiff::Timestamp::from_second(secs(time))
        .expect("in range")
        .to_string()
}

fn times(spec: &ScheduleSpec, from: &str, n: usize) -> Vec<String> {
    let compiled = CompiledSpec::new(spec).expect("valid spec");
    let mut after = t(from);
    let mut out = Vec::new();
    while out.len() < n {
        let Some(next) = compiled.next("seed", after) else {
            break;
        };
        out.push(show(next.actual));
        after = next.actual;
    }
    out
}

fn every(secs: i64, phase: i64) -> IntervalSpec {
    IntervalSpec {
        interval: Some(reprise::api::google::protobuf::Duration {
            seconds: secs,
            nanos: 0,
        }),
        phase: (phase > 0).then_some(reprise::api::google::protobuf::Duration {
            seconds: phase,
            nanos: 0,
        }),
    }
}

#[test]
fn interval_with_phase() {
    let spec = ScheduleSpec {
        interval: vec![every(3600, 15 * 60)],
        ..Default::default()
    };
    assert_eq!(
        times(&spec, "2026-03-01T10:20:00Z", 2),
        ["2026-03-01T11:15:00Z", "2026-03-01T12:15:00Z"]
    );
}

#[test]
fn calendar_day_of_month_and_weekday_both_match() {
    // Friday the 13th at noon (cron would OR the two day fields).
    let spec = ScheduleSpec {
        calendar: vec![CalendarSpec {
            hour: "12".into(),
            day_of_month: "13".into(),
            day_of_week: "fri".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        times(&spec, "2026-01-01T00:00:00Z", 2),
        ["2026-02-13T12:00:00Z", "2026-03-13T12:00:00Z"]
    );
}

#[test]
fn time_zone_and_dst() {
    let spec = ScheduleSpec {
        cron_string: vec!["CRON_TZ=America/New_York 30 2 * * *".into()],
        ..Default::default()
    };
    // 2026-03-08: clocks jump from 02:00 to 03:00 in New York, so 02:30 does not happen.
    assert_eq!(
        times(&spec, "2026-03-06T12:00:00Z", 3),
        [
            "2026-03-07T07:30:00Z",
            "2026-03-09T06:30:00Z",
            "2026-03-10T06:30:00Z"
        ]
    );
    let canonical = canonicalize(&spec).expect("valid");
    assert_eq!(canonical.timezone_name, "America/New_York");
    assert!(canonical.cron_string.is_empty());
    assert_eq!(canonical.structured_calendar.len(), 1);
    // 2026-11-01: 01:00-02:00 happens twice; 01:30 fires in both.
    let fold = ScheduleSpec {
        calendar: vec![CalendarSpec {
            hour: "1".into(),
            minute: "30".into(),
            ..Default::default()
        }],
        timezone_name: "America/New_York".into(),
        ..Default::default()
    };
    assert_eq!(
        times(&fold, "2026-11-01T00:00:00Z", 3),
        [
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-02T06:30:00Z"
        ]
    );
    let bad = ScheduleSpec {
        timezone_name: "Mars/Olympus".into(),
        ..Default::default()
    };
    assert!(CompiledSpec::new(&bad).is_err());
}

#[test]
fn exclusions_and_bounds() {
    let spec = ScheduleSpec {
        cron_string: vec!["0 * * * *".into()],
        exclude_structured_calendar: vec![StructuredCalendarSpec {
            hour: vec![Range {
                start: 12,
                end: 13,
                step: 1,
            }],
            minute: vec![Range {
                start: 0,
                end: 59,
                step: 1,
            }],
            second: vec![Range {
                start: 0,
                end: 59,
                step: 1,
            }],
            day_of_month: vec![Range {
                start: 1,
                end: 31,
                step: 1,
            }],
            month: vec![Range {
                start: 1,
                end: 12,
                step: 1,
            }],
            year: vec![Range {
                start: 2000,
                end: 2100,
                step: 1,
            }],
            day_of_week: vec![Range {
                start: 0,
                end: 6,
                step: 1,
            }],
            comment: String::new(),
        }],
        start_time: Some(t("2026-05-01T11:00:00Z").into()),
        end_time: Some(t("2026-05-01T15:00:00Z").into()),
        ..Default::default()
    };
    assert_eq!(
        times(&spec, "2026-01-01T00:00:00Z", 10),
        [
            "2026-05-01T11:00:00Z",
            "2026-05-01T14:00:00Z",
            "2026-05-01T15:00:00Z"
        ]
    );
}

#[test]
fn jitter_is_bounded_and_stable() {
    let spec = ScheduleSpec {
        interval: vec![every(60, 0)],
        jitter: Some(reprise::api::google::protobuf::Duration {
            seconds: 3600,
            nanos: 0,
        }),
        ..Default::default()
    };
    let compiled = CompiledSpec::new(&spec).expect("valid");
    let mut after = t("2026-01-01T00:00:00Z");
    let mut delayed = 0;
    for _ in 0..100 {
        let next = compiled.next("a", after).expect("next");
        let delay = next
            .actual
            .duration_since(next.nominal)
            .expect("after nominal");
        // Capped by the 60 s to the following time, not the hour of jitter.
        assert!(delay < Duration::from_secs(60), "{delay:?}");
        delayed += usize::from(delay > Duration::ZERO);
        assert_eq!(compiled.next("a", after), Some(next), "deterministic");
        after = next.actual;
    }
    assert!(delayed > 90, "jitter applied: {delayed}");
}

#[test]
fn invalid_specs() {
    for spec in [
        ScheduleSpec {
            interval: vec![every(0, 0)],
            ..Default::default()
        },
        ScheduleSpec {
            interval: vec![every(60, 60)],
            ..Default::default()
        },
        ScheduleSpec {
            cron_string: vec!["CRON_TZ=UTC 0 * * * *".into(), "0 * * * *".into()],
            ..Default::default()
        },
        ScheduleSpec {
            structured_calendar: vec![StructuredCalendarSpec {
                hour: vec![Range {
                    start: 25,
                    end: 0,
                    step: 0,
                }],
                ..Default::default()
            }],
            ..Default::default()
        },
    ] {
        assert!(CompiledSpec::new(&spec).is_err(), "{spec:?}");
    }
}
