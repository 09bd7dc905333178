//! [`WorkflowContext`]: the one handle workflow code (and every handler) uses.

use super::cancellation::ScopeRef;
use super::operations::{
    self, ActivityCall, ChildWorkflowCall, ExternalFuture, LocalActivityCall, TimerFuture,
};
use super::options::{ContinueAsNewOptions, ContinueAsNewRequest};
use super::state::{Shared, UpdateHandler};
use super::{UpdateInput, WorkflowError, WorkflowInfo};
use crate::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes};
use crate::api::temporal::api::common::v1::{Memo, Payload, Payloads, SearchAttributes};
use crate::api::temporal::api::enums::v1::CommandType;
use crate::converter::{Failure, FromPayloads, ToPayloads};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// Marker name of patches, shared with the official SDKs so their histories replay here.
pub(crate) const PATCH_MARKER: &str = "core_patch";
/// Detail key of a patch marker.
pub(crate) const PATCH_DETAIL: &str = "patch-data";
/// Search attribute listing the patches a run has taken.
pub(crate) const CHANGE_VERSION_ATTRIBUTE: &str = "TemporalChangeVersion";
/// Marker name of side effects.
pub(crate) const SIDE_EFFECT_MARKER: &str = "SideEffect";

/// The handle workflow code uses for everything that must be deterministic: time, randomness,
/// timers, activities, child workflows, signals, handlers, cancellation.
///
/// Cheap to clone; clones share the run. A context belongs to a cancellation scope: operations
/// started through it are canceled when that scope is (see [`cancellation_scope`]).
///
/// [`cancellation_scope`]: WorkflowContext::cancellation_scope
#[derive(Clone)]
pub struct WorkflowContext {
    pub(crate) shared: Shared,
    pub(crate) scope: ScopeRef,
}

impl std::fmt::Debug for WorkflowContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowContext")
            .field("workflow_id", &self.shared.borrow().info.workflow_id)
            .finish()
    }
}

/// A cancellation scope created by [`WorkflowContext::cancellation_scope`].
#[derive(Clone)]
pub struct CancellationScope {
    scope: ScopeRef,
    shared: Shared,
}

impl std::fmt::Debug for CancellationScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancellationScope")
            .field("canceled", &self.is_canceled())
            .finish()
    }
}

impl CancellationScope {
    /// Cancels every operation started through the scope's context (and its child scopes).
    pub fn cancel(&self) {
        self.scope.cancel();
        self.shared.borrow_mut().wake_cancel_waiters();
    }

    /// Whether the scope (or an ancestor) is canceled.
    pub fn is_canceled(&self) -> bool {
        self.scope.is_canceled()
    }
}

impl WorkflowContext {
    pub(crate) fn new(shared: Shared) -> Self {
        let scope = shared.borrow().root_scope.clone();
        WorkflowContext { shared, scope }
    }

    /// The current workflow time: when the current workflow task started, from the history.
    pub fn now(&self) -> SystemTime {
        self.shared.borrow().now
    }

    /// Facts about this run.
    pub fn info(&self) -> WorkflowInfo {
        self.shared.borrow().info.clone()
    }

    /// True while the run is rebuilding its state from history (logs are usually suppressed).
    pub fn is_replaying(&self) -> bool {
        self.shared.borrow().replaying
    }

    /// A deterministic random number in `[0, 1)`.
    pub fn random(&self) -> f64 {
        self.shared.borrow_mut().rng.next_f64()
    }

    /// A deterministic random `u64`.
    pub fn random_u64(&self) -> u64 {
        self.shared.borrow_mut().rng.next_u64()
    }

    /// A deterministic random version-4 UUID.
    pub fn uuid(&self) -> String {
        let mut state = self.shared.borrow_mut();
        let (hi, lo) = (state.rng.next_u64(), state.rng.next_u64());
        crate::util::format_uuid(hi, lo)
    }

    /// A durable timer: resolves after `duration` of workflow time (`Err` if canceled).
    #[track_caller]
    pub fn sleep(&self, duration: Duration) -> TimerFuture {
        operations::start_timer(&self.shared, &self.scope, duration, Location::caller())
    }

