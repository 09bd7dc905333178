//! Local activities: run by the workflow's own worker, their results recorded in history as
//! markers (in the official SDKs' format, so that histories replay across SDKs).

use super::activity::ActivityFuture;
use super::{Loc, command, failed_machine};
use crate::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes};
use crate::api::temporal::api::common::v1::{Payload, Payloads};
use crate::api::temporal::api::enums::v1::CommandType;
use crate::converter::{ConversionError, Failure};
use crate::definition::RetryPolicy;
use crate::workflow::cancellation::ScopeRef;
use crate::workflow::options::LocalActivityOptions;
use crate::workflow::state::{
    LocalActivityRequest, MachineKind, MachineStatus, Resolution, RunState, Shared,
};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::time::Duration;

/// Marker name of local activities, shared with the official SDKs.
pub(crate) const LOCAL_ACTIVITY_MARKER: &str = "core_local_activity";

/// A local activity call being configured; await it to run it.
#[must_use = "a local activity call does nothing unless awaited"]
pub struct LocalActivityCall<T> {
    shared: Shared,
    scope: ScopeRef,
    activity_type: String,
    args: Result<Vec<Payload>, ConversionError>,
    options: LocalActivityOptions,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> LocalActivityCall<T> {
    pub(crate) fn new(
        shared: Shared,
        scope: ScopeRef,
        activity_type: &str,
        args: Result<Vec<Payload>, ConversionError>,
        location: Loc,
    ) -> Self {
        LocalActivityCall {
            shared,
            scope,
            activity_type: activity_type.to_string(),
            args,
            options: LocalActivityOptions::default(),
            location,
            _result: PhantomData,
        }
    }
    /// Replaces all options.
    pub fn options(mut self, options: LocalActivityOptions) -> Self {
        self.options = options;
        self
    }
    option_setters! {
        /// Limit for one attempt.
        fn start_to_close_timeout(d: Duration) => start_to_close_timeout = Some(d);
        /// Retry policy (run locally by the worker).
        fn retry_policy(p: RetryPolicy) => retry_policy = Some(p);
        /// Activity id recorded in the marker (default: the sequence number).
        fn activity_id(id: impl Into<String>) => activity_id = Some(id.into());
    }
}

/// The `data` detail of a local activity marker, in the official SDKs' format.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct LocalActivityMarkerData {
    pub(crate) seq: u32,
    #[serde(default)]
    pub(crate) attempt: u32,
    #[serde(default)]
    pub(crate) activity_id: String,
    #[serde(default)]
    pub(crate) activity_type: String,
}

pub(crate) fn local_activity_marker(
    state: &RunState,
    seq: u32,
    activity_id: &str,
    activity_type: &str,
    attempt: u32,
    resolution: &Resolution,
) -> Command {
    let data = LocalActivityMarkerData {
        seq,
        attempt,
        activity_id: activity_id.to_string(),
        activity_type: activity_type.to_string(),
    };
    let mut details = BTreeMap::new();
    if let Ok(p) = state.converter.to_payload(&data) {
        details.insert("data".to_string(), Payloads { payloads: vec![p] });
    }
    let mut failure = None;
    match resolution {
        Resolution::Completed(payloads) => {
            let encoded = state
                .converter
                .encode_payloads(payloads.clone())
                .unwrap_or_else(|_| payloads.clone());
            details.insert("result".to_string(), Payloads { payloads: encoded });
        }
        Resolution::Failed(f) => failure = Some(f.to_proto()),
    }
    command(
        CommandType::RecordMarker,
        Attributes::RecordMarkerCommandAttributes(cmd::RecordMarkerCommandAttributes {
            marker_name: LOCAL_ACTIVITY_MARKER.into(),
            details,
            header: None,
            failure,
        }),
    )
}

impl<T: DeserializeOwned> IntoFuture for LocalActivityCall<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = ActivityFuture<T>;
    fn into_future(self) -> ActivityFuture<T> {
        let mut state = self.shared.borrow_mut();
        state.seq.activity += 1;
        let seq = state.seq.activity;
        let kind = MachineKind::LocalActivity;
        let machine = match self.args {
            Err(e) => failed_machine(&mut state, kind, crate::workflow::conversion_failure(&e)),
            Ok(input) => {
                let machine = state.add_machine(kind);
                let activity_id = self.options.activity_id_or(seq);
                if let Some(recorded) = state.recorded_local_activities.remove(&seq) {
                    // Replay: the marker in history holds the result; the code must not run it
                    // again. The command carries what the code asked for (id and type), so the
                    // matcher rejects a marker recorded for another local activity.
                    let marker = local_activity_marker(
                        &state,
                        seq,
                        &activity_id,
                        &self.activity_type,
                        1,
                        &recorded.resolution,
                    );
                    state.push_command(marker, Some(machine), self.location);
                    state.machines[machine].status = MachineStatus::Recorded;
                    state.machines[machine].resolve(recorded.resolution);
                } else {
                    // The marker's place is kept in command order; the worker fills it in.
                    let placeholder = local_activity_marker(
                        &state,
                        seq,
                        &activity_id,
                        &self.activity_type,
                        1,
                        &Resolution::Completed(Vec::new()),
                    );
                    state.push_command(placeholder, Some(machine), self.location);
                    state.local_activity_requests.push(LocalActivityRequest {
                        machine,
                        seq,
                        activity_type: self.activity_type.clone(),
                        input,
                        options: self.options.clone(),
                    });
                }
                machine
            }
        };
        drop(state);
        ActivityFuture::of_local_activity(
            self.shared.clone(),
            self.scope.clone(),
            machine,
            self.location,
        )
    }
}
