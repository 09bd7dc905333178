//! The state of one workflow run that workflow code reaches through its context: clock,
//! randomness, issued commands, per-command state machines, handlers and buffers. Shared as
//! `Rc<RefCell<_>>` between the context, the futures and the replay engine; a borrow is never
//! held while user code runs (handlers are cloned out first).

use super::cancellation::ScopeRef;
use super::options::CancellationType;
use super::random::Rng;
use super::{UpdateInput, WorkflowInfo};
use crate::api::temporal::api::command::v1::Command;
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use crate::converter::{DataConverter, Failure};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Waker;
use std::time::SystemTime;

pub(crate) type Shared = Rc<RefCell<RunState>>;
pub(crate) type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;
pub(crate) type MachineId = usize;

/// How a pending operation ended.
#[derive(Clone, Debug)]
pub(crate) enum Resolution {
    /// Completed with these (codec-decoded) payloads.
    Completed(Vec<Payload>),
    /// Failed, timed out or was canceled: the failure says which.
    Failed(Box<Failure>),
}

/// What a state machine tracks, per command kind.
#[derive(Clone, Debug)]
pub(crate) enum MachineKind {
    Timer {
        timer_id: String,
    },
    Activity {
        activity_id: String,
        activity_type: String,
        cancel: CancellationType,
    },
    LocalActivity,
    Child {
        workflow_id: String,
        workflow_type: String,
        cancel: CancellationType,
    },
    SignalExternal,
    CancelExternal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MachineStatus {
    /// Its command was issued in the current activation and is not yet in history/sent.
    Issued,
    /// The history (or server) recorded its command.
    Recorded,
    /// Done; `resolution` holds how (until a future takes it).
    Resolved,
}

pub(crate) struct Machine {
    pub(crate) kind: MachineKind,
    pub(crate) status: MachineStatus,
    /// ActivityTaskScheduled / TimerStarted / StartChild…Initiated / …Initiated event id.
    pub(crate) event_id: i64,
    pub(crate) resolution: Option<Resolution>,
    pub(crate) waker: Option<Waker>,
    pub(crate) cancel_requested: bool,
    /// Child workflows: the run id once started (or the start failure).
    pub(crate) child_start: Option<Result<String, Failure>>,
    pub(crate) start_waker: Option<Waker>,
    /// Where workflow code started the operation (shown by the `__stack_trace` query).
    pub(crate) location: Option<&'static Location<'static>>,
}

impl Machine {
    pub(crate) fn new(kind: MachineKind) -> Self {
        Machine {
            kind,
            status: MachineStatus::Issued,
            event_id: 0,
            resolution: None,
            waker: None,
            location: None,
            cancel_requested: false,
            child_start: None,
            start_waker: None,
        }
    }

