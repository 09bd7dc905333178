//! How a durable store encodes the server's own records (timer and transfer tasks, namespaces):
//! small protobuf messages, so that a file written by one version stays readable by the next
//! (new fields get new tags; unknown ones are skipped).

use super::{NamespaceRecord, StoreError, TimerKind, TransferKind};
use prost::Message;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, PartialEq, Message)]
struct TimerRecord {
    /// Which [`TimerKind`] (see `TIMER_*`).
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(string, tag = "2")]
    timer_id: String,
    /// `started_event_id` of user timers, `scheduled_event_id` of the others.
    #[prost(int64, tag = "3")]
    event_id: i64,
    #[prost(int32, tag = "4")]
    attempt: i32,
    #[prost(int32, tag = "5")]
    timeout_type: i32,
    #[prost(uint64, tag = "6")]
    heartbeat_seq: u64,
}

const TIMER_USER: i32 = 1;
const TIMER_ACTIVITY_TIMEOUT: i32 = 2;
const TIMER_ACTIVITY_RETRY: i32 = 3;
const TIMER_WORKFLOW_TASK_TIMEOUT: i32 = 4;
const TIMER_START_BACKOFF: i32 = 5;
const TIMER_WORKFLOW_TASK_BACKOFF: i32 = 6;
const TIMER_RUN_TIMEOUT: i32 = 7;
const TIMER_RETENTION: i32 = 8;

/// The stored form of a timer task.
pub(crate) fn encode_timer(kind: &TimerKind) -> Vec<u8> {
    let mut r = TimerRecord::default();
    match kind {
        TimerKind::User {
            timer_id,
            started_event_id,
        } => {
            r.kind = TIMER_USER;
            r.timer_id = timer_id.clone();
            r.event_id = *started_event_id;
        }
        TimerKind::ActivityTimeout {
            scheduled_event_id,
            attempt,
            timeout_type,
            heartbeat_seq,
        } => {
            r.kind = TIMER_ACTIVITY_TIMEOUT;
            r.event_id = *scheduled_event_id;
            r.attempt = *attempt;
            r.timeout_type = *timeout_type;
            r.heartbeat_seq = *heartbeat_seq;
        }
        TimerKind::ActivityRetry {
            scheduled_event_id,
            attempt,
        } => {
            r.kind = TIMER_ACTIVITY_RETRY;
            r.event_id = *scheduled_event_id;
            r.attempt = *attempt;
        }
        TimerKind::WorkflowTaskTimeout {
            scheduled_event_id,
            attempt,
            timeout_type,
        } => {
            r.kind = TIMER_WORKFLOW_TASK_TIMEOUT;
            r.event_id = *scheduled_event_id;
            r.attempt = *attempt;
            r.timeout_type = *timeout_type;
        }
        TimerKind::WorkflowStartBackoff => r.kind = TIMER_START_BACKOFF,
        TimerKind::WorkflowTaskBackoff { attempt } => {
            r.kind = TIMER_WORKFLOW_TASK_BACKOFF;
            r.attempt = *attempt;
        }
        TimerKind::WorkflowRunTimeout => r.kind = TIMER_RUN_TIMEOUT,
        TimerKind::Retention => r.kind = TIMER_RETENTION,
    }
    r.encode_to_vec()
}

/// A timer task read back.
pub(crate) fn decode_timer(bytes: &[u8]) -> Result<TimerKind, StoreError> {
    let r = TimerRecord::decode(bytes).map_err(|e| corrupt("timer", e))?;
    Ok(match r.kind {
        TIMER_USER => TimerKind::User {
            timer_id: r.timer_id,
            started_event_id: r.event_id,
        },
        TIMER_ACTIVITY_TIMEOUT => TimerKind::ActivityTimeout {
            scheduled_event_id: r.event_id,
            attempt: r.attempt,
            timeout_type: r.timeout_type,
            heartbeat_seq: r.heartbeat_seq,
        },
        TIMER_ACTIVITY_RETRY => TimerKind::ActivityRetry {
            scheduled_event_id: r.event_id,
            attempt: r.attempt,
        },
        TIMER_WORKFLOW_TASK_TIMEOUT => TimerKind::WorkflowTaskTimeout {
            scheduled_event_id: r.event_id,
            attempt: r.attempt,
            timeout_type: r.timeout_type,
        },
        TIMER_START_BACKOFF => TimerKind::WorkflowStartBackoff,
        TIMER_WORKFLOW_TASK_BACKOFF => TimerKind::WorkflowTaskBackoff { attempt: r.attempt },
        TIMER_RUN_TIMEOUT => TimerKind::WorkflowRunTimeout,
        TIMER_RETENTION => TimerKind::Retention,
        other => {
            return Err(StoreError::Backend(format!(
                "stored timer has unknown kind {other}"
            )));
        }
    })
}

#[derive(Clone, PartialEq, Message)]
struct TransferRecord {
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(int64, tag = "2")]
    initiated_event_id: i64,
}

const TRANSFER_START_CHILD: i32 = 1;
const TRANSFER_SIGNAL_EXTERNAL: i32 = 2;
const TRANSFER_CANCEL_EXTERNAL: i32 = 3;
const TRANSFER_NOTIFY_PARENT: i32 = 4;
const TRANSFER_PARENT_CLOSE_POLICY: i32 = 5;

