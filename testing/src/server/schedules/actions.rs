//! Taking a schedule's actions: the spec's times since the last wake-up (within the catch-up
//! window), triggers and backfills go into the buffer; the overlap policies decide what starts;
//! started workflows are watched until they close.

use super::buffer;
use super::record::{BufferedStart, ScheduleRecord};
use super::{Entry, Schedules, to_time};
use crate::server::history::{Origin, StartRequest};
use crate::store::RunKey;
use reprise::api::temporal::api::common::v1::{Payload, SearchAttributes, WorkflowExecution};
use reprise::api::temporal::api::enums::v1::{
    ScheduleOverlapPolicy as Policy, WorkflowExecutionStatus, WorkflowIdReusePolicy,
};
use reprise::api::temporal::api::schedule::v1::{ScheduleActionResult, schedule_action};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::time::{Duration, SystemTime};

/// How many recent actions describe keeps.
const RECENT_ACTIONS: usize = 10;
/// The most starts a buffer holds.
const MAX_BUFFER: usize = 1000;

/// RFC 3339 in UTC with whole seconds, as Go's `time.RFC3339` writes a UTC time.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn json_payload(json: String) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())]
            .into_iter()
            .collect(),
        data: json.into_bytes(),
        ..Default::default()
    }
}

impl ScheduleRecord {
    /// What makes jitter differ between schedules.
    pub(crate) fn jitter_seed(&self) -> String {
        format!("{}-{}", self.namespace_id, self.schedule_id)
    }

    fn policy(&self, requested: i32) -> Policy {
        let requested = Policy::try_from(requested).unwrap_or(Policy::Unspecified);
        if requested != Policy::Unspecified {
            return requested;
        }
        self.schedule
            .as_ref()
            .and_then(|s| s.policies.as_ref())
            .and_then(|p| Policy::try_from(p.overlap_policy).ok())
            .filter(|p| *p != Policy::Unspecified)
            .unwrap_or(Policy::Skip)
    }

    fn catchup_window(&self) -> Duration {
        self.schedule
            .as_ref()
            .and_then(|s| s.policies.as_ref())
            .and_then(|p| p.catchup_window)
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(super::DEFAULT_CATCHUP)
    }

    /// Whether a scheduled (not manual) action may be taken now; with `take`, counts it
    /// against the remaining actions.
    pub(crate) fn can_take(&mut self, manual: bool, take: bool) -> bool {
        if manual {
            return true;
        }
        let state = self
            .schedule_mut()
            .state
            .get_or_insert_with(Default::default);
        if state.paused {
            return false;
        }
        if !state.limited_actions {
            return true;
        }
        if state.remaining_actions > 0 {
            if take {
                state.remaining_actions -= 1;
                self.conflict_token += 1;
            }
            return true;
        }
        false
    }
}

impl Entry {
    /// Buffers one start.
    pub(super) fn add_start(
        &mut self,
        nominal: SystemTime,
        actual: SystemTime,
        overlap_policy: i32,
        manual: bool,
    ) {
        if self.record.buffer.len() >= MAX_BUFFER {
            self.record.info_mut().buffer_dropped += 1;
            return;
        }
        self.record.buffer.push(BufferedStart {
            nominal: Some(nominal.into()),
            actual: Some(actual.into()),
            overlap_policy,
            manual,
        });
    }

    /// The runs the schedule started and still counts as running.
    pub(super) fn running_keys(&self) -> Vec<RunKey> {
        self.record
            .info
            .as_ref()
            .map(|i| i.running_workflows.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|e| RunKey {
                namespace: self.record.namespace.clone(),
                workflow_id: e.workflow_id.clone(),
                run_id: e.run_id.clone(),
            })
            .collect()
    }

