//! What a schedule is made of: when ([`ScheduleSpec`]), what ([`ScheduleAction`]), and how
//! ([`ScheduleOptions`]: overlap policy, catch-up window, pause, limits, memo).

use super::options::WorkflowOptions;
use crate::api::google::protobuf::Timestamp;
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::ScheduleOverlapPolicy;
use crate::api::temporal::api::schedule::v1 as pb;
use crate::converter::ToPayloads;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A calendar: each field is a list of values, ranges and steps as in cron (`"9-17"`,
/// `"*/15"`, `"mon-fri"`, `"1,15"`). Empty fields take their default: every day, month and
/// year, and second, minute and hour 0. A time matches when every field matches (day of month
/// AND day of week).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ScheduleCalendar {
    /// Seconds (0-59).
    pub second: String,
    /// Minutes (0-59).
    pub minute: String,
    /// Hours (0-23).
    pub hour: String,
    /// Days of the month (1-31).
    pub day_of_month: String,
    /// Months (1-12 or names).
    pub month: String,
    /// Years.
    pub year: String,
    /// Days of the week (0-6, 0 is Sunday, or names).
    pub day_of_week: String,
    /// Free text describing the calendar.
    pub comment: String,
}

impl ScheduleCalendar {
    /// A calendar matching midnight of every day (set fields with the `with_*` methods).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the seconds.
    pub fn with_second(mut self, v: impl Into<String>) -> Self {
        self.second = v.into();
        self
    }
    /// Sets the minutes.
    pub fn with_minute(mut self, v: impl Into<String>) -> Self {
        self.minute = v.into();
        self
    }
    /// Sets the hours.
    pub fn with_hour(mut self, v: impl Into<String>) -> Self {
        self.hour = v.into();
        self
    }
    /// Sets the days of the month.
    pub fn with_day_of_month(mut self, v: impl Into<String>) -> Self {
        self.day_of_month = v.into();
        self
    }
    /// Sets the months.
    pub fn with_month(mut self, v: impl Into<String>) -> Self {
        self.month = v.into();
        self
    }
    /// Sets the years.
    pub fn with_year(mut self, v: impl Into<String>) -> Self {
        self.year = v.into();
        self
    }
    /// Sets the days of the week.
    pub fn with_day_of_week(mut self, v: impl Into<String>) -> Self {
        self.day_of_week = v.into();
        self
    }
    /// Sets the comment.
    pub fn with_comment(mut self, v: impl Into<String>) -> Self {
        self.comment = v.into();
        self
    }

    pub(crate) fn to_proto(&self) -> pb::CalendarSpec {
        pb::CalendarSpec {
            second: self.second.clone(),
            minute: self.minute.clone(),
            hour: self.hour.clone(),
            day_of_month: self.day_of_month.clone(),
            month: self.month.clone(),
            year: self.year.clone(),
            day_of_week: self.day_of_week.clone(),
            comment: self.comment.clone(),
        }
    }
}

/// When a schedule fires: the union of its intervals, calendars and cron expressions, minus its
/// skip calendars, between its start and end times.
///
/// ```
/// # use reprise::client::{ScheduleCalendar, ScheduleSpec};
/// # use std::time::Duration;
/// let spec = ScheduleSpec::new()
///     .with_interval(Duration::from_secs(3600))
///     .with_cron("30 9 * * mon-fri")
///     .with_skip(ScheduleCalendar::new().with_month("dec").with_day_of_month("25"))
///     .with_time_zone("Europe/Paris")
///     .with_jitter(Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ScheduleSpec {
    /// Every `interval`, shifted by `phase`, counted from the Unix epoch.
    pub intervals: Vec<(Duration, Duration)>,
    /// Calendars.
    pub calendars: Vec<ScheduleCalendar>,
    /// Cron expressions (`"0 12 * * *"`, `"@daily"`, `"CRON_TZ=Asia/Tokyo 0 9 * * *"`, `"@every 90m"`).
    pub cron_expressions: Vec<String>,
    /// Times matching one of these calendars are skipped.
    pub skip: Vec<ScheduleCalendar>,
    /// No time before this.
    pub start_at: Option<SystemTime>,
    /// No time after this.
    pub end_at: Option<SystemTime>,
    /// Each time is delayed by a random amount up to this.
    pub jitter: Option<Duration>,
    /// IANA time zone of calendars and cron expressions (default UTC).
    pub time_zone: Option<String>,
}

