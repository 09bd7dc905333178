//! What activity code sees: [`ActivityContext`] (info, heartbeats, cancellation) and
//! [`ActivityError`]; and [`ActivityRegistry`], the activities a worker runs by name.
//!
//! Activities are ordinary async Rust (they may do I/O, read the clock, use any library);
//! Temporal retries them according to their retry policy.

pub(crate) mod definition;

use crate::api::temporal::api::common::v1::Payload;
use crate::converter::{
    ApplicationFailure, DataConverter, Failure, FailureKind, FromPayloads, ToPayloads,
};
use crate::definition::RegistrationError;
use definition::ActivityDefinitions;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;

mod dynamic;
pub use dynamic::{ContextControl, DynamicActivity};

/// Facts about the running activity attempt.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ActivityInfo {
    /// Activity id.
    pub activity_id: String,
    /// Activity type name.
    pub activity_type: String,
    /// Attempt, from 1.
    pub attempt: u32,
    /// Workflow that scheduled it.
    pub workflow_id: String,
    /// Its run.
    pub run_id: String,
    /// Its type.
    pub workflow_type: String,
    /// Namespace.
    pub namespace: String,
    /// Task queue.
    pub task_queue: String,
    /// Start-to-close timeout of this attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// Heartbeat timeout.
    pub heartbeat_timeout: Option<Duration>,
    /// When this attempt was scheduled.
    pub scheduled_time: Option<SystemTime>,
    /// Whether this is a local activity.
    pub is_local: bool,
}

pub(crate) type HeartbeatSink = Arc<dyn Fn(Vec<Payload>) + Send + Sync>;

pub(crate) struct ContextInner {
    pub(crate) info: ActivityInfo,
    pub(crate) converter: DataConverter,
    pub(crate) heartbeat_details: Vec<Payload>,
    pub(crate) canceled: AtomicBool,
    pub(crate) cancel_notify: Notify,
    pub(crate) last_heartbeat: Mutex<Vec<Payload>>,
    pub(crate) heartbeat_sink: OnceLock<HeartbeatSink>,
    pub(crate) headers: OnceLock<BTreeMap<String, Payload>>,
}

/// The handle activity code uses: its info, heartbeats and cancellation. Cheap to clone.
#[derive(Clone)]
pub struct ActivityContext {
    pub(crate) inner: Arc<ContextInner>,
}

impl std::fmt::Debug for ActivityContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityContext")
            .field("info", &self.inner.info)
            .finish()
    }
}

impl ActivityContext {
    pub(crate) fn new(
        info: ActivityInfo,
        converter: DataConverter,
        heartbeat_details: Vec<Payload>,
    ) -> Self {
        ActivityContext {
            inner: Arc::new(ContextInner {
                info,
                converter,
                heartbeat_details,
                canceled: AtomicBool::new(false),
                cancel_notify: Notify::new(),
                last_heartbeat: Mutex::new(Vec::new()),
                heartbeat_sink: OnceLock::new(),
                headers: OnceLock::new(),
            }),
        }
    }

    /// A context for calling an activity function directly in a unit test.
    pub fn for_test(info: ActivityInfo) -> Self {
        Self::new(info, DataConverter::default(), Vec::new())
    }

    /// Facts about this attempt.
    pub fn info(&self) -> &ActivityInfo {
        &self.inner.info
    }

    /// Records progress; the server answers whether cancellation was requested (then
    /// [`is_canceled`](Self::is_canceled) turns true). The next attempt can read the details.
    pub fn heartbeat(&self, details: impl ToPayloads) {
        let Ok(payloads) = details.to_payloads(&self.inner.converter) else {
            return;
        };
        if let Ok(mut last) = self.inner.last_heartbeat.lock() {
            *last = payloads.clone();
        }
        if let Some(sink) = self.inner.heartbeat_sink.get() {
            sink(payloads);
        }
    }

    /// Details of the last heartbeat of the previous attempt, if any.
    pub fn heartbeat_details<T: FromPayloads>(&self) -> Option<T> {
        if self.inner.heartbeat_details.is_empty() {
            return None;
        }
        T::from_payloads(&self.inner.converter, &self.inner.heartbeat_details).ok()
    }

    /// Whether the workflow (or the server, on timeout) asked this activity to stop.
    pub fn is_canceled(&self) -> bool {
        self.inner.canceled.load(Ordering::Acquire)
    }

    /// Resolves when cancellation is requested.
    pub async fn canceled(&self) {
        loop {
            let notified = self.inner.cancel_notify.notified();
            if self.is_canceled() {
                return;
            }
            notified.await;
        }
    }

    /// The Temporal headers the workflow scheduled this activity with (what its interceptors
    /// added: a trace context, a tenant id…); empty for a local activity.
    pub fn headers(&self) -> &BTreeMap<String, Payload> {
        static NONE: BTreeMap<String, Payload> = BTreeMap::new();
        self.inner.headers.get().unwrap_or(&NONE)
    }

