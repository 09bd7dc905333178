//! Workflow histories: proto3 JSON (as the CLI and Web UI write it) and protobuf binary.
//!
//! - Reading is lenient: [`load_file`], [`from_json_str`], [`from_json_slice`],
//!   [`from_proto_bytes`] accept what any Temporal tool writes, including the PascalCase enum
//!   spellings of older exporters, ignore unknown fields, and [`validate`] the result.
//! - Writing is canonical: [`to_json_string`], [`to_json_writer`] and [`save_file`] produce, byte
//!   for byte, what `temporal workflow show --output json` writes; [`to_proto_bytes`] gives
//!   protobuf binary.
//! - Errors ([`HistoryError`]) name the file and the exact place: a JSON field path such as
//!   `events[3].eventTime` with line and column, or the event and byte offset in binary input.
//!
//! ```no_run
//! # fn main() -> Result<(), reprise::history::HistoryError> {
//! let history = reprise::history::load_file("fixtures/histories/01-order.json")?;
//! assert_eq!(reprise::history::workflow_id(&history), Some("corpus-order"));
//! let text = reprise::history::to_json_string(&history)?;
//! # let _ = text;
//! # Ok(())
//! # }
//! ```

mod builder;
mod error;
mod format;
mod legacy_enums;
mod read;
mod write;

pub use builder::HistoryBuilder;
pub use error::HistoryError;
pub use read::{from_json_slice, from_json_str, from_proto_bytes, load_file};
pub use write::{save_file, to_json_string, to_json_writer, to_proto_bytes};

pub use crate::api::temporal::api::history::v1::{History, HistoryEvent};

use crate::api::temporal::api::enums::v1::EventType;
use crate::api::temporal::api::history::v1::WorkflowExecutionStartedEventAttributes;
use crate::api::temporal::api::history::v1::history_event::Attributes;

/// Checks what every replayable history satisfies: it has events, the first is
/// `EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`, and event ids start at 1 and increase by one.
///
/// The readers of this module run it; call it yourself on histories built another way.
pub fn validate(history: &History) -> Result<(), HistoryError> {
    let invalid = |field: String, reason: String| {
        Err(HistoryError::Invalid {
            file: None,
            field,
            reason,
        })
    };
    let Some(first) = history.events.first() else {
        return invalid("events".to_owned(), "the history has no events".to_owned());
    };
    if first.event_type != EventType::WorkflowExecutionStarted as i32 {
        return invalid(
            "events[0].eventType".to_owned(),
            format!(
                "the first event must be EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, not {}",
                event_type_name(first.event_type)
            ),
        );
    }
    for (index, event) in history.events.iter().enumerate() {
        let expected = index as i64 + 1;
        if event.event_id != expected {
            return invalid(
                format!("events[{index}].eventId"),
                format!(
                    "expected event id {expected}, found {} (ids start at 1 and increase by one)",
                    event.event_id
                ),
            );
        }
    }
    Ok(())
}

/// The full enum name of an event type, or the number if it is not a known one.
fn event_type_name(event_type: i32) -> String {
    match EventType::try_from(event_type) {
        Ok(known) => known.as_str_name().to_owned(),
        Err(_) => format!("unknown event type {event_type}"),
    }
}

/// The attributes of the first event, if it is `WorkflowExecutionStarted`.
fn started_attributes(history: &History) -> Option<&WorkflowExecutionStartedEventAttributes> {
    match history.events.first()?.attributes.as_ref()? {
        Attributes::WorkflowExecutionStartedEventAttributes(attributes) => Some(attributes),
        _ => None,
    }
}

/// The workflow id recorded in the first event (`workflowExecutionStartedEventAttributes.workflowId`).
///
/// `None` if the first event is not `WorkflowExecutionStarted` or has no workflow id (histories
/// from the Java test server do not record one).
pub fn workflow_id(history: &History) -> Option<&str> {
    Some(started_attributes(history)?.workflow_id.as_str()).filter(|id| !id.is_empty())
}

/// The workflow type name recorded in the first event
/// (`workflowExecutionStartedEventAttributes.workflowType.name`).
pub fn workflow_type(history: &History) -> Option<&str> {
    let workflow_type = started_attributes(history)?.workflow_type.as_ref()?;
    Some(workflow_type.name.as_str()).filter(|name| !name.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(id: i64, event_type: EventType) -> HistoryEvent {
        HistoryEvent {
            event_id: id,
            event_type: event_type as i32,
            ..Default::default()
        }
    }

    #[test]
    fn validate_accepts_well_formed_and_names_the_field() {
        let mut history = History {
            events: vec![
                event(1, EventType::WorkflowExecutionStarted),
                event(2, EventType::WorkflowTaskScheduled),
            ],
        };
        validate(&history).unwrap();

        history.events[1].event_id = 3;
        let err = validate(&history).unwrap_err().to_string();
        assert!(
            err.contains("events[1].eventId") && err.contains("expected event id 2, found 3"),
            "{err}"
        );

        history.events[0] = event(1, EventType::TimerFired);
        let err = validate(&history).unwrap_err().to_string();
        assert!(
            err.contains("events[0].eventType") && err.contains("EVENT_TYPE_TIMER_FIRED"),
            "{err}"
        );

        history.events[0].event_type = 9999;
        let err = validate(&history).unwrap_err().to_string();
        assert!(err.contains("unknown event type 9999"), "{err}");

        let err = validate(&History::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid history at `events`: the history has no events"
        );
    }

    #[test]
    fn helpers_read_event_one() {
        let text = r#"{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
            "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "Order"},
            "workflowId": "wf-1"}}]}"#;
        let history = from_json_str(text).unwrap();
        assert_eq!(workflow_id(&history), Some("wf-1"));
        assert_eq!(workflow_type(&history), Some("Order"));

        let bare = History {
            events: vec![event(1, EventType::WorkflowExecutionStarted)],
        };
        assert_eq!(workflow_id(&bare), None);
        assert_eq!(workflow_type(&bare), None);
        assert_eq!(workflow_id(&History::default()), None);
    }
}
