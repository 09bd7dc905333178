//! Counting workflows and describing task queues: the bodies of two read RPCs, kept out of
//! the service's dispatch file.

use super::{Frontend, handlers, validate, visibility};
use crate::server::errors;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tonic::Status;

impl Frontend {
    /// `CountWorkflowExecutions`: the query's matches, grouped by status when it asks.
    pub(super) fn count_rpc(
        &self,
        r: ws::CountWorkflowExecutionsRequest,
    ) -> Result<ws::CountWorkflowExecutionsResponse, Status> {
        self.namespace(&r.namespace)?;
        let types = self.namespaces.search_attribute_types(&r.namespace)?;
        let records = self
            .engine
            .store
            .visibility_records(&r.namespace)
            .map_err(errors::store)?;
        let matched = visibility::select(records, &r.query, &types)?;
        let groups = if matched.group_by_status {
            visibility::status_groups(&matched.executions)
                .into_iter()
                .map(
                    |(status, count)| ws::count_workflow_executions_response::AggregationGroup {
                        group_values: vec![handlers::json_payload(&format!("{status:?}"))],
                        count,
                    },
                )
                .collect()
        } else {
            Vec::new()
        };
        Ok(ws::CountWorkflowExecutionsResponse {
            count: matched.executions.len() as i64,
            groups,
        })
    }

    /// `DescribeTaskQueue`: the queue's recent pollers.
    pub(super) fn describe_task_queue_rpc(
        &self,
        r: ws::DescribeTaskQueueRequest,
    ) -> Result<ws::DescribeTaskQueueResponse, Status> {
        use reprise::api::temporal::api::enums::v1::TaskQueueType;
        use reprise::api::temporal::api::taskqueue::v1::PollerInfo;
        self.namespace(&r.namespace)?;
        let name = validate::task_queue(r.task_queue.as_ref())?;
        let queue_type = if r.task_queue_type == TaskQueueType::Activity as i32 {
            crate::server::matching::QueueType::Activity
        } else {
            crate::server::matching::QueueType::Workflow
        };
        let key = crate::server::matching::QueueKey {
            namespace: r.namespace.clone(),
            name,
            queue_type,
        };
        let pollers = self
            .engine
            .matching
            .pollers(&key)
            .into_iter()
            .map(|(identity, at)| PollerInfo {
                last_access_time: Some(at.into()),
                identity,
                ..Default::default()
            })
            .collect();
        Ok(ws::DescribeTaskQueueResponse {
            pollers,
            ..Default::default()
        })
    }
}
