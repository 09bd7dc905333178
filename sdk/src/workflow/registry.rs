//! The set of workflow definitions a worker or replayer knows, by type name.

use super::{WorkflowContext, WorkflowResult};
use crate::api::temporal::api::common::v1::Payload;
use crate::converter::FromPayloads;
use crate::definition::{RegistrationError, WorkflowDefinition};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The type-erased entry point of a workflow: context and raw arguments in, raw result out.
pub type RunFn = Arc<
    dyn Fn(
            WorkflowContext,
            Vec<Payload>,
        ) -> Pin<Box<dyn Future<Output = WorkflowResult<Vec<Payload>>>>>
        + Send
        + Sync,
>;

/// Workflow definitions by type name.
///
/// ```
/// use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
///
/// async fn greet(_ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
///     Ok(format!("Hello, {name}!"))
/// }
///
/// let mut registry = WorkflowRegistry::new();
/// registry.register("Greet", greet).unwrap();
/// assert!(registry.register("Greet", greet).is_err());
/// ```
#[derive(Clone, Default)]
pub struct WorkflowRegistry {
    workflows: BTreeMap<String, RunFn>,
}

impl std::fmt::Debug for WorkflowRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowRegistry")
            .field("workflow_types", &self.workflows.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WorkflowRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an async function as the workflow `workflow_type`. Its arguments arrive as a
    /// tuple (one element per payload), its result is converted with the data converter.
    pub fn register<A, R, F, Fut>(
        &mut self,
        workflow_type: &str,
        workflow: F,
    ) -> Result<&mut Self, RegistrationError>
    where
        A: FromPayloads + 'static,
        R: Serialize + 'static,
        F: Fn(WorkflowContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = WorkflowResult<R>> + 'static,
    {
        let workflow = Arc::new(workflow);
        let run: RunFn = Arc::new(move |ctx: WorkflowContext, input: Vec<Payload>| {
            let workflow = workflow.clone();
            Box::pin(async move {
                let converter = ctx.shared.borrow().converter.clone();
                let args = A::from_payloads(&converter, &input)?;
                let value = workflow(ctx, args).await?;
                Ok(vec![converter.to_payload(&value)?])
            })
        });
        self.register_raw(workflow_type, run)
    }

    /// Registers a `#[workflow]` type (with all its handlers).
    pub fn register_workflow<W: WorkflowDefinition>(
        &mut self,
    ) -> Result<&mut Self, RegistrationError> {
        let run = W::__run_fn()
            .open::<RunFn>()
            .expect("#[workflow] builds its entry point with __private::workflow_run_fn");
        self.register_raw(W::NAME, run)
    }

    pub(crate) fn register_raw(
        &mut self,
        workflow_type: &str,
        run: RunFn,
    ) -> Result<&mut Self, RegistrationError> {
        if workflow_type.is_empty() {
            return Err(RegistrationError::EmptyName);
        }
        if self.workflows.contains_key(workflow_type) {
            return Err(RegistrationError::Duplicate(workflow_type.to_string()));
        }
        self.workflows.insert(workflow_type.to_string(), run);
        Ok(self)
    }

    /// The registered type names, sorted.
    pub fn workflow_types(&self) -> impl Iterator<Item = &str> {
        self.workflows.keys().map(String::as_str)
    }

    pub(crate) fn get(&self, workflow_type: &str) -> Option<&RunFn> {
        self.workflows.get(workflow_type)
    }
}
