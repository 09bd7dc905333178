//! Arbitrary programs of WorkflowService / OperatorService calls against a fresh bundled
//! server, then the store's invariants.

use super::Tape;
use prost::Message;
use reprise::api::temporal::api::failure::v1::Failure;
use reprise::api::temporal::api::operatorservice::v1 as ops;
use reprise::api::temporal::api::operatorservice::v1::operator_service_client::OperatorServiceClient;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::api::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use std::time::Duration;
use tonic::transport::Channel;

pub(super) const IDS: &[&str] = &["wf-a", "wf-b", "wf-c"];
pub(super) const QUEUES: &[&str] = &["tq", "tq2"];
pub(super) const NAMES: &[&str] = &["Work", "sig", "q", "upd", "Act"];
pub(super) const NAMESPACES: &[&str] = &["default", "default", "default", "other", "missing"];

/// Runs generated call programs, each on a fresh in-process server.
pub struct HandlerHarness {
    runtime: tokio::runtime::Runtime,
}

/// What one program did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProgramStats {
    /// RPCs made.
    pub calls: usize,
    /// RPCs answered with an error status.
    pub errors: usize,
}

impl HandlerHarness {
    /// A harness with its own runtime.
    pub fn new() -> Result<Self, String> {
        super::count_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HandlerHarness { runtime })
    }

    /// Runs the program in `bytes`; `Err` names a panic, a broken connection (a panic in the
    /// server), a hang or a broken store invariant.
    pub fn run(&self, bytes: &[u8]) -> Result<ProgramStats, String> {
        let before = super::panics();
        let result = self.runtime.block_on(async {
            let (server, store) = super::fresh_server().await?;
            let target = format!("http://{}", server.target());
            let channel = Channel::from_shared(target)
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            let mut p = Program {
                tape: Tape::new(bytes),
                wf: WorkflowServiceClient::new(channel.clone())
                    .max_encoding_message_size(64 << 20)
                    .max_decoding_message_size(64 << 20),
                op: OperatorServiceClient::new(channel),
                tokens: Vec::new(),
                activity_tokens: Vec::new(),
                stats: ProgramStats::default(),
            };
            let outcome = tokio::time::timeout(Duration::from_secs(60), p.run()).await;
            let stats = p.stats;
            drop(p);
            let _ = server.shutdown().await;
            match outcome {
                Err(_) => Err("the program hung (60 s)".to_string()),
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => super::invariants::check(&store).map(|()| stats),
            }
        });
        let panics = super::panics() - before;
        if panics > 0 {
            return Err(format!("{panics} panic(s) while running the program"));
        }
        result
    }
}

pub(super) struct Program<'a> {
    pub(super) tape: Tape<'a>,
    wf: WorkflowServiceClient<Channel>,
    op: OperatorServiceClient<Channel>,
    pub(super) tokens: Vec<Vec<u8>>,
    pub(super) activity_tokens: Vec<Vec<u8>>,
    stats: ProgramStats,
}

fn req<T>(message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.set_timeout(Duration::from_secs(10));
    r
}

