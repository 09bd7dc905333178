//! The typed handler references of workflow code: the workflow handler shapes (`#[run]`,
//! `#[signal]`, `#[query]`, `#[update]` methods taking `&WorkflowContext`) implement the method
//! traits of `crate::definition` (a private room), re-exported here with the activity ones under
//! their public path `reprise::workflow::definition`.

use super::{WorkflowContext, WorkflowResult};
use crate::converter::ToPayloads;
use serde::de::DeserializeOwned;

pub use crate::activity::definition::{ActivityDefinitions, ActivityMethod, activity_name};
pub use crate::definition::{
    __method_id, Async_, QueryMethod, RunMethod, SignalMethod, Sync_, UpdateMethod,
    WorkflowDefinition, handler_name, handler_name_of,
};

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
    };
}

arities!();
arities!(A1);
arities!(A1, A2);
arities!(A1, A2, A3);
arities!(A1, A2, A3, A4);
arities!(A1, A2, A3, A4, A5);
arities!(A1, A2, A3, A4, A5, A6);
