//! Updates (admitted → delivered → accepted/rejected → completed, with wait stages), queries
//! through legacy query tasks, and waiting for a run to change.

use super::state::{MutableState, PendingQuery, QueryAnswer, QueryDelivery, Update, UpdateState};
use super::{Engine, errors};
use crate::server::matching::{QueueKey, QueueType, Task};
use crate::server::token::Token;
use crate::store::RunKey;
use reprise::api::temporal::api::common::v1::{Payloads, WorkflowType};
use reprise::api::temporal::api::enums::v1::{
    QueryRejectCondition, UpdateWorkflowExecutionLifecycleStage as Stage, WorkflowExecutionStatus,
};
use reprise::api::temporal::api::errordetails::v1::QueryFailedFailure;
use reprise::api::temporal::api::failure::v1::Failure;
use reprise::api::temporal::api::history::v1::History;
use reprise::api::temporal::api::query::v1::{QueryRejected, WorkflowQuery};
use reprise::api::temporal::api::update::v1 as upd;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tokio::time::Instant;
use tonic::Status;

impl MutableState {
    fn update_stage(&self, update_id: &str) -> Option<(Stage, Option<upd::Outcome>)> {
        self.updates.get(update_id).map(|u| match &u.state {
            UpdateState::Admitted | UpdateState::Sent(_) => (Stage::Admitted, None),
            UpdateState::Accepted(_) => (Stage::Accepted, None),
            UpdateState::Completed(outcome) => (Stage::Completed, Some((**outcome).clone())),
        })
    }
}

fn update_response(
    key: &RunKey,
    update_id: &str,
    stage: Stage,
    outcome: Option<upd::Outcome>,
) -> ws::UpdateWorkflowExecutionResponse {
    ws::UpdateWorkflowExecutionResponse {
        update_ref: Some(upd::UpdateRef {
            workflow_execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
                workflow_id: key.workflow_id.clone(),
                run_id: key.run_id.clone(),
            }),
            update_id: update_id.into(),
        }),
        outcome,
        stage: stage as i32,
        link: None,
    }
}