impl Program<'_> {
    async fn run(&mut self) -> Result<(), String> {
        let mut steps = 0;
        while !self.tape.is_empty() && steps < 64 {
            steps += 1;
            self.step().await?;
        }
        Ok(())
    }

    /// Counts an answer; a transport failure means the server's connection task died.
    fn answer<T>(
        &mut self,
        r: Result<tonic::Response<T>, tonic::Status>,
    ) -> Result<Option<T>, String> {
        self.stats.calls += 1;
        match r {
            Ok(r) => Ok(Some(r.into_inner())),
            Err(s) => {
                self.stats.errors += 1;
                let broken = matches!(s.code(), tonic::Code::Unknown | tonic::Code::Unavailable)
                    && (s.message().contains("transport")
                        || s.message().contains("connection")
                        || s.message().contains("h2"));
                if broken || s.code() == tonic::Code::Internal && s.message().contains("panic") {
                    return Err(format!("broken call: {s:?}"));
                }
                Ok(None)
            }
        }
    }

    async fn step(&mut self) -> Result<(), String> {
        match self.tape.byte() % 24 {
            0 | 1 => {
                let r = self.start_request();
                let a = self.wf.start_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            2 => {
                let r = ws::SignalWorkflowExecutionRequest {
                    namespace: self.ns(),
                    workflow_execution: self.execution(),
                    signal_name: self.tape.name(NAMES),
                    input: self.payloads(),
                    request_id: self.tape.name(&["s1", ""]),
                    ..Default::default()
                };
                let a = self.wf.signal_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            3 => {
                let s = self.start_request();
                let r = ws::SignalWithStartWorkflowExecutionRequest {
                    namespace: s.namespace,
                    workflow_id: s.workflow_id,
                    workflow_type: s.workflow_type,
                    task_queue: s.task_queue,
                    input: s.input,
                    workflow_task_timeout: s.workflow_task_timeout,
                    signal_name: self.tape.name(NAMES),
                    signal_input: self.payloads(),
                    retry_policy: s.retry_policy,
                    cron_schedule: s.cron_schedule,
                    search_attributes: s.search_attributes,
                    workflow_id_conflict_policy: s.workflow_id_conflict_policy,
                    ..Default::default()
                };
                let a = self.wf.signal_with_start_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            4 | 5 => {
                let r = ws::PollWorkflowTaskQueueRequest {
                    namespace: self.ns(),
                    task_queue: self.queue(),
                    identity: "fuzz".into(),
                    ..Default::default()
                };
                let a = self.wf.poll_workflow_task_queue(req(r)).await;
                if let Some(task) = self.answer(a)?
                    && !task.task_token.is_empty()
                {
                    self.tokens.push(task.task_token);
                }
            }
            6 | 7 => {
                let n = self.tape.below(4);
                let commands = (0..n).map(|_| self.command()).collect();
                let r = ws::RespondWorkflowTaskCompletedRequest {
                    namespace: "default".into(),
                    task_token: self.token(false),
                    commands,
                    identity: "fuzz".into(),
                    sticky_attributes: None,
                    force_create_new_workflow_task: self.tape.one_in(8),
                    ..Default::default()
                };
                let a = self.wf.respond_workflow_task_completed(req(r)).await;
                self.answer(a)?;
            }
            8 => {
                let r = ws::RespondWorkflowTaskFailedRequest {
                    namespace: "default".into(),
                    task_token: self.token(false),
                    cause: i32::from(self.tape.byte() % 40),
                    identity: "fuzz".into(),
                    ..Default::default()
                };
                let a = self.wf.respond_workflow_task_failed(req(r)).await;
                self.answer(a)?;
            }
            9 => {
                let r = ws::PollActivityTaskQueueRequest {
                    namespace: self.ns(),
                    task_queue: self.queue(),
                    identity: "fuzz".into(),
                    ..Default::default()
                };
                let a = self.wf.poll_activity_task_queue(req(r)).await;
                if let Some(task) = self.answer(a)?
                    && !task.task_token.is_empty()
                {
                    self.activity_tokens.push(task.task_token);
                }
            }
            10 => {
                let token = self.token(true);
                let payloads = self.payloads();
                let a = match self.tape.byte() % 4 {
                    0 => self
                        .wf
                        .respond_activity_task_completed(req(
                            ws::RespondActivityTaskCompletedRequest {
                                task_token: token,
                                result: payloads,
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|r| r.map(|_| ())),
                    1 => self
                        .wf
                        .respond_activity_task_failed(req(ws::RespondActivityTaskFailedRequest {
                            task_token: token,
                            failure: Some(Failure {
                                message: "f".into(),
                                ..Default::default()
                            }),
                            last_heartbeat_details: payloads,
                            ..Default::default()
                        }))
                        .await
                        .map(|r| r.map(|_| ())),
                    2 => self
                        .wf
                        .respond_activity_task_canceled(req(
                            ws::RespondActivityTaskCanceledRequest {
                                task_token: token,
                                details: payloads,
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|r| r.map(|_| ())),
                    _ => self
                        .wf
                        .record_activity_task_heartbeat(req(
                            ws::RecordActivityTaskHeartbeatRequest {
                                task_token: token,
                                details: payloads,
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|r| r.map(|_| ())),
                };
                self.answer(a)?;
            }
            11 => {
                let (ns, e, activity_id, result) = (
                    self.ns(),
                    self.execution().unwrap_or_default(),
                    self.tape.name(&["a1", "a2"]),
                    self.payloads(),
                );
                let a = self
                    .wf
                    .respond_activity_task_completed_by_id(req(
                        ws::RespondActivityTaskCompletedByIdRequest {
                            namespace: ns,
                            workflow_id: e.workflow_id,
                            run_id: e.run_id,
                            activity_id,
                            result,
                            ..Default::default()
                        },
                    ))
                    .await;
                self.answer(a)?;
            }
            12 => {
                let r = ws::TerminateWorkflowExecutionRequest {
                    namespace: self.ns(),
                    workflow_execution: self.execution(),
                    reason: self.tape.name(&["r"]),
                    ..Default::default()
                };
                let a = self.wf.terminate_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            13 => {
                let r = ws::RequestCancelWorkflowExecutionRequest {
                    namespace: self.ns(),
                    workflow_execution: self.execution(),
                    ..Default::default()
                };
                let a = self.wf.request_cancel_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            14 => {
                let r = ws::DescribeWorkflowExecutionRequest {
                    namespace: self.ns(),
                    execution: self.execution(),
                };
                let a = self.wf.describe_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            15 => {
                let r = ws::GetWorkflowExecutionHistoryRequest {
                    namespace: self.ns(),
                    execution: self.execution(),
                    maximum_page_size: self.tape.i64() as i32,
                    next_page_token: if self.tape.one_in(3) {
                        self.tape.bytes(12)
                    } else {
                        Vec::new()
                    },
                    wait_new_event: self.tape.one_in(4),
                    history_event_filter_type: i32::from(self.tape.byte() % 3),
                    ..Default::default()
                };
                let a = self.wf.get_workflow_execution_history(req(r)).await;
                self.answer(a)?;
                let r = ws::GetWorkflowExecutionHistoryReverseRequest {
                    namespace: self.ns(),
                    execution: self.execution(),
                    maximum_page_size: self.tape.i64() as i32,
                    next_page_token: if self.tape.one_in(3) {
                        self.tape.bytes(12)
                    } else {
                        Vec::new()
                    },
                };
                let a = self.wf.get_workflow_execution_history_reverse(req(r)).await;
                self.answer(a)?;
            }
            16 => {
                let query = String::from_utf8_lossy(&self.tape.bytes(48)).into_owned();
                let r = ws::ListWorkflowExecutionsRequest {
                    namespace: self.ns(),
                    page_size: self.tape.i64() as i32,
                    next_page_token: if self.tape.one_in(3) {
                        self.tape.bytes(10)
                    } else {
                        Vec::new()
                    },
                    query: query.clone(),
                };
                let a = self.wf.list_workflow_executions(req(r)).await;
                self.answer(a)?;
                let r = ws::CountWorkflowExecutionsRequest {
                    namespace: self.ns(),
                    query,
                };
                let a = self.wf.count_workflow_executions(req(r)).await;
                self.answer(a)?;
            }
            17 => {
                let r = ws::QueryWorkflowRequest {
                    namespace: self.ns(),
                    execution: self.execution(),
                    query: Some(reprise::api::temporal::api::query::v1::WorkflowQuery {
                        query_type: self.tape.name(NAMES),
                        ..Default::default()
                    }),
                    query_reject_condition: i32::from(self.tape.byte() % 4),
                };
                let a = self.wf.query_workflow(req(r)).await;
                self.answer(a)?;
            }
            18 => {
                let update_id = self.tape.name(&["u1", "u2"]);
                let r = ws::UpdateWorkflowExecutionRequest {
                    namespace: self.ns(),
                    workflow_execution: self.execution(),
                    request: Some(reprise::api::temporal::api::update::v1::Request {
                        meta: Some(reprise::api::temporal::api::update::v1::Meta {
                            update_id: update_id.clone(),
                            identity: "fuzz".into(),
                        }),
                        input: Some(reprise::api::temporal::api::update::v1::Input {
                            name: self.tape.name(NAMES),
                            args: self.payloads(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    wait_policy: Some(reprise::api::temporal::api::update::v1::WaitPolicy {
                        lifecycle_stage: i32::from(self.tape.byte() % 4),
                    }),
                    ..Default::default()
                };
                let a = self.wf.update_workflow_execution(req(r)).await;
                self.answer(a)?;
                let r = ws::PollWorkflowExecutionUpdateRequest {
                    namespace: self.ns(),
                    update_ref: Some(reprise::api::temporal::api::update::v1::UpdateRef {
                        workflow_execution: self.execution(),
                        update_id,
                    }),
                    ..Default::default()
                };
                let a = self.wf.poll_workflow_execution_update(req(r)).await;
                self.answer(a)?;
            }
            19 => {
                let r = ws::ResetStickyTaskQueueRequest {
                    namespace: self.ns(),
                    execution: self.execution(),
                };
                let a = self.wf.reset_sticky_task_queue(req(r)).await;
                self.answer(a)?;
                let r = ws::DescribeTaskQueueRequest {
                    namespace: self.ns(),
                    task_queue: self.queue(),
                    task_queue_type: i32::from(self.tape.byte() % 4),
                    ..Default::default()
                };
                let a = self.wf.describe_task_queue(req(r)).await;
                self.answer(a)?;
            }
            20 => {
                let r = ws::DeleteWorkflowExecutionRequest {
                    namespace: self.ns(),
                    workflow_execution: self.execution(),
                };
                let a = self.wf.delete_workflow_execution(req(r)).await;
                self.answer(a)?;
            }
            21 => self.raw().await?,
            22 => {
                let ns = self.ns();
                let a = match self.tape.byte() % 3 {
                    0 => {
                        let r = ops::AddSearchAttributesRequest {
                            namespace: ns,
                            search_attributes: [(
                                self.tape.name(&["CustomInt", "New", "WorkflowId"]),
                                i32::from(self.tape.byte() % 9),
                            )]
                            .into(),
                        };
                        self.op
                            .add_search_attributes(req(r))
                            .await
                            .map(|r| r.map(|_| ()))
                    }
                    1 => {
                        let r = ops::RemoveSearchAttributesRequest {
                            namespace: ns,
                            search_attributes: vec![self.tape.name(&["CustomInt", "New"])],
                        };
                        self.op
                            .remove_search_attributes(req(r))
                            .await
                            .map(|r| r.map(|_| ()))
                    }
                    _ => {
                        let r = ops::ListSearchAttributesRequest { namespace: ns };
                        self.op
                            .list_search_attributes(req(r))
                            .await
                            .map(|r| r.map(|_| ()))
                    }
                };
                self.answer(a)?;
            }
            _ => {
                let r = ws::RegisterNamespaceRequest {
                    namespace: self.tape.name(&["fresh", "default"]),
                    workflow_execution_retention_period: self.duration(),
                    ..Default::default()
                };
                let a = self.wf.register_namespace(req(r)).await;
                self.answer(a)?;
                let r = ws::DescribeNamespaceRequest {
                    namespace: self.ns(),
                    id: self.tape.name(&["id"]),
                    ..Default::default()
                };
                let a = self.wf.describe_namespace(req(r)).await;
                self.answer(a)?;
            }
        }
        Ok(())
    }

    /// Arbitrary bytes decoded as a request message (what decodes is sent as is).
    async fn raw(&mut self) -> Result<(), String> {
        let bytes = self.tape.bytes(64);
        macro_rules! raw {
            ($ty:ty, $method:ident) => {{
                let Ok(r) = <$ty>::decode(bytes.as_slice()) else {
                    return Ok(());
                };
                let a = self.wf.$method(req(r)).await.map(|r| r.map(|_| ()));
                self.answer(a)?;
            }};
        }
        match self.tape.byte() % 10 {
            0 => raw!(ws::StartWorkflowExecutionRequest, start_workflow_execution),
            1 => raw!(
                ws::SignalWorkflowExecutionRequest,
                signal_workflow_execution
            ),
            2 => raw!(
                ws::RespondWorkflowTaskCompletedRequest,
                respond_workflow_task_completed
            ),
            3 => raw!(
                ws::RespondActivityTaskFailedRequest,
                respond_activity_task_failed
            ),
            4 => raw!(
                ws::GetWorkflowExecutionHistoryRequest,
                get_workflow_execution_history
            ),
            5 => raw!(ws::ListWorkflowExecutionsRequest, list_workflow_executions),
            6 => raw!(
                ws::UpdateWorkflowExecutionRequest,
                update_workflow_execution
            ),
            7 => raw!(ws::QueryWorkflowRequest, query_workflow),
            8 => raw!(
                ws::SignalWithStartWorkflowExecutionRequest,
                signal_with_start_workflow_execution
            ),
            _ => raw!(
                ws::DescribeWorkflowExecutionRequest,
                describe_workflow_execution
            ),
        }
        Ok(())
    }
}