    /// An activity, by its `#[activities]` method (`Payments::charge`): argument and result types
    /// are checked by the compiler. Set options on the returned call, then await it.
    #[track_caller]
    pub fn activity<M, F: super::definition::ActivityMethod<M>>(
        &self,
        activity: F,
        args: F::Args,
    ) -> ActivityCall<F::Output> {
        let _ = activity;
        let name = super::definition::activity_name::<F::Group, F>();
        ActivityCall::new(
            self.shared.clone(),
            self.scope.clone(),
            name,
            args.to_payloads(&self.shared.borrow().converter),
            Location::caller(),
        )
    }

    /// A local activity, by its `#[activities]` method.
    #[track_caller]
    pub fn local_activity<M, F: super::definition::ActivityMethod<M>>(
        &self,
        activity: F,
        args: F::Args,
    ) -> LocalActivityCall<F::Output> {
        let _ = activity;
        let name = super::definition::activity_name::<F::Group, F>();
        LocalActivityCall::new(
            self.shared.clone(),
            self.scope.clone(),
            name,
            args.to_payloads(&self.shared.borrow().converter),
            Location::caller(),
        )
    }

    /// A child workflow, by its `#[run]` method (`ChildWorkflow::run`).
    #[track_caller]
    pub fn child_workflow<M, F: super::definition::RunMethod<M>>(
        &self,
        run: F,
        args: F::Args,
    ) -> ChildWorkflowCall<F::Output>
    where
        F::Output: 'static,
    {
        let _ = run;
        let name = <F::Workflow as super::WorkflowDefinition>::NAME;
        ChildWorkflowCall::new(
            self.shared.clone(),
            self.scope.clone(),
            name,
            args.to_payloads(&self.shared.borrow().converter),
            Location::caller(),
        )
    }

    /// Signals another workflow through one of its `#[signal]` methods.
    #[track_caller]
    pub fn signal_workflow<M, F: super::definition::SignalMethod<M>>(
        &self,
        workflow_id: &str,
        run_id: Option<&str>,
        signal: F,
        args: F::Args,
    ) -> ExternalFuture {
        let _ = signal;
        let name = super::definition::handler_name::<F::Workflow, F>();
        let payloads = args.to_payloads(&self.shared.borrow().converter);
        operations::signal_external(
            &self.shared,
            workflow_id,
            run_id,
            name,
            payloads,
            false,
            Location::caller(),
        )
    }

    /// An activity by type name, with arguments (a tuple, one payload per element). Set options
    /// on the returned call, then await it.
    #[track_caller]
    pub fn activity_by_name<T: DeserializeOwned>(
        &self,
        activity_type: &str,
        args: impl ToPayloads,
    ) -> ActivityCall<T> {
        ActivityCall::new(
            self.shared.clone(),
            self.scope.clone(),
            activity_type,
            args.to_payloads(&self.shared.borrow().converter),
            Location::caller(),
        )
    }

    /// A local activity: run by this workflow's worker, its result recorded as a marker.
    #[track_caller]
    pub fn local_activity_by_name<T: DeserializeOwned>(
        &self,
        activity_type: &str,
        args: impl ToPayloads,
    ) -> LocalActivityCall<T> {
        LocalActivityCall::new(
            self.shared.clone(),
            self.scope.clone(),
            activity_type,
            args.to_payloads(&self.shared.borrow().converter),
            Location::caller(),
        )
    }

