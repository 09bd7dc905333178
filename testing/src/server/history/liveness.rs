//! Whether a queued timer still means something to its run.
//!
//! Timers are never taken out of the queue when what they guard ends (an activity completes, a
//! timer is canceled, the run closes): they fire and do nothing. Time skipping must not jump to
//! such a stale timer, or a test's virtual clock would move past the last thing that happened
//! (a completed workflow's activity timeout, say). Firing uses the same rule.

use super::state::MutableState;
use crate::store::TimerKind;
use reprise::api::temporal::api::enums::v1::TimeoutType;

impl MutableState {
    /// Whether firing `kind` now would change this run.
    pub(crate) fn timer_is_live(&self, kind: &TimerKind) -> bool {
        if *kind == TimerKind::Retention {
            return true;
        }
        if !self.is_open() {
            return false;
        }
        match kind {
            TimerKind::User {
                timer_id,
                started_event_id,
            } => self.timers.get(timer_id) == Some(started_event_id),
            TimerKind::ActivityTimeout {
                scheduled_event_id,
                attempt,
                timeout_type,
                heartbeat_seq,
            } => self.activity_timeout_applies(
                *scheduled_event_id,
                *attempt,
                *timeout_type,
                *heartbeat_seq,
            ),
            TimerKind::ActivityRetry {
                scheduled_event_id,
                attempt,
            } => self
                .activities
                .get(scheduled_event_id)
                .is_some_and(|a| a.attempt == *attempt && a.started.is_none()),
            TimerKind::WorkflowTaskTimeout {
                scheduled_event_id,
                attempt,
                timeout_type,
            } => self.wft.as_ref().is_some_and(|task| {
                task.scheduled_event_id == *scheduled_event_id
                    && task.attempt == *attempt
                    && (*timeout_type != TimeoutType::StartToClose as i32 || task.started.is_some())
            }),
            TimerKind::WorkflowStartBackoff | TimerKind::WorkflowTaskBackoff { .. } => {
                self.wft.is_none()
            }
            TimerKind::WorkflowRunTimeout | TimerKind::Retention => true,
        }
    }

    /// Whether an activity timeout of `timeout_type` for `attempt` (and, for heartbeat
    /// timeouts, heartbeat sequence `seq`) still applies to the activity.
    pub(crate) fn activity_timeout_applies(
        &self,
        scheduled_event_id: i64,
        attempt: i32,
        timeout_type: i32,
        seq: u64,
    ) -> bool {
        let Some(a) = self.activities.get(&scheduled_event_id) else {
            return false;
        };
        match TimeoutType::try_from(timeout_type).unwrap_or(TimeoutType::Unspecified) {
            TimeoutType::ScheduleToClose => true,
            TimeoutType::ScheduleToStart => a.attempt == attempt && a.started.is_none(),
            TimeoutType::StartToClose => a.attempt == attempt && a.started.is_some(),
            TimeoutType::Heartbeat => {
                a.attempt == attempt && a.started.is_some() && a.heartbeat_seq == seq
            }
            TimeoutType::Unspecified => false,
        }
    }
}
