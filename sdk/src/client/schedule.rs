//! Schedules: create them, then describe, update, pause, trigger, backfill and delete them
//! through a [`ScheduleHandle`]; list them with [`Client::list_schedules`].
//!
//! ```no_run
//! # async fn demo(client: reprise::client::Client) -> Result<(), reprise::client::ClientError> {
//! use reprise::client::{ScheduleAction, ScheduleOptions, ScheduleSpec, WorkflowOptions};
//! use std::time::Duration;
//! let handle = client
//!     .create_schedule(
//!         "every-minute",
//!         ScheduleOptions::new(
//!             ScheduleSpec::new().with_interval(Duration::from_secs(60)),
//!             ScheduleAction::start_workflow_by_name("Ping", (), WorkflowOptions::new("ping", "pings")),
//!         ),
//!     )
//!     .await?;
//! handle.trigger().await?;
//! handle.pause("maintenance").await?;
//! let description = handle.describe().await?;
//! assert!(description.paused);
//! handle.delete().await?;
//! # Ok(()) }
//! ```

use super::schedule_options::{ScheduleAction, ScheduleBackfill, ScheduleOptions};
use super::{Client, ClientError, RetryPolicy, task_queue};
use crate::api::temporal::api::common::v1::{
    Memo, Payload, SearchAttributes, WorkflowExecution, WorkflowType,
};
use crate::api::temporal::api::enums::v1::ScheduleOverlapPolicy;
use crate::api::temporal::api::schedule::v1 as pb;
use crate::api::temporal::api::workflow::v1::NewWorkflowExecutionInfo;
use crate::api::temporal::api::workflowservice::v1 as ws;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// A schedule as `DescribeSchedule` reports it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScheduleDescription {
    /// Its id.
    pub id: String,
    /// Paused?
    pub paused: bool,
    /// The note (why it was paused or unpaused).
    pub note: String,
    /// Actions taken so far.
    pub action_count: i64,
    /// Times missed because they were older than the catch-up window.
    pub missed_catchup_window: i64,
    /// Times skipped by the overlap policy.
    pub overlap_skipped: i64,
    /// The workflows it started that still run.
    pub running_workflows: Vec<WorkflowExecution>,
    /// The latest actions, oldest first.
    pub recent_actions: Vec<pb::ScheduleActionResult>,
    /// The next action times.
    pub future_action_times: Vec<SystemTime>,
    /// The schedule's memo.
    pub memo: BTreeMap<String, Payload>,
    /// The schedule's search attributes.
    pub search_attributes: BTreeMap<String, Payload>,
    /// The schedule as the server keeps it (spec in canonical form: structured calendars).
    pub schedule: pb::Schedule,
    /// Everything the server sent.
    pub raw: ws::DescribeScheduleResponse,
}

impl ScheduleDescription {
    fn from_proto(id: &str, raw: ws::DescribeScheduleResponse) -> Self {
        let schedule = raw.schedule.clone().unwrap_or_default();
        let state = schedule.state.clone().unwrap_or_default();
        let info = raw.info.clone().unwrap_or_default();
        ScheduleDescription {
            id: id.to_string(),
            paused: state.paused,
            note: state.notes,
            action_count: info.action_count,
            missed_catchup_window: info.missed_catchup_window,
            overlap_skipped: info.overlap_skipped,
            running_workflows: info.running_workflows,
            recent_actions: info.recent_actions,
            future_action_times: info
                .future_action_times
                .iter()
                .map(|t| t.to_system_time())
                .collect(),
            memo: raw
                .memo
                .clone()
                .map(|m| m.fields)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            search_attributes: raw
                .search_attributes
                .clone()
                .map(|s| s.indexed_fields)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            schedule,
            raw,
        }
    }
}

/// One schedule as `ListSchedules` reports it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScheduleSummary {
    /// Its id.
    pub id: String,
    /// The type of the workflows it starts.
    pub workflow_type: String,
    /// Paused?
    pub paused: bool,
    /// The note.
    pub note: String,
    /// The latest actions.
    pub recent_actions: Vec<pb::ScheduleActionResult>,
    /// The next action times.
    pub future_action_times: Vec<SystemTime>,
    /// Everything the server sent.
    pub raw: pb::ScheduleListEntry,
}

impl ScheduleSummary {
    fn from_proto(raw: pb::ScheduleListEntry) -> Self {
        let info = raw.info.clone().unwrap_or_default();
        ScheduleSummary {
            id: raw.schedule_id.clone(),
            workflow_type: info.workflow_type.map(|t| t.name).unwrap_or_default(),
            paused: info.paused,
            note: info.notes,
            recent_actions: info.recent_actions,
            future_action_times: info
                .future_action_times
                .iter()
                .map(|t| t.to_system_time())
                .collect(),
            raw,
        }
    }
}