    /// A child workflow by type name. Await the call for its result, or `.start()` it for a handle.
    #[track_caller]
    pub fn child_workflow_by_name<T: DeserializeOwned + 'static>(
        &self,
        workflow_type: &str,
        args: impl ToPayloads,
    ) -> ChildWorkflowCall<T> {
        ChildWorkflowCall::new(
            self.shared.clone(),
            self.scope.clone(),
            workflow_type,
            args.to_payloads(&self.shared.borrow().converter),
            Location::caller(),
        )
    }

    /// Signals another workflow (by id; `run_id` `None` = its latest run).
    #[track_caller]
    pub fn signal_external(
        &self,
        workflow_id: &str,
        run_id: Option<&str>,
        signal_name: &str,
        args: impl ToPayloads,
    ) -> ExternalFuture {
        let payloads = args.to_payloads(&self.shared.borrow().converter);
        operations::signal_external(
            &self.shared,
            workflow_id,
            run_id,
            signal_name,
            payloads,
            false,
            Location::caller(),
        )
    }

    /// Asks another workflow to cancel.
    #[track_caller]
    pub fn cancel_external(&self, workflow_id: &str, run_id: Option<&str>) -> ExternalFuture {
        operations::cancel_external(&self.shared, workflow_id, run_id, false, Location::caller())
    }

    /// Ends this run and starts a new one of the same workflow with `args`: return the result as
    /// the workflow's error, `return Err(ctx.continue_as_new((next,)))`.
    pub fn continue_as_new(&self, args: impl ToPayloads) -> WorkflowError {
        self.continue_as_new_with(args, ContinueAsNewOptions::default())
    }

    /// [`continue_as_new`](Self::continue_as_new) with options.
    pub fn continue_as_new_with(
        &self,
        args: impl ToPayloads,
        options: ContinueAsNewOptions,
    ) -> WorkflowError {
        match args.to_payloads(&self.shared.borrow().converter) {
            Ok(args) => {
                WorkflowError::ContinueAsNew(Box::new(ContinueAsNewRequest { args, options }))
            }
            Err(e) => e.into(),
        }
    }

    /// Runs `f` once and records its result in history; a replay reads the recorded value instead
    /// of running `f` again. For small non-deterministic reads (a generated id, a config value).
    #[track_caller]
    pub fn side_effect<T: Serialize + DeserializeOwned>(
        &self,
        f: impl FnOnce() -> T,
    ) -> Result<T, Failure> {
        let location = Location::caller();
        let mut state = self.shared.borrow_mut();
        state.side_effect_seq += 1;
        let seq = state.side_effect_seq;
        if let Some(recorded) = state.recorded_side_effects.get(&seq).cloned() {
            let payload = recorded.first().cloned().unwrap_or_default();
            let value = state
                .converter
                .from_payload::<T>(&payload)
                .map_err(|e| super::conversion_failure(&e))?;
            push_side_effect_marker(&mut state, seq, recorded, location);
            return Ok(value);
        }
        drop(state);
        let value = f();
        let mut state = self.shared.borrow_mut();
        let payload = state
            .converter
            .to_payload(&value)
            .map_err(|e| super::conversion_failure(&e))?;
        let encoded = state
            .converter
            .encode_payloads(vec![payload])
            .map_err(|e| super::conversion_failure(&e))?;
        push_side_effect_marker(&mut state, seq, encoded, location);
        Ok(value)
    }

    /// Whether this run takes the new code path of patch `patch_id`. New runs do (and record a
    /// marker); a replay of a history recorded before the patch does not. Compatible with the
    /// official SDKs' `patched`.
    #[track_caller]
    pub fn patched(&self, patch_id: &str) -> bool {
        self.patch(patch_id, false, Location::caller())
    }

    /// Marks patch `patch_id` as deprecated: the old code path is gone, but histories recorded
    /// with the patch's marker still replay.
    #[track_caller]
    pub fn deprecate_patch(&self, patch_id: &str) {
        self.patch(patch_id, true, Location::caller());
    }

    fn patch(
        &self,
        patch_id: &str,
        deprecated: bool,
        location: &'static Location<'static>,
    ) -> bool {
        let mut state = self.shared.borrow_mut();
        if let Some(&memo) = state.patch_memo.get(patch_id) {
            return memo;
        }
        let taken = !state.replaying || state.patches_in_history.contains(patch_id);
        state.patch_memo.insert(patch_id.to_string(), taken);
        if !taken {
            return false;
        }
        let data = serde_json::json!({ "id": patch_id, "deprecated": deprecated });
        let Ok(payload) = state.converter.to_payload(&data) else {
            return taken;
        };
        let details = BTreeMap::from([(
            PATCH_DETAIL.to_string(),
            Payloads {
                payloads: vec![payload],
            },
        )]);
        let marker = Command {
            command_type: CommandType::RecordMarker as i32,
            attributes: Some(Attributes::RecordMarkerCommandAttributes(
                cmd::RecordMarkerCommandAttributes {
                    marker_name: PATCH_MARKER.into(),
                    details,
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        state.commands.push(super::state::IssuedCommand {
            command: marker,
            machine: None,
            location,
            optional: deprecated,
            message: None,
        });
        if !deprecated {
            // As sdk-core does: keep a search attribute listing the patches taken.
            state.change_versions.push(patch_id.to_string());
            let versions = state.change_versions.clone();
            if let Ok(mut payload) = state.converter.to_payload(&versions) {
                payload
                    .metadata
                    .insert("type".into(), b"KeywordList".to_vec());
                let upsert = upsert_command(BTreeMap::from([(
                    CHANGE_VERSION_ATTRIBUTE.to_string(),
                    payload,
                )]));
                state.commands.push(super::state::IssuedCommand {
                    command: upsert,
                    machine: None,
                    location,
                    optional: true,
                    message: None,
                });
            }
        }
        taken
    }

    /// Sets (or, with a `binary/null` payload, removes) search attributes of this run. Payloads
    /// should carry their type in `metadata.type` (`Keyword`, `Int`, `Double`, `Bool`,
    /// `Datetime`, `KeywordList`, `Text`); [`search_attribute`](crate::workflow::search_attribute)
    /// builds them.
    #[track_caller]
    pub fn upsert_search_attributes(&self, attributes: BTreeMap<String, Payload>) {
        let location = Location::caller();
        let mut state = self.shared.borrow_mut();
        for (k, v) in &attributes {
            if v.data.is_empty() {
                state.search_attributes.remove(k);
            } else {
                state.search_attributes.insert(k.clone(), v.clone());
            }
        }
        state.push_command(upsert_command(attributes), None, location);
    }

    /// Sets (or, with a `binary/null` payload, removes) memo entries of this run.
    #[track_caller]
    pub fn upsert_memo(&self, memo: BTreeMap<String, Payload>) {
        let location = Location::caller();
        let mut state = self.shared.borrow_mut();
        for (k, v) in &memo {
            if v.data.is_empty() {
                state.memo.remove(k);
            } else {
                state.memo.insert(k.clone(), v.clone());
            }
        }
        let encoded = state
            .converter
            .encode_payloads(memo.values().cloned().collect())
            .unwrap_or_else(|_| memo.values().cloned().collect());
        let fields = memo.keys().cloned().zip(encoded).collect();
        let command = Command {
            command_type: CommandType::ModifyWorkflowProperties as i32,
            attributes: Some(Attributes::ModifyWorkflowPropertiesCommandAttributes(
                cmd::ModifyWorkflowPropertiesCommandAttributes {
                    upserted_memo: Some(Memo { fields }),
                },
            )),
            ..Default::default()
        };
        state.push_command(command, None, location);
    }

    /// The run's current search attributes.
    pub fn search_attributes(&self) -> BTreeMap<String, Payload> {
        self.shared.borrow().search_attributes.clone()
    }

    /// The run's current memo.
    pub fn memo(&self) -> BTreeMap<String, Payload> {
        self.shared.borrow().memo.clone()
    }

    /// Decodes one memo entry.
    pub fn memo_value<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let state = self.shared.borrow();
        let payload = state.memo.get(key)?;
        let decoded = state
            .converter
            .decode_payloads(vec![payload.clone()])
            .ok()?;
        state.converter.from_payload(decoded.first()?).ok()
    }

    /// Resolves once `condition` holds; it is re-checked whenever the workflow's state may have
    /// changed. `Err` if the context's scope is canceled first.
    pub fn wait_condition<F: FnMut() -> bool + Unpin>(&self, condition: F) -> WaitCondition<F> {
        WaitCondition {
            ctx: self.clone(),
            condition,
        }
    }

    /// Runs `future` as a separate deterministic task of this workflow.
    pub fn spawn(&self, future: impl Future<Output = ()> + 'static) {
        self.shared.borrow_mut().spawn_queue.push(Box::pin(future));
    }

    /// A new cancellation scope under this context's scope, and a context bound to it.
    pub fn cancellation_scope(&self) -> (CancellationScope, WorkflowContext) {
        let scope = self.scope.child();
        (
            CancellationScope {
                scope: scope.clone(),
                shared: self.shared.clone(),
            },
            WorkflowContext {
                shared: self.shared.clone(),
                scope,
            },
        )
    }

    /// A context whose operations are not canceled by the workflow's cancellation: for cleanup
    /// and compensation after a cancel request.
    pub fn detached(&self) -> WorkflowContext {
        WorkflowContext {
            shared: self.shared.clone(),
            scope: ScopeRef::root(),
        }
    }

    /// Whether a client asked this workflow to cancel.
    pub fn is_cancel_requested(&self) -> bool {
        self.shared.borrow().cancel_requested.is_some()
    }

    /// Resolves when a client asks this workflow to cancel.
    pub fn cancel_requested(&self) -> impl Future<Output = ()> + 'static {
        let shared = self.shared.clone();
        std::future::poll_fn(move |cx| {
            let mut state = shared.borrow_mut();
            if state.cancel_requested.is_some() {
                Poll::Ready(())
            } else {
                state.cancel_wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    /// Whether no signal or update handler is still running (wait for this before completing so
    /// that no update is left unanswered).
    pub fn all_handlers_finished(&self) -> bool {
        self.shared.borrow().running_handlers == 0
    }

    /// Registers a signal handler; signals that arrived before it are delivered now, in order.
    pub fn on_signal<A: FromPayloads + 'static>(&self, name: &str, handler: impl Fn(A) + 'static) {
        let converter = self.shared.borrow().converter.clone();
        let workflow_id = self.shared.borrow().info.workflow_id.clone();
        let signal = name.to_string();
        self.on_signal_raw(name, move |payloads| match A::from_payloads(&converter, &payloads) {
            Ok(args) => handler(args),
            Err(e) => tracing::warn!(workflow_id, signal, error = %e, "dropping signal whose arguments do not decode"),
        });
    }

    /// Registers a signal handler taking raw payloads.
    pub fn on_signal_raw(&self, name: &str, handler: impl Fn(Vec<Payload>) + 'static) {
        let handler: super::state::SignalHandler = Rc::new(handler);
        let buffered: Vec<Vec<Payload>> = {
            let mut state = self.shared.borrow_mut();
            state
                .signal_handlers
                .insert(name.to_string(), handler.clone());
            let (mine, rest): (Vec<_>, Vec<_>) =
                state.signal_buffer.drain(..).partition(|(n, _)| n == name);
            state.signal_buffer = rest.into();
            mine.into_iter().map(|(_, p)| p).collect()
        };
        for payloads in buffered {
            handler(payloads);
        }
    }

    /// Registers the handler of signals that have no handler of their own (name and payloads).
    pub fn on_default_signal(&self, handler: impl Fn(String, Vec<Payload>) + 'static) {
        let handler: Rc<dyn Fn(String, Vec<Payload>)> = Rc::new(handler);
        let buffered: Vec<(String, Vec<Payload>)> = {
            let mut state = self.shared.borrow_mut();
            state.default_signal_handler = Some(handler.clone());
            state.signal_buffer.drain(..).collect()
        };
        for (name, payloads) in buffered {
            handler(name, payloads);
        }
    }

    /// Registers a query handler: it reads state and returns a value; it must not start
    /// operations (queries leave no trace in history).
    pub fn on_query<A: FromPayloads + 'static, R: Serialize + 'static>(
        &self,
        name: &str,
        handler: impl Fn(A) -> R + 'static,
    ) {
        let converter = self.shared.borrow().converter.clone();
        let handler: super::state::QueryHandler = Rc::new(move |payloads| {
            let args = A::from_payloads(&converter, &payloads)
                .map_err(|e| super::conversion_failure(&e))?;
            let value = handler(args);
            Ok(vec![
                converter
                    .to_payload(&value)
                    .map_err(|e| super::conversion_failure(&e))?,
            ])
        });
        self.shared
            .borrow_mut()
            .query_handlers
            .insert(name.to_string(), handler);
    }

    /// Registers the handler of queries that have no handler of their own (name and payloads).
    pub fn on_default_query(
        &self,
        handler: impl Fn(String, Vec<Payload>) -> Result<Vec<Payload>, Failure> + 'static,
    ) {
        self.shared.borrow_mut().default_query_handler = Some(Rc::new(handler));
    }

    /// Registers the handler of updates that have no handler of their own (validation is the
    /// handler's job: return an error to fail the update).
    pub fn on_default_update<Fut>(&self, handler: impl Fn(UpdateInput) -> Fut + 'static)
    where
        Fut: Future<Output = Result<Vec<Payload>, Failure>> + 'static,
    {
        let handler = Rc::new(handler);
        let erased: super::state::UpdateFn =
            Rc::new(move |input: UpdateInput| Box::pin(handler(input)));
        self.shared.borrow_mut().default_update_handler = Some(UpdateHandler {
            validator: None,
            handler: erased,
        });
        super::operations::deliver_buffered_updates(&self.shared);
    }

    /// Registers an update handler. Its result (or failure) is the update's outcome.
    pub fn on_update<A, R, E, Fut>(&self, name: &str, handler: impl Fn(A) -> Fut + 'static)
    where
        A: FromPayloads + 'static,
        R: Serialize + 'static,
        E: Into<Failure> + 'static,
        Fut: Future<Output = Result<R, E>> + 'static,
    {
        self.register_update::<A, R, E, Fut>(name, None, handler);
    }

    /// Registers an update handler with a validator: a rejected update leaves no trace in
    /// history and the client gets the validator's failure.
    pub fn on_update_validated<A, R, E, VE, Fut>(
        &self,
        name: &str,
        validator: impl Fn(&A) -> Result<(), VE> + 'static,
        handler: impl Fn(A) -> Fut + 'static,
    ) where
        A: FromPayloads + 'static,
        R: Serialize + 'static,
        E: Into<Failure> + 'static,
        VE: Into<Failure> + 'static,
        Fut: Future<Output = Result<R, E>> + 'static,
    {
        let converter = self.shared.borrow().converter.clone();
        let validator = Rc::new(move |input: &UpdateInput| -> Result<(), Failure> {
            let args = A::from_payloads(&converter, &input.args)
                .map_err(|e| super::conversion_failure(&e))?;
            validator(&args).map_err(Into::into)
        });
        self.register_update::<A, R, E, Fut>(name, Some(validator), handler);
    }

    fn register_update<A, R, E, Fut>(
        &self,
        name: &str,
        validator: Option<super::state::UpdateValidator>,
        handler: impl Fn(A) -> Fut + 'static,
    ) where
        A: FromPayloads + 'static,
        R: Serialize + 'static,
        E: Into<Failure> + 'static,
        Fut: Future<Output = Result<R, E>> + 'static,
    {
        let converter = self.shared.borrow().converter.clone();
        let handler = Rc::new(handler);
        let erased: super::state::UpdateFn = Rc::new(move |input: UpdateInput| {
            let converter = converter.clone();
            let handler = handler.clone();
            Box::pin(async move {
                let args = A::from_payloads(&converter, &input.args)
                    .map_err(|e| super::conversion_failure(&e))?;
                let value = handler(args).await.map_err(Into::into)?;
                Ok(vec![
                    converter
                        .to_payload(&value)
                        .map_err(|e| super::conversion_failure(&e))?,
                ])
            })
        });
        self.shared.borrow_mut().update_handlers.insert(
            name.to_string(),
            UpdateHandler {
                validator,
                handler: erased,
            },
        );
        super::operations::deliver_buffered_updates(&self.shared);
    }
}

fn upsert_command(attributes: BTreeMap<String, Payload>) -> Command {
    Command {
        command_type: CommandType::UpsertWorkflowSearchAttributes as i32,
        attributes: Some(Attributes::UpsertWorkflowSearchAttributesCommandAttributes(
            cmd::UpsertWorkflowSearchAttributesCommandAttributes {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: attributes,
                }),
            },
        )),
        ..Default::default()
    }
}

fn push_side_effect_marker(
    state: &mut super::state::RunState,
    seq: u32,
    data: Vec<Payload>,
    location: &'static Location<'static>,
) {
    let Ok(id) = state.converter.to_payload(&seq) else {
        return;
    };
    let details = BTreeMap::from([
        ("data".to_string(), Payloads { payloads: data }),
        (
            "side-effect-id".to_string(),
            Payloads { payloads: vec![id] },
        ),
    ]);
    let command = Command {
        command_type: CommandType::RecordMarker as i32,
        attributes: Some(Attributes::RecordMarkerCommandAttributes(
            cmd::RecordMarkerCommandAttributes {
                marker_name: SIDE_EFFECT_MARKER.into(),
                details,
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    state.push_command(command, None, location);
}

/// Future of [`WorkflowContext::wait_condition`].
pub struct WaitCondition<F> {
    ctx: WorkflowContext,
    condition: F,
}

impl<F: FnMut() -> bool + Unpin> Future for WaitCondition<F> {
    type Output = Result<(), Failure>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if (self.condition)() {
            self.ctx.shared.borrow_mut().conditions_satisfied += 1;
            return Poll::Ready(Ok(()));
        }
        if self.ctx.scope.is_canceled() {
            return Poll::Ready(Err(operations::canceled_failure("condition wait canceled")));
        }
        let mut state = self.ctx.shared.borrow_mut();
        state.condition_wakers.push(cx.waker().clone());
        state.cancel_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}
