//! A schedule's whole state, as kept in memory and written to the store (protobuf-encoded).

use prost::Message;
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::common::v1::{Memo, Payloads, SearchAttributes};
use reprise::api::temporal::api::failure::v1::Failure;
use reprise::api::temporal::api::schedule::v1::{BackfillRequest, Schedule, ScheduleInfo};

/// A start waiting in the buffer (for its overlap policy to let it begin).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct BufferedStart {
    /// The spec's time (the workflow id carries it).
    #[prost(message, optional, tag = "1")]
    pub(crate) nominal: Option<Timestamp>,
    /// The time with jitter (the action's `schedule_time`).
    #[prost(message, optional, tag = "2")]
    pub(crate) actual: Option<Timestamp>,
    /// A `ScheduleOverlapPolicy` (unspecified: the schedule's, resolved when processed).
    #[prost(int32, tag = "3")]
    pub(crate) overlap_policy: i32,
    /// Triggered or backfilled: not subject to pause or the remaining-actions limit.
    #[prost(bool, tag = "4")]
    pub(crate) manual: bool,
}

/// One schedule.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ScheduleRecord {
    #[prost(string, tag = "1")]
    pub(crate) namespace: String,
    #[prost(string, tag = "2")]
    pub(crate) schedule_id: String,
    /// Spec (canonical), action, policies (defaults filled in) and state.
    #[prost(message, optional, tag = "3")]
    pub(crate) schedule: Option<Schedule>,
    /// Counters, recent actions, running workflows, create/update times.
    #[prost(message, optional, tag = "4")]
    pub(crate) info: Option<ScheduleInfo>,
    /// The schedule's own memo.
    #[prost(message, optional, tag = "5")]
    pub(crate) memo: Option<Memo>,
    /// The schedule's own search attributes.
    #[prost(message, optional, tag = "6")]
    pub(crate) search_attributes: Option<SearchAttributes>,
    /// Changes with every update, pause or limited action (`conflict_token`).
    #[prost(int64, tag = "7")]
    pub(crate) conflict_token: i64,
    /// Spec times up to here have been handled.
    #[prost(message, optional, tag = "8")]
    pub(crate) last_processed: Option<Timestamp>,
    /// Starts waiting for their overlap policy.
    #[prost(message, repeated, tag = "9")]
    pub(crate) buffer: Vec<BufferedStart>,
    /// Backfills not yet turned into starts.
    #[prost(message, repeated, tag = "10")]
    pub(crate) backfills: Vec<BackfillRequest>,
    /// The namespace's id (jitter seed).
    #[prost(string, tag = "11")]
    pub(crate) namespace_id: String,
    /// The result of the last workflow that completed (the next one starts with it).
    #[prost(message, optional, tag = "12")]
    pub(crate) last_completion_result: Option<Payloads>,
    /// The failure of the last workflow that failed after the last completion.
    #[prost(message, optional, tag = "13")]
    pub(crate) continued_failure: Option<Failure>,
}

impl ScheduleRecord {
    /// The schedule (always set after creation).
    pub(crate) fn schedule_mut(&mut self) -> &mut Schedule {
        self.schedule.get_or_insert_with(Default::default)
    }

    /// The info (always set after creation).
    pub(crate) fn info_mut(&mut self) -> &mut ScheduleInfo {
        self.info.get_or_insert_with(Default::default)
    }
}
