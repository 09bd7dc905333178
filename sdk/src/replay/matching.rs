//! Which events record commands, whether a command matches an event, and how to describe both
//! in a nondeterminism error.

use crate::api::temporal::api::command::v1::{Command, command::Attributes as C};
use crate::api::temporal::api::common::v1::Payloads;
use crate::api::temporal::api::enums::v1::{CommandType, EventType};
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::workflow::state::IssuedCommand;

/// Events written because a workflow task completed with a command (or protocol message).
pub(crate) fn is_command_event(event: &HistoryEvent) -> bool {
    matches!(
        event.attributes,
        Some(
            E::ActivityTaskScheduledEventAttributes(_)
                | E::ActivityTaskCancelRequestedEventAttributes(_)
                | E::TimerStartedEventAttributes(_)
                | E::TimerCanceledEventAttributes(_)
                | E::MarkerRecordedEventAttributes(_)
                | E::StartChildWorkflowExecutionInitiatedEventAttributes(_)
                | E::SignalExternalWorkflowExecutionInitiatedEventAttributes(_)
                | E::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_)
                | E::UpsertWorkflowSearchAttributesEventAttributes(_)
                | E::WorkflowPropertiesModifiedEventAttributes(_)
                | E::WorkflowExecutionCompletedEventAttributes(_)
                | E::WorkflowExecutionFailedEventAttributes(_)
                | E::WorkflowExecutionCanceledEventAttributes(_)
                | E::WorkflowExecutionContinuedAsNewEventAttributes(_)
                | E::WorkflowExecutionUpdateAcceptedEventAttributes(_)
                | E::WorkflowExecutionUpdateCompletedEventAttributes(_)
        )
    )
}

/// Events another SDK may record that our code need not issue: markers of deprecated patches
/// (code may drop a `deprecate_patch` call; a patch that was not deprecated first must still be
/// asked for, as the official SDKs require) and the `TemporalChangeVersion` bookkeeping upsert.
pub(crate) fn is_skippable_event(event: &HistoryEvent) -> bool {
    match &event.attributes {
        Some(E::MarkerRecordedEventAttributes(m)) => {
            m.marker_name == crate::workflow::context::PATCH_MARKER && patch_deprecated(&m.details)
        }
        Some(E::UpsertWorkflowSearchAttributesEventAttributes(u)) => {
            u.search_attributes.as_ref().is_some_and(|s| {
                !s.indexed_fields.is_empty()
                    && s.indexed_fields
                        .keys()
                        .all(|k| k == crate::workflow::context::CHANGE_VERSION_ATTRIBUTE)
            })
        }
        _ => false,
    }
}

/// The patch id of a patch marker.
pub(crate) fn patch_id(details: &std::collections::BTreeMap<String, Payloads>) -> Option<String> {
    let payload = details
        .get(crate::workflow::context::PATCH_DETAIL)?
        .payloads
        .first()?;
    let value: serde_json::Value = serde_json::from_slice(&payload.data).ok()?;
    value.get("id")?.as_str().map(str::to_string)
}

/// Whether a patch marker records a deprecated patch (`deprecate_patch`).
pub(crate) fn patch_deprecated(details: &std::collections::BTreeMap<String, Payloads>) -> bool {
    details
        .get(crate::workflow::context::PATCH_DETAIL)
        .and_then(|p| p.payloads.first())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p.data).ok())
        .and_then(|v| v.get("deprecated").and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

/// What identifies a local activity marker, as the official SDKs compare it on replay: the
/// sequence number, the activity id and the activity type.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct LocalActivityIdentity {
    pub(crate) seq: u32,
    pub(crate) activity_id: String,
    pub(crate) activity_type: String,
}

/// The identity of a local activity marker (`core_local_activity`), if its data decodes.
pub(crate) fn local_activity_identity(
    details: &std::collections::BTreeMap<String, Payloads>,
) -> Option<LocalActivityIdentity> {
    let payload = details.get("data")?.payloads.first()?;
    let data: crate::workflow::operations::LocalActivityMarkerData =
        serde_json::from_slice(&payload.data).ok()?;
    Some(LocalActivityIdentity {
        seq: data.seq,
        activity_id: data.activity_id,
        activity_type: data.activity_type,
    })
}

