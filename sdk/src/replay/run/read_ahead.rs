//! Read-ahead (replay only): before activating a task, the run reads what that task's
//! completion recorded and the code will ask about before issuing the matching command.

use super::WorkflowRun;
use super::jobs::{Job, decode_failure};
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::replay::matching;
use crate::workflow::operations as ops;
use crate::workflow::state::{RecordedLocalActivity, Resolution};
use crate::workflow::{PendingUpdate, UpdateInput};

impl WorkflowRun {
    /// Replay only: what the current task's completion recorded that the code will ask about
    /// before issuing the matching command (patches, local activity results, side effects,
    /// accepted updates).
    pub(super) fn read_ahead(&mut self, rest: &[HistoryEvent]) {
        let mut state = self.shared.borrow_mut();
        state.patches_in_history.clear();
        state.recorded_local_activities.clear();
        state.recorded_side_effects.clear();
        for event in rest.iter().skip_while(|e| {
            matches!(
                e.attributes,
                Some(E::WorkflowTaskCompletedEventAttributes(_))
            )
        }) {
            match &event.attributes {
                Some(E::WorkflowTaskScheduledEventAttributes(_))
                | Some(E::WorkflowTaskStartedEventAttributes(_)) => break,
                Some(E::MarkerRecordedEventAttributes(m)) => {
                    if m.marker_name == crate::workflow::context::PATCH_MARKER {
                        if let Some(id) = matching::patch_id(&m.details) {
                            state.patches_in_history.insert(id);
                        }
                    } else if m.marker_name == crate::workflow::context::SIDE_EFFECT_MARKER {
                        if let Some(seq) = matching::marker_seq(&m.marker_name, &m.details) {
                            let data = m
                                .details
                                .get("data")
                                .map(|p| p.payloads.clone())
                                .unwrap_or_default();
                            let data = state
                                .converter
                                .decode_payloads(data.clone())
                                .unwrap_or(data);
                            state.recorded_side_effects.insert(seq, data);
                        }
                    } else if m.marker_name == ops::LOCAL_ACTIVITY_MARKER
                        && let Some(payload) =
                            m.details.get("data").and_then(|p| p.payloads.first())
                        && let Ok(data) =
                            serde_json::from_slice::<ops::LocalActivityMarkerData>(&payload.data)
                    {
                        let resolution = match &m.failure {
                            Some(f) => Resolution::Failed(Box::new(decode_failure(
                                &state.converter,
                                Some(f.clone()),
                            ))),
                            None => {
                                let result = m
                                    .details
                                    .get("result")
                                    .map(|p| p.payloads.clone())
                                    .unwrap_or_default();
                                Resolution::Completed(
                                    state
                                        .converter
                                        .decode_payloads(result.clone())
                                        .unwrap_or(result),
                                )
                            }
                        };
                        state
                            .recorded_local_activities
                            .insert(data.seq, RecordedLocalActivity { resolution });
                    }
                }
                Some(E::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => {
                    let update = accepted_update(a, &state.converter, false);
                    self.jobs.push(Job::Update(Box::new(update)));
                }
                _ => {}
            }
        }
    }
}

/// The update request an `UpdateAccepted` event records, as the handler receives it
/// (`run_validator`: whether it arrives as a live request whose validator runs again).
pub(crate) fn accepted_update(
    a: &crate::api::temporal::api::history::v1::WorkflowExecutionUpdateAcceptedEventAttributes,
    converter: &crate::converter::DataConverter,
    run_validator: bool,
) -> PendingUpdate {
    let request = a.accepted_request.clone().unwrap_or_default();
    let input = request.input.clone().unwrap_or_default();
    let args = input.args.map(|p| p.payloads).unwrap_or_default();
    let args = converter.decode_payloads(args.clone()).unwrap_or(args);
    PendingUpdate {
        input: UpdateInput {
            id: request
                .meta
                .as_ref()
                .map(|m| m.update_id.clone())
                .unwrap_or_default(),
            name: input.name,
            args,
        },
        protocol_instance_id: a.protocol_instance_id.clone(),
        request_message_id: a.accepted_request_message_id.clone(),
        sequencing_event_id: a.accepted_request_sequencing_event_id,
        request,
        run_validator,
    }
}