/// A schedule on the server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ScheduleHandle {
    client: Client,
    id: String,
}

impl Client {
    fn schedule_proto(&self, options: &ScheduleOptions) -> Result<pb::Schedule, ClientError> {
        let ScheduleAction {
            workflow_type,
            args,
            options: workflow,
        } = &options.action;
        let input = self.encode_args(args.as_ref())?;
        let memo = if workflow.memo.is_empty() {
            None
        } else {
            let keys: Vec<String> = workflow.memo.keys().cloned().collect();
            let values = self
                .data_converter()
                .encode_payloads(workflow.memo.values().cloned().collect())?;
            Some(Memo {
                fields: keys.into_iter().zip(values).collect(),
            })
        };
        let action = NewWorkflowExecutionInfo {
            workflow_id: workflow.id.clone(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.clone(),
            }),
            task_queue: Some(task_queue(&workflow.task_queue)),
            input,
            workflow_execution_timeout: workflow.execution_timeout.map(Into::into),
            workflow_run_timeout: workflow.run_timeout.map(Into::into),
            workflow_task_timeout: workflow.task_timeout.map(Into::into),
            retry_policy: workflow.retry_policy.as_ref().map(RetryPolicy::to_proto),
            memo,
            search_attributes: (!workflow.search_attributes.is_empty()).then(|| SearchAttributes {
                indexed_fields: workflow.search_attributes.clone().into_iter().collect(),
            }),
            ..Default::default()
        };
        Ok(pb::Schedule {
            spec: Some(options.spec.to_proto()),
            action: Some(pb::ScheduleAction {
                action: Some(pb::schedule_action::Action::StartWorkflow(action)),
            }),
            policies: Some(options.policies()),
            state: Some(options.state()),
        })
    }

    /// Creates schedule `id`; fails with [`ClientError::AlreadyStarted`] if it exists.
    pub async fn create_schedule(
        &self,
        id: impl Into<String>,
        options: ScheduleOptions,
    ) -> Result<ScheduleHandle, ClientError> {
        let id = id.into();
        let patch = (options.trigger_immediately || !options.backfills.is_empty()).then(|| {
            pb::SchedulePatch {
                trigger_immediately: options.trigger_immediately.then(|| {
                    pb::TriggerImmediatelyRequest {
                        overlap_policy: options.overlap as i32,
                        ..Default::default()
                    }
                }),
                backfill_request: options
                    .backfills
                    .iter()
                    .map(ScheduleBackfill::to_proto)
                    .collect(),
                ..Default::default()
            }
        });
        let request = ws::CreateScheduleRequest {
            namespace: self.namespace().to_string(),
            schedule_id: id.clone(),
            schedule: Some(self.schedule_proto(&options)?),
            initial_patch: patch,
            identity: self.identity().to_string(),
            request_id: crate::util::random_uuid(),
            memo: (!options.memo.is_empty()).then(|| Memo {
                fields: options.memo.clone().into_iter().collect(),
            }),
            search_attributes: (!options.search_attributes.is_empty()).then(|| SearchAttributes {
                indexed_fields: options.search_attributes.clone().into_iter().collect(),
            }),
        };
        self.call(&id, request, self.rpc_timeout(), |mut s, r| async move {
            s.create_schedule(r).await
        })
        .await?;
        Ok(self.schedule_handle(id))
    }

    /// A handle to schedule `id` (no call is made).
    pub fn schedule_handle(&self, id: impl Into<String>) -> ScheduleHandle {
        ScheduleHandle {
            client: self.clone(),
            id: id.into(),
        }
    }

    /// Every schedule of the namespace matching a visibility query (`""` for all,
    /// `TemporalSchedulePaused = true`, custom search attributes), all pages.
    pub async fn list_schedules(&self, query: &str) -> Result<Vec<ScheduleSummary>, ClientError> {
        let mut out = Vec::new();
        let mut token = Vec::new();
        loop {
            let request = ws::ListSchedulesRequest {
                namespace: self.namespace().to_string(),
                maximum_page_size: 100,
                next_page_token: std::mem::take(&mut token),
                query: query.to_string(),
            };
            let response = self
                .call("", request, self.rpc_timeout(), |mut s, r| async move {
                    s.list_schedules(r).await
                })
                .await?;
            out.extend(
                response
                    .schedules
                    .into_iter()
                    .map(ScheduleSummary::from_proto),
            );
            if response.next_page_token.is_empty() {
                return Ok(out);
            }
            token = response.next_page_token;
        }
    }
}