/// `seq` of a local activity or side-effect marker.
pub(crate) fn marker_seq(
    name: &str,
    details: &std::collections::BTreeMap<String, Payloads>,
) -> Option<u32> {
    if name == crate::workflow::context::SIDE_EFFECT_MARKER {
        let payload = details.get("side-effect-id")?.payloads.first()?;
        return serde_json::from_slice(&payload.data).ok();
    }
    let payload = details.get("data")?.payloads.first()?;
    let value: serde_json::Value = serde_json::from_slice(&payload.data).ok()?;
    value
        .get("seq")?
        .as_u64()
        .and_then(|s| u32::try_from(s).ok())
}

/// Whether `issued` is the command that `event` records.
pub(crate) fn matches(issued: &IssuedCommand, event: &HistoryEvent) -> bool {
    let (Some(cmd), Some(ev)) = (&issued.command.attributes, &event.attributes) else {
        return false;
    };
    match (cmd, ev) {
        (
            C::ScheduleActivityTaskCommandAttributes(c),
            E::ActivityTaskScheduledEventAttributes(e),
        ) => {
            c.activity_id == e.activity_id
                && c.activity_type.as_ref().map(|t| &t.name)
                    == e.activity_type.as_ref().map(|t| &t.name)
        }
        (
            C::RequestCancelActivityTaskCommandAttributes(c),
            E::ActivityTaskCancelRequestedEventAttributes(e),
        ) => c.scheduled_event_id == e.scheduled_event_id,
        (C::StartTimerCommandAttributes(c), E::TimerStartedEventAttributes(e)) => {
            c.timer_id == e.timer_id
        }
        (C::CancelTimerCommandAttributes(c), E::TimerCanceledEventAttributes(e)) => {
            c.timer_id == e.timer_id
        }
        (C::RecordMarkerCommandAttributes(c), E::MarkerRecordedEventAttributes(e)) => {
            c.marker_name == e.marker_name
                && if c.marker_name == crate::workflow::context::PATCH_MARKER {
                    patch_id(&c.details) == patch_id(&e.details)
                } else if c.marker_name == crate::workflow::operations::LOCAL_ACTIVITY_MARKER {
                    local_activity_identity(&c.details) == local_activity_identity(&e.details)
                } else {
                    marker_seq(&c.marker_name, &c.details) == marker_seq(&e.marker_name, &e.details)
                }
        }
        (
            C::StartChildWorkflowExecutionCommandAttributes(c),
            E::StartChildWorkflowExecutionInitiatedEventAttributes(e),
        ) => {
            c.workflow_id == e.workflow_id
                && c.workflow_type.as_ref().map(|t| &t.name)
                    == e.workflow_type.as_ref().map(|t| &t.name)
        }
        (
            C::SignalExternalWorkflowExecutionCommandAttributes(c),
            E::SignalExternalWorkflowExecutionInitiatedEventAttributes(e),
        ) => {
            c.signal_name == e.signal_name
                && c.execution.as_ref().map(|x| &x.workflow_id)
                    == e.workflow_execution.as_ref().map(|x| &x.workflow_id)
        }
        (
            C::RequestCancelExternalWorkflowExecutionCommandAttributes(c),
            E::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(e),
        ) => Some(&c.workflow_id) == e.workflow_execution.as_ref().map(|x| &x.workflow_id),
        (
            C::UpsertWorkflowSearchAttributesCommandAttributes(_),
            E::UpsertWorkflowSearchAttributesEventAttributes(_),
        ) => true,
        (
            C::ModifyWorkflowPropertiesCommandAttributes(_),
            E::WorkflowPropertiesModifiedEventAttributes(_),
        ) => true,
        (
            C::CompleteWorkflowExecutionCommandAttributes(_),
            E::WorkflowExecutionCompletedEventAttributes(_),
        ) => true,
        (
            C::FailWorkflowExecutionCommandAttributes(_),
            E::WorkflowExecutionFailedEventAttributes(_),
        ) => true,
        (
            C::CancelWorkflowExecutionCommandAttributes(_),
            E::WorkflowExecutionCanceledEventAttributes(_),
        ) => true,
        (
            C::ContinueAsNewWorkflowExecutionCommandAttributes(_),
            E::WorkflowExecutionContinuedAsNewEventAttributes(_),
        ) => true,
        (
            C::ProtocolMessageCommandAttributes(_),
            E::WorkflowExecutionUpdateAcceptedEventAttributes(e),
        ) => issued.message.as_ref().is_some_and(|m| {
            m.id.ends_with("/accept") && m.protocol_instance_id == e.protocol_instance_id
        }),
        (
            C::ProtocolMessageCommandAttributes(_),
            E::WorkflowExecutionUpdateCompletedEventAttributes(e),
        ) => {
            let update_id = e
                .meta
                .as_ref()
                .map(|m| m.update_id.as_str())
                .unwrap_or_default();
            issued
                .message
                .as_ref()
                .is_some_and(|m| m.id.ends_with("/complete") && m.protocol_instance_id == update_id)
        }
        _ => false,
    }
}

