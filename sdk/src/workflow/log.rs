//! Logging from workflow code: [`workflow_info!`](crate::workflow_info) and its siblings are
//! `tracing`'s macros that stay silent while the run replays, so a run rebuilt from its history
//! (after an eviction from the cache, or on another worker after a crash) does not repeat the
//! lines it logged the first time.
//!
//! ```
//! use reprise::workflow::{WorkflowContext, WorkflowResult};
//!
//! async fn order(ctx: WorkflowContext, order_id: String) -> WorkflowResult<()> {
//!     reprise::workflow_info!(ctx, order_id, "order received");
//!     let charged: Result<String, _> = ctx.activity_by_name("charge", (&order_id,)).await;
//!     if let Err(e) = &charged {
//!         // A failure prints its whole cause chain.
//!         reprise::workflow_warn!(ctx, error = %e, "charge failed");
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Events go to the `reprise::workflow` target, inside the worker's `workflow_task` span (with
//! the run's namespace, task queue, workflow type, id and run id).

/// Logs at `TRACE` level from workflow code, unless the run is replaying. Takes the context,
/// then what `tracing::trace!` takes.
#[macro_export]
macro_rules! workflow_trace {
    ($ctx:expr, $($arg:tt)+) => {
        $crate::__workflow_log!($ctx, trace, $($arg)+)
    };
}

/// Logs at `DEBUG` level from workflow code, unless the run is replaying. Takes the context,
/// then what `tracing::debug!` takes.
#[macro_export]
macro_rules! workflow_debug {
    ($ctx:expr, $($arg:tt)+) => {
        $crate::__workflow_log!($ctx, debug, $($arg)+)
    };
}

/// Logs at `INFO` level from workflow code, unless the run is replaying. Takes the context,
/// then what `tracing::info!` takes.
#[macro_export]
macro_rules! workflow_info {
    ($ctx:expr, $($arg:tt)+) => {
        $crate::__workflow_log!($ctx, info, $($arg)+)
    };
}

/// Logs at `WARN` level from workflow code, unless the run is replaying. Takes the context,
/// then what `tracing::warn!` takes.
#[macro_export]
macro_rules! workflow_warn {
    ($ctx:expr, $($arg:tt)+) => {
        $crate::__workflow_log!($ctx, warn, $($arg)+)
    };
}

/// Logs at `ERROR` level from workflow code, unless the run is replaying. Takes the context,
/// then what `tracing::error!` takes.
#[macro_export]
macro_rules! workflow_error {
    ($ctx:expr, $($arg:tt)+) => {
        $crate::__workflow_log!($ctx, error, $($arg)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __workflow_log {
    ($ctx:expr, $level:ident, $($arg:tt)+) => {
        if !($ctx).is_replaying() {
            $crate::__tracing::$level!(target: "reprise::workflow", $($arg)+)
        }
    };
}
