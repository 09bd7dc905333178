//! Workers started by a [`TestEnv`]: the builder words of `Worker::builder`, with the env's
//! activity mocks layered over the registered activities.

use super::{TestEnv, TestEnvError, mocks};
use reprise::activity::ActivityRegistry;
use reprise::worker::{Worker, WorkerOptions};
use reprise::workflow::definition::{ActivityDefinitions, WorkflowDefinition};
use reprise::workflow::{RegistrationError, WorkflowRegistry};

/// Builds a worker of a [`TestEnv`] ([`TestEnv::worker`]); [`EnvWorkerBuilder::start`] runs it
/// until the env finishes.
///
/// Activities the env mocks ([`TestEnv::mock_activity`]) are answered by the mock instead,
/// whether the mock was registered before or after `start` (a mock by name of an activity this
/// worker does not register must be registered before `start`).
#[must_use = "call start() to run the worker"]
pub struct EnvWorkerBuilder<'a> {
    env: &'a TestEnv,
    options: WorkerOptions,
    workflows: WorkflowRegistry,
    activities: ActivityRegistry,
    check: Vec<RegisterFn>,
    error: Option<RegistrationError>,
}

impl std::fmt::Debug for EnvWorkerBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvWorkerBuilder")
            .field("options", &self.options)
            .field("workflows", &self.workflows)
            .field("activities", &self.activities)
            .finish_non_exhaustive()
    }
}

/// Registers one workflow type in the env's registry for the determinism check.
type RegisterFn = fn(&mut WorkflowRegistry) -> Result<(), RegistrationError>;

fn register<W: WorkflowDefinition>(
    registry: &mut WorkflowRegistry,
) -> Result<(), RegistrationError> {
    registry.register_workflow::<W>().map(|_| ())
}

impl<'a> EnvWorkerBuilder<'a> {
    pub(super) fn new(env: &'a TestEnv, task_queue: &str) -> Self {
        EnvWorkerBuilder {
            env,
            options: WorkerOptions::new(task_queue),
            workflows: WorkflowRegistry::new(),
            activities: ActivityRegistry::new(),
            check: Vec::new(),
            error: None,
        }
    }

    /// Registers a `#[workflow]` type with its handlers (and for the determinism check).
    pub fn workflow<W: WorkflowDefinition>(mut self) -> Self {
        if let Err(e) = self.workflows.register_workflow::<W>() {
            self.error.get_or_insert(e);
        }
        self.check.push(register::<W>);
        self
    }

    /// Registers every activity of an `#[activities]` group.
    pub fn activities<G: ActivityDefinitions>(mut self, group: G) -> Self {
        if let Err(e) = self.activities.register_activities(group) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Replaces the worker options (the task queue included).
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts the worker in the background; it stops when the env finishes or is dropped.
    pub fn start(self) -> Result<(), TestEnvError> {
        if let Some(e) = self.error {
            return Err(e.into());
        }
        let shared = self.env.shared().clone();
        {
            let mut registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
            for add in &self.check {
                match add(&mut registry) {
                    Ok(()) | Err(RegistrationError::Duplicate(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let activities = mocks::layer(&shared, &self.activities)?;
        let worker = Worker::new(
            self.env.client().clone(),
            self.options,
            self.workflows,
            activities,
        );
        let handle = worker.shutdown_handle();
        let join = tokio::spawn(worker.run());
        self.env.add_worker(handle, join);
        Ok(())
    }
}
