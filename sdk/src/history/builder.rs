//! [`HistoryBuilder`]: write a history by hand, event by event, to test replay of situations that
//! are hard to produce on a server (races, failed tasks, cancellations at odd moments).

use crate::api::google::protobuf::{Duration as ProtoDuration, Timestamp};
use crate::api::temporal::api::common::v1::{
    ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType,
};
use crate::api::temporal::api::enums::v1::{EventType, TaskQueueKind};
use crate::api::temporal::api::failure::v1::Failure;
use crate::api::temporal::api::history::v1::{
    self as h, History, HistoryEvent, history_event::Attributes,
};
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Builds a history: ids and times are assigned in order (one millisecond apart), ids of the
/// events that later events refer to are returned by the methods that add them.
///
/// ```
/// use reprise::history::HistoryBuilder;
/// let mut b = HistoryBuilder::new("Greet", vec![]);
/// b.workflow_task();
/// let timer = b.timer_started("1", std::time::Duration::from_secs(5));
/// b.timer_fired(timer, "1");
/// b.workflow_task();
/// b.workflow_completed(vec![]);
/// assert_eq!(b.build().events.len(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct HistoryBuilder {
    events: Vec<HistoryEvent>,
    time: SystemTime,
    task_queue: String,
    last_completed: i64,
}

fn payloads(p: Vec<Payload>) -> Option<Payloads> {
    (!p.is_empty()).then_some(Payloads { payloads: p })
}

impl HistoryBuilder {
    /// A history whose first event starts workflow `workflow_type` with `input`.
    pub fn new(workflow_type: &str, input: Vec<Payload>) -> Self {
        let mut b = HistoryBuilder {
            events: Vec::new(),
            time: UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            task_queue: "test".into(),
            last_completed: 0,
        };
        b.push(
            EventType::WorkflowExecutionStarted,
            Attributes::WorkflowExecutionStartedEventAttributes(
                h::WorkflowExecutionStartedEventAttributes {
                    workflow_type: Some(WorkflowType {
                        name: workflow_type.into(),
                    }),
                    task_queue: Some(b.task_queue()),
                    input: payloads(input),
                    workflow_task_timeout: Some(Duration::from_secs(10).into()),
                    original_execution_run_id: "run-1".into(),
                    first_execution_run_id: "run-1".into(),
                    attempt: 1,
                    workflow_id: "wf-1".into(),
                    ..Default::default()
                },
            ),
        );
        b
    }

    fn task_queue(&self) -> TaskQueue {
        TaskQueue {
            name: self.task_queue.clone(),
            kind: TaskQueueKind::Normal as i32,
            ..Default::default()
        }
    }

    /// Adds an event; returns its id.
    pub fn push(&mut self, event_type: EventType, attributes: Attributes) -> i64 {
        let event_id = self.events.len() as i64 + 1;
        self.time += Duration::from_millis(1);
        self.events.push(HistoryEvent {
            event_id,
            event_time: Some(Timestamp::from(self.time)),
            event_type: event_type as i32,
            task_id: event_id,
            attributes: Some(attributes),
            ..Default::default()
        });
        event_id
    }

    /// Lets workflow time pass before the next event.
    pub fn advance(&mut self, by: Duration) -> &mut Self {
        self.time += by;
        self
    }

    /// A workflow task: scheduled, started and completed. Returns the completed event's id.
    pub fn workflow_task(&mut self) -> i64 {
        let started = self.workflow_task_started();
        self.last_completed = self.push(
            EventType::WorkflowTaskCompleted,
            Attributes::WorkflowTaskCompletedEventAttributes(
                h::WorkflowTaskCompletedEventAttributes {
                    scheduled_event_id: started - 1,
                    started_event_id: started,
                    ..Default::default()
                },
            ),
        );
        self.last_completed
    }

    /// A workflow task scheduled and started but not (yet) completed: the task a worker is
    /// processing. Returns the started event's id.
    pub fn workflow_task_started(&mut self) -> i64 {
        let scheduled = self.push(
            EventType::WorkflowTaskScheduled,
            Attributes::WorkflowTaskScheduledEventAttributes(
                h::WorkflowTaskScheduledEventAttributes {
                    task_queue: Some(self.task_queue()),
                    start_to_close_timeout: Some(Duration::from_secs(10).into()),
                    attempt: 1,
                },
            ),
        );
        self.push(
            EventType::WorkflowTaskStarted,
            Attributes::WorkflowTaskStartedEventAttributes(h::WorkflowTaskStartedEventAttributes {
                scheduled_event_id: scheduled,
                ..Default::default()
            }),
        )
    }

    /// A workflow task that failed (the worker reported an error).
    pub fn failed_workflow_task(&mut self) -> i64 {
        let started = self.workflow_task_started();
        self.push(
            EventType::WorkflowTaskFailed,
            Attributes::WorkflowTaskFailedEventAttributes(h::WorkflowTaskFailedEventAttributes {
                scheduled_event_id: started - 1,
                started_event_id: started,
                cause: 2,
                ..Default::default()
            }),
        )
    }

