//! The replay engine and the [`Replayer`]: prove that today's workflow code still produces the
//! histories that running workflows recorded.
//!
//! ```no_run
//! use reprise::replay::Replayer;
//! use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
//!
//! async fn greet(_ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
//!     Ok(format!("Hello, {name}!"))
//! }
//!
//! let mut registry = WorkflowRegistry::new();
//! registry.register("Greet", greet).unwrap();
//! let summary = Replayer::new(registry).replay_dir("tests/histories").unwrap();
//! println!("{summary}");
//! assert!(summary.is_success());
//! ```

mod error;
mod matching;
mod replayer;
pub(crate) mod run;
#[cfg(test)]
mod tests;

#[doc(hidden)]
pub use crate::workflow::registry::RunFn;
pub use error::{NondeterminismError, ReplayError};
pub(crate) use matching::is_command_event;
pub use replayer::{ReplayResult, ReplaySummary, Replayer};
