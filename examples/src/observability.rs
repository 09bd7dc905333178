//! Seeing what a worker does: a shipment workflow that logs through the context (silent while
//! replaying), and a trace id carried from the client call into the workflow, its activities and
//! its child through Temporal headers by three small interceptors.
//!
//! - [`TraceClient`] (a `ClientInterceptor`) puts the trace id of the call in the `trace-id`
//!   header of the workflow's start, and in the `x-trace-id` gRPC metadata of every RPC.
//! - [`TraceWorker`] (a `WorkerInterceptor`) gives each run a [`TraceRun`], which reads the id
//!   from the start's headers and adds it to every activity and child it schedules; it also sees
//!   each activity attempt with its headers and records the ids it found in [`TraceWorker::seen`].
//! - The activity reads the header itself with `ctx.header("trace-id")`.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::api::temporal::api::common::v1::Payload;
use reprise::converter::DataConverter;
use reprise::interceptor::{
    ActivityInbound, CallKind, ClientInterceptor, MetadataMap, OutboundCall, WorkerInterceptor,
    WorkflowInbound, WorkflowInterceptor, WorkflowOutbound,
};
use reprise::workflow::{WorkflowContext, WorkflowInfo, WorkflowResult};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The task queue of these examples.
pub const TASK_QUEUE: &str = "observability";
/// The Temporal header carrying the trace id.
pub const TRACE_HEADER: &str = "trace-id";

/// Packs and labels parcels.
pub struct Warehouse;

#[reprise::activities]
impl Warehouse {
    /// Packs a parcel; answers with the trace id it was called under (from its headers).
    pub async fn pack(
        &self,
        ctx: ActivityContext,
        parcel: String,
    ) -> Result<String, ActivityError> {
        let trace: Option<String> = ctx.header(TRACE_HEADER);
        tracing::info!(parcel, trace = trace.as_deref(), "packing");
        Ok(trace.unwrap_or_default())
    }

    /// Prints a label; fails on an empty parcel name.
    pub async fn label(
        &self,
        _ctx: ActivityContext,
        parcel: String,
    ) -> Result<usize, ActivityError> {
        if parcel.is_empty() {
            return Err(ActivityError::non_retryable("no parcel name"));
        }
        Ok(parcel.len())
    }
}

/// Packs then labels a parcel, logging each step once (not again when the run is replayed).
#[derive(Default)]
pub struct Shipment;

#[reprise::workflow]
impl Shipment {
    /// Returns the trace id the packing activity saw.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, parcel: String) -> WorkflowResult<String> {
        reprise::workflow_info!(ctx, parcel, "shipment started");
        let trace: String = ctx
            .activity(Warehouse::pack, (parcel.clone(),))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        reprise::workflow_info!(ctx, parcel, "parcel packed");
        ctx.sleep(Duration::from_millis(10)).await?;
        let _: usize = ctx
            .activity(Warehouse::label, (parcel.clone(),))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        reprise::workflow_info!(ctx, parcel, "shipment done");
        Ok(trace)
    }
}

fn string_payload(value: &str) -> Option<Payload> {
    DataConverter::default().to_payload(&value).ok()
}

/// Client side: the trace id of the calls this client makes.
#[derive(Clone, Debug)]
pub struct TraceClient {
    /// The id sent with every call.
    pub trace_id: String,
    /// The RPCs whose responses came back, by name (seen by `inbound_metadata`).
    pub responses: Arc<Mutex<Vec<String>>>,
}

impl TraceClient {
    /// An interceptor sending `trace_id`.
    pub fn new(trace_id: impl Into<String>) -> Self {
        TraceClient {
            trace_id: trace_id.into(),
            responses: Arc::default(),
        }
    }
}

impl ClientInterceptor for TraceClient {
    fn outbound_metadata(&self, _operation: &str, metadata: &mut MetadataMap) {
        if let Ok(value) = self.trace_id.parse() {
            metadata.insert("x-trace-id", value);
        }
    }

    fn inbound_metadata(&self, operation: &str, _metadata: &MetadataMap) {
        if let Ok(mut r) = self.responses.lock() {
            r.push(operation.to_string());
        }
    }

    fn outbound_call(&self, call: &mut OutboundCall<'_>) {
        if matches!(
            call.kind,
            CallKind::StartWorkflow | CallKind::SignalWithStart
        ) && let Some(p) = string_payload(&self.trace_id)
        {
            call.headers.insert(TRACE_HEADER.into(), p);
        }
    }
}

/// Worker side: a [`TraceRun`] for each run, and a record of the trace ids activities got.
#[derive(Clone, Debug, Default)]
pub struct TraceWorker {
    /// `(activity type, trace id)` of each activity attempt that came with one.
    pub seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl WorkerInterceptor for TraceWorker {
    fn workflow_interceptor(&self, _info: &WorkflowInfo) -> Option<Box<dyn WorkflowInterceptor>> {
        Some(Box::new(TraceRun::default()))
    }

    fn execute_activity(&self, input: &ActivityInbound<'_>) {
        let trace = input
            .headers
            .get(TRACE_HEADER)
            .and_then(|p| DataConverter::default().from_payload::<String>(p).ok());
        if let Some(trace) = trace {
            tracing::info!(trace_id = %trace, "activity attempt under trace");
            if let Ok(mut seen) = self.seen.lock() {
                seen.push((input.info.activity_type.clone(), trace));
            }
        }
    }
}

/// One run's side: the trace id it started under, passed on to what it schedules.
#[derive(Debug, Default)]
pub struct TraceRun {
    trace: Option<Payload>,
}

impl WorkflowInterceptor for TraceRun {
    fn execute_workflow(&mut self, input: &WorkflowInbound<'_>) {
        self.trace = input.headers.get(TRACE_HEADER).cloned();
    }

    fn schedule_activity(&mut self, output: &mut WorkflowOutbound<'_>) {
        if let Some(trace) = &self.trace {
            output.headers.insert(TRACE_HEADER.into(), trace.clone());
        }
    }

    fn start_child_workflow(&mut self, output: &mut WorkflowOutbound<'_>) {
        self.schedule_activity(output);
    }

    fn continue_as_new(&mut self, output: &mut WorkflowOutbound<'_>) {
        self.schedule_activity(output);
    }
}