impl ScheduleSpec {
    /// An empty spec.
    pub fn new() -> Self {
        Self::default()
    }
    /// Fires every `every`.
    pub fn with_interval(self, every: Duration) -> Self {
        self.with_interval_phase(every, Duration::ZERO)
    }
    /// Fires every `every`, `phase` after each multiple of it since the epoch.
    pub fn with_interval_phase(mut self, every: Duration, phase: Duration) -> Self {
        self.intervals.push((every, phase));
        self
    }
    /// Fires at the times of a calendar.
    pub fn with_calendar(mut self, calendar: ScheduleCalendar) -> Self {
        self.calendars.push(calendar);
        self
    }
    /// Fires at the times of a cron expression.
    pub fn with_cron(mut self, expression: impl Into<String>) -> Self {
        self.cron_expressions.push(expression.into());
        self
    }
    /// Skips the times of a calendar.
    pub fn with_skip(mut self, calendar: ScheduleCalendar) -> Self {
        self.skip.push(calendar);
        self
    }
    /// Nothing before `at`.
    pub fn with_start_at(mut self, at: SystemTime) -> Self {
        self.start_at = Some(at);
        self
    }
    /// Nothing after `at`.
    pub fn with_end_at(mut self, at: SystemTime) -> Self {
        self.end_at = Some(at);
        self
    }
    /// Delays each time by up to `jitter`.
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter);
        self
    }
    /// Reads calendars and cron expressions in an IANA time zone.
    pub fn with_time_zone(mut self, zone: impl Into<String>) -> Self {
        self.time_zone = Some(zone.into());
        self
    }

    pub(crate) fn to_proto(&self) -> pb::ScheduleSpec {
        #[allow(deprecated)]
        pb::ScheduleSpec {
            interval: self
                .intervals
                .iter()
                .map(|(every, phase)| pb::IntervalSpec {
                    interval: Some((*every).into()),
                    phase: (!phase.is_zero()).then(|| (*phase).into()),
                })
                .collect(),
            calendar: self
                .calendars
                .iter()
                .map(ScheduleCalendar::to_proto)
                .collect(),
            cron_string: self.cron_expressions.clone(),
            exclude_calendar: self.skip.iter().map(ScheduleCalendar::to_proto).collect(),
            start_time: self.start_at.map(Timestamp::from),
            end_time: self.end_at.map(Timestamp::from),
            jitter: self.jitter.map(Into::into),
            timezone_name: self.time_zone.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// What a schedule does at each time: start a workflow. Its id gets the time appended
/// (`order-2026-01-01T00:00:00Z`), so each action is a new workflow.
#[derive(Clone)]
pub struct ScheduleAction {
    pub(crate) workflow_type: String,
    pub(crate) args: Arc<dyn ToPayloads + Send + Sync>,
    pub(crate) options: WorkflowOptions,
}

impl std::fmt::Debug for ScheduleAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduleAction")
            .field("workflow_type", &self.workflow_type)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ScheduleAction {
    /// Starts a workflow through its `#[run]` method (`OrderWorkflow::run`), the arguments
    /// checked against the method's signature; `options` give the workflow id (the prefix of
    /// each action's id), task queue, timeouts, memo and search attributes.
    pub fn start_workflow<M, F: crate::definition::RunMethod<M>>(
        run: F,
        args: F::Args,
        options: WorkflowOptions,
    ) -> Self
    where
        F::Args: Send + Sync + 'static,
    {
        let _ = run;
        Self::start_workflow_by_name(
            <F::Workflow as crate::definition::WorkflowDefinition>::NAME,
            args,
            options,
        )
    }

    /// Starts a workflow by type name.
    pub fn start_workflow_by_name(
        workflow_type: impl Into<String>,
        args: impl ToPayloads + Send + Sync + 'static,
        options: WorkflowOptions,
    ) -> Self {
        ScheduleAction {
            workflow_type: workflow_type.into(),
            args: Arc::new(args),
            options,
        }
    }
}

/// A time range whose spec times are run now, as if the schedule had been there.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScheduleBackfill {
    /// From (inclusive).
    pub start_at: SystemTime,
    /// To (inclusive).
    pub end_at: SystemTime,
    /// The overlap policy for these actions (`Unspecified`: the schedule's).
    pub overlap: ScheduleOverlapPolicy,
}

impl ScheduleBackfill {
    /// The spec's times in `[start_at, end_at]`, with the schedule's overlap policy.
    pub fn new(start_at: SystemTime, end_at: SystemTime) -> Self {
        ScheduleBackfill {
            start_at,
            end_at,
            overlap: ScheduleOverlapPolicy::Unspecified,
        }
    }
    /// Uses `overlap` for these actions.
    pub fn with_overlap(mut self, overlap: ScheduleOverlapPolicy) -> Self {
        self.overlap = overlap;
        self
    }

    pub(crate) fn to_proto(&self) -> pb::BackfillRequest {
        pb::BackfillRequest {
            start_time: Some(self.start_at.into()),
            end_time: Some(self.end_at.into()),
            overlap_policy: self.overlap as i32,
        }
    }
}

/// A schedule to create (or the new state of one to update).
///
/// ```
/// # use reprise::client::{ScheduleAction, ScheduleOptions, ScheduleSpec, WorkflowOptions};
/// # use reprise::api::temporal::api::enums::v1::ScheduleOverlapPolicy;
/// # use std::time::Duration;
/// let options = ScheduleOptions::new(
///     ScheduleSpec::new().with_cron("0 2 * * *"),
///     ScheduleAction::start_workflow_by_name("Report", ("daily",), WorkflowOptions::new("report", "reports")),
/// )
/// .with_overlap(ScheduleOverlapPolicy::BufferOne)
/// .with_catchup_window(Duration::from_secs(3600))
/// .with_note("nightly report");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScheduleOptions {
    /// When.
    pub spec: ScheduleSpec,
    /// What.
    pub action: ScheduleAction,
    /// What to do when a time comes while the last workflow still runs (default: skip).
    pub overlap: ScheduleOverlapPolicy,
    /// How late a missed time (server down) may still run (default: a year).
    pub catchup_window: Option<Duration>,
    /// Pause when a workflow fails.
    pub pause_on_failure: bool,
    /// Created paused.
    pub paused: bool,
    /// A note shown with the schedule (why it is paused, …).
    pub note: String,
    /// Take at most this many scheduled actions (triggers and backfills not counted).
    pub remaining_actions: Option<i64>,
    /// Run the action once at creation.
    pub trigger_immediately: bool,
    /// Backfills to run at creation.
    pub backfills: Vec<ScheduleBackfill>,
    /// The schedule's memo.
    pub memo: BTreeMap<String, Payload>,
    /// The schedule's search attributes.
    pub search_attributes: BTreeMap<String, Payload>,
}

