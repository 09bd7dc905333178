//! What `DescribeWorkflowExecution` adds to a run's own description: its parent and root
//! executions, its auto-reset points (from its history), and the extended info (original start
//! time, the run a reset created, when this run was reset), as the official server fills them.

use super::Engine;
use super::state::MutableState;
use crate::store::RunKey;
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::common::v1::WorkflowExecution;
use reprise::api::temporal::api::enums::v1::EventType;
use reprise::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes};
use reprise::api::temporal::api::workflow::v1 as wf;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::time::SystemTime;
use tonic::Status;

/// How far up a chain of parents the root is looked for.
const MAX_DEPTH: usize = 64;

/// Go's zero time, which the official server sends for an unset expiration time.
fn go_zero_time() -> Timestamp {
    Timestamp {
        seconds: -62_135_596_800,
        nanos: 0,
    }
}

fn extended_info(ms: &MutableState) -> wf::WorkflowExecutionExtendedInfo {
    let expiration = |limit: std::time::Duration, from: SystemTime| {
        Some(if limit.is_zero() {
            go_zero_time()
        } else {
            Timestamp::from(from + limit)
        })
    };
    let mut request_id_infos = std::collections::BTreeMap::new();
    if !ms.start_request_id.is_empty() {
        request_id_infos.insert(
            ms.start_request_id.clone(),
            wf::RequestIdInfo {
                event_type: EventType::WorkflowExecutionStarted as i32,
                event_id: 1,
                buffered: false,
            },
        );
    }
    wf::WorkflowExecutionExtendedInfo {
        execution_expiration_time: (!ms.execution_timeout.is_zero())
            .then(|| Timestamp::from(ms.start_time + ms.execution_timeout)),
        run_expiration_time: expiration(ms.run_timeout, ms.start_time),
        original_start_time: Some(Timestamp::from(
            ms.original_start_time.unwrap_or(ms.start_time),
        )),
        reset_run_id: ms.reset_run_id.clone(),
        last_reset_time: ms.last_reset_time.map(Timestamp::from),
        request_id_infos,
        ..Default::default()
    }
}

/// One reset point per build id: the first workflow task completed by it (one point in all
/// when workers send none).
#[allow(deprecated)]
fn reset_points(key: &RunKey, events: &[HistoryEvent]) -> Vec<wf::ResetPointInfo> {
    let mut points: Vec<wf::ResetPointInfo> = Vec::new();
    for event in events {
        let Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) = &event.attributes else {
            continue;
        };
        let build_id = a
            .worker_version
            .as_ref()
            .map(|v| v.build_id.clone())
            .unwrap_or_default();
        #[allow(deprecated)]
        let checksum = a.binary_checksum.clone();
        if points
            .iter()
            .any(|p| p.build_id == build_id && p.binary_checksum == checksum)
        {
            continue;
        }
        #[allow(deprecated)]
        points.push(wf::ResetPointInfo {
            build_id,
            binary_checksum: checksum,
            run_id: key.run_id.clone(),
            first_workflow_task_completed_id: event.event_id,
            create_time: event.event_time,
            expire_time: None,
            resettable: true,
        });
    }
    points
}

impl Engine {
    /// The full description of a run and, for a child, its parent's namespace name.
    pub(crate) fn describe_run(
        &self,
        key: &RunKey,
    ) -> Result<(ws::DescribeWorkflowExecutionResponse, Option<String>), Status> {
        let (mut response, parent, extended) = self.read_run(key, |ms| {
            (ms.describe(), ms.parent.clone(), extended_info(ms))
        })?;
        let events = self.read_events(key, 1, usize::MAX)?;
        let points = reset_points(key, &events);
        // The root: up the chain of parents (a parent already deleted ends the walk there).
        let mut root = WorkflowExecution {
            workflow_id: key.workflow_id.clone(),
            run_id: key.run_id.clone(),
        };
        let mut up = parent.clone();
        for _ in 0..MAX_DEPTH {
            let Some(p) = up.take() else { break };
            root = WorkflowExecution {
                workflow_id: p.workflow_id.clone(),
                run_id: p.run_id.clone(),
            };
            let parent_key = RunKey {
                namespace: p.namespace.clone(),
                workflow_id: p.workflow_id.clone(),
                run_id: p.run_id.clone(),
            };
            up = self
                .read_run(&parent_key, |ms| ms.parent.clone())
                .ok()
                .flatten();
        }
        if let Some(info) = response.workflow_execution_info.as_mut() {
            if !points.is_empty() {
                info.auto_reset_points = Some(wf::ResetPoints { points });
            }
            info.root_execution = Some(root);
            if let Some(p) = &parent {
                info.parent_execution = Some(WorkflowExecution {
                    workflow_id: p.workflow_id.clone(),
                    run_id: p.run_id.clone(),
                });
            }
        }
        response.workflow_extended_info = Some(extended);
        Ok((response, parent.map(|p| p.namespace)))
    }
}