impl Engine {
    /// Waits until `check` returns something, the deadline passes or the server shuts down.
    pub(crate) async fn wait_for<R>(
        &self,
        key: &RunKey,
        deadline: Instant,
        mut check: impl FnMut(&MutableState) -> Option<R>,
    ) -> Result<Option<R>, Status> {
        let mut changed = self.read_run(key, |ms| ms.changed.subscribe())?;
        let mut shutdown = self.shutdown.clone();
        loop {
            if let Some(r) = self.read_run(key, &mut check)? {
                return Ok(Some(r));
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return Ok(None) },
                _ = tokio::time::sleep_until(deadline) => return Ok(None),
                _ = shutdown.wait_for(|s| *s) => return Ok(None),
            }
        }
    }

    /// `UpdateWorkflowExecution`: admits the update (once per update id) and waits for `stage`.
    pub(crate) async fn update(
        &self,
        key: &RunKey,
        request: upd::Request,
        wait_stage: i32,
        deadline: Instant,
    ) -> Result<ws::UpdateWorkflowExecutionResponse, Status> {
        let update_id = request
            .meta
            .as_ref()
            .map(|m| m.update_id.clone())
            .unwrap_or_default();
        self.with_run(key, |ms| {
            if !ms.is_open() {
                return Err(errors::execution_completed());
            }
            if !ms.updates.contains_key(&update_id) {
                ms.update_seq += 1;
                let seq = ms.update_seq;
                ms.updates.insert(
                    update_id.clone(),
                    Update {
                        seq,
                        request,
                        state: UpdateState::Admitted,
                    },
                );
                ms.touched = true;
                ms.schedule_speculative_workflow_task();
            }
            Ok(())
        })?;
        self.wait_update(key, &update_id, wait_stage, deadline)
            .await
    }

    /// Waits for an update to reach `wait_stage`; at the deadline answers with the stage reached.
    pub(crate) async fn wait_update(
        &self,
        key: &RunKey,
        update_id: &str,
        wait_stage: i32,
        deadline: Instant,
    ) -> Result<ws::UpdateWorkflowExecutionResponse, Status> {
        let wanted = match Stage::try_from(wait_stage) {
            Ok(Stage::Unspecified) | Err(_) => Stage::Accepted,
            Ok(s) => s,
        };
        let current = self.read_run(key, |ms| ms.update_stage(update_id))?;
        let Some(current) = current else {
            return Err(Status::not_found(format!("update {update_id:?} not found")));
        };
        let reached = self
            .wait_for(key, deadline, |ms| {
                ms.update_stage(update_id)
                    .filter(|(stage, _)| *stage >= wanted)
            })
            .await?;
        let (stage, outcome) = reached.unwrap_or(current);
        Ok(update_response(key, update_id, stage, outcome))
    }

    /// `QueryWorkflow`: the query rides on the pending workflow task, waits for the running one
    /// to finish, or goes to a worker as a query task of its own; then its answer.
    pub(crate) async fn query(
        &self,
        key: &RunKey,
        query: WorkflowQuery,
        reject_condition: i32,
        deadline: Instant,
    ) -> Result<ws::QueryWorkflowResponse, Status> {
        let query_id = super::lifecycle::new_run_id();
        let rejected = self.with_run(key, |ms| {
            let rejected = match QueryRejectCondition::try_from(reject_condition) {
                Ok(QueryRejectCondition::NotOpen) => !ms.is_open(),
                Ok(QueryRejectCondition::NotCompletedCleanly) => !matches!(
                    ms.status,
                    WorkflowExecutionStatus::Running | WorkflowExecutionStatus::Completed
                ),
                _ => false,
            };
            if rejected {
                return Ok(Some(ms.status));
            }
            ms.queries.insert(
                query_id.clone(),
                PendingQuery {
                    query,
                    answer: None,
                    delivery: QueryDelivery::Waiting,
                },
            );
            Ok(None)
        })?;
        if let Some(status) = rejected {
            return Ok(ws::QueryWorkflowResponse {
                query_rejected: Some(QueryRejected {
                    status: status as i32,
                }),
                ..Default::default()
            });
        }
        let answer = self.deliver_query(key, &query_id, deadline).await;
        let _ = self.with_run(key, |ms| {
            ms.queries.remove(&query_id);
            Ok(())
        });
        match answer? {
            Some(Ok(result)) => Ok(ws::QueryWorkflowResponse {
                query_result: result,
                ..Default::default()
            }),
            Some(Err((message, failure))) => Err(errors::with_detail(
                tonic::Code::InvalidArgument,
                message,
                &QueryFailedFailure { failure },
            )),
            None => Err(Status::deadline_exceeded(
                "query timed out: no worker answered the query",
            )),
        }
    }

    /// Gets query `query_id` to a worker and waits for its answer (`None` at the deadline).
    async fn deliver_query(
        &self,
        key: &RunKey,
        query_id: &str,
        deadline: Instant,
    ) -> Result<Option<QueryAnswer>, Status> {
        enum Next {
            Answered(Box<QueryAnswer>),
            Wait,
            Dispatch(String),
        }
        let mut changed = self.read_run(key, |ms| ms.changed.subscribe())?;
        let mut shutdown = self.shutdown.clone();
        loop {
            let next = self.with_run(key, |ms| {
                let open = ms.is_open();
                let task = ms
                    .wft
                    .as_ref()
                    .map(|t| (t.scheduled_event_id, t.started.is_some()));
                let sticky_queue = ms.sticky.as_ref().map(|s| s.queue.clone());
                let normal_queue = ms.task_queue.clone();
                let Some(q) = ms.queries.get_mut(query_id) else {
                    return Ok(Next::Wait);
                };
                if let Some(answer) = &q.answer {
                    return Ok(Next::Answered(Box::new(answer.clone())));
                }
                if let QueryDelivery::Attached(id) = q.delivery
                    && task.map(|t| t.0) != Some(id)
                {
                    // Its task ended without answering (failed or timed out): try again.
                    q.delivery = QueryDelivery::Waiting;
                }
                if q.delivery != QueryDelivery::Waiting {
                    return Ok(Next::Wait);
                }
                match task {
                    // Pending: the query is attached when a poller claims the task. Running:
                    // it waits for the task's end.
                    Some(_) if open => Ok(Next::Wait),
                    _ => {
                        q.delivery = QueryDelivery::Dispatched;
                        let queue = match sticky_queue {
                            Some(sticky)
                                if open
                                    && self.matching.is_sticky_alive(&key.namespace, &sticky) =>
                            {
                                sticky
                            }
                            _ => normal_queue,
                        };
                        Ok(Next::Dispatch(queue))
                    }
                }
            })?;
            match next {
                Next::Answered(answer) => return Ok(Some(*answer)),
                Next::Dispatch(queue) => self.matching.add(
                    QueueKey {
                        namespace: key.namespace.clone(),
                        name: queue,
                        queue_type: QueueType::Workflow,
                    },
                    Task::Query {
                        run: key.clone(),
                        query_id: query_id.to_string(),
                    },
                ),
                Next::Wait => {}
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return Ok(None) },
                _ = tokio::time::sleep_until(deadline) => return Ok(None),
                _ = shutdown.wait_for(|s| *s) => return Ok(None),
            }
        }
    }

    /// A poller took a query task: the query and the history to answer it from.
    pub(crate) fn claim_query_task(
        &self,
        run: RunKey,
        query_id: String,
        from_sticky: bool,
    ) -> Result<Option<ws::PollWorkflowTaskQueueResponse>, Status> {
        let Ok(Some((query, workflow_type, last_event, previous_started, task_queue))) = self
            .read_run(&run, |ms| {
                ms.queries
                    .get(&query_id)
                    .filter(|q| q.answer.is_none())
                    .map(|q| {
                        (
                            q.query.clone(),
                            ms.workflow_type.clone(),
                            ms.next_event_id - 1,
                            ms.previous_started_event_id,
                            ms.task_queue.clone(),
                        )
                    })
            })
        else {
            return Ok(None);
        };
        // On a sticky queue the worker has the run cached: no history, as the official server.
        let events = if from_sticky {
            Vec::new()
        } else {
            self.read_events(&run, 1, usize::try_from(last_event).unwrap_or(0))?
        };
        Ok(Some(ws::PollWorkflowTaskQueueResponse {
            task_token: Token::Query {
                run: run.clone(),
                query_id,
            }
            .encode(),
            workflow_execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
                workflow_id: run.workflow_id.clone(),
                run_id: run.run_id.clone(),
            }),
            workflow_type: Some(WorkflowType {
                name: workflow_type,
            }),
            previous_started_event_id: previous_started,
            started_event_id: previous_started,
            history: Some(History { events }),
            query: Some(query),
            workflow_execution_task_queue: Some(super::state::normal_queue(&task_queue)),
            ..Default::default()
        }))
    }

    /// `RespondQueryTaskCompleted`.
    pub(crate) fn answer_query(
        &self,
        namespace: &str,
        token: &[u8],
        answer: Result<Option<Payloads>, (String, Option<Failure>)>,
    ) -> Result<(), Status> {
        let Some(Token::Query { run, query_id }) = Token::decode(token) else {
            return Err(errors::invalid("task token is not a query task token"));
        };
        crate::server::token::check_namespace(namespace, &run)?;
        self.with_run(&run, |ms| {
            let Some(q) = ms.queries.get_mut(&query_id) else {
                return Err(Status::not_found("query not found (it may have timed out)"));
            };
            q.answer = Some(answer);
            ms.changed.send_modify(|_| {});
            Ok(())
        })
    }
}
