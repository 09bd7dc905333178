//! Older exporters (earlier CLI versions, the Web UI, `tctl`) wrote enum values as PascalCase short
//! names (`"eventType": "WorkflowExecutionStarted"`, `"kind": "Normal"`) instead of proto3 JSON's
//! full names (`"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"`). This module rewrites those spellings in
//! a parsed JSON document so that the generated deserializers accept it.
//!
//! Only the enum fields such exporters are known to have written are touched: `eventType`,
//! `taskQueue.kind`, `retryState`, `timeoutType`, `parentClosePolicy`, `workflowIdReusePolicy`,
//! `initiator` and the `cause` of the `*FailedEventAttributes` that have an enum cause, at any
//! depth (so inside nested failures too). A value is rewritten only if the result is a real value
//! of the field's enum; anything else is left for the deserializer to report.

use crate::api::temporal::api::enums::v1 as enums;
use serde_json::Value;

/// An enum a legacy spelling may belong to: the prefix of its value names, and a check that a full
/// name is one of its values.
#[derive(Clone, Copy)]
struct EnumKind {
    prefix: &'static str,
    is_value: fn(&str) -> bool,
}

macro_rules! enum_kind {
    ($prefix:literal, $ty:ty) => {
        EnumKind {
            prefix: $prefix,
            is_value: |name| <$ty>::from_str_name(name).is_some(),
        }
    };
}

/// Which enum the field `key` of an object holds, given the key under which that object sits
/// (`parent`; for array elements, the array's key). Both JSON (camelCase) and proto (snake_case)
/// field names are recognised, as the deserializers accept both.
fn enum_kind(parent: Option<&str>, key: &str) -> Option<EnumKind> {
    Some(match key {
        "eventType" | "event_type" => enum_kind!("EVENT_TYPE_", enums::EventType),
        "kind" if parent.is_some_and(is_task_queue_key) => {
            enum_kind!("TASK_QUEUE_KIND_", enums::TaskQueueKind)
        }
        "retryState" | "retry_state" => enum_kind!("RETRY_STATE_", enums::RetryState),
        "timeoutType" | "timeout_type" => enum_kind!("TIMEOUT_TYPE_", enums::TimeoutType),
        "parentClosePolicy" | "parent_close_policy" => {
            enum_kind!("PARENT_CLOSE_POLICY_", enums::ParentClosePolicy)
        }
        "workflowIdReusePolicy" | "workflow_id_reuse_policy" => {
            enum_kind!("WORKFLOW_ID_REUSE_POLICY_", enums::WorkflowIdReusePolicy)
        }
        "initiator" => enum_kind!("CONTINUE_AS_NEW_INITIATOR_", enums::ContinueAsNewInitiator),
        "cause" => match parent? {
            "workflowTaskFailedEventAttributes" | "workflow_task_failed_event_attributes" => {
                enum_kind!(
                    "WORKFLOW_TASK_FAILED_CAUSE_",
                    enums::WorkflowTaskFailedCause
                )
            }
            "activityTaskFailedEventAttributes" | "activity_task_failed_event_attributes" => {
                enum_kind!(
                    "ACTIVITY_TASK_FAILED_CAUSE_",
                    enums::ActivityTaskFailedCause
                )
            }
            "startChildWorkflowExecutionFailedEventAttributes"
            | "start_child_workflow_execution_failed_event_attributes" => enum_kind!(
                "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_",
                enums::StartChildWorkflowExecutionFailedCause
            ),
            "signalExternalWorkflowExecutionFailedEventAttributes"
            | "signal_external_workflow_execution_failed_event_attributes" => enum_kind!(
                "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
                enums::SignalExternalWorkflowExecutionFailedCause
            ),
            "requestCancelExternalWorkflowExecutionFailedEventAttributes"
            | "request_cancel_external_workflow_execution_failed_event_attributes" => enum_kind!(
                "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
                enums::CancelExternalWorkflowExecutionFailedCause
            ),
            _ => return None,
        },
        _ => return None,
    })
}

/// `taskQueue`, `task_queue`, `stickyTaskQueue`, ...: the keys under which a `TaskQueue` sits.
fn is_task_queue_key(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("taskqueue") || key.ends_with("task_queue")
}