/// The event type without its prefix, e.g. `ActivityTaskScheduled`.
pub(crate) fn event_type_name(event: &HistoryEvent) -> String {
    let name = EventType::try_from(event.event_type)
        .map(|t| t.as_str_name())
        .unwrap_or("EVENT_TYPE_UNSPECIFIED");
    pascal(name.strip_prefix("EVENT_TYPE_").unwrap_or(name))
}

fn pascal(screaming: &str) -> String {
    screaming
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn command_type_name(command: &Command) -> String {
    let name = CommandType::try_from(command.command_type)
        .map(|t| t.as_str_name())
        .unwrap_or("COMMAND_TYPE_UNSPECIFIED");
    pascal(name.strip_prefix("COMMAND_TYPE_").unwrap_or(name))
}

/// A command and its identifying attributes, for error messages.
pub(crate) fn describe_command(issued: &IssuedCommand) -> String {
    let name = command_type_name(&issued.command);
    let detail = match &issued.command.attributes {
        Some(C::ScheduleActivityTaskCommandAttributes(c)) => format!(
            "activity_type={} activity_id={}",
            c.activity_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or_default(),
            c.activity_id
        ),
        Some(C::RequestCancelActivityTaskCommandAttributes(c)) => {
            format!("scheduled_event_id={}", c.scheduled_event_id)
        }
        Some(C::StartTimerCommandAttributes(c)) => format!(
            "timer_id={} duration={}",
            c.timer_id,
            c.start_to_fire_timeout
                .as_ref()
                .map(|d| d.to_json_string())
                .unwrap_or_default()
        ),
        Some(C::CancelTimerCommandAttributes(c)) => format!("timer_id={}", c.timer_id),
        Some(C::RecordMarkerCommandAttributes(c)) => describe_marker(&c.marker_name, &c.details),
        Some(C::StartChildWorkflowExecutionCommandAttributes(c)) => format!(
            "workflow_type={} workflow_id={}",
            c.workflow_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or_default(),
            c.workflow_id
        ),
        Some(C::SignalExternalWorkflowExecutionCommandAttributes(c)) => format!(
            "signal={} workflow_id={}",
            c.signal_name,
            c.execution
                .as_ref()
                .map(|e| e.workflow_id.as_str())
                .unwrap_or_default()
        ),
        Some(C::RequestCancelExternalWorkflowExecutionCommandAttributes(c)) => {
            format!("workflow_id={}", c.workflow_id)
        }
        Some(C::UpsertWorkflowSearchAttributesCommandAttributes(c)) => format!(
            "keys={:?}",
            c.search_attributes
                .as_ref()
                .map(|s| s.indexed_fields.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        ),
        Some(C::ProtocolMessageCommandAttributes(c)) => format!("message_id={}", c.message_id),
        _ => String::new(),
    };
    if detail.is_empty() {
        name
    } else {
        format!("{name} {detail}")
    }
}

fn describe_marker(name: &str, details: &std::collections::BTreeMap<String, Payloads>) -> String {
    if name == crate::workflow::context::PATCH_MARKER {
        format!(
            "marker={name} patch_id={}{}",
            patch_id(details).unwrap_or_default(),
            if patch_deprecated(details) {
                " deprecated"
            } else {
                ""
            }
        )
    } else if name == crate::workflow::operations::LOCAL_ACTIVITY_MARKER
        && let Some(la) = local_activity_identity(details)
    {
        format!(
            "marker={name} seq={} activity_id={} activity_type={}",
            la.seq, la.activity_id, la.activity_type
        )
    } else {
        match marker_seq(name, details) {
            Some(seq) => format!("marker={name} seq={seq}"),
            None => format!("marker={name}"),
        }
    }
}

/// An event and its identifying attributes, described as the command that would record it.
pub(crate) fn describe_event(event: &HistoryEvent) -> String {
    match &event.attributes {
        Some(E::ActivityTaskScheduledEventAttributes(e)) => format!(
            "ScheduleActivityTask activity_type={} activity_id={}",
            e.activity_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or_default(),
            e.activity_id
        ),
        Some(E::ActivityTaskCancelRequestedEventAttributes(e)) => format!(
            "RequestCancelActivityTask scheduled_event_id={}",
            e.scheduled_event_id
        ),
        Some(E::TimerStartedEventAttributes(e)) => format!(
            "StartTimer timer_id={} duration={}",
            e.timer_id,
            e.start_to_fire_timeout
                .as_ref()
                .map(|d| d.to_json_string())
                .unwrap_or_default()
        ),
        Some(E::TimerCanceledEventAttributes(e)) => format!("CancelTimer timer_id={}", e.timer_id),
        Some(E::MarkerRecordedEventAttributes(e)) => format!(
            "RecordMarker {}",
            describe_marker(&e.marker_name, &e.details)
        ),
        Some(E::StartChildWorkflowExecutionInitiatedEventAttributes(e)) => format!(
            "StartChildWorkflowExecution workflow_type={} workflow_id={}",
            e.workflow_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or_default(),
            e.workflow_id
        ),
        Some(E::SignalExternalWorkflowExecutionInitiatedEventAttributes(e)) => format!(
            "SignalExternalWorkflowExecution signal={} workflow_id={}",
            e.signal_name,
            e.workflow_execution
                .as_ref()
                .map(|x| x.workflow_id.as_str())
                .unwrap_or_default()
        ),
        Some(E::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(e)) => format!(
            "RequestCancelExternalWorkflowExecution workflow_id={}",
            e.workflow_execution
                .as_ref()
                .map(|x| x.workflow_id.as_str())
                .unwrap_or_default()
        ),
        Some(E::UpsertWorkflowSearchAttributesEventAttributes(e)) => format!(
            "UpsertWorkflowSearchAttributes keys={:?}",
            e.search_attributes
                .as_ref()
                .map(|s| s.indexed_fields.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        ),
        Some(E::WorkflowPropertiesModifiedEventAttributes(_)) => "ModifyWorkflowProperties".into(),
        Some(E::WorkflowExecutionCompletedEventAttributes(_)) => "CompleteWorkflowExecution".into(),
        Some(E::WorkflowExecutionFailedEventAttributes(_)) => "FailWorkflowExecution".into(),
        Some(E::WorkflowExecutionCanceledEventAttributes(_)) => "CancelWorkflowExecution".into(),
        Some(E::WorkflowExecutionContinuedAsNewEventAttributes(_)) => {
            "ContinueAsNewWorkflowExecution".into()
        }
        Some(E::WorkflowExecutionUpdateAcceptedEventAttributes(e)) => {
            format!("accept update {}", e.protocol_instance_id)
        }
        Some(E::WorkflowExecutionUpdateCompletedEventAttributes(e)) => {
            format!(
                "complete update {}",
                e.meta
                    .as_ref()
                    .map(|m| m.update_id.as_str())
                    .unwrap_or_default()
            )
        }
        _ => event_type_name(event),
    }
}
