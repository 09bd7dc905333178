//! What client, workflow and activity code share: the traits the `#[workflow]` and
//! `#[activities]` macros implement, the typed method references they make possible
//! (`OrderWorkflow::run`, `OrderWorkflow::approve` are the user's own methods, passed as values;
//! their argument and result types come from their signatures, their names from the
//! macro-generated definitions), registration errors and the retry policy.
//!
//! This room sits below `client`, `workflow` and `activity` so that none of them needs another to
//! name a workflow, a handler or a retry policy. The rooms that run handlers implement the method
//! traits for their own handler signatures: `workflow::definition` for workflow handlers,
//! `activity::definition` for activities. Everything here is re-exported under its public paths
//! (`reprise::workflow::definition`, `reprise::workflow::RegistrationError`,
//! `reprise::client::RetryPolicy`).

mod retry;

pub use retry::RetryPolicy;

use crate::converter::ToPayloads;
use serde::de::DeserializeOwned;
use std::any::{Any, TypeId};

/// A workflow type defined with `#[workflow]`.
pub trait WorkflowDefinition: Sized + 'static {
    /// The workflow type name.
    const NAME: &'static str;
    #[doc(hidden)]
    fn __run_fn() -> WorkflowEntry;
    #[doc(hidden)]
    fn __handler_name(method: TypeId) -> Option<&'static str>;
}

/// A workflow's entry point as `#[workflow]` builds it (`reprise::__private::workflow_run_fn`).
///
/// Opaque here: the entry point takes the workflow context, which belongs to the workflow room
/// above this one. The workflow room builds it and opens it again (`WorkflowRegistry`), so the
/// erased type is always the one expected.
#[doc(hidden)]
pub struct WorkflowEntry(Box<dyn Any + Send + Sync>);

impl WorkflowEntry {
    pub(crate) fn new<F: Any + Send + Sync>(run: F) -> Self {
        WorkflowEntry(Box::new(run))
    }

    pub(crate) fn open<F: Any>(self) -> Option<F> {
        self.0.downcast().ok().map(|run| *run)
    }
}

/// A workflow's `#[run]` method, as a value (`OrderWorkflow::run`).
pub trait RunMethod<Marker>: 'static {
    /// The workflow.
    type Workflow: WorkflowDefinition;
    /// Its arguments as a tuple.
    type Args: ToPayloads;
    /// Its result.
    type Output: DeserializeOwned;
}

/// A workflow's `#[signal]` method.
pub trait SignalMethod<Marker>: 'static {
    /// The workflow.
    type Workflow: WorkflowDefinition;
    /// Its arguments as a tuple.
    type Args: ToPayloads;
}

/// A workflow's `#[query]` method.
pub trait QueryMethod<Marker>: 'static {
    /// The workflow.
    type Workflow: WorkflowDefinition;
    /// Its arguments as a tuple.
    type Args: ToPayloads;
    /// Its result.
    type Output: DeserializeOwned;
}

/// A workflow's `#[update]` method.
pub trait UpdateMethod<Marker>: 'static {
    /// The workflow.
    type Workflow: WorkflowDefinition;
    /// Its arguments as a tuple.
    type Args: ToPayloads;
    /// Its result.
    type Output: DeserializeOwned;
}

/// Marker of synchronous handlers.
#[doc(hidden)]
pub struct Sync_;
/// Marker of asynchronous handlers.
#[doc(hidden)]
pub struct Async_;

/// The registered name of a workflow handler method.
pub fn handler_name<W: WorkflowDefinition, F: 'static>() -> &'static str {
    W::__handler_name(TypeId::of::<F>()).unwrap_or("<not a handler of this workflow>")
}

/// The `TypeId` of a function item, for the generated name lookups.
#[doc(hidden)]
pub fn __method_id<F: 'static>(_: &F) -> TypeId {
    TypeId::of::<F>()
}

/// The name a handler method of `W` is registered under (`"addItem"` for a method marked
/// `#[signal(name = "addItem")]`).
pub fn handler_name_of<W: WorkflowDefinition, F: 'static>(_method: &F) -> &'static str {
    handler_name::<W, F>()
}

/// Registering the same name twice, or an empty name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The name is registered already.
    #[error("a workflow named {0:?} is registered already")]
    Duplicate(String),
    /// The name is empty.
    #[error("a workflow type name must not be empty")]
    EmptyName,
}
