//! Schedules: start a workflow at the times of a spec (calendars, cron strings, intervals), with
//! overlap policies, a catch-up window, pause, triggers and backfills, as Temporal's
//! `CreateSchedule` family of calls.
//!
//! The official server runs each schedule as a system workflow; here a schedule is a record held
//! in memory, written through the [`Store`] after every change (a durable store brings it back
//! after a restart, and the schedule catches up on the times it missed, within its catch-up
//! window). Each schedule has at most one wake-up in the server's timer queue, at its next
//! action time: time skipping jumps to it like to any workflow timer, and it fires on the
//! server's clock (virtual or real). Started workflows are watched so that a buffered start
//! begins as soon as the workflow before it closes.
//!
//! `spec` and `calendar` compute times and know nothing of the server; `buffer` decides what
//! the overlap policies let start; `actions` takes the actions; `views` builds what describe
//! and list answer.

mod actions;
mod buffer;
mod calendar;
mod record;
mod spec;
mod views;
mod watch;

pub(crate) use record::ScheduleRecord;

use super::errors;
use super::history::Engine;
use super::namespaces::Namespaces;
use crate::store::{RunKey, Store, TimerKind};
use prost::Message;
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::enums::v1::ScheduleOverlapPolicy;
use reprise::api::temporal::api::schedule::v1::{
    Schedule, ScheduleInfo, SchedulePatch, ScheduleState,
};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use spec::CompiledSpec;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};
use tonic::Status;

/// The run id of a schedule's wake-up in the timer queue (real run ids are UUIDs).
const TIMER_RUN: &str = "schedule";
/// The timer id of a schedule's wake-up.
const TIMER_ID: &str = "schedule";

/// The default catch-up window (a year) and the least one (ten seconds), as the official server.
const DEFAULT_CATCHUP: Duration = Duration::from_secs(365 * 86_400);
const MIN_CATCHUP: Duration = Duration::from_secs(10);

/// Whether a timer-queue entry is a schedule's wake-up.
pub(crate) fn is_timer(run: &RunKey) -> bool {
    run.run_id == TIMER_RUN
}

/// One schedule in memory.
struct Entry {
    record: ScheduleRecord,
    /// The compiled spec, or why the spec is invalid (the schedule then takes no action).
    spec: Result<CompiledSpec, String>,
    /// The armed wake-up: its time and sequence number.
    timer: Option<(SystemTime, i64)>,
}

/// Every schedule of one server.
pub(crate) struct Schedules {
    engine: Arc<Engine>,
    namespaces: Arc<Namespaces>,
    store: Arc<dyn Store>,
    entries: Mutex<BTreeMap<(String, String), Entry>>,
    timer_seq: std::sync::atomic::AtomicI64,
    watch: Arc<watch::Watch>,
}

impl std::fmt::Debug for Schedules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedules").finish_non_exhaustive()
    }
}