    /// One header, converted with the activity's data converter; `None` when absent or not a
    /// `T`.
    pub fn header<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let payload = self.headers().get(name)?;
        self.inner.converter.from_payload(payload).ok()
    }

    pub(crate) fn set_headers(&self, headers: BTreeMap<String, Payload>) {
        let _ = self.inner.headers.set(headers);
    }

    pub(crate) fn set_heartbeat_sink(&self, sink: HeartbeatSink) {
        let _ = self.inner.heartbeat_sink.set(sink);
    }

    pub(crate) fn cancel(&self) {
        self.inner.canceled.store(true, Ordering::Release);
        self.inner.cancel_notify.notify_waiters();
    }

    pub(crate) fn last_heartbeat(&self) -> Vec<Payload> {
        self.inner
            .last_heartbeat
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
}

/// How an activity attempt ends other than with a value.
///
/// Any error converts into it with `?` (becoming a retryable application failure whose cause
/// chain follows `source()`); return an [`ApplicationFailure`] for a typed or non-retryable
/// failure, or [`ActivityError::canceled`] after honoring a cancellation request.
#[derive(Debug)]
#[non_exhaustive]
pub enum ActivityError {
    /// The attempt failed.
    Failed(Box<Failure>),
    /// The activity stopped because cancellation was requested.
    Canceled {
        /// Details reported with the cancellation.
        details: Vec<Payload>,
    },
}

impl ActivityError {
    /// The activity honored a cancellation request.
    pub fn canceled() -> Self {
        ActivityError::Canceled {
            details: Vec::new(),
        }
    }

    /// A failure that is not retried.
    pub fn non_retryable(message: impl Into<String>) -> Self {
        ActivityError::Failed(Box::new(
            ApplicationFailure::new(message).non_retryable().into(),
        ))
    }
}

impl<E: std::error::Error + 'static> From<E> for ActivityError {
    fn from(e: E) -> Self {
        let failure = Failure::from_error(&e);
        if matches!(failure.kind, FailureKind::Canceled { .. }) {
            return ActivityError::Canceled {
                details: Vec::new(),
            };
        }
        ActivityError::Failed(Box::new(failure))
    }
}

/// A type-erased activity: context and raw arguments in, raw result out.
pub(crate) type ActivityFn = Arc<
    dyn Fn(
            ActivityContext,
            Vec<Payload>,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<Payload>, ActivityError>> + Send>>
        + Send
        + Sync,
>;

/// Activities by type name.
///
/// ```
/// use reprise::activity::{ActivityContext, ActivityError, ActivityRegistry};
///
/// async fn charge(_ctx: ActivityContext, (order, amount): (String, f64)) -> Result<String, ActivityError> {
///     Ok(format!("charge-{order}-{}", (amount * 100.0) as u64))
/// }
///
/// let mut activities = ActivityRegistry::new();
/// activities.register("chargeCreditCard", charge).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct ActivityRegistry {
    activities: BTreeMap<String, ActivityFn>,
}

impl std::fmt::Debug for ActivityRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityRegistry")
            .field(
                "activity_types",
                &self.activities.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ActivityRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an async function as the activity `activity_type`. Arguments arrive as a tuple.
    pub fn register<A, R, F, Fut>(
        &mut self,
        activity_type: &str,
        activity: F,
    ) -> Result<&mut Self, RegistrationError>
    where
        A: FromPayloads + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(ActivityContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ActivityError>> + Send + 'static,
    {
        if activity_type.is_empty() {
            return Err(RegistrationError::EmptyName);
        }
        if self.activities.contains_key(activity_type) {
            return Err(RegistrationError::Duplicate(activity_type.to_string()));
        }
        let activity = Arc::new(activity);
        let run: ActivityFn = Arc::new(move |ctx: ActivityContext, input: Vec<Payload>| {
            let activity = activity.clone();
            Box::pin(async move {
                let converter = ctx.inner.converter.clone();
                let args = A::from_payloads(&converter, &input)?;
                let value = activity(ctx, args).await?;
                Ok(vec![converter.to_payload(&value)?])
            })
        });
        self.activities.insert(activity_type.to_string(), run);
        Ok(self)
    }

    /// Registers every activity of an `#[activities]` group; they share `group` (a connection
    /// pool, a client…).
    pub fn register_activities<G: ActivityDefinitions>(
        &mut self,
        group: G,
    ) -> Result<&mut Self, RegistrationError> {
        Arc::new(group).__register(self)?;
        Ok(self)
    }

    /// The registered type names, sorted.
    pub fn activity_types(&self) -> impl Iterator<Item = &str> {
        self.activities.keys().map(String::as_str)
    }

    pub(crate) fn get(&self, activity_type: &str) -> Option<&ActivityFn> {
        self.activities.get(activity_type)
    }
}
