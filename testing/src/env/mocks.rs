//! Activity mocks: replace an activity by its method or its name, record every call.

use super::{Shared, TestEnv};
use crate::clock::Clock as _;
use crate::store::RunKey;
use reprise::activity::{
    ActivityContext, ActivityError, ActivityInfo, ActivityRegistry, DynamicActivity,
};
use reprise::api::temporal::api::common::v1::Payload;
use reprise::converter::FromPayloads;
use reprise::workflow::RegistrationError;
use reprise::workflow::definition::{ActivityMethod, activity_name};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

type MockFuture = Pin<Box<dyn Future<Output = Result<Vec<Payload>, ActivityError>> + Send>>;
type MockFn = Arc<dyn Fn(MockContext, Vec<Payload>) -> MockFuture + Send + Sync>;

/// The env's mocks, by activity type.
#[derive(Default)]
pub(crate) struct Mocks(RwLock<HashMap<String, MockFn>>);

impl Mocks {
    fn get(&self, activity_type: &str) -> Option<MockFn> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(activity_type)
            .cloned()
    }

    fn names(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }
}

/// The registry a worker of the env runs: each activity of `registered`, and each mocked
/// name, answered by the env's mock when there is one at call time.
pub(super) fn layer(
    shared: &Arc<Shared>,
    registered: &ActivityRegistry,
) -> Result<ActivityRegistry, RegistrationError> {
    let mut names: Vec<String> = registered.activity_types().map(String::from).collect();
    for name in shared.mocks.names() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut layered = ActivityRegistry::new();
    for name in names {
        let real = registered.get_dynamic(&name);
        let shared = shared.clone();
        let activity_type = name.clone();
        let run: DynamicActivity = Arc::new(move |ctx: ActivityContext, input: Vec<Payload>| {
            if let Some(mock) = shared.mocks.get(&activity_type) {
                return mock(
                    MockContext {
                        ctx,
                        shared: shared.clone(),
                    },
                    input,
                );
            }
            match &real {
                Some(real) => real(ctx, input),
                None => {
                    let message = format!("the mock of activity {activity_type:?} was removed");
                    Box::pin(async move { Err(ActivityError::non_retryable(message)) })
                }
            }
        });
        layered.register_dynamic(&name, run)?;
    }
    Ok(layered)
}

/// What a mock receives besides its arguments: the activity's context (it derefs to
/// [`ActivityContext`]: info, heartbeats, cancellation) and the env's virtual time.
#[derive(Clone)]
pub struct MockContext {
    ctx: ActivityContext,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MockContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockContext")
            .field("info", self.ctx.info())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for MockContext {
    type Target = ActivityContext;
    fn deref(&self) -> &ActivityContext {
        &self.ctx
    }
}

impl MockContext {
    /// The activity's context (to pass to a real implementation).
    pub fn activity_context(&self) -> &ActivityContext {
        &self.ctx
    }

    /// The env's virtual time.
    pub fn now(&self) -> SystemTime {
        self.shared.skipping.clock().now()
    }

    /// Takes `by` of virtual time: completes when the env's clock has moved that far (time
    /// skips there while the test waits for a result, or when it sleeps). Meanwhile this
    /// activity does not hold time back, so its timeouts fire at their virtual times: a mock
    /// that sleeps past its start-to-close timeout times out. Also completes when the env
    /// stops.
    pub async fn sleep(&self, by: Duration) {
        let skipping = &self.shared.skipping;
        let deadline = skipping.clock().now() + by;
        let info = self.ctx.info();
        let _parked = (!info.is_local).then(|| {
            skipping.park(
                RunKey {
                    namespace: info.namespace.clone(),
                    workflow_id: info.workflow_id.clone(),
                    run_id: info.run_id.clone(),
                },
                &info.activity_id,
                info.attempt,
            )
        });
        let _point = skipping.add_skip_point(deadline);
        let mut stopped = self.shared.stopped.subscribe();
        tokio::select! {
            _ = skipping.clock().sleep_until(deadline) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
    }
}

/// One recorded call of a mock.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MockCall<A> {
    /// The arguments, decoded.
    pub args: A,
    /// The attempt (from 1).
    pub attempt: u32,
    /// The env's virtual time when the attempt started.
    pub time: SystemTime,
    /// Everything else about the attempt.
    pub info: ActivityInfo,
}

/// The calls of one mock, in the order they started. Cheap to clone.
#[derive(Debug)]
pub struct MockHandle<A> {
    calls: Arc<Mutex<Vec<MockCall<A>>>>,
    activity_type: String,
}

impl<A> Clone for MockHandle<A> {
    fn clone(&self) -> Self {
        MockHandle {
            calls: self.calls.clone(),
            activity_type: self.activity_type.clone(),
        }
    }
}

impl<A: Clone> MockHandle<A> {
    /// Every call so far.
    pub fn calls(&self) -> Vec<MockCall<A>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The arguments of every call so far.
    pub fn args(&self) -> Vec<A> {
        self.calls().into_iter().map(|c| c.args).collect()
    }
}

impl<A> MockHandle<A> {
    /// How many times the mock was called (attempts included).
    pub fn call_count(&self) -> usize {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The activity type the mock answers.
    pub fn activity_type(&self) -> &str {
        &self.activity_type
    }
}

impl TestEnv {
    /// Replaces the activity `method` (an `#[activities]` method such as `Payments::charge`) in
    /// every worker of this env with `mock`, which gets a [`MockContext`] and the arguments as a
    /// tuple, typed as the method's. Returns the record of its calls. A later mock of the same
    /// activity replaces this one.
    pub fn mock_activity<M, Marker, F, Fut>(&self, method: M, mock: F) -> MockHandle<M::Args>
    where
        M: ActivityMethod<Marker>,
        M::Args: FromPayloads + Send + 'static,
        M::Output: Serialize + Send + 'static,
        F: Fn(MockContext, M::Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<M::Output, ActivityError>> + Send + 'static,
    {
        let _ = method;
        self.mock_activity_by_name(activity_name::<M::Group, M>(), mock)
    }

    /// Replaces the activity registered (or called) as `activity_type` with `mock` — for
    /// activities written in another language, or called by name. Arguments arrive decoded as
    /// `A` (a tuple, one element per argument); the result is encoded with the data converter.
    /// Register it before starting a worker that does not register `activity_type` itself.
    pub fn mock_activity_by_name<A, R, F, Fut>(&self, activity_type: &str, mock: F) -> MockHandle<A>
    where
        A: FromPayloads + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(MockContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ActivityError>> + Send + 'static,
    {
        let calls: Arc<Mutex<Vec<MockCall<A>>>> = Arc::default();
        let record = calls.clone();
        let mock = Arc::new(mock);
        let run: MockFn = Arc::new(move |ctx: MockContext, input: Vec<Payload>| {
            let (mock, record) = (mock.clone(), record.clone());
            Box::pin(async move {
                let converter = ctx.data_converter().clone();
                let recorded = A::from_payloads(&converter, &input)?;
                record
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(MockCall {
                        args: recorded,
                        attempt: ctx.info().attempt,
                        time: ctx.now(),
                        info: ctx.info().clone(),
                    });
                let args = A::from_payloads(&converter, &input)?;
                let value = mock(ctx, args).await?;
                Ok(vec![converter.to_payload(&value)?])
            })
        });
        self.shared()
            .mocks
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(activity_type.to_string(), run);
        MockHandle {
            calls,
            activity_type: activity_type.to_string(),
        }
    }
}
