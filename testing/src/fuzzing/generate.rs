//! The generated parts of requests: ids and names from small pools, durations, payloads,
//! retry policies, task queues, search attributes, workflow commands.

use super::handlers::{IDS, NAMES, NAMESPACES, Program, QUEUES};
use reprise::api::google::protobuf::Duration as PbDuration;
use reprise::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes as A};
use reprise::api::temporal::api::common::v1::{
    ActivityType, Payload, Payloads, RetryPolicy, SearchAttributes, WorkflowExecution, WorkflowType,
};
use reprise::api::temporal::api::enums::v1::CommandType;
use reprise::api::temporal::api::failure::v1::Failure;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use reprise::api::temporal::api::workflowservice::v1 as ws;

impl Program<'_> {
    pub(super) fn ns(&mut self) -> String {
        NAMESPACES[self.tape.below(NAMESPACES.len())].to_string()
    }

    pub(super) fn execution(&mut self) -> Option<WorkflowExecution> {
        if self.tape.one_in(16) {
            return None;
        }
        Some(WorkflowExecution {
            workflow_id: self.tape.name(IDS),
            run_id: if self.tape.one_in(4) {
                self.tape.name(&["not-a-run"])
            } else {
                String::new()
            },
        })
    }

    pub(super) fn duration(&mut self) -> Option<PbDuration> {
        match self.tape.byte() % 4 {
            0 => None,
            1 => Some(PbDuration {
                seconds: i64::from(self.tape.byte() % 20),
                nanos: 0,
            }),
            _ => Some(PbDuration {
                seconds: self.tape.i64(),
                nanos: self.tape.i64() as i32,
            }),
        }
    }

    pub(super) fn payloads(&mut self) -> Option<Payloads> {
        match self.tape.byte() % 6 {
            0 => None,
            1 => Some(Payloads {
                payloads: vec![Payload {
                    metadata: [("encoding".to_string(), b"binary/plain".to_vec())].into(),
                    data: vec![0; (2 << 20) + 1],
                    ..Default::default()
                }],
            }),
            _ => Some(Payloads {
                payloads: vec![Payload {
                    metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
                    data: self.tape.bytes(16),
                    ..Default::default()
                }],
            }),
        }
    }

    pub(super) fn retry(&mut self) -> Option<RetryPolicy> {
        if self.tape.one_in(2) {
            return None;
        }
        Some(RetryPolicy {
            initial_interval: self.duration(),
            backoff_coefficient: self.tape.f64(),
            maximum_interval: self.duration(),
            maximum_attempts: self.tape.i64() as i32,
            non_retryable_error_types: vec![self.tape.name(&["TemporalTimeout:Bad", "E"])],
        })
    }

    pub(super) fn queue(&mut self) -> Option<TaskQueue> {
        if self.tape.one_in(16) {
            return None;
        }
        Some(TaskQueue {
            name: self.tape.name(QUEUES),
            kind: i32::from(self.tape.byte() % 4),
            normal_name: String::new(),
        })
    }

    pub(super) fn search_attributes(&mut self) -> Option<SearchAttributes> {
        if !self.tape.one_in(3) {
            return None;
        }
        let value = String::from_utf8_lossy(&self.tape.bytes(8)).into_owned();
        Some(SearchAttributes {
            indexed_fields: [(
                self.tape.name(&["CustomInt", "WorkflowId", "Nope"]),
                Payload {
                    data: value.into_bytes(),
                    ..Default::default()
                },
            )]
            .into(),
        })
    }

    pub(super) fn start_request(&mut self) -> ws::StartWorkflowExecutionRequest {
        ws::StartWorkflowExecutionRequest {
            namespace: self.ns(),
            workflow_id: self.tape.name(IDS),
            workflow_type: Some(WorkflowType {
                name: self.tape.name(NAMES),
            }),
            task_queue: self.queue(),
            input: self.payloads(),
            workflow_execution_timeout: self.duration(),
            workflow_run_timeout: self.duration(),
            workflow_task_timeout: self.duration(),
            request_id: self.tape.name(&["r1", "r2"]),
            workflow_id_reuse_policy: i32::from(self.tape.byte() % 6),
            workflow_id_conflict_policy: i32::from(self.tape.byte() % 5),
            retry_policy: self.retry(),
            cron_schedule: if self.tape.one_in(8) {
                self.tape
                    .name(&["* * * * *", "@every 1s", "@every 18446744073709551615d"])
            } else {
                String::new()
            },
            search_attributes: self.search_attributes(),
            workflow_start_delay: if self.tape.one_in(8) {
                self.duration()
            } else {
                None
            },
            ..Default::default()
        }
    }

    pub(super) fn command(&mut self) -> Command {
        let attributes = match self.tape.byte() % 14 {
            0 => A::ScheduleActivityTaskCommandAttributes(
                cmd::ScheduleActivityTaskCommandAttributes {
                    activity_id: self.tape.name(&["a1", "a2"]),
                    activity_type: Some(ActivityType {
                        name: self.tape.name(NAMES),
                    }),
                    task_queue: self.queue(),
                    input: self.payloads(),
                    schedule_to_close_timeout: self.duration(),
                    schedule_to_start_timeout: self.duration(),
                    start_to_close_timeout: self.duration(),
                    heartbeat_timeout: self.duration(),
                    retry_policy: self.retry(),
                    ..Default::default()
                },
            ),
            1 => A::StartTimerCommandAttributes(cmd::StartTimerCommandAttributes {
                timer_id: self.tape.name(&["t1", "t2"]),
                start_to_fire_timeout: self.duration(),
            }),
            2 => A::CancelTimerCommandAttributes(cmd::CancelTimerCommandAttributes {
                timer_id: self.tape.name(&["t1", "t2"]),
            }),
            3 => A::RequestCancelActivityTaskCommandAttributes(
                cmd::RequestCancelActivityTaskCommandAttributes {
                    scheduled_event_id: self.tape.i64(),
                },
            ),
            4 => A::CompleteWorkflowExecutionCommandAttributes(
                cmd::CompleteWorkflowExecutionCommandAttributes {
                    result: self.payloads(),
                },
            ),
            5 => A::FailWorkflowExecutionCommandAttributes(
                cmd::FailWorkflowExecutionCommandAttributes {
                    failure: Some(Failure {
                        message: self.tape.name(&["boom"]),
                        ..Default::default()
                    }),
                },
            ),
            6 => A::CancelWorkflowExecutionCommandAttributes(
                cmd::CancelWorkflowExecutionCommandAttributes {
                    details: self.payloads(),
                },
            ),
            7 => A::ContinueAsNewWorkflowExecutionCommandAttributes(
                cmd::ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: Some(WorkflowType {
                        name: self.tape.name(NAMES),
                    }),
                    task_queue: self.queue(),
                    input: self.payloads(),
                    workflow_run_timeout: self.duration(),
                    workflow_task_timeout: self.duration(),
                    backoff_start_interval: self.duration(),
                    retry_policy: self.retry(),
                    cron_schedule: self.tape.name(&["", "", "* * * * *"]),
                    ..Default::default()
                },
            ),
            8 => A::RecordMarkerCommandAttributes(cmd::RecordMarkerCommandAttributes {
                marker_name: self.tape.name(&["m"]),
                ..Default::default()
            }),
            9 => A::StartChildWorkflowExecutionCommandAttributes(
                cmd::StartChildWorkflowExecutionCommandAttributes {
                    workflow_id: self.tape.name(IDS),
                    workflow_type: Some(WorkflowType {
                        name: self.tape.name(NAMES),
                    }),
                    task_queue: self.queue(),
                    input: self.payloads(),
                    workflow_execution_timeout: self.duration(),
                    workflow_run_timeout: self.duration(),
                    workflow_task_timeout: self.duration(),
                    parent_close_policy: i32::from(self.tape.byte() % 5),
                    retry_policy: self.retry(),
                    cron_schedule: self.tape.name(&["", "", "@every 1s"]),
                    workflow_id_reuse_policy: i32::from(self.tape.byte() % 6),
                    ..Default::default()
                },
            ),
            10 => A::SignalExternalWorkflowExecutionCommandAttributes(
                cmd::SignalExternalWorkflowExecutionCommandAttributes {
                    execution: self.execution(),
                    signal_name: self.tape.name(NAMES),
                    input: self.payloads(),
                    child_workflow_only: self.tape.one_in(4),
                    ..Default::default()
                },
            ),
            11 => A::RequestCancelExternalWorkflowExecutionCommandAttributes(
                cmd::RequestCancelExternalWorkflowExecutionCommandAttributes {
                    workflow_id: self.tape.name(IDS),
                    child_workflow_only: self.tape.one_in(4),
                    ..Default::default()
                },
            ),
            12 => A::UpsertWorkflowSearchAttributesCommandAttributes(
                cmd::UpsertWorkflowSearchAttributesCommandAttributes {
                    search_attributes: self.search_attributes(),
                },
            ),
            _ => A::ProtocolMessageCommandAttributes(cmd::ProtocolMessageCommandAttributes {
                message_id: self.tape.name(&["m1"]),
            }),
        };
        Command {
            command_type: CommandType::Unspecified as i32,
            attributes: if self.tape.one_in(32) {
                None
            } else {
                Some(attributes)
            },
            ..Default::default()
        }
    }

    pub(super) fn token(&mut self, activity: bool) -> Vec<u8> {
        let tokens = if activity {
            &self.activity_tokens
        } else {
            &self.tokens
        };
        if tokens.is_empty() || self.tape.one_in(8) {
            return self.tape.bytes(40);
        }
        let i = self.tape.below(tokens.len());
        tokens[i].clone()
    }
}