    /// ActivityTaskScheduled; returns its id.
    pub fn activity_scheduled(&mut self, activity_id: &str, activity_type: &str) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::ActivityTaskScheduled,
            Attributes::ActivityTaskScheduledEventAttributes(
                h::ActivityTaskScheduledEventAttributes {
                    activity_id: activity_id.into(),
                    activity_type: Some(ActivityType {
                        name: activity_type.into(),
                    }),
                    task_queue: Some(self.task_queue()),
                    start_to_close_timeout: Some(ProtoDuration::from(Duration::from_secs(10))),
                    workflow_task_completed_event_id: completed,
                    ..Default::default()
                },
            ),
        )
    }

    /// ActivityTaskStarted then ActivityTaskCompleted.
    pub fn activity_completed(&mut self, scheduled: i64, result: Vec<Payload>) -> i64 {
        let started = self.push(
            EventType::ActivityTaskStarted,
            Attributes::ActivityTaskStartedEventAttributes(h::ActivityTaskStartedEventAttributes {
                scheduled_event_id: scheduled,
                attempt: 1,
                ..Default::default()
            }),
        );
        self.push(
            EventType::ActivityTaskCompleted,
            Attributes::ActivityTaskCompletedEventAttributes(
                h::ActivityTaskCompletedEventAttributes {
                    result: payloads(result),
                    scheduled_event_id: scheduled,
                    started_event_id: started,
                    ..Default::default()
                },
            ),
        )
    }

    /// ActivityTaskStarted then ActivityTaskFailed.
    pub fn activity_failed(&mut self, scheduled: i64, failure: Failure) -> i64 {
        let started = self.push(
            EventType::ActivityTaskStarted,
            Attributes::ActivityTaskStartedEventAttributes(h::ActivityTaskStartedEventAttributes {
                scheduled_event_id: scheduled,
                attempt: 1,
                ..Default::default()
            }),
        );
        self.push(
            EventType::ActivityTaskFailed,
            Attributes::ActivityTaskFailedEventAttributes(h::ActivityTaskFailedEventAttributes {
                failure: Some(failure),
                scheduled_event_id: scheduled,
                started_event_id: started,
                retry_state: 2,
                ..Default::default()
            }),
        )
    }

    /// ActivityTaskTimedOut.
    pub fn activity_timed_out(&mut self, scheduled: i64, failure: Failure) -> i64 {
        self.push(
            EventType::ActivityTaskTimedOut,
            Attributes::ActivityTaskTimedOutEventAttributes(
                h::ActivityTaskTimedOutEventAttributes {
                    failure: Some(failure),
                    scheduled_event_id: scheduled,
                    ..Default::default()
                },
            ),
        )
    }

    /// ActivityTaskCancelRequested (recorded from the workflow's command).
    pub fn activity_cancel_requested(&mut self, scheduled: i64) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::ActivityTaskCancelRequested,
            Attributes::ActivityTaskCancelRequestedEventAttributes(
                h::ActivityTaskCancelRequestedEventAttributes {
                    scheduled_event_id: scheduled,
                    workflow_task_completed_event_id: completed,
                },
            ),
        )
    }

    /// ActivityTaskCanceled.
    pub fn activity_canceled(&mut self, scheduled: i64) -> i64 {
        self.push(
            EventType::ActivityTaskCanceled,
            Attributes::ActivityTaskCanceledEventAttributes(
                h::ActivityTaskCanceledEventAttributes {
                    scheduled_event_id: scheduled,
                    ..Default::default()
                },
            ),
        )
    }

    /// TimerStarted; returns its id.
    pub fn timer_started(&mut self, timer_id: &str, duration: Duration) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::TimerStarted,
            Attributes::TimerStartedEventAttributes(h::TimerStartedEventAttributes {
                timer_id: timer_id.into(),
                start_to_fire_timeout: Some(duration.into()),
                workflow_task_completed_event_id: completed,
            }),
        )
    }

    /// TimerFired.
    pub fn timer_fired(&mut self, started: i64, timer_id: &str) -> i64 {
        self.push(
            EventType::TimerFired,
            Attributes::TimerFiredEventAttributes(h::TimerFiredEventAttributes {
                timer_id: timer_id.into(),
                started_event_id: started,
            }),
        )
    }

    /// TimerCanceled (recorded from the workflow's command).
    pub fn timer_canceled(&mut self, started: i64, timer_id: &str) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::TimerCanceled,
            Attributes::TimerCanceledEventAttributes(h::TimerCanceledEventAttributes {
                timer_id: timer_id.into(),
                started_event_id: started,
                workflow_task_completed_event_id: completed,
                ..Default::default()
            }),
        )
    }

    /// WorkflowExecutionSignaled.
    pub fn signal(&mut self, name: &str, input: Vec<Payload>) -> i64 {
        self.push(
            EventType::WorkflowExecutionSignaled,
            Attributes::WorkflowExecutionSignaledEventAttributes(
                h::WorkflowExecutionSignaledEventAttributes {
                    signal_name: name.into(),
                    input: payloads(input),
                    ..Default::default()
                },
            ),
        )
    }

    /// WorkflowExecutionCancelRequested.
    pub fn cancel_requested(&mut self) -> i64 {
        self.push(
            EventType::WorkflowExecutionCancelRequested,
            Attributes::WorkflowExecutionCancelRequestedEventAttributes(
                h::WorkflowExecutionCancelRequestedEventAttributes::default(),
            ),
        )
    }

    /// StartChildWorkflowExecutionInitiated; returns its id.
    pub fn child_initiated(&mut self, workflow_id: &str, workflow_type: &str) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::StartChildWorkflowExecutionInitiated,
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(
                h::StartChildWorkflowExecutionInitiatedEventAttributes {
                    workflow_id: workflow_id.into(),
                    workflow_type: Some(WorkflowType {
                        name: workflow_type.into(),
                    }),
                    task_queue: Some(self.task_queue()),
                    workflow_task_completed_event_id: completed,
                    ..Default::default()
                },
            ),
        )
    }

    /// ChildWorkflowExecutionStarted.
    pub fn child_started(&mut self, initiated: i64, workflow_id: &str) -> i64 {
        self.push(
            EventType::ChildWorkflowExecutionStarted,
            Attributes::ChildWorkflowExecutionStartedEventAttributes(
                h::ChildWorkflowExecutionStartedEventAttributes {
                    initiated_event_id: initiated,
                    workflow_execution: Some(WorkflowExecution {
                        workflow_id: workflow_id.into(),
                        run_id: "child-run".into(),
                    }),
                    ..Default::default()
                },
            ),
        )
    }

    /// ChildWorkflowExecutionCompleted.
    pub fn child_completed(&mut self, initiated: i64, started: i64, result: Vec<Payload>) -> i64 {
        self.push(
            EventType::ChildWorkflowExecutionCompleted,
            Attributes::ChildWorkflowExecutionCompletedEventAttributes(
                h::ChildWorkflowExecutionCompletedEventAttributes {
                    result: payloads(result),
                    initiated_event_id: initiated,
                    started_event_id: started,
                    ..Default::default()
                },
            ),
        )
    }

    /// StartChildWorkflowExecutionFailed (for example: the id is taken).
    pub fn child_start_failed(&mut self, initiated: i64, workflow_id: &str) -> i64 {
        self.push(
            EventType::StartChildWorkflowExecutionFailed,
            Attributes::StartChildWorkflowExecutionFailedEventAttributes(
                h::StartChildWorkflowExecutionFailedEventAttributes {
                    initiated_event_id: initiated,
                    workflow_id: workflow_id.into(),
                    cause: 1,
                    ..Default::default()
                },
            ),
        )
    }

    /// MarkerRecorded.
    pub fn marker(
        &mut self,
        name: &str,
        details: std::collections::BTreeMap<String, Payloads>,
    ) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::MarkerRecorded,
            Attributes::MarkerRecordedEventAttributes(h::MarkerRecordedEventAttributes {
                marker_name: name.into(),
                details,
                workflow_task_completed_event_id: completed,
                ..Default::default()
            }),
        )
    }

    /// WorkflowExecutionCompleted.
    pub fn workflow_completed(&mut self, result: Vec<Payload>) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::WorkflowExecutionCompleted,
            Attributes::WorkflowExecutionCompletedEventAttributes(
                h::WorkflowExecutionCompletedEventAttributes {
                    result: payloads(result),
                    workflow_task_completed_event_id: completed,
                    ..Default::default()
                },
            ),
        )
    }

    /// WorkflowExecutionCanceled.
    pub fn workflow_canceled(&mut self) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::WorkflowExecutionCanceled,
            Attributes::WorkflowExecutionCanceledEventAttributes(
                h::WorkflowExecutionCanceledEventAttributes {
                    workflow_task_completed_event_id: completed,
                    details: None,
                },
            ),
        )
    }

    /// WorkflowExecutionFailed.
    pub fn workflow_failed(&mut self, failure: Failure) -> i64 {
        let completed = self.last_completed;
        self.push(
            EventType::WorkflowExecutionFailed,
            Attributes::WorkflowExecutionFailedEventAttributes(
                h::WorkflowExecutionFailedEventAttributes {
                    failure: Some(failure),
                    workflow_task_completed_event_id: completed,
                    ..Default::default()
                },
            ),
        )
    }

    /// The history so far.
    pub fn build(&self) -> History {
        History {
            events: self.events.clone(),
        }
    }
}
