//! The official server's limits (the dev server's dynamic-config defaults) and the checks that
//! both the frontend (requests) and history (command attributes, history growth) apply. Each
//! check answers with the official message; the callers choose the status or the workflow-task
//! failure cause the official server gives in their place.

use prost::Message as _;
use reprise::api::google::protobuf::Duration as PbDuration;
use reprise::api::temporal::api::common::v1::{Memo, Payload, Payloads, RetryPolicy};
use reprise::api::temporal::api::enums::v1::IndexedValueType;

/// `limit.maxIDLength`: ids, names, task queues, request ids.
pub(crate) const MAX_ID_LENGTH: usize = 1000;
/// `limit.blobSize.error`: one payload field (input, result, details) of an event.
pub(crate) const BLOB_SIZE_LIMIT: usize = 2 * 1024 * 1024;
/// `limit.memoSize.error`.
pub(crate) const MEMO_SIZE_LIMIT: usize = 2 * 1024 * 1024;
/// gRPC-Go's default receive limit, which the official frontend keeps: larger requests are
/// refused with `RESOURCE_EXHAUSTED` before any handler runs.
pub(crate) const MAX_REQUEST_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// `limit.historyCount.error`: a run with more events is terminated.
pub(crate) const HISTORY_COUNT_LIMIT: i64 = 50 * 1024;
/// `limit.historySize.error`: a run whose history is larger is terminated.
pub(crate) const HISTORY_SIZE_LIMIT: i64 = 50 * 1024 * 1024;
/// `limit.historyCount.suggestContinueAsNew`.
pub(crate) const HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW: i64 = 4 * 1024;
/// `limit.historySize.suggestContinueAsNew`.
pub(crate) const HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW: i64 = 4 * 1024 * 1024;
/// `limit.numPendingActivities.error`, `limit.numPendingChildExecutions.error`,
/// `limit.numPendingSignals.error`, `limit.numPendingCancelRequests.error`.
pub(crate) const PENDING_PER_RUN_LIMIT: usize = 2000;
/// `frontend.searchAttributesNumberOfKeysLimit`.
pub(crate) const SEARCH_ATTRIBUTES_COUNT_LIMIT: usize = 100;
/// `frontend.searchAttributesSizeOfValueLimit`.
pub(crate) const SEARCH_ATTRIBUTE_VALUE_SIZE_LIMIT: usize = 2 * 1024;
/// `frontend.searchAttributesTotalSizeLimit`.
pub(crate) const SEARCH_ATTRIBUTES_TOTAL_SIZE_LIMIT: usize = 40 * 1024;
/// `frontend.visibilityMaxPageSize`: list pages are at most this long (and this long when the
/// request names no size).
pub(crate) const VISIBILITY_MAX_PAGE_SIZE: usize = 1000;

/// `limit.historyMaxPageSize` (`GetHistoryMaxPageSize`): history pages are at most this long and
/// this long when the request names no size. (The official server counts event batches; this
/// server counts events.)
pub(crate) const HISTORY_MAX_PAGE_SIZE: usize = 256;

/// The official reason of the termination when a history grows past its count limit.
pub(crate) const HISTORY_COUNT_EXCEEDED: &str = "Workflow history count exceeds limit.";
/// The official reason of the termination when a history grows past its size limit.
pub(crate) const HISTORY_SIZE_EXCEEDED: &str = "Workflow history size exceeds limit.";
/// The identity the official server writes on the terminations it decides itself.
pub(crate) const HISTORY_SERVICE_IDENTITY: &str = "history-service";
/// The official error of a payload over [`BLOB_SIZE_LIMIT`].
pub(crate) const BLOB_SIZE_EXCEEDED: &str = "Blob data size exceeds limit.";
/// The official error of a memo over [`MEMO_SIZE_LIMIT`].
pub(crate) const MEMO_SIZE_EXCEEDED: &str = "Memo size exceeds limit.";