/// `WorkflowExecutionStarted` -> `WORKFLOW_EXECUTION_STARTED`. An underscore goes before an
/// uppercase letter that follows a lowercase letter or digit, or that starts a new word after an
/// acronym (`GRPCMessage` -> `GRPC_MESSAGE`); existing underscores are kept, so names that are
/// already screaming snake case pass through unchanged.
pub(crate) fn screaming_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The full enum name for `value` if it is a legacy spelling of a value of `kind`.
fn full_name(kind: EnumKind, value: &str) -> Option<String> {
    if value.is_empty() || (kind.is_value)(value) {
        return None;
    }
    let candidate = format!("{}{}", kind.prefix, screaming_snake(value));
    (kind.is_value)(&candidate).then_some(candidate)
}

/// Rewrites every legacy enum spelling in `doc` to its full proto3-JSON name, in place. Returns the
/// number of values rewritten.
pub(crate) fn rewrite_legacy_enums(doc: &mut Value) -> usize {
    let mut rewritten = 0;
    walk(doc, None, &mut rewritten);
    rewritten
}

fn walk(value: &mut Value, parent: Option<&str>, rewritten: &mut usize) {
    match value {
        Value::Array(items) => {
            for item in items {
                walk(item, parent, rewritten);
            }
        }
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(text) => {
                        if let Some(name) = enum_kind(parent, key).and_then(|k| full_name(k, text))
                        {
                            *text = name;
                            *rewritten += 1;
                        }
                    }
                    _ => walk(child, Some(key), rewritten),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The PascalCase short name older exporters wrote for a full enum value name.
    fn pascal(full: &str, prefix: &str) -> String {
        full.strip_prefix(prefix)
            .unwrap()
            .split('_')
            .map(|word| {
                let lower = word.to_ascii_lowercase();
                let mut chars = lower.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect()
    }

    #[test]
    fn screaming_snake_cases() {
        assert_eq!(
            screaming_snake("WorkflowExecutionStarted"),
            "WORKFLOW_EXECUTION_STARTED"
        );
        assert_eq!(screaming_snake("Normal"), "NORMAL");
        assert_eq!(screaming_snake("ScheduleToStart"), "SCHEDULE_TO_START");
        assert_eq!(
            screaming_snake("GRPCMessageTooLarge"),
            "GRPC_MESSAGE_TOO_LARGE"
        );
        assert_eq!(
            screaming_snake("workflowTaskFailed"),
            "WORKFLOW_TASK_FAILED"
        );
        assert_eq!(screaming_snake("Version2Thing"), "VERSION2_THING");
        assert_eq!(screaming_snake("ALREADY_SNAKE"), "ALREADY_SNAKE");
        assert_eq!(screaming_snake(""), "");
    }

    /// Every value of every rewritten enum, written the legacy way, comes back to its full name.
    #[test]
    fn every_pascal_case_value_maps_back() {
        macro_rules! check {
            ($ty:ty, $prefix:literal, $parent:expr, $key:literal) => {
                let mut seen = 0;
                for n in 0..1000 {
                    let Ok(v) = <$ty>::try_from(n) else { continue };
                    let full = v.as_str_name();
                    let short = pascal(full, $prefix);
                    let mut doc = json!({ $parent: { $key: short.clone() } });
                    assert_eq!(rewrite_legacy_enums(&mut doc), 1, "{short} ({full})");
                    assert_eq!(doc[$parent][$key], json!(full), "{short}");
                    seen += 1;
                }
                assert!(seen > 1, stringify!($ty));
            };
        }
        check!(enums::EventType, "EVENT_TYPE_", "x", "eventType");
        check!(
            enums::TaskQueueKind,
            "TASK_QUEUE_KIND_",
            "taskQueue",
            "kind"
        );
        check!(enums::RetryState, "RETRY_STATE_", "x", "retryState");
        check!(enums::TimeoutType, "TIMEOUT_TYPE_", "x", "timeoutType");
        check!(
            enums::ParentClosePolicy,
            "PARENT_CLOSE_POLICY_",
            "x",
            "parentClosePolicy"
        );
        check!(
            enums::WorkflowIdReusePolicy,
            "WORKFLOW_ID_REUSE_POLICY_",
            "x",
            "workflowIdReusePolicy"
        );
        check!(
            enums::ContinueAsNewInitiator,
            "CONTINUE_AS_NEW_INITIATOR_",
            "x",
            "initiator"
        );
        check!(
            enums::WorkflowTaskFailedCause,
            "WORKFLOW_TASK_FAILED_CAUSE_",
            "workflowTaskFailedEventAttributes",
            "cause"
        );
        check!(
            enums::ActivityTaskFailedCause,
            "ACTIVITY_TASK_FAILED_CAUSE_",
            "activityTaskFailedEventAttributes",
            "cause"
        );
        check!(
            enums::StartChildWorkflowExecutionFailedCause,
            "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_",
            "startChildWorkflowExecutionFailedEventAttributes",
            "cause"
        );
        check!(
            enums::SignalExternalWorkflowExecutionFailedCause,
            "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
            "signalExternalWorkflowExecutionFailedEventAttributes",
            "cause"
        );
        check!(
            enums::CancelExternalWorkflowExecutionFailedCause,
            "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
            "requestCancelExternalWorkflowExecutionFailedEventAttributes",
            "cause"
        );
    }

    #[test]
    fn rewrites_nested_failures_and_leaves_the_rest_alone() {
        let mut doc = json!({
            "events": [{
                "eventType": "ActivityTaskTimedOut",
                "activityTaskTimedOutEventAttributes": {
                    "failure": {
                        "message": "activity timeout",
                        "cause": {
                            "message": "heartbeat",
                            "timeoutFailureInfo": {"timeoutType": "Heartbeat"},
                            "cause": {
                                "childWorkflowExecutionFailureInfo": {"retryState": "Timeout"}
                            }
                        },
                        "timeoutFailureInfo": {"timeoutType": "ScheduleToClose"}
                    },
                    "retryState": "RETRY_STATE_TIMEOUT"
                }
            }, {
                "eventType": "EVENT_TYPE_WORKFLOW_TASK_FAILED",
                "workflowTaskFailedEventAttributes": {"cause": "UnhandledCommand"},
                "workflowTaskScheduledEventAttributes": {
                    "taskQueue": {"name": "Normal", "kind": "Sticky"}
                }
            }, {
                "eventType": "NotARealEventType",
                "markerRecordedEventAttributes": {"markerName": "Normal", "kind": "Normal"},
                "activityTaskFailedEventAttributes": {"identity": "RetryState"},
                "someOtherAttributes": {"cause": "UnhandledCommand"}
            }]
        });
        assert_eq!(rewrite_legacy_enums(&mut doc), 6);
        let ev = &doc["events"];
        assert_eq!(ev[0]["eventType"], "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT");
        let failure = &ev[0]["activityTaskTimedOutEventAttributes"]["failure"];
        assert_eq!(
            failure["timeoutFailureInfo"]["timeoutType"],
            "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE"
        );
        assert_eq!(
            failure["cause"]["timeoutFailureInfo"]["timeoutType"],
            "TIMEOUT_TYPE_HEARTBEAT"
        );
        assert_eq!(
            failure["cause"]["cause"]["childWorkflowExecutionFailureInfo"]["retryState"],
            "RETRY_STATE_TIMEOUT"
        );
        assert_eq!(failure["message"], "activity timeout");
        assert_eq!(
            ev[1]["workflowTaskFailedEventAttributes"]["cause"],
            "WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND"
        );
        let tq = &ev[1]["workflowTaskScheduledEventAttributes"]["taskQueue"];
        assert_eq!(tq["kind"], "TASK_QUEUE_KIND_STICKY");
        assert_eq!(tq["name"], "Normal");
        // Unknown names, strings of other fields, `kind` outside a task queue and `cause` outside
        // the known attributes stay as they were.
        assert_eq!(ev[2]["eventType"], "NotARealEventType");
        assert_eq!(ev[2]["markerRecordedEventAttributes"]["kind"], "Normal");
        assert_eq!(
            ev[2]["markerRecordedEventAttributes"]["markerName"],
            "Normal"
        );
        assert_eq!(
            ev[2]["activityTaskFailedEventAttributes"]["identity"],
            "RetryState"
        );
        assert_eq!(ev[2]["someOtherAttributes"]["cause"], "UnhandledCommand");
    }

    #[test]
    fn full_names_are_not_counted() {
        let mut doc = json!({"events": [{"eventType": "EVENT_TYPE_TIMER_FIRED"}]});
        let before = doc.clone();
        assert_eq!(rewrite_legacy_enums(&mut doc), 0);
        assert_eq!(doc, before);
    }

    #[test]
    fn screaming_short_names_get_their_prefix() {
        let mut doc = json!({"eventType": "TIMER_FIRED", "retryState": "in_progress"});
        assert_eq!(rewrite_legacy_enums(&mut doc), 2);
        assert_eq!(doc["eventType"], "EVENT_TYPE_TIMER_FIRED");
        assert_eq!(doc["retryState"], "RETRY_STATE_IN_PROGRESS");
    }
}