impl ScheduleOptions {
    /// A schedule with every default.
    pub fn new(spec: ScheduleSpec, action: ScheduleAction) -> Self {
        ScheduleOptions {
            spec,
            action,
            overlap: ScheduleOverlapPolicy::Unspecified,
            catchup_window: None,
            pause_on_failure: false,
            paused: false,
            note: String::new(),
            remaining_actions: None,
            trigger_immediately: false,
            backfills: Vec::new(),
            memo: BTreeMap::new(),
            search_attributes: BTreeMap::new(),
        }
    }
    /// Sets the overlap policy.
    pub fn with_overlap(mut self, overlap: ScheduleOverlapPolicy) -> Self {
        self.overlap = overlap;
        self
    }
    /// Sets the catch-up window.
    pub fn with_catchup_window(mut self, window: Duration) -> Self {
        self.catchup_window = Some(window);
        self
    }
    /// Pauses the schedule when a workflow fails.
    pub fn with_pause_on_failure(mut self, on: bool) -> Self {
        self.pause_on_failure = on;
        self
    }
    /// Creates the schedule paused.
    pub fn with_paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }
    /// Sets the note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
    /// Limits the scheduled actions.
    pub fn with_remaining_actions(mut self, n: i64) -> Self {
        self.remaining_actions = Some(n);
        self
    }
    /// Runs the action once at creation.
    pub fn with_trigger_immediately(mut self, on: bool) -> Self {
        self.trigger_immediately = on;
        self
    }
    /// Runs a backfill at creation.
    pub fn with_backfill(mut self, backfill: ScheduleBackfill) -> Self {
        self.backfills.push(backfill);
        self
    }
    /// Adds a memo entry.
    pub fn with_memo(mut self, key: impl Into<String>, value: Payload) -> Self {
        self.memo.insert(key.into(), value);
        self
    }
    /// Adds a search attribute.
    pub fn with_search_attribute(mut self, name: impl Into<String>, value: Payload) -> Self {
        self.search_attributes.insert(name.into(), value);
        self
    }

    pub(crate) fn policies(&self) -> pb::SchedulePolicies {
        pb::SchedulePolicies {
            overlap_policy: self.overlap as i32,
            catchup_window: self.catchup_window.map(Into::into),
            pause_on_failure: self.pause_on_failure,
            ..Default::default()
        }
    }

    pub(crate) fn state(&self) -> pb::ScheduleState {
        pb::ScheduleState {
            notes: self.note.clone(),
            paused: self.paused,
            limited_actions: self.remaining_actions.is_some(),
            remaining_actions: self.remaining_actions.unwrap_or(0),
        }
    }
}