/// Rewrites tonic's answer to a request over [`MAX_REQUEST_MESSAGE_SIZE`] (`OUT_OF_RANGE`,
/// "Error, decoded message length too large: found N bytes, the limit is: M bytes") as gRPC-Go
/// and so the official server answer it: `RESOURCE_EXHAUSTED`, "grpc: received message larger
/// than max (N vs. M)". Other responses pass unchanged.
pub(crate) fn oversized_request_status<B>(
    mut response: tonic::codegen::http::Response<B>,
) -> tonic::codegen::http::Response<B> {
    use tonic::codegen::http::HeaderValue;
    let headers = response.headers_mut();
    if headers.get("grpc-status").and_then(|v| v.to_str().ok()) != Some("11") {
        return response;
    }
    let Some(message) = headers.get("grpc-message").and_then(|v| v.to_str().ok()) else {
        return response;
    };
    // grpc-message is percent-encoded (tonic encodes spaces; ':' and ',' may be too).
    let decoded = message
        .replace("%20", " ")
        .replace("%3A", ":")
        .replace("%2C", ",");
    let Some(rest) = decoded.strip_prefix("Error, decoded message length too large: found ") else {
        return response;
    };
    let numbers: Vec<&str> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    let [found, limit] = numbers[..] else {
        return response;
    };
    let text = format!("grpc: received message larger than max ({found} vs. {limit})");
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.insert("grpc-status", HeaderValue::from_static("8"));
        headers.insert("grpc-message", value);
    }
    response
}

/// A retry policy as the official server validates it (`retrypolicy.Validate`).
pub(crate) fn retry_policy(policy: Option<&RetryPolicy>) -> Result<(), String> {
    let Some(policy) = policy else {
        return Ok(());
    };
    if policy.maximum_attempts == 1 {
        // One attempt disables retries; the rest does not matter.
        return Ok(());
    }
    duration(policy.initial_interval.as_ref())
        .map_err(|e| format!("invalid InitialInterval set on retry policy: {e}"))?;
    // NaN is below 1 for this check as well. Zero means "the default" (2.0) once the server
    // fills in defaults; the official frontend validates after that step, so zero is accepted.
    let coefficient = policy.backoff_coefficient;
    if (coefficient.is_nan() || coefficient < 1.0) && coefficient != 0.0 {
        return Err("BackoffCoefficient cannot be less than 1 on retry policy.".into());
    }
    duration(policy.maximum_interval.as_ref())
        .map_err(|e| format!("invalid MaximumInterval set on retry policy: {e}"))?;
    let initial = nanos(policy.initial_interval.as_ref());
    let maximum = nanos(policy.maximum_interval.as_ref());
    if maximum > 0 && maximum < initial {
        return Err("MaximumInterval cannot be less than InitialInterval on retry policy.".into());
    }
    if policy.maximum_attempts < 0 {
        return Err("MaximumAttempts cannot be negative on retry policy.".into());
    }
    for kind in &policy.non_retryable_error_types {
        if let Some(value) = kind.strip_prefix("TemporalTimeout:") {
            let known = [
                "StartToClose",
                "ScheduleToStart",
                "ScheduleToClose",
                "Heartbeat",
            ];
            if !known.contains(&value) {
                return Err(format!("Invalid timeout type value: {value}."));
            }
        }
    }
    Ok(())
}

/// A protobuf duration the official server accepts: not negative, nanos in range.
pub(crate) fn duration(d: Option<&PbDuration>) -> Result<(), &'static str> {
    let Some(d) = d else {
        return Ok(());
    };
    if d.seconds < 0 || d.nanos < 0 {
        return Err("negative duration");
    }
    if d.nanos >= 1_000_000_000 {
        return Err("duration nanos out of range");
    }
    Ok(())
}

/// A duration in nanoseconds, saturating (no overflow on hostile values).
pub(crate) fn nanos(d: Option<&PbDuration>) -> i128 {
    d.map(|d| i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos))
        .unwrap_or(0)
}

