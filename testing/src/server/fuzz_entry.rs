//! What `crate::fuzzing` reaches inside the server: its parsers, called as the handlers call
//! them.

use super::{history, limits, visibility};
use reprise::api::google::protobuf::Duration as PbDuration;
use reprise::api::temporal::api::common::v1::{Payload, RetryPolicy};
use reprise::api::temporal::api::enums::v1::{IndexedValueType, WorkflowExecutionStatus};
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A visibility query on two sample rows, with the search attribute types of a server.
pub(crate) fn visibility_query(text: &str) -> bool {
    let types: BTreeMap<String, IndexedValueType> = [
        ("WorkflowId".to_string(), IndexedValueType::Keyword),
        ("WorkflowType".to_string(), IndexedValueType::Keyword),
        ("ExecutionStatus".to_string(), IndexedValueType::Keyword),
        ("StartTime".to_string(), IndexedValueType::Datetime),
        ("CloseTime".to_string(), IndexedValueType::Datetime),
        ("CustomInt".to_string(), IndexedValueType::Int),
        ("CustomKw".to_string(), IndexedValueType::KeywordList),
        ("CustomDouble".to_string(), IndexedValueType::Double),
        ("CustomBool".to_string(), IndexedValueType::Bool),
    ]
    .into();
    let row = |status: WorkflowExecutionStatus, custom: &str| WorkflowExecutionInfo {
        execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
            workflow_id: "wf".into(),
            run_id: "run".into(),
        }),
        status: status as i32,
        start_time: Some(SystemTime::UNIX_EPOCH.into()),
        search_attributes: Some(reprise::api::temporal::api::common::v1::SearchAttributes {
            indexed_fields: [(
                "CustomInt".to_string(),
                Payload {
                    data: custom.as_bytes().to_vec(),
                    ..Default::default()
                },
            )]
            .into(),
        }),
        ..Default::default()
    };
    let rows = vec![
        row(WorkflowExecutionStatus::Running, "12"),
        row(WorkflowExecutionStatus::Completed, "\"not a number\""),
    ];
    visibility::select(rows, text, &types).is_ok()
}

/// A cron schedule and its next fire times after `after` (seconds since the epoch).
pub(crate) fn cron(text: &str, after: i64) -> Result<(), String> {
    let Ok(schedule) = history::cron::parse(text) else {
        return Ok(());
    };
    let start = if after >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(after.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(after.unsigned_abs()))
    };
    let mut at = start.unwrap_or(SystemTime::UNIX_EPOCH);
    for _ in 0..3 {
        match schedule.next(at) {
            Some(next) if next > at => at = next,
            Some(next) => {
                return Err(format!(
                    "cron {text:?}: next fire time {next:?} is not after {at:?}"
                ));
            }
            None => break,
        }
    }
    Ok(())
}

/// A `grpc-timeout` header value.
pub(crate) fn grpc_timeout(text: &str) {
    let mut metadata = tonic::metadata::MetadataMap::new();
    if let Ok(value) = text.parse() {
        metadata.insert("grpc-timeout", value);
    }
    let _ = super::frontend::validate::grpc_timeout(&metadata);
}

/// Durations and retry policies as the server checks them and turns them into time.
pub(crate) fn durations(seconds: i64, nanos: i32, coefficient: f64, attempts: i32) {
    let d = PbDuration { seconds, nanos };
    let _ = limits::duration(Some(&d));
    let _ = limits::nanos(Some(&d));
    let _ = history::state::std_duration(Some(&d));
    let policy = RetryPolicy {
        initial_interval: Some(d),
        backoff_coefficient: coefficient,
        maximum_interval: Some(PbDuration {
            seconds: seconds.wrapping_mul(3),
            nanos,
        }),
        maximum_attempts: attempts,
        ..Default::default()
    };
    let _ = limits::retry_policy(Some(&policy));
}