    pub(crate) fn resolve(&mut self, resolution: Resolution) {
        if self.status == MachineStatus::Resolved {
            return;
        }
        self.status = MachineStatus::Resolved;
        self.resolution = Some(resolution);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
        if let Some(w) = self.start_waker.take() {
            w.wake();
        }
    }
}

/// A command issued by workflow code, waiting to be matched against history or sent.
pub(crate) struct IssuedCommand {
    pub(crate) command: Command,
    pub(crate) machine: Option<MachineId>,
    /// Where in workflow code it was issued.
    pub(crate) location: &'static Location<'static>,
    /// A command another SDK may not have recorded (patch bookkeeping): dropped when the history
    /// has no matching event.
    pub(crate) optional: bool,
    /// For `ProtocolMessage` commands: the message they carry.
    pub(crate) message: Option<ProtocolMessage>,
}

/// A signal handler: called with the signal's payloads.
pub(crate) type SignalHandler = Rc<dyn Fn(Vec<Payload>)>;
/// The handler of signals without their own (name, payloads).
pub(crate) type DefaultSignalHandler = Rc<dyn Fn(String, Vec<Payload>)>;
/// The handler of queries without their own (name, payloads).
pub(crate) type DefaultQueryHandler =
    Rc<dyn Fn(String, Vec<Payload>) -> Result<Vec<Payload>, Failure>>;
/// A query handler: answers from state, never issues commands.
pub(crate) type QueryHandler = Rc<dyn Fn(Vec<Payload>) -> Result<Vec<Payload>, Failure>>;
/// Validates an update's input before it is accepted.
pub(crate) type UpdateValidator = Rc<dyn Fn(&UpdateInput) -> Result<(), Failure>>;
/// Runs an accepted update.
pub(crate) type UpdateFn =
    Rc<dyn Fn(UpdateInput) -> Pin<Box<dyn Future<Output = Result<Vec<Payload>, Failure>>>>>;

/// An update: optional validator, then the handler.
pub(crate) struct UpdateHandler {
    pub(crate) validator: Option<UpdateValidator>,
    pub(crate) handler: UpdateFn,
}

impl Clone for UpdateHandler {
    fn clone(&self) -> Self {
        UpdateHandler {
            validator: self.validator.clone(),
            handler: self.handler.clone(),
        }
    }
}

/// Sequence numbers per command kind, as the official SDKs assign them (activity ids and local
/// activity ids share one counter).
#[derive(Default, Clone, PartialEq, Eq)]
pub(crate) struct Seqs {
    pub(crate) activity: u32,
    pub(crate) timer: u32,
    pub(crate) child: u32,
    pub(crate) external_signal: u32,
    pub(crate) external_cancel: u32,
}

/// A local activity recorded in history (read ahead of the workflow code during replay).
#[derive(Clone, Debug)]
pub(crate) struct RecordedLocalActivity {
    pub(crate) resolution: Resolution,
}

/// A local activity the worker must run before the workflow task can complete.
#[derive(Clone, Debug)]
pub(crate) struct LocalActivityRequest {
    pub(crate) machine: MachineId,
    pub(crate) seq: u32,
    pub(crate) activity_type: String,
    pub(crate) input: Vec<Payload>,
    pub(crate) options: super::LocalActivityOptions,
}

pub(crate) struct RunState {
    pub(crate) converter: DataConverter,
    pub(crate) info: WorkflowInfo,
    pub(crate) now: SystemTime,
    pub(crate) replaying: bool,
    pub(crate) rng: Rng,
    pub(crate) seq: Seqs,
    pub(crate) commands: Vec<IssuedCommand>,
    pub(crate) machines: Vec<Machine>,
    pub(crate) spawn_queue: Vec<LocalFuture>,
    pub(crate) signal_handlers: HashMap<String, SignalHandler>,
    pub(crate) default_signal_handler: Option<DefaultSignalHandler>,
    /// Signals that arrived before a handler existed, in arrival order.
    pub(crate) signal_buffer: VecDeque<(String, Vec<Payload>)>,
    pub(crate) query_handlers: HashMap<String, QueryHandler>,
    pub(crate) default_query_handler: Option<DefaultQueryHandler>,
    pub(crate) update_handlers: HashMap<String, UpdateHandler>,
    pub(crate) default_update_handler: Option<UpdateHandler>,
    /// Updates that arrived before a handler existed.
    pub(crate) update_buffer: VecDeque<super::PendingUpdate>,
    pub(crate) running_handlers: usize,
    /// Wakers of `wait_condition` futures, woken each time the run stalls.
    pub(crate) condition_wakers: Vec<Waker>,
    pub(crate) conditions_satisfied: u64,
    /// Wakers of every pending operation future, woken when a scope is canceled.
    pub(crate) cancel_wakers: Vec<Waker>,
    pub(crate) root_scope: ScopeRef,
    pub(crate) cancel_requested: Option<String>,
    /// Patch ids whose markers the history holds in the current task's commands (replay).
    pub(crate) patches_in_history: HashSet<String>,
    pub(crate) patch_memo: HashMap<String, bool>,
    pub(crate) change_versions: Vec<String>,
    /// Local activity markers of the current task's commands, by seq (replay).
    pub(crate) recorded_local_activities: HashMap<u32, RecordedLocalActivity>,
    pub(crate) local_activity_requests: Vec<LocalActivityRequest>,
    /// Side-effect markers of the current task's commands, by seq (replay).
    pub(crate) recorded_side_effects: HashMap<u32, Vec<Payload>>,
    pub(crate) side_effect_seq: u32,
    pub(crate) memo: BTreeMap<String, Payload>,
    pub(crate) search_attributes: BTreeMap<String, Payload>,
    /// The workflow issued its closing command (complete, fail, cancel, continue-as-new).
    pub(crate) closed: bool,
    /// Protocol messages that carry no command (update rejections).
    pub(crate) outgoing_messages: Vec<ProtocolMessage>,
    /// The worker's interceptor for this run, if any.
    pub(crate) interceptor: super::interceptor::RunInterceptor,
}

impl RunState {
    pub(crate) fn new(converter: DataConverter, info: WorkflowInfo, seed: u64) -> Self {
        RunState {
            converter,
            now: info.start_time,
            info,
            replaying: false,
            rng: Rng::new(seed),
            seq: Seqs::default(),
            commands: Vec::new(),
            machines: Vec::new(),
            spawn_queue: Vec::new(),
            signal_handlers: HashMap::new(),
            default_signal_handler: None,
            signal_buffer: VecDeque::new(),
            query_handlers: HashMap::new(),
            default_query_handler: None,
            update_handlers: HashMap::new(),
            default_update_handler: None,
            update_buffer: VecDeque::new(),
            running_handlers: 0,
            condition_wakers: Vec::new(),
            conditions_satisfied: 0,
            cancel_wakers: Vec::new(),
            root_scope: ScopeRef::root(),
            cancel_requested: None,
            patches_in_history: HashSet::new(),
            patch_memo: HashMap::new(),
            change_versions: Vec::new(),
            recorded_local_activities: HashMap::new(),
            local_activity_requests: Vec::new(),
            recorded_side_effects: HashMap::new(),
            side_effect_seq: 0,
            memo: BTreeMap::new(),
            search_attributes: BTreeMap::new(),
            closed: false,
            interceptor: None,
            outgoing_messages: Vec::new(),
        }
    }

    pub(crate) fn add_machine(&mut self, kind: MachineKind) -> MachineId {
        self.machines.push(Machine::new(kind));
        self.machines.len() - 1
    }

    pub(crate) fn push_command(
        &mut self,
        command: Command,
        machine: Option<MachineId>,
        location: &'static Location<'static>,
    ) {
        if let Some(m) = machine.and_then(|m| self.machines.get_mut(m)) {
            m.location.get_or_insert(location);
        }
        self.commands.push(IssuedCommand {
            command,
            machine,
            location,
            optional: false,
            message: None,
        });
    }

    /// Removes the not-yet-sent command of `machine`; true if there was one (then the operation
    /// never reaches the server and can resolve at once).
    pub(crate) fn withdraw_command(&mut self, machine: MachineId) -> bool {
        let before = self.commands.len();
        self.commands.retain(|c| c.machine != Some(machine));
        self.commands.len() != before
    }

    pub(crate) fn wake_cancel_waiters(&mut self) {
        for w in self.cancel_wakers.drain(..) {
            w.wake();
        }
    }
}
