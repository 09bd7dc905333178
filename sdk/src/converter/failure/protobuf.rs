//! The protobuf form of a failure (`temporal.api.failure.v1.Failure`), both ways.

use super::{ApplicationInfo, Failure, FailureKind};
use crate::api::temporal::api::common::v1::{
    ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType,
};
use crate::api::temporal::api::enums::v1::{
    ApplicationErrorCategory, NexusHandlerErrorRetryBehavior, RetryState, TimeoutType,
};
use crate::api::temporal::api::failure::v1 as proto;
use crate::converter::codec::read_encoded_attributes;
use proto::failure::FailureInfo;
use std::time::Duration;

impl Failure {
    /// Converts from the protobuf form. Encoded attributes in the `json/plain` convention of the
    /// official SDKs (`{"message": …, "stack_trace": …}`) replace the message and stack trace;
    /// encoded attributes that are not readable (still encoded by a codec) are kept in
    /// [`encoded_attributes`](Self::encoded_attributes).
    pub fn from_proto(failure: proto::Failure) -> Failure {
        // Iterative, so that a long cause chain cannot overflow the stack.
        let mut levels = Vec::new();
        let mut next = Some(failure);
        while let Some(mut level) = next {
            next = level.cause.take().map(|cause| *cause);
            levels.push(level);
        }
        let mut built: Option<Failure> = None;
        for level in levels.into_iter().rev() {
            let mut failure = Failure::from_proto_level(level);
            failure.cause = built.map(Box::new);
            built = Some(failure);
        }
        built.unwrap_or_else(|| Failure::new("", FailureKind::Unknown))
    }

    fn from_proto_level(p: proto::Failure) -> Failure {
        let mut failure = Failure::new(p.message, kind_from_proto(p.failure_info));
        failure.source = p.source;
        failure.stack_trace = p.stack_trace;
        if let Some(attributes) = p.encoded_attributes {
            match read_encoded_attributes(&attributes) {
                Some((message, stack_trace)) => {
                    if let Some(message) = message {
                        failure.message = message;
                    }
                    if let Some(stack_trace) = stack_trace {
                        failure.stack_trace = stack_trace;
                    }
                }
                None => failure.encoded_attributes = Some(attributes),
            }
        }
        failure
    }

    /// Converts to the protobuf form (no codec applied: see [`DataConverter::encode_failure`](crate::converter::DataConverter::encode_failure)).
    pub fn to_proto(&self) -> proto::Failure {
        let chain: Vec<&Failure> = self.chain().collect();
        let mut built: Option<proto::Failure> = None;
        for failure in chain.into_iter().rev() {
            built = Some(proto::Failure {
                message: failure.message.clone(),
                source: failure.source.clone(),
                stack_trace: failure.stack_trace.clone(),
                encoded_attributes: failure.encoded_attributes.clone(),
                cause: built.map(Box::new),
                failure_info: kind_to_proto(&failure.kind),
            });
        }
        built.unwrap_or_default()
    }
}

fn payloads_to_vec(payloads: Option<Payloads>) -> Vec<Payload> {
    payloads.map(|p| p.payloads).unwrap_or_default()
}

fn vec_to_payloads(payloads: &[Payload]) -> Option<Payloads> {
    (!payloads.is_empty()).then(|| Payloads {
        payloads: payloads.to_vec(),
    })
}

fn kind_from_proto(info: Option<FailureInfo>) -> FailureKind {
    let Some(info) = info else {
        return FailureKind::Unknown;
    };
    match info {
        FailureInfo::ApplicationFailureInfo(a) => FailureKind::Application(ApplicationInfo {
            error_type: a.r#type,
            non_retryable: a.non_retryable,
            details: payloads_to_vec(a.details),
            next_retry_delay: a.next_retry_delay.and_then(|d| Duration::try_from(d).ok()),
            category: ApplicationErrorCategory::try_from(a.category).unwrap_or_default(),
        }),
        FailureInfo::TimeoutFailureInfo(t) => FailureKind::Timeout {
            timeout_type: TimeoutType::try_from(t.timeout_type).unwrap_or_default(),
            last_heartbeat_details: payloads_to_vec(t.last_heartbeat_details),
        },
        FailureInfo::CanceledFailureInfo(c) => FailureKind::Canceled {
            details: payloads_to_vec(c.details),
            identity: c.identity,
        },
        FailureInfo::TerminatedFailureInfo(t) => FailureKind::Terminated {
            identity: t.identity,
        },
        FailureInfo::ServerFailureInfo(s) => FailureKind::Server {
            non_retryable: s.non_retryable,
        },
        FailureInfo::ResetWorkflowFailureInfo(r) => FailureKind::ResetWorkflow {
            last_heartbeat_details: payloads_to_vec(r.last_heartbeat_details),
        },
        FailureInfo::ActivityFailureInfo(a) => FailureKind::Activity {
            activity_type: a.activity_type.map(|t| t.name).unwrap_or_default(),
            activity_id: a.activity_id,
            scheduled_event_id: a.scheduled_event_id,
            started_event_id: a.started_event_id,
            identity: a.identity,
            retry_state: RetryState::try_from(a.retry_state).unwrap_or_default(),
        },
        FailureInfo::ChildWorkflowExecutionFailureInfo(c) => {
            let execution = c.workflow_execution.unwrap_or_default();
            FailureKind::ChildWorkflow {
                namespace: c.namespace,
                workflow_id: execution.workflow_id,
                run_id: execution.run_id,
                workflow_type: c.workflow_type.map(|t| t.name).unwrap_or_default(),
                initiated_event_id: c.initiated_event_id,
                started_event_id: c.started_event_id,
                retry_state: RetryState::try_from(c.retry_state).unwrap_or_default(),
            }
        }
        FailureInfo::NexusOperationExecutionFailureInfo(n) => {
            #[allow(deprecated)]
            let operation_id = n.operation_id;
            FailureKind::NexusOperation {
                scheduled_event_id: n.scheduled_event_id,
                endpoint: n.endpoint,
                service: n.service,
                operation: n.operation,
                operation_token: n.operation_token,
                operation_id,
            }
        }
        FailureInfo::NexusHandlerFailureInfo(n) => FailureKind::NexusHandler {
            error_type: n.r#type,
            retry_behavior: NexusHandlerErrorRetryBehavior::try_from(n.retry_behavior)
                .unwrap_or_default(),
        },
    }
}

