//! What the `#[workflow]` and `#[activities]` macros implement, and the typed references they
//! make possible: `OrderWorkflow::run`, `OrderWorkflow::approve`, `Payments::charge` are the
//! user's own methods, passed as values; their argument and result types come from their
//! signatures, their names from the macro-generated definitions.

use super::{WorkflowContext, WorkflowResult};
use crate::activity::{ActivityContext, ActivityError};
use crate::converter::ToPayloads;
use serde::de::DeserializeOwned;
use std::any::TypeId;

/// A workflow type defined with `#[workflow]`.
pub trait WorkflowDefinition: Sized + 'static {
    /// The workflow type name.
    const NAME: &'static str;
    #[doc(hidden)]
    fn __run_fn() -> crate::replay::RunFn;
    #[doc(hidden)]
    fn __handler_name(method: TypeId) -> Option<&'static str>;
}

/// A group of activities defined with `#[activities]`.
pub trait ActivityDefinitions: Send + Sync + 'static {
    #[doc(hidden)]
    fn __register(
        self: std::sync::Arc<Self>,
        registry: &mut crate::activity::ActivityRegistry,
    ) -> Result<(), super::RegistrationError>;
    #[doc(hidden)]
    fn __activity_name(method: TypeId) -> Option<&'static str>;
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

/// An `#[activities]` method (`Payments::charge`).
pub trait ActivityMethod<Marker>: 'static {
    /// The activity group.
    type Group: ActivityDefinitions;
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

macro_rules! arities {
    ($($a:ident),*) => {
        impl<F, W, R, $($a,)*> RunMethod<(W, $($a,)*)> for F
        where
            F: AsyncFn(&W, &WorkflowContext, $($a,)*) -> WorkflowResult<R> + 'static,
            W: WorkflowDefinition,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Workflow = W;
            type Args = ($($a,)*);
            type Output = R;
        }

        impl<F, W, $($a,)*> SignalMethod<(Sync_, W, $($a,)*)> for F
        where
            F: Fn(&W, &WorkflowContext, $($a,)*) + 'static,
            W: WorkflowDefinition,
            ($($a,)*): ToPayloads,
        {
            type Workflow = W;
            type Args = ($($a,)*);
        }

        impl<F, W, $($a,)*> SignalMethod<(Async_, W, $($a,)*)> for F
        where
            F: AsyncFn(&W, &WorkflowContext, $($a,)*) + 'static,
            W: WorkflowDefinition,
            ($($a,)*): ToPayloads,
        {
            type Workflow = W;
            type Args = ($($a,)*);
        }

        impl<F, W, R, $($a,)*> QueryMethod<(W, $($a,)*)> for F
        where
            F: Fn(&W, &WorkflowContext, $($a,)*) -> R + 'static,
            W: WorkflowDefinition,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Workflow = W;
            type Args = ($($a,)*);
            type Output = R;
        }

        impl<F, W, R, E, $($a,)*> UpdateMethod<(Sync_, W, E, $($a,)*)> for F
        where
            F: Fn(&W, &WorkflowContext, $($a,)*) -> Result<R, E> + 'static,
            W: WorkflowDefinition,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Workflow = W;
            type Args = ($($a,)*);
            type Output = R;
        }

        impl<F, W, R, E, $($a,)*> UpdateMethod<(Async_, W, E, $($a,)*)> for F
        where
            F: AsyncFn(&W, &WorkflowContext, $($a,)*) -> Result<R, E> + 'static,
            W: WorkflowDefinition,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Workflow = W;
            type Args = ($($a,)*);
            type Output = R;
        }

        impl<F, G, R, $($a,)*> ActivityMethod<(Async_, G, $($a,)*)> for F
        where
            F: AsyncFn(&G, ActivityContext, $($a,)*) -> Result<R, ActivityError> + 'static,
            G: ActivityDefinitions,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Group = G;
            type Args = ($($a,)*);
            type Output = R;
        }

        impl<F, G, R, $($a,)*> ActivityMethod<(Sync_, G, $($a,)*)> for F
        where
            F: Fn(&G, ActivityContext, $($a,)*) -> Result<R, ActivityError> + 'static,
            G: ActivityDefinitions,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Group = G;
            type Args = ($($a,)*);
            type Output = R;
        }
    };
}

arities!();
arities!(A1);
arities!(A1, A2);
arities!(A1, A2, A3);
arities!(A1, A2, A3, A4);
arities!(A1, A2, A3, A4, A5);
arities!(A1, A2, A3, A4, A5, A6);

/// The registered name of a workflow handler method.
pub fn handler_name<W: WorkflowDefinition, F: 'static>() -> &'static str {
    W::__handler_name(TypeId::of::<F>()).unwrap_or("<not a handler of this workflow>")
}

/// The registered name of an activity method.
pub fn activity_name<G: ActivityDefinitions, F: 'static>() -> &'static str {
    G::__activity_name(TypeId::of::<F>()).unwrap_or("<not an activity of this group>")
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