    /// Buffers the spec's times in `(start, end]`; returns the last time handled.
    fn time_range(
        &mut self,
        start: SystemTime,
        end: SystemTime,
        policy: i32,
        manual: bool,
    ) -> SystemTime {
        let Ok(spec) = &self.spec else {
            return end;
        };
        if !manual && !self.record.can_take(false, false) {
            // Paused or out of actions: the times pass unused (and do not count as missed).
            return end;
        }
        let spec = spec.clone();
        let seed = self.record.jitter_seed();
        let catchup = self.record.catchup_window();
        let update_time = self
            .record
            .info
            .as_ref()
            .and_then(|i| to_time(i.update_time.as_ref()));
        let mut last = start;
        let mut after = start;
        while let Some(next) = spec.next(&seed, after) {
            if next.actual > end {
                break;
            }
            after = next.actual;
            if !manual && update_time.is_some_and(|u| u > next.actual) {
                continue;
            }
            last = next.actual;
            if !manual && end.duration_since(next.actual).unwrap_or_default() > catchup {
                self.record.info_mut().missed_catchup_window += 1;
                continue;
            }
            self.add_start(next.nominal, next.actual, policy, manual);
        }
        last
    }
}

impl Schedules {
    /// Brings a schedule up to `now`: closed workflows, due times, backfills, the buffer; then
    /// arms its next wake-up and stores it.
    pub(super) fn process(&self, entry: &mut Entry, now: SystemTime) {
        self.refresh(entry);
        let last = to_time(entry.record.last_processed.as_ref()).unwrap_or(now);
        let end = now.max(last);
        let handled = entry.time_range(last, end, 0, false);
        entry.record.last_processed = Some(handled.max(last).into());
        for backfill in std::mem::take(&mut entry.record.backfills) {
            if let (Some(start), Some(end)) = (
                to_time(backfill.start_time.as_ref()),
                to_time(backfill.end_time.as_ref()),
            ) {
                entry.time_range(start, end, backfill.overlap_policy, true);
            }
        }
        // A terminated workflow closes at once: its buffered successor can start right away.
        for _ in 0..3 {
            if !self.run_buffer(entry, now) {
                break;
            }
        }
        let wake = entry.next_wake_up();
        self.arm(entry, wake);
        self.persist(entry);
    }

    /// Notes the schedule's workflows that closed; true if any did.
    pub(super) fn refresh(&self, entry: &mut Entry) -> bool {
        let mut changed = false;
        for run in entry.running_keys() {
            let Some((status, closed_run, last_event)) = self.closed_status(&run) else {
                continue;
            };
            self.watch.untrack(&run.namespace, &run.workflow_id);
            changed = true;
            let (result, failure) = self.close_outcome(&closed_run, last_event);
            if let Some(result) = result {
                entry.record.last_completion_result = Some(result);
                entry.record.continued_failure = None;
            } else if let Some(failure) = failure.clone() {
                entry.record.continued_failure = Some(failure);
            }
            let info = entry.record.info_mut();
            info.running_workflows
                .retain(|e| e.workflow_id != run.workflow_id);
            for action in info.recent_actions.iter_mut() {
                if action
                    .start_workflow_result
                    .as_ref()
                    .is_some_and(|e| e.workflow_id == run.workflow_id)
                {
                    action.start_workflow_status = status as i32;
                }
            }
            let pause_on_failure = entry
                .record
                .schedule
                .as_ref()
                .and_then(|s| s.policies.as_ref())
                .is_some_and(|p| p.pause_on_failure);
            let failed = matches!(
                status,
                WorkflowExecutionStatus::Failed | WorkflowExecutionStatus::TimedOut
            );
            if pause_on_failure && failed {
                let state = entry
                    .record
                    .schedule_mut()
                    .state
                    .get_or_insert_with(Default::default);
                if !state.paused {
                    state.paused = true;
                    state.notes = if status == WorkflowExecutionStatus::Failed {
                        let message = failure.map(|f| f.message).unwrap_or_default();
                        format!(
                            "paused due to workflow failure: {}: {message}",
                            run.workflow_id
                        )
                    } else {
                        format!("paused due to workflow timeout: {}", run.workflow_id)
                    };
                    entry.record.conflict_token += 1;
                }
            }
        }
        changed
    }