fn kind_to_proto(kind: &FailureKind) -> Option<FailureInfo> {
    Some(match kind {
        FailureKind::Application(a) => {
            FailureInfo::ApplicationFailureInfo(proto::ApplicationFailureInfo {
                r#type: a.error_type.clone(),
                non_retryable: a.non_retryable,
                details: vec_to_payloads(&a.details),
                next_retry_delay: a.next_retry_delay.map(Into::into),
                category: a.category.into(),
            })
        }
        FailureKind::Timeout {
            timeout_type,
            last_heartbeat_details,
        } => FailureInfo::TimeoutFailureInfo(proto::TimeoutFailureInfo {
            timeout_type: (*timeout_type).into(),
            last_heartbeat_details: vec_to_payloads(last_heartbeat_details),
        }),
        FailureKind::Canceled { details, identity } => {
            FailureInfo::CanceledFailureInfo(proto::CanceledFailureInfo {
                details: vec_to_payloads(details),
                identity: identity.clone(),
            })
        }
        FailureKind::Terminated { identity } => {
            FailureInfo::TerminatedFailureInfo(proto::TerminatedFailureInfo {
                identity: identity.clone(),
            })
        }
        FailureKind::Server { non_retryable } => {
            FailureInfo::ServerFailureInfo(proto::ServerFailureInfo {
                non_retryable: *non_retryable,
            })
        }
        FailureKind::ResetWorkflow {
            last_heartbeat_details,
        } => FailureInfo::ResetWorkflowFailureInfo(proto::ResetWorkflowFailureInfo {
            last_heartbeat_details: vec_to_payloads(last_heartbeat_details),
        }),
        FailureKind::Activity {
            activity_type,
            activity_id,
            scheduled_event_id,
            started_event_id,
            identity,
            retry_state,
        } => FailureInfo::ActivityFailureInfo(proto::ActivityFailureInfo {
            scheduled_event_id: *scheduled_event_id,
            started_event_id: *started_event_id,
            identity: identity.clone(),
            activity_type: (!activity_type.is_empty()).then(|| ActivityType {
                name: activity_type.clone(),
            }),
            activity_id: activity_id.clone(),
            retry_state: (*retry_state).into(),
        }),
        FailureKind::ChildWorkflow {
            namespace,
            workflow_id,
            run_id,
            workflow_type,
            initiated_event_id,
            started_event_id,
            retry_state,
        } => FailureInfo::ChildWorkflowExecutionFailureInfo(
            proto::ChildWorkflowExecutionFailureInfo {
                namespace: namespace.clone(),
                workflow_execution: (!workflow_id.is_empty() || !run_id.is_empty()).then(|| {
                    WorkflowExecution {
                        workflow_id: workflow_id.clone(),
                        run_id: run_id.clone(),
                    }
                }),
                workflow_type: (!workflow_type.is_empty()).then(|| WorkflowType {
                    name: workflow_type.clone(),
                }),
                initiated_event_id: *initiated_event_id,
                started_event_id: *started_event_id,
                retry_state: (*retry_state).into(),
            },
        ),
        FailureKind::NexusOperation {
            scheduled_event_id,
            endpoint,
            service,
            operation,
            operation_token,
            operation_id,
        } => {
            #[allow(deprecated)]
            let info = proto::NexusOperationFailureInfo {
                scheduled_event_id: *scheduled_event_id,
                endpoint: endpoint.clone(),
                service: service.clone(),
                operation: operation.clone(),
                operation_id: operation_id.clone(),
                operation_token: operation_token.clone(),
            };
            FailureInfo::NexusOperationExecutionFailureInfo(info)
        }
        FailureKind::NexusHandler {
            error_type,
            retry_behavior,
        } => FailureInfo::NexusHandlerFailureInfo(proto::NexusHandlerFailureInfo {
            r#type: error_type.clone(),
            retry_behavior: (*retry_behavior).into(),
        }),
        FailureKind::Unknown => return None,
    })
}

impl From<proto::Failure> for Failure {
    fn from(failure: proto::Failure) -> Self {
        Failure::from_proto(failure)
    }
}

impl From<&Failure> for proto::Failure {
    fn from(failure: &Failure) -> Self {
        failure.to_proto()
    }
}

impl From<Failure> for proto::Failure {
    fn from(failure: Failure) -> Self {
        failure.to_proto()
    }
}