/// The encoded size of optional payloads, as the official server measures a blob.
pub(crate) fn payloads_size(p: Option<&Payloads>) -> usize {
    p.map(|p| p.encoded_len()).unwrap_or(0)
}

/// Payloads within [`BLOB_SIZE_LIMIT`].
pub(crate) fn blob(p: Option<&Payloads>) -> Result<(), &'static str> {
    if payloads_size(p) > BLOB_SIZE_LIMIT {
        return Err(BLOB_SIZE_EXCEEDED);
    }
    Ok(())
}

/// A memo within [`MEMO_SIZE_LIMIT`].
pub(crate) fn memo(m: Option<&Memo>) -> Result<(), &'static str> {
    if m.map(|m| m.encoded_len()).unwrap_or(0) > MEMO_SIZE_LIMIT {
        return Err(MEMO_SIZE_EXCEEDED);
    }
    Ok(())
}

/// A search attribute value of its registered type, as the official server decodes it. The
/// error is the official message.
pub(crate) fn search_attribute_value(
    name: &str,
    kind: IndexedValueType,
    value: &Payload,
) -> Result<(), String> {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&value.data) else {
        return Err(format!(
            "invalid value for search attribute {name} of type {}: value from <{} bytes>",
            type_name(kind),
            value.data.len()
        ));
    };
    use serde_json::Value as J;
    let fits = |v: &J| match kind {
        IndexedValueType::Int => v.as_i64().is_some(),
        IndexedValueType::Double => v.is_number(),
        IndexedValueType::Bool => v.is_boolean(),
        IndexedValueType::Keyword | IndexedValueType::Text => v.is_string(),
        IndexedValueType::Datetime => v.as_str().is_some_and(is_rfc3339),
        IndexedValueType::KeywordList => v.is_string(),
        IndexedValueType::Unspecified => true,
    };
    let ok = match &json {
        // Null unsets the attribute; an empty list too.
        J::Null => true,
        J::Array(items) => {
            items.is_empty()
                || (kind == IndexedValueType::KeywordList || items.len() == 1)
                    && items.iter().all(fits)
        }
        v => fits(v),
    };
    if ok {
        return Ok(());
    }
    let shown = match &json {
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    Err(format!(
        "invalid value for search attribute {name} of type {}: {shown}",
        type_name(kind)
    ))
}

/// The official name of a search attribute type, as messages print it.
fn type_name(kind: IndexedValueType) -> &'static str {
    match kind {
        IndexedValueType::Unspecified => "Unspecified",
        IndexedValueType::Text => "Text",
        IndexedValueType::Keyword => "Keyword",
        IndexedValueType::Int => "Int",
        IndexedValueType::Double => "Double",
        IndexedValueType::Bool => "Bool",
        IndexedValueType::Datetime => "Datetime",
        IndexedValueType::KeywordList => "KeywordList",
    }
}

/// A loose RFC 3339 check: a date, a `T`, a time (what a search attribute `Datetime` holds).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        && b[13] == b':'
}

/// The sizes of search attributes: each value and the whole map (checked after the types).
pub(crate) fn search_attribute_sizes(
    attributes: &reprise::api::temporal::api::common::v1::SearchAttributes,
) -> Result<(), String> {
    if attributes.indexed_fields.len() > SEARCH_ATTRIBUTES_COUNT_LIMIT {
        return Err(format!(
            "number of search attributes {} exceeds limit {SEARCH_ATTRIBUTES_COUNT_LIMIT}",
            attributes.indexed_fields.len()
        ));
    }
    for (name, value) in &attributes.indexed_fields {
        if value.data.len() > SEARCH_ATTRIBUTE_VALUE_SIZE_LIMIT {
            return Err(format!(
                "search attribute {name} value size {} exceeds size limit {SEARCH_ATTRIBUTE_VALUE_SIZE_LIMIT}",
                value.data.len()
            ));
        }
    }
    let total = attributes.encoded_len();
    if total > SEARCH_ATTRIBUTES_TOTAL_SIZE_LIMIT {
        return Err(format!(
            "total size of search attributes {total} exceeds size limit {SEARCH_ATTRIBUTES_TOTAL_SIZE_LIMIT}"
        ));
    }
    Ok(())
}

