//! What `DescribeSchedule` and `ListSchedules` show of a schedule.

use super::{Entry, to_time, token_bytes};
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::schedule::v1::{
    ScheduleListEntry, ScheduleListInfo, schedule_action,
};
use reprise::api::temporal::api::workflowservice::v1 as ws;

/// Future action times in describe, and recent actions and future times in a list entry.
const FUTURE_DESCRIBE: usize = 10;
const LIST_COUNT: usize = 5;

impl Entry {
    /// The next `n` action times (none past the remaining actions of a limited schedule, none
    /// before its last update).
    fn future_times(&self, n: usize) -> Vec<Timestamp> {
        let Ok(spec) = &self.spec else {
            return Vec::new();
        };
        let state = self
            .record
            .schedule
            .as_ref()
            .and_then(|s| s.state.clone())
            .unwrap_or_default();
        let n = if state.limited_actions {
            n.min(usize::try_from(state.remaining_actions.max(0)).unwrap_or(0))
        } else {
            n
        };
        let update_time = self
            .record
            .info
            .as_ref()
            .and_then(|i| to_time(i.update_time.as_ref()));
        let seed = self.record.jitter_seed();
        let Some(mut after) = to_time(self.record.last_processed.as_ref()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while out.len() < n {
            let Some(next) = spec.next(&seed, after) else {
                break;
            };
            after = next.actual;
            if update_time.is_some_and(|u| u > next.actual) {
                continue;
            }
            out.push(next.actual.into());
        }
        out
    }

    /// The `DescribeSchedule` answer.
    pub(super) fn describe(&self) -> ws::DescribeScheduleResponse {
        let mut info = self.record.info.clone().unwrap_or_default();
        info.future_action_times = self.future_times(FUTURE_DESCRIBE);
        info.buffer_size = self.record.buffer.len() as i64;
        ws::DescribeScheduleResponse {
            schedule: self.record.schedule.clone(),
            info: Some(info),
            memo: self.record.memo.clone(),
            search_attributes: self.record.search_attributes.clone(),
            conflict_token: token_bytes(self.record.conflict_token),
        }
    }

    /// The `ListSchedules` entry.
    pub(super) fn list_entry(&self) -> ScheduleListEntry {
        let schedule = self.record.schedule.clone().unwrap_or_default();
        let mut spec = schedule.spec.unwrap_or_default();
        spec.timezone_data.clear();
        let state = schedule.state.unwrap_or_default();
        let recent = self
            .record
            .info
            .as_ref()
            .map(|i| i.recent_actions.clone())
            .unwrap_or_default();
        let skip = recent.len().saturating_sub(LIST_COUNT);
        ScheduleListEntry {
            schedule_id: self.record.schedule_id.clone(),
            memo: self.record.memo.clone(),
            search_attributes: self.record.search_attributes.clone(),
            info: Some(ScheduleListInfo {
                spec: Some(spec),
                workflow_type: schedule
                    .action
                    .and_then(|a| a.action)
                    .and_then(|schedule_action::Action::StartWorkflow(w)| w.workflow_type),
                notes: state.notes,
                paused: state.paused,
                recent_actions: recent.into_iter().skip(skip).collect(),
                future_action_times: self.future_times(LIST_COUNT),
                ..Default::default()
            }),
        }
    }
}