    /// How a workflow the schedule started ended: `None` while its chain (continue-as-new,
    /// retries) still runs; else the status, the run that closed and its close event id.
    fn closed_status(&self, run: &RunKey) -> Option<(WorkflowExecutionStatus, RunKey, i64)> {
        let state = |key: &RunKey| {
            self.engine.read_run(key, |ms| {
                (ms.status, ms.first_run_id.clone(), ms.next_event_id - 1)
            })
        };
        let Ok((status, _, last)) = state(run) else {
            // Deleted.
            return Some((WorkflowExecutionStatus::Terminated, run.clone(), 0));
        };
        if status == WorkflowExecutionStatus::Running {
            return None;
        }
        // A continued or retried chain: its latest run tells.
        if let Ok(current) = self.engine.resolve(&run.namespace, &run.workflow_id, "")
            && current.run_id != run.run_id
            && let Ok((latest, first, latest_last)) = state(&current)
            && first == run.run_id
        {
            return (latest != WorkflowExecutionStatus::Running).then_some((
                latest,
                current,
                latest_last,
            ));
        }
        Some((status, run.clone(), last))
    }

    /// The result of a completed run, or the failure of a failed one, from its close event.
    fn close_outcome(
        &self,
        run: &RunKey,
        close_event_id: i64,
    ) -> (
        Option<reprise::api::temporal::api::common::v1::Payloads>,
        Option<reprise::api::temporal::api::failure::v1::Failure>,
    ) {
        use reprise::api::temporal::api::history::v1::history_event::Attributes;
        let events = self
            .engine
            .read_events(run, close_event_id, 1)
            .unwrap_or_default();
        match events.first().and_then(|e| e.attributes.as_ref()) {
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                (Some(a.result.clone().unwrap_or_default()), None)
            }
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => {
                (None, a.failure.clone())
            }
            _ => (None, None),
        }
    }

    /// One pass over the buffer; true if it terminated workflows and starts still wait.
    fn run_buffer(&self, entry: &mut Entry, now: SystemTime) -> bool {
        let start_workflow = entry
            .record
            .schedule
            .as_ref()
            .and_then(|s| s.action.as_ref())
            .and_then(|a| a.action.as_ref())
            .map(|schedule_action::Action::StartWorkflow(w)| w.clone());
        let Some(action) = start_workflow else {
            entry.record.buffer.clear();
            return false;
        };
        if entry.record.buffer.is_empty() {
            return false;
        }
        let running = !entry.running_keys().is_empty();
        let record = entry.record.clone();
        let decided = buffer::process(
            std::mem::take(&mut entry.record.buffer),
            running,
            |s: &BufferedStart| record.policy(s.overlap_policy),
        );
        entry.record.buffer = decided.buffer;
        entry.record.info_mut().overlap_skipped += decided.skipped;
        let overlapping = decided.overlapping.into_iter().map(|s| (s, false));
        let single = decided.non_overlapping.into_iter().map(|s| (s, true));
        for (start, tracked) in overlapping.chain(single) {
            if !entry.record.can_take(start.manual, true) {
                continue;
            }
            match self.start(entry, &start, &action, now) {
                Ok(result) => self.record_action(entry, result, tracked),
                Err(e) => tracing::warn!(
                    "schedule {}: start failed: {}",
                    entry.record.schedule_id,
                    e.message()
                ),
            }
        }
        let identity = identity(&entry.record);
        if decided.terminate {
            for run in entry.running_keys() {
                let _ = self.engine.with_run(&run, |ms| {
                    if ms.is_open() {
                        ms.terminate("terminated by schedule overlap policy", None, &identity);
                    }
                    Ok(())
                });
            }
            return self.refresh(entry) && !entry.record.buffer.is_empty();
        }
        if decided.cancel {
            for run in entry.running_keys() {
                let _ = self.engine.with_run(&run, |ms| {
                    ms.request_cancel("cancelled by schedule overlap policy", &identity)
                });
            }
        }
        false
    }

    /// Starts the action's workflow for one buffered start.
    fn start(
        &self,
        entry: &Entry,
        start: &BufferedStart,
        action: &reprise::api::temporal::api::workflow::v1::NewWorkflowExecutionInfo,
        now: SystemTime,
    ) -> Result<ScheduleActionResult, tonic::Status> {
        let record = &entry.record;
        let nominal = to_time(start.nominal.as_ref()).unwrap_or(now);
        let keep_id = record
            .schedule
            .as_ref()
            .and_then(|s| s.policies.as_ref())
            .is_some_and(|p| p.keep_original_workflow_id);
        let workflow_id = if keep_id {
            action.workflow_id.clone()
        } else {
            format!("{}-{}", action.workflow_id, rfc3339(nominal))
        };
        let mut attributes = action
            .search_attributes
            .clone()
            .unwrap_or_default()
            .indexed_fields;
        attributes.insert(
            "TemporalScheduledStartTime".into(),
            json_payload(format!("\"{}\"", rfc3339(nominal))),
        );
        attributes.insert(
            "TemporalScheduledById".into(),
            json_payload(serde_json::Value::from(record.schedule_id.clone()).to_string()),
        );
        let request = ws::StartWorkflowExecutionRequest {
            namespace: record.namespace.clone(),
            workflow_id: workflow_id.clone(),
            workflow_type: action.workflow_type.clone(),
            task_queue: action.task_queue.clone(),
            input: action.input.clone(),
            workflow_execution_timeout: action.workflow_execution_timeout,
            workflow_run_timeout: action.workflow_run_timeout,
            workflow_task_timeout: action.workflow_task_timeout,
            identity: identity(record),
            request_id: crate::server::history::new_id(),
            workflow_id_reuse_policy: if start.manual {
                WorkflowIdReusePolicy::AllowDuplicate
            } else {
                WorkflowIdReusePolicy::RejectDuplicate
            } as i32,
            retry_policy: action.retry_policy.clone(),
            memo: action.memo.clone(),
            search_attributes: Some(SearchAttributes {
                indexed_fields: attributes,
            }),
            header: action.header.clone(),
            user_metadata: action.user_metadata.clone(),
            priority: action.priority.clone(),
            ..Default::default()
        };
        let retention = self
            .namespaces
            .get(&record.namespace)
            .map(|ns| ns.retention)
            .ok();
        // Allow-all starts take no part in passing results along, as on the official server.
        let chained = record.policy(start.overlap_policy) != Policy::AllowAll;
        let outcome = self.engine.start_with_origin(
            &record.namespace,
            StartRequest {
                request,
                signal: None,
                retention,
            },
            Origin {
                last_completion_result: record.last_completion_result.clone().filter(|_| chained),
                continued_failure: record.continued_failure.clone().filter(|_| chained),
                ..Default::default()
            },
        )?;
        Ok(ScheduleActionResult {
            schedule_time: start.actual,
            actual_time: Some(now.into()),
            start_workflow_result: Some(WorkflowExecution {
                workflow_id,
                run_id: outcome.run_id,
            }),
            start_workflow_status: WorkflowExecutionStatus::Running as i32,
        })
    }

    fn record_action(&self, entry: &mut Entry, result: ScheduleActionResult, tracked: bool) {
        let started = result.start_workflow_result.clone();
        let info = entry.record.info_mut();
        info.action_count += 1;
        info.recent_actions.push(result);
        if info.recent_actions.len() > RECENT_ACTIONS {
            let extra = info.recent_actions.len() - RECENT_ACTIONS;
            info.recent_actions.drain(..extra);
        }
        if let Some(execution) = started.filter(|_| tracked) {
            info.running_workflows.push(execution.clone());
            self.watch.track(
                &entry.record.namespace,
                &execution.workflow_id,
                &entry.record.schedule_id,
            );
        }
    }
}

fn identity(record: &ScheduleRecord) -> String {
    format!(
        "temporal-scheduler-{}-{}",
        record.namespace, record.schedule_id
    )
}

impl Entry {
    /// When the schedule next has something to do: its next spec time, unless it is paused or
    /// out of actions.
    fn next_wake_up(&mut self) -> Option<SystemTime> {
        if !self.record.can_take(false, false) {
            return None;
        }
        let spec = self.spec.as_ref().ok()?;
        let last = to_time(self.record.last_processed.as_ref())?;
        spec.next(&self.record.jitter_seed(), last)
            .map(|n| n.actual)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn workflow_id_suffix_is_rfc3339_utc_seconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_257_894_000_500);
        assert_eq!(super::rfc3339(t), "2009-11-10T23:00:00Z");
    }
}