/// The stored form of a transfer task.
pub(crate) fn encode_transfer(kind: &TransferKind) -> Vec<u8> {
    let (kind, initiated_event_id) = match kind {
        TransferKind::StartChild { initiated_event_id } => {
            (TRANSFER_START_CHILD, *initiated_event_id)
        }
        TransferKind::SignalExternal { initiated_event_id } => {
            (TRANSFER_SIGNAL_EXTERNAL, *initiated_event_id)
        }
        TransferKind::CancelExternal { initiated_event_id } => {
            (TRANSFER_CANCEL_EXTERNAL, *initiated_event_id)
        }
        TransferKind::NotifyParent => (TRANSFER_NOTIFY_PARENT, 0),
        TransferKind::ParentClosePolicy => (TRANSFER_PARENT_CLOSE_POLICY, 0),
    };
    TransferRecord {
        kind,
        initiated_event_id,
    }
    .encode_to_vec()
}

/// A transfer task read back.
pub(crate) fn decode_transfer(bytes: &[u8]) -> Result<TransferKind, StoreError> {
    let r = TransferRecord::decode(bytes).map_err(|e| corrupt("transfer", e))?;
    let initiated_event_id = r.initiated_event_id;
    Ok(match r.kind {
        TRANSFER_START_CHILD => TransferKind::StartChild { initiated_event_id },
        TRANSFER_SIGNAL_EXTERNAL => TransferKind::SignalExternal { initiated_event_id },
        TRANSFER_CANCEL_EXTERNAL => TransferKind::CancelExternal { initiated_event_id },
        TRANSFER_NOTIFY_PARENT => TransferKind::NotifyParent,
        TRANSFER_PARENT_CLOSE_POLICY => TransferKind::ParentClosePolicy,
        other => {
            return Err(StoreError::Backend(format!(
                "stored transfer has unknown kind {other}"
            )));
        }
    })
}

#[derive(Clone, PartialEq, Message)]
struct NamespaceMessage {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    id: String,
    #[prost(string, tag = "3")]
    description: String,
    #[prost(string, tag = "4")]
    owner_email: String,
    #[prost(uint64, tag = "5")]
    retention_secs: u64,
    #[prost(btree_map = "string, int32", tag = "6")]
    search_attributes: BTreeMap<String, i32>,
    #[prost(btree_map = "string, string", tag = "7")]
    data: BTreeMap<String, String>,
}

/// The stored form of a namespace.
pub(crate) fn encode_namespace(ns: &NamespaceRecord) -> Vec<u8> {
    NamespaceMessage {
        name: ns.name.clone(),
        id: ns.id.clone(),
        description: ns.description.clone(),
        owner_email: ns.owner_email.clone(),
        retention_secs: ns.retention.as_secs(),
        search_attributes: ns.search_attributes.clone(),
        data: ns.data.clone(),
    }
    .encode_to_vec()
}

/// A namespace read back.
pub(crate) fn decode_namespace(bytes: &[u8]) -> Result<NamespaceRecord, StoreError> {
    let m = NamespaceMessage::decode(bytes).map_err(|e| corrupt("namespace", e))?;
    Ok(NamespaceRecord {
        name: m.name,
        id: m.id,
        description: m.description,
        owner_email: m.owner_email,
        retention: Duration::from_secs(m.retention_secs),
        search_attributes: m.search_attributes,
        data: m.data,
    })
}

/// A time as nanoseconds since the Unix epoch (what SQLite stores; saturates outside
/// 1677–2262).
pub(crate) fn unix_nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// The inverse of [`unix_nanos`].
pub(crate) fn from_unix_nanos(nanos: i64) -> SystemTime {
    if nanos >= 0 {
        UNIX_EPOCH + Duration::from_nanos(nanos.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_nanos(nanos.unsigned_abs())
    }
}

/// A record that does not decode.
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timer_kind_round_trips() {
        let kinds = [
            TimerKind::User {
                timer_id: "t1".into(),
                started_event_id: 7,
            },
            TimerKind::ActivityTimeout {
                scheduled_event_id: 5,
                attempt: 3,
                timeout_type: 2,
                heartbeat_seq: 9,
            },
            TimerKind::ActivityRetry {
                scheduled_event_id: 5,
                attempt: 4,
            },
            TimerKind::WorkflowTaskTimeout {
                scheduled_event_id: 2,
                attempt: 1,
                timeout_type: 1,
            },
            TimerKind::WorkflowStartBackoff,
            TimerKind::WorkflowTaskBackoff { attempt: 6 },
            TimerKind::WorkflowRunTimeout,
            TimerKind::Retention,
        ];
        for kind in kinds {
            assert_eq!(decode_timer(&encode_timer(&kind)).ok(), Some(kind));
        }
    }

    #[test]
    fn every_transfer_kind_round_trips() {
        let kinds = [
            TransferKind::StartChild {
                initiated_event_id: 5,
            },
            TransferKind::SignalExternal {
                initiated_event_id: 6,
            },
            TransferKind::CancelExternal {
                initiated_event_id: 7,
            },
            TransferKind::NotifyParent,
            TransferKind::ParentClosePolicy,
        ];
        for kind in kinds {
            assert_eq!(decode_transfer(&encode_transfer(&kind)).ok(), Some(kind));
        }
    }

    #[test]
    fn unknown_kinds_and_garbage_are_errors() {
        let unknown = TimerRecord {
            kind: 99,
            ..Default::default()
        }
        .encode_to_vec();
        assert!(decode_timer(&unknown).is_err());
        assert!(decode_transfer(&[0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn times_round_trip_through_nanos() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(from_unix_nanos(unix_nanos(t)), t);
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(from_unix_nanos(unix_nanos(before)), before);
    }
}
