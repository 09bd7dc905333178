//! `ActivityEnv`: one activity function run directly, no server.

use reprise::activity::{ActivityContext, ActivityInfo, ContextControl};
use reprise::api::temporal::api::common::v1::Payload;
use reprise::converter::{DataConverter, FromPayloads, ToPayloads};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Default)]
struct State {
    heartbeats: Vec<Vec<Payload>>,
    running: Vec<ContextControl>,
    cancel_requested: bool,
}

/// Runs activity functions directly, with chosen [`ActivityInfo`] and previous-attempt
/// heartbeat details; records their heartbeats and requests their cancellation. No server, no
/// worker. Clones share the same record, so one clone can watch or cancel while another runs.
///
/// ```
/// use reprise::activity::{ActivityContext, ActivityError};
/// use reprise_testing::ActivityEnv;
///
/// async fn count(ctx: ActivityContext, to: u32) -> Result<u32, ActivityError> {
///     for i in 1..=to {
///         ctx.heartbeat((i,));
///     }
///     Ok(to)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let env = ActivityEnv::new().with_attempt(2);
/// assert_eq!(env.run(|ctx| count(ctx, 3)).await.unwrap(), 3);
/// assert_eq!(env.heartbeats::<(u32,)>(), vec![(1,), (2,), (3,)]);
/// # }
/// ```
#[derive(Clone)]
pub struct ActivityEnv {
    info: ActivityInfo,
    converter: DataConverter,
    heartbeat_details: Vec<Payload>,
    state: Arc<Mutex<State>>,
    beat: Arc<Notify>,
}

impl std::fmt::Debug for ActivityEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityEnv")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Default for ActivityEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl ActivityEnv {
    /// An env whose activities see attempt 1 of activity `test-activity` (id `1`) of workflow
    /// `test-workflow` (run `test-run`, type `TestWorkflow`) in namespace `default`, task queue
    /// `test`.
    pub fn new() -> Self {
        let mut info = ActivityInfo::default();
        info.activity_id = "1".into();
        info.activity_type = "test-activity".into();
        info.attempt = 1;
        info.workflow_id = "test-workflow".into();
        info.run_id = "test-run".into();
        info.workflow_type = "TestWorkflow".into();
        info.namespace = "default".into();
        info.task_queue = "test".into();
        Self::with_info(info)
    }

    /// An env whose activities see `info`.
    pub fn with_info(info: ActivityInfo) -> Self {
        ActivityEnv {
            info,
            converter: DataConverter::default(),
            heartbeat_details: Vec::new(),
            state: Arc::default(),
            beat: Arc::default(),
        }
    }

    /// Sets the attempt number the activity sees.
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.info.attempt = attempt;
        self
    }

    /// The previous attempt's last heartbeat details
    /// ([`ActivityContext::heartbeat_details`]).
    pub fn with_heartbeat_details(mut self, details: impl ToPayloads) -> Self {
        self.heartbeat_details = details.to_payloads(&self.converter).unwrap_or_default();
        self
    }

    /// Uses this data converter for heartbeat details.
    pub fn with_data_converter(mut self, converter: DataConverter) -> Self {
        self.converter = converter;
        self
    }

    /// The info the activities see.
    pub fn info(&self) -> &ActivityInfo {
        &self.info
    }

    /// Runs `activity` with a fresh context; a cancellation requested before it starts is
    /// delivered at once.
    pub async fn run<F, Fut, T>(&self, activity: F) -> T
    where
        F: FnOnce(ActivityContext) -> Fut,
        Fut: Future<Output = T>,
    {
        let (state, beat) = (self.state.clone(), self.beat.clone());
        let (ctx, control) = ActivityContext::detached(
            self.info.clone(),
            self.converter.clone(),
            self.heartbeat_details.clone(),
            move |details| {
                state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .heartbeats
                    .push(details);
                beat.notify_waiters();
            },
        );
        {
            let mut state = self.lock();
            if state.cancel_requested {
                control.cancel();
            }
            state.running.push(control);
        }
        activity(ctx).await
    }

    /// Requests cancellation of the activities running (and of those run later), as the server
    /// does when the workflow cancels them.
    pub fn cancel(&self) {
        let mut state = self.lock();
        state.cancel_requested = true;
        for control in &state.running {
            control.cancel();
        }
    }

    /// Every heartbeat so far, decoded as `T` (one that does not decode is left out).
    pub fn heartbeats<T: FromPayloads>(&self) -> Vec<T> {
        self.lock()
            .heartbeats
            .iter()
            .filter_map(|p| T::from_payloads(&self.converter, p).ok())
            .collect()
    }

    /// How many heartbeats were recorded.
    pub fn heartbeat_count(&self) -> usize {
        self.lock().heartbeats.len()
    }

    /// Completes once at least `n` heartbeats were recorded.
    pub async fn wait_for_heartbeats(&self, n: usize) {
        loop {
            let notified = self.beat.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.heartbeat_count() >= n {
                return;
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
