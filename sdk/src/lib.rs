//! Reprise: durable execution for Rust on Temporal's protocol.
//!
//! - [`client`]: connect to any Temporal server (the bundled one, the official dev server, a
//!   cluster, Temporal Cloud), start workflows and act on them through handles.
//! - [`converter`]: how values become Temporal payloads and errors become Temporal failures,
//!   compatible with the official SDKs' default converters.
//! - [`history`]: workflow histories in the proto3-JSON form that `temporal workflow show --output
//!   json` and the Web UI write, and in protobuf binary.
//! - [`api`]: Temporal's raw API types and gRPC clients, for what the typed layers do not cover.
//! - [`guide`]: [concepts](guide::concepts), [the determinism rules](guide::determinism),
//!   [replay in CI](guide::replay_in_ci), [versioning with patches](guide::versioning),
//!   [running on a cluster or Temporal Cloud](guide::production).
#![warn(missing_docs)]

pub use reprise_api as api;
/// Defines a workflow on the `impl` block of its type.
///
/// ```
/// use reprise::converter::ApplicationFailure;
/// use reprise::workflow::{State, WorkflowContext, WorkflowResult};
/// use std::time::Duration;
///
/// #[derive(Default)]
/// pub struct Order {
///     approved: State<bool>,
///     notes: State<Vec<String>>,
/// }
///
/// #[reprise::workflow]                       // or #[reprise::workflow(name = "OrderWorkflow")]
/// impl Order {
///     #[run]
///     async fn run(&self, ctx: &WorkflowContext, order_id: String) -> WorkflowResult<String> {
///         ctx.wait_condition(|| self.approved.get()).await?;
///         ctx.sleep(Duration::from_secs(60)).await?;
///         Ok(format!("{order_id}: {} notes", self.notes.with(Vec::len)))
///     }
///
///     #[signal]
///     fn approve(&self, _ctx: &WorkflowContext) {
///         self.approved.set(true);
///     }
///
///     #[signal(name = "addNote")]
///     fn add_note(&self, _ctx: &WorkflowContext, note: String) {
///         self.notes.update(|n| n.push(note));
///     }
///
///     #[query]
///     fn approved(&self, _ctx: &WorkflowContext) -> bool {
///         self.approved.get()
///     }
///
///     #[update]
///     fn set_notes(&self, _ctx: &WorkflowContext, notes: Vec<String>) -> Result<usize, ApplicationFailure> {
///         Ok(self.notes.update(|n| { *n = notes; n.len() }))
///     }
///
///     #[update_validator(set_notes)]
///     fn check_notes(&self, _ctx: &WorkflowContext, notes: &Vec<String>) -> Result<(), ApplicationFailure> {
///         if notes.len() > 100 { Err(ApplicationFailure::new("too many notes")) } else { Ok(()) }
///     }
/// }
///
/// let mut registry = reprise::workflow::WorkflowRegistry::new();
/// registry.register_workflow::<Order>().unwrap();
/// ```
///
/// # The state model
///
/// Every handler — `#[run]`, `#[signal]`, `#[query]`, `#[update]`, `#[update_validator]` — has
/// the same shape: `&self`, then `ctx: &WorkflowContext` (the one context type), then its
/// arguments. Handlers keep the names you gave them, so `Order::run` and `Order::approve` are
/// typed references for `client.start(Order::run, …)` and `handle.signal(Order::approve, ())`.
///
/// The run and async handlers interleave at `.await` points, so state they share cannot be a
/// `&mut self`. It lives in [`State<T>`](crate::workflow::State) fields, which hand out no
/// reference or guard — only copies (`get`) and closures (`with`, `update`) — so a borrow of
/// workflow state ends before the next `.await` by construction: holding one across an await is
/// impossible rather than a runtime panic. Queries get the same `&self` and answer from it.
///
/// The type must implement `Default` (the instance a run starts from; the run's input arrives
/// in `#[run]`). Handlers are registered before the run starts, so signals and updates that
/// arrive with the first workflow task find them.
///
/// # Determinism checks
///
/// The bodies of handlers are checked at compile time for calls that would break replay —
/// `SystemTime::now`, `Instant::now`, `thread_rng`/`rand::random`, `std::thread`,
/// `tokio::spawn`, `tokio::time`, `std::fs`, `std::net`, `std::env::var`, `futures::select!` —
/// with the deterministic replacement in the error (`ctx.now()`, `ctx.random()`, `ctx.sleep()`,
/// `ctx.spawn()`, an activity…). Mark a reviewed exception with `#[allow_nondeterminism]` on the
/// statement or the method.
pub use reprise_macros::workflow;

/// Defines a group of activities on an `impl` block: every method is an activity taking `&self`
/// (the group's shared state: a connection pool, a client…), then `ctx: ActivityContext`, then
/// its arguments. `async fn`s run on the runtime, plain `fn`s on the blocking thread pool.
/// `#[activity(name = "chargeCreditCard")]` registers one under another name (to be called
/// from, or to serve, another SDK).
///
/// ```
/// use reprise::activity::{ActivityContext, ActivityError, ActivityRegistry};
///
/// pub struct Payments {
///     fee_cents: i64,
/// }
///
/// #[reprise::activities]
/// impl Payments {
///     #[activity(name = "chargeCreditCard")]
///     async fn charge(&self, _ctx: ActivityContext, order: String, cents: i64) -> Result<String, ActivityError> {
///         Ok(format!("charge-{order}-{}", cents + self.fee_cents))
///     }
///
///     fn checksum(&self, _ctx: ActivityContext, data: Vec<u8>) -> Result<u32, ActivityError> {
///         Ok(data.iter().map(|b| u32::from(*b)).sum())
///     }
/// }
///
/// let mut activities = ActivityRegistry::new();
/// activities.register_activities(Payments { fee_cents: 30 }).unwrap();
/// // In a workflow: ctx.activity(Payments::charge, ("order-1".into(), 4250)).start_to_close_timeout(..).await?
/// ```
pub use reprise_macros::activities;

/// For the `workflow_info!` family of macros.
#[doc(hidden)]
pub use tracing as __tracing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod activity;
pub mod client;
pub mod converter;
mod definition;
pub mod history;
pub mod interceptor;
pub mod replay;
pub mod telemetry;
mod util;
pub mod worker;
pub mod workflow;

/// Guides: the concepts, the determinism rules, replay in CI, versioning, production. Every code
/// block in them is compiled (and run where it can be) as a doc test.
pub mod guide {
    #[doc = include_str!("../docs/concepts.md")]
    pub mod concepts {}
    #[doc = include_str!("../docs/determinism.md")]
    pub mod determinism {}
    #[doc = include_str!("../docs/replay_in_ci.md")]
    pub mod replay_in_ci {}
    #[doc = include_str!("../docs/versioning.md")]
    pub mod versioning {}
    #[doc = include_str!("../docs/production.md")]
    pub mod production {}
}