fn to_time(t: Option<&Timestamp>) -> Option<SystemTime> {
    let t = t?;
    let nanos = u32::try_from(t.nanos).ok()?;
    if t.seconds >= 0 {
        std::time::UNIX_EPOCH.checked_add(Duration::new(t.seconds as u64, nanos))
    } else {
        std::time::UNIX_EPOCH
            .checked_sub(Duration::from_secs(t.seconds.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

fn not_found(schedule_id: &str) -> Status {
    Status::not_found(format!("schedule {schedule_id:?} not found"))
}

/// The conflict token of a describe (the official server's 8 big-endian bytes).
pub(crate) fn token_bytes(token: i64) -> Vec<u8> {
    token.to_be_bytes().to_vec()
}

impl Schedules {
    /// The schedules of a server; wakes a schedule when a workflow it started closes (a task
    /// that runs until the server shuts down).
    pub(crate) fn new(engine: Arc<Engine>, namespaces: Arc<Namespaces>) -> Arc<Schedules> {
        let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel();
        let watch = Arc::new(watch::Watch::new(wake, engine.in_flight.clone()));
        let hook_watch = watch.clone();
        if engine
            .on_closed
            .set(Box::new(move |run| hook_watch.closed(run)))
            .is_err()
        {
            tracing::error!("the engine's close hook was already set");
        }
        let schedules = Arc::new(Schedules {
            store: engine.store.clone(),
            engine,
            namespaces,
            entries: Mutex::default(),
            timer_seq: Default::default(),
            watch,
        });
        let me: Weak<Schedules> = Arc::downgrade(&schedules);
        let in_flight = schedules.engine.in_flight.clone();
        let mut stop = schedules.engine.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    next = woken.recv() => {
                        let Some((namespace, schedule_id)) = next else { return };
                        if let Some(me) = me.upgrade() {
                            me.closed(&namespace, &schedule_id);
                        }
                        in_flight
                            .pending_transfers
                            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        in_flight.changed.notify_one();
                    }
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        });
        schedules
    }

    /// A workflow that `schedule_id` started closed.
    fn closed(&self, namespace: &str, schedule_id: &str) {
        let now = self.now();
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&(namespace.to_string(), schedule_id.to_string()))
            && self.refresh(entry)
        {
            self.process(entry, now);
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, String), Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> SystemTime {
        self.engine.clock.now()
    }

    /// Loads the schedules a durable store kept and lets each catch up on what it missed.
    pub(crate) fn recover(&self) -> Result<usize, crate::store::StoreError> {
        let stored = self.store.schedules()?;
        let now = self.now();
        let mut entries = self.lock();
        for bytes in stored {
            let record = match ScheduleRecord::decode(bytes.as_slice()) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("stored schedule unreadable: {e}");
                    continue;
                }
            };
            let spec = CompiledSpec::new(
                &record
                    .schedule
                    .as_ref()
                    .and_then(|s| s.spec.clone())
                    .unwrap_or_default(),
            );
            let key = (record.namespace.clone(), record.schedule_id.clone());
            let mut entry = Entry {
                record,
                spec,
                timer: None,
            };
            for run in entry.running_keys() {
                self.watch.track(&key.0, &run.workflow_id, &key.1);
            }
            self.process(&mut entry, now);
            entries.insert(key, entry);
        }
        Ok(entries.len())
    }

    /// `CreateSchedule` (the request is validated by the frontend).
    pub(crate) fn create(
        &self,
        request: ws::CreateScheduleRequest,
        namespace_id: String,
    ) -> Result<ws::CreateScheduleResponse, Status> {
        let now = self.now();
        let key = (request.namespace.clone(), request.schedule_id.clone());
        let mut entries = self.lock();
        if entries.contains_key(&key) {
            return Err(errors::with_detail(
                tonic::Code::AlreadyExists,
                "schedule with this ID is already registered".into(),
                &reprise::api::temporal::api::errordetails::v1::WorkflowExecutionAlreadyStartedFailure {
                    start_request_id: request.request_id.clone(),
                    run_id: String::new(),
                    ..Default::default()
                },
            ));
        }
        let (schedule, spec) = prepare(request.schedule.unwrap_or_default())?;
        let mut entry = Entry {
            record: ScheduleRecord {
                namespace: request.namespace,
                schedule_id: request.schedule_id,
                schedule: Some(schedule),
                info: Some(ScheduleInfo {
                    create_time: Some(now.into()),
                    ..Default::default()
                }),
                memo: request.memo,
                search_attributes: request.search_attributes,
                conflict_token: 1,
                last_processed: Some(now.into()),
                buffer: Vec::new(),
                backfills: Vec::new(),
                namespace_id,
                last_completion_result: None,
                continued_failure: None,
            },
            spec: Ok(spec),
            timer: None,
        };
        if let Some(patch) = request.initial_patch {
            entry.apply_patch(patch, now);
        }
        self.process(&mut entry, now);
        let token = entry.record.conflict_token;
        entries.insert(key, entry);
        Ok(ws::CreateScheduleResponse {
            conflict_token: token_bytes(token),
        })
    }

    /// `DescribeSchedule`.
    pub(crate) fn describe(
        &self,
        namespace: &str,
        schedule_id: &str,
    ) -> Result<ws::DescribeScheduleResponse, Status> {
        let now = self.now();
        let mut entries = self.lock();
        let entry = entries
            .get_mut(&(namespace.to_string(), schedule_id.to_string()))
            .ok_or_else(|| not_found(schedule_id))?;
        // As the official frontend: a describe sees workflows that closed meanwhile.
        if self.refresh(entry) {
            self.process(entry, now);
        }
        Ok(entry.describe())
    }

    /// `UpdateSchedule`: replaces spec, action, policies and state (a stale conflict token is
    /// ignored silently, as the official server does).
    pub(crate) fn update(&self, request: ws::UpdateScheduleRequest) -> Result<(), Status> {
        let now = self.now();
        let mut entries = self.lock();
        let entry = entries
            .get_mut(&(request.namespace.clone(), request.schedule_id.clone()))
            .ok_or_else(|| not_found(&request.schedule_id))?;
        let (schedule, spec) = prepare(request.schedule.unwrap_or_default())?;
        if !request.conflict_token.is_empty()
            && request.conflict_token != token_bytes(entry.record.conflict_token)
        {
            tracing::warn!(
                "schedule {}: update with a stale conflict token ignored",
                request.schedule_id
            );
            return Ok(());
        }
        self.process(entry, now);
        entry.record.schedule = Some(schedule);
        entry.spec = Ok(spec);
        if let Some(attributes) = request.search_attributes {
            entry.record.search_attributes = Some(attributes);
        }
        if let Some(memo) = request.memo {
            entry.record.memo = Some(memo);
        }
        entry.record.info_mut().update_time = Some(now.into());
        entry.record.conflict_token += 1;
        self.process(entry, now);
        Ok(())
    }

    /// `PatchSchedule`: trigger, backfills, pause, unpause.
    pub(crate) fn patch(&self, request: ws::PatchScheduleRequest) -> Result<(), Status> {
        let now = self.now();
        let mut entries = self.lock();
        let entry = entries
            .get_mut(&(request.namespace.clone(), request.schedule_id.clone()))
            .ok_or_else(|| not_found(&request.schedule_id))?;
        // The time since the last wake-up passes under the old state (a pause's times are
        // not caught up on unpause), then the patch applies.
        self.process(entry, now);
        entry.apply_patch(request.patch.unwrap_or_default(), now);
        self.process(entry, now);
        Ok(())
    }

    /// `DeleteSchedule` (the workflows it started keep running).
    pub(crate) fn delete(&self, namespace: &str, schedule_id: &str) -> Result<(), Status> {
        let removed = self
            .lock()
            .remove(&(namespace.to_string(), schedule_id.to_string()));
        let Some(removed) = removed else {
            return Err(not_found(schedule_id));
        };
        for run in removed.running_keys() {
            self.watch.untrack(namespace, &run.workflow_id);
        }
        self.store
            .delete_schedule(namespace, schedule_id)
            .map_err(errors::store)
    }

    /// `ListScheduleMatchingTimes`: the spec's times (with jitter) in a range, at most 1,000.
    pub(crate) fn matching_times(
        &self,
        request: &ws::ListScheduleMatchingTimesRequest,
    ) -> Result<ws::ListScheduleMatchingTimesResponse, Status> {
        let entries = self.lock();
        let entry = entries
            .get(&(request.namespace.clone(), request.schedule_id.clone()))
            .ok_or_else(|| not_found(&request.schedule_id))?;
        let (Some(start), Some(end)) = (
            to_time(request.start_time.as_ref()),
            to_time(request.end_time.as_ref()),
        ) else {
            return Err(errors::invalid("missing or invalid query"));
        };
        let spec = entry
            .spec
            .as_ref()
            .map_err(|e| errors::invalid(format!("invalid schedule: {e}")))?;
        let seed = entry.record.jitter_seed();
        let mut out = Vec::new();
        let mut after = start;
        while out.len() < 1000 {
            match spec.next(&seed, after) {
                Some(next) if next.actual <= end => {
                    out.push(next.actual.into());
                    after = next.actual;
                }
                _ => break,
            }
        }
        Ok(ws::ListScheduleMatchingTimesResponse { start_time: out })
    }

    /// Every schedule of `namespace` as `ListSchedules` shows it, sorted by id.
    pub(crate) fn list(
        &self,
        namespace: &str,
    ) -> Vec<reprise::api::temporal::api::schedule::v1::ScheduleListEntry> {
        self.lock()
            .range((namespace.to_string(), String::new())..)
            .take_while(|((ns, _), _)| ns == namespace)
            .map(|(_, entry)| entry.list_entry())
            .collect()
    }

    /// A schedule's wake-up fired.
    pub(crate) fn fire(&self, run: &RunKey, kind: &TimerKind) {
        if !self.timer_is_live(run, kind) {
            return;
        }
        let now = self.now();
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&(run.namespace.clone(), run.workflow_id.clone())) {
            entry.timer = None;
            self.process(entry, now);
        }
    }

    /// Whether a schedule's wake-up is still the one armed (else time skipping ignores it).
    pub(crate) fn timer_is_live(&self, run: &RunKey, kind: &TimerKind) -> bool {
        let TimerKind::User {
            started_event_id: seq,
            ..
        } = kind
        else {
            return false;
        };
        self.lock()
            .get(&(run.namespace.clone(), run.workflow_id.clone()))
            .is_some_and(|e| e.timer.is_some_and(|(_, armed)| armed == *seq))
    }

    /// Arms the wake-up of `entry` at `at` (or disarms it).
    fn arm(&self, entry: &mut Entry, at: Option<SystemTime>) {
        if entry.timer.map(|(t, _)| t) == at {
            return;
        }
        entry.timer = at.map(|at| {
            let seq = self
                .timer_seq
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            self.engine.timers.add(
                RunKey {
                    namespace: entry.record.namespace.clone(),
                    workflow_id: entry.record.schedule_id.clone(),
                    run_id: TIMER_RUN.into(),
                },
                at,
                TimerKind::User {
                    timer_id: TIMER_ID.into(),
                    started_event_id: seq,
                },
            );
            (at, seq)
        });
    }

    /// Writes the record through the store.
    fn persist(&self, entry: &Entry) {
        let r = &entry.record;
        if let Err(e) = self
            .store
            .put_schedule(&r.namespace, &r.schedule_id, &r.encode_to_vec())
        {
            tracing::error!("schedule {} not stored: {e}", r.schedule_id);
        }
    }
}

