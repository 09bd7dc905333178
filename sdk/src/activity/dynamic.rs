//! Activities registered and run without a macro or a typed signature: what test kits and
//! interceptors build on (`reprise_testing`'s activity mocks replace a worker's activities by
//! name with these).

use super::{ActivityContext, ActivityFn, ActivityInfo, ActivityRegistry};
use crate::api::temporal::api::common::v1::Payload;
use crate::converter::DataConverter;
use std::sync::Arc;

/// A type-erased activity: its context and raw (decoded by the codecs, not yet deserialized)
/// argument payloads in, raw result payloads out.
pub type DynamicActivity = ActivityFn;

impl ActivityRegistry {
    /// Registers `activity` under `activity_type`, taking raw payloads (see
    /// [`DynamicActivity`]); decode them with [`ActivityContext::data_converter`].
    pub fn register_dynamic(
        &mut self,
        activity_type: &str,
        activity: DynamicActivity,
    ) -> Result<&mut Self, crate::workflow::RegistrationError> {
        if activity_type.is_empty() {
            return Err(crate::workflow::RegistrationError::EmptyName);
        }
        if self.activities.contains_key(activity_type) {
            return Err(crate::workflow::RegistrationError::Duplicate(
                activity_type.to_string(),
            ));
        }
        self.activities.insert(activity_type.to_string(), activity);
        Ok(self)
    }

    /// The activity registered as `activity_type`, type-erased (to wrap or re-register it).
    pub fn get_dynamic(&self, activity_type: &str) -> Option<DynamicActivity> {
        self.activities.get(activity_type).cloned()
    }
}

/// Control over a context made by [`ActivityContext::detached`]: cancel it as the server would.
#[derive(Clone, Debug)]
pub struct ContextControl {
    ctx: ActivityContext,
}

impl ContextControl {
    /// Requests cancellation: [`ActivityContext::is_canceled`] turns true and
    /// [`ActivityContext::canceled`] resolves.
    pub fn cancel(&self) {
        self.ctx.cancel();
    }
}

impl ActivityContext {
    /// The data converter of this activity's worker (to decode raw payloads).
    pub fn data_converter(&self) -> &DataConverter {
        &self.inner.converter
    }

    /// A context for running an activity outside a worker (a test kit's activity
    /// environment): `heartbeat_details` are what the previous attempt's last heartbeat
    /// recorded, every [`ActivityContext::heartbeat`] is passed to `on_heartbeat` (encoded by
    /// `converter`), and the returned [`ContextControl`] requests cancellation.
    pub fn detached(
        info: ActivityInfo,
        converter: DataConverter,
        heartbeat_details: Vec<Payload>,
        on_heartbeat: impl Fn(Vec<Payload>) + Send + Sync + 'static,
    ) -> (ActivityContext, ContextControl) {
        let ctx = ActivityContext::new(info, converter, heartbeat_details);
        ctx.set_heartbeat_sink(Arc::new(on_heartbeat));
        (ctx.clone(), ContextControl { ctx })
    }
}
