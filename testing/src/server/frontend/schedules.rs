//! The `WorkflowService` schedule calls: validation and routing to `server::schedules`.

use super::{Frontend, validate};
use crate::server::errors::invalid;
use crate::server::visibility;
use reprise::api::temporal::api::common::v1::{Payload, WorkflowExecution};
use reprise::api::temporal::api::schedule::v1::{Schedule, schedule_action};
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tonic::Status;

/// The most entries of one `ListSchedules` page (when the request sets none).
const DEFAULT_PAGE: usize = 1000;

impl Frontend {
    /// Checks a schedule's action and search attributes.
    fn validate_schedule(
        &self,
        namespace: &str,
        schedule: Option<&Schedule>,
    ) -> Result<(), Status> {
        let schedule = schedule.ok_or_else(|| invalid("Schedule is not set on request."))?;
        let action = schedule
            .action
            .as_ref()
            .and_then(|a| a.action.as_ref())
            .ok_or_else(|| invalid("Schedule action is not set on request."))?;
        let schedule_action::Action::StartWorkflow(start) = action;
        validate::required_id(&start.workflow_id, "WorkflowId")?;
        if start.workflow_id.len() + "-2009-11-10T23:00:00Z".len() > validate::MAX_ID_LENGTH {
            return Err(invalid("WorkflowId exceeds length limit."));
        }
        let workflow_type = start
            .workflow_type
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or_default();
        validate::required_id(workflow_type, "WorkflowType")?;
        validate::task_queue(start.task_queue.as_ref())?;
        let ns = self.namespace(namespace)?;
        let types = self.namespaces.search_attribute_types(namespace)?;
        validate::search_attributes(
            namespace,
            start.search_attributes.as_ref(),
            &types,
            &ns.search_attributes,
        )
    }

    pub(super) fn create_schedule_rpc(
        &self,
        r: ws::CreateScheduleRequest,
    ) -> Result<ws::CreateScheduleResponse, Status> {
        let ns = self.namespace(&r.namespace)?;
        validate::required_id(&r.schedule_id, "ScheduleId")?;
        self.validate_schedule(&r.namespace, r.schedule.as_ref())?;
        let types = self.namespaces.search_attribute_types(&r.namespace)?;
        validate::search_attributes(
            &r.namespace,
            r.search_attributes.as_ref(),
            &types,
            &ns.search_attributes,
        )?;
        self.schedules.create(r, ns.id)
    }

    pub(super) fn describe_schedule_rpc(
        &self,
        r: ws::DescribeScheduleRequest,
    ) -> Result<ws::DescribeScheduleResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.schedule_id, "ScheduleId")?;
        self.schedules.describe(&r.namespace, &r.schedule_id)
    }

    pub(super) fn update_schedule_rpc(
        &self,
        r: ws::UpdateScheduleRequest,
    ) -> Result<ws::UpdateScheduleResponse, Status> {
        let ns = self.namespace(&r.namespace)?;
        validate::required_id(&r.schedule_id, "ScheduleId")?;
        self.validate_schedule(&r.namespace, r.schedule.as_ref())?;
        let types = self.namespaces.search_attribute_types(&r.namespace)?;
        validate::search_attributes(
            &r.namespace,
            r.search_attributes.as_ref(),
            &types,
            &ns.search_attributes,
        )?;
        self.schedules.update(r)?;
        Ok(ws::UpdateScheduleResponse {})
    }

    pub(super) fn patch_schedule_rpc(
        &self,
        r: ws::PatchScheduleRequest,
    ) -> Result<ws::PatchScheduleResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.schedule_id, "ScheduleId")?;
        let patch = r
            .patch
            .as_ref()
            .ok_or_else(|| invalid("Patch is not set on request."))?;
        for backfill in &patch.backfill_request {
            if backfill.start_time.is_none() || backfill.end_time.is_none() {
                return Err(invalid("Backfill start and end times are required."));
            }
        }
        self.schedules.patch(r)?;
        Ok(ws::PatchScheduleResponse {})
    }

    pub(super) fn delete_schedule_rpc(
        &self,
        r: ws::DeleteScheduleRequest,
    ) -> Result<ws::DeleteScheduleResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.schedule_id, "ScheduleId")?;
        self.schedules.delete(&r.namespace, &r.schedule_id)?;
        Ok(ws::DeleteScheduleResponse {})
    }

    pub(super) fn list_schedule_matching_times_rpc(
        &self,
        r: ws::ListScheduleMatchingTimesRequest,
    ) -> Result<ws::ListScheduleMatchingTimesResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.schedule_id, "ScheduleId")?;
        self.schedules.matching_times(&r)
    }

    /// `ListSchedules`: every schedule of the namespace, filtered by the visibility query
    /// (`ScheduleId`, `TemporalSchedulePaused` and the schedules' custom search attributes).
    pub(super) fn list_schedules_rpc(
        &self,
        r: ws::ListSchedulesRequest,
    ) -> Result<ws::ListSchedulesResponse, Status> {
        self.namespace(&r.namespace)?;
        let mut entries = self.schedules.list(&r.namespace);
        if !r.query.trim().is_empty() {
            let types = self.namespaces.search_attribute_types(&r.namespace)?;
            let records: Vec<WorkflowExecutionInfo> = entries
                .iter()
                .map(|e| {
                    let mut attributes = e.search_attributes.clone().unwrap_or_default();
                    let paused = e.info.as_ref().is_some_and(|i| i.paused);
                    attributes.indexed_fields.insert(
                        "TemporalSchedulePaused".into(),
                        Payload {
                            metadata: [("encoding".to_string(), b"json/plain".to_vec())]
                                .into_iter()
                                .collect(),
                            data: paused.to_string().into_bytes(),
                            ..Default::default()
                        },
                    );
                    WorkflowExecutionInfo {
                        execution: Some(WorkflowExecution {
                            workflow_id: e.schedule_id.clone(),
                            run_id: e.schedule_id.clone(),
                        }),
                        search_attributes: Some(attributes),
                        ..Default::default()
                    }
                })
                .collect();
            let query = r.query.replace("ScheduleId", "WorkflowId");
            let matched: std::collections::HashSet<String> =
                visibility::select(records, &query, &types)?
                    .executions
                    .into_iter()
                    .filter_map(|i| i.execution.map(|e| e.workflow_id))
                    .collect();
            entries.retain(|e| matched.contains(&e.schedule_id));
        }
        let offset: usize = std::str::from_utf8(&r.next_page_token)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let size = usize::try_from(r.maximum_page_size)
            .ok()
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_PAGE);
        let total = entries.len();
        let page: Vec<_> = entries.into_iter().skip(offset).take(size).collect();
        let next = offset + page.len();
        Ok(ws::ListSchedulesResponse {
            schedules: page,
            next_page_token: if next < total {
                next.to_string().into_bytes()
            } else {
                Vec::new()
            },
        })
    }
}