/// The official message of a per-run pending limit (`what`: "pending activities", …).
pub(crate) fn pending(count: usize, what: &str) -> Result<(), String> {
    if count >= PENDING_PER_RUN_LIMIT {
        return Err(format!(
            "the number of {what}, {count}, has reached the per-workflow limit of {PENDING_PER_RUN_LIMIT}"
        ));
    }
    Ok(())
}

/// Whether the server suggests continue-as-new on a workflow task's start.
pub(crate) fn suggest_continue_as_new(event_count: i64, history_size: i64) -> bool {
    event_count >= HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW
        || history_size >= HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW
}

/// The termination reason when a history is past its limits.
pub(crate) fn history_exceeded(event_count: i64, history_size: i64) -> Option<&'static str> {
    if history_size > HISTORY_SIZE_LIMIT {
        Some(HISTORY_SIZE_EXCEEDED)
    } else if event_count > HISTORY_COUNT_LIMIT {
        Some(HISTORY_COUNT_EXCEEDED)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(seconds: i64) -> Option<PbDuration> {
        Some(PbDuration { seconds, nanos: 0 })
    }

    #[test]
    fn retry_policies_as_the_official_server_checks_them() {
        let good = RetryPolicy {
            initial_interval: d(1),
            backoff_coefficient: 2.0,
            maximum_interval: d(10),
            maximum_attempts: 3,
            ..Default::default()
        };
        assert_eq!(retry_policy(Some(&good)), Ok(()));
        let bad = |p: RetryPolicy| retry_policy(Some(&p)).err().unwrap_or_default();
        assert!(
            bad(RetryPolicy {
                backoff_coefficient: f64::NAN,
                ..good.clone()
            })
            .starts_with("BackoffCoefficient")
        );
        assert!(
            bad(RetryPolicy {
                initial_interval: d(-1),
                ..good.clone()
            })
            .contains("negative duration")
        );
        assert!(
            bad(RetryPolicy {
                maximum_interval: d(i64::MIN),
                ..good.clone()
            })
            .starts_with("invalid MaximumInterval")
        );
        // One attempt: nothing else matters.
        assert_eq!(
            retry_policy(Some(&RetryPolicy {
                maximum_attempts: 1,
                backoff_coefficient: -3.0,
                ..good
            })),
            Ok(())
        );
    }

    #[test]
    fn search_attribute_values_of_their_type() {
        let p = |s: &str| Payload {
            data: s.as_bytes().to_vec(),
            ..Default::default()
        };
        use IndexedValueType as T;
        assert!(search_attribute_value("A", T::Int, &p("12")).is_ok());
        assert!(search_attribute_value("A", T::Int, &p("1.5")).is_err());
        assert!(search_attribute_value("A", T::Bool, &p("[true]")).is_ok());
        assert!(search_attribute_value("A", T::KeywordList, &p("[\"a\",\"b\"]")).is_ok());
        assert!(search_attribute_value("A", T::Keyword, &p("[\"a\",\"b\"]")).is_err());
        assert!(search_attribute_value("A", T::Datetime, &p("\"2024-01-02T03:04:05Z\"")).is_ok());
        assert!(search_attribute_value("A", T::Datetime, &p("\"yesterday\"")).is_err());
        assert_eq!(
            search_attribute_value("CustomInt", T::Int, &p("\"not a number\"")),
            Err("invalid value for search attribute CustomInt of type Int: not a number".into())
        );
        assert!(search_attribute_value("A", T::Int, &p("\u{0}garbage")).is_err());
    }
}