impl ScheduleHandle {
    /// The schedule's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its state, counters, recent and running workflows and next times.
    pub async fn describe(&self) -> Result<ScheduleDescription, ClientError> {
        let request = ws::DescribeScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
        };
        let raw = self
            .client
            .call(
                &self.id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.describe_schedule(r).await },
            )
            .await?;
        Ok(ScheduleDescription::from_proto(&self.id, raw))
    }

    /// Replaces spec, action, policies and state (memo and search attributes too when the
    /// options carry some). Guarded by the conflict token of a fresh describe.
    pub async fn update(&self, options: ScheduleOptions) -> Result<(), ClientError> {
        let current = self.describe().await?;
        let request = ws::UpdateScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            schedule: Some(self.client.schedule_proto(&options)?),
            conflict_token: current.raw.conflict_token,
            identity: self.client.identity().to_string(),
            request_id: crate::util::random_uuid(),
            search_attributes: (!options.search_attributes.is_empty()).then(|| SearchAttributes {
                indexed_fields: options.search_attributes.clone().into_iter().collect(),
            }),
            memo: (!options.memo.is_empty()).then(|| Memo {
                fields: options.memo.clone().into_iter().collect(),
            }),
        };
        self.client
            .call(
                &self.id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.update_schedule(r).await },
            )
            .await?;
        Ok(())
    }

    /// Changes part of the schedule: `change` gets the schedule as the server keeps it (from a
    /// fresh describe) and edits it in place (`state.remaining_actions`, `policies`, …); the
    /// result is sent guarded by that describe's conflict token.
    pub async fn update_with(
        &self,
        change: impl FnOnce(&mut pb::Schedule),
    ) -> Result<(), ClientError> {
        let current = self.describe().await?;
        let mut schedule = current.schedule;
        change(&mut schedule);
        let request = ws::UpdateScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            schedule: Some(schedule),
            conflict_token: current.raw.conflict_token,
            identity: self.client.identity().to_string(),
            request_id: crate::util::random_uuid(),
            ..Default::default()
        };
        self.client
            .call(
                &self.id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.update_schedule(r).await },
            )
            .await?;
        Ok(())
    }

    async fn patch(&self, patch: pb::SchedulePatch) -> Result<(), ClientError> {
        let request = ws::PatchScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            patch: Some(patch),
            identity: self.client.identity().to_string(),
            request_id: crate::util::random_uuid(),
        };
        self.client
            .call(
                &self.id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.patch_schedule(r).await },
            )
            .await?;
        Ok(())
    }

    /// Pauses the schedule, with a note saying why.
    pub async fn pause(&self, note: &str) -> Result<(), ClientError> {
        self.patch(pb::SchedulePatch {
            pause: if note.is_empty() {
                "Paused via Reprise client"
            } else {
                note
            }
            .into(),
            ..Default::default()
        })
        .await
    }

    /// Unpauses the schedule, with a note.
    pub async fn unpause(&self, note: &str) -> Result<(), ClientError> {
        self.patch(pb::SchedulePatch {
            unpause: if note.is_empty() {
                "Unpaused via Reprise client"
            } else {
                note
            }
            .into(),
            ..Default::default()
        })
        .await
    }

    /// Runs the action now, with the schedule's overlap policy.
    pub async fn trigger(&self) -> Result<(), ClientError> {
        self.trigger_with(ScheduleOverlapPolicy::Unspecified).await
    }

    /// Runs the action now, with `overlap` as its overlap policy.
    pub async fn trigger_with(&self, overlap: ScheduleOverlapPolicy) -> Result<(), ClientError> {
        self.patch(pb::SchedulePatch {
            trigger_immediately: Some(pb::TriggerImmediatelyRequest {
                overlap_policy: overlap as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
    }

    /// Runs the spec's times of past ranges now.
    pub async fn backfill(&self, backfills: &[ScheduleBackfill]) -> Result<(), ClientError> {
        self.patch(pb::SchedulePatch {
            backfill_request: backfills.iter().map(ScheduleBackfill::to_proto).collect(),
            ..Default::default()
        })
        .await
    }

    /// The spec's times (jitter included) in `[start, end]`.
    pub async fn matching_times(
        &self,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<SystemTime>, ClientError> {
        let request = ws::ListScheduleMatchingTimesRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            start_time: Some(start.into()),
            end_time: Some(end.into()),
        };
        let response = self
            .client
            .call(
                &self.id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.list_schedule_matching_times(r).await },
            )
            .await?;
        Ok(response
            .start_time
            .iter()
            .map(|t| t.to_system_time())
            .collect())
    }

    /// Deletes the schedule (the workflows it started keep running).
    pub async fn delete(&self) -> Result<(), ClientError> {
        let request = ws::DeleteScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            identity: self.client.identity().to_string(),
        };
        self.client
            .call(
                &self.id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.delete_schedule(r).await },
            )
            .await?;
        Ok(())
    }
}