/// Canonicalizes a schedule as the official server stores it: spec in canonical form, overlap
/// policy and catch-up window filled in.
fn prepare(mut schedule: Schedule) -> Result<(Schedule, CompiledSpec), Status> {
    let spec = CompiledSpec::new(&schedule.spec.take().unwrap_or_default())
        .map_err(|e| errors::invalid(format!("Invalid schedule spec: {e}")))?;
    schedule.spec = Some(spec.canonical().clone());
    let policies = schedule.policies.get_or_insert_with(Default::default);
    if policies.overlap_policy == ScheduleOverlapPolicy::Unspecified as i32 {
        policies.overlap_policy = ScheduleOverlapPolicy::Skip as i32;
    }
    let catchup = policies
        .catchup_window
        .and_then(|d| Duration::try_from(d).ok())
        .map_or(DEFAULT_CATCHUP, |d| d.max(MIN_CATCHUP));
    policies.catchup_window = Some(catchup.into());
    schedule.state.get_or_insert_with(ScheduleState::default);
    Ok((schedule, spec))
}

impl Entry {
    fn apply_patch(&mut self, patch: SchedulePatch, now: SystemTime) {
        if let Some(trigger) = patch.trigger_immediately {
            let at = to_time(trigger.scheduled_time.as_ref()).unwrap_or(now);
            self.add_start(at, at, trigger.overlap_policy, true);
        }
        for mut backfill in patch.backfill_request {
            // The start is inclusive.
            if let Some(start) = to_time(backfill.start_time.as_ref()) {
                backfill.start_time = Some((start - Duration::from_millis(1)).into());
            }
            self.record.backfills.push(backfill);
        }
        let state = self
            .record
            .schedule_mut()
            .state
            .get_or_insert_with(Default::default);
        let mut changed = false;
        if !patch.pause.is_empty() {
            state.paused = true;
            state.notes = patch.pause;
            changed = true;
        }
        if !patch.unpause.is_empty() {
            state.paused = false;
            state.notes = patch.unpause;
            changed = true;
        }
        if changed {
            self.record.conflict_token += 1;
        }
    }
}
