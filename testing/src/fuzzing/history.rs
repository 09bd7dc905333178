//! Generated inputs for the SDK's history readers and replay engine: arbitrary and mutated bytes
//! for the JSON and protobuf readers, mutated histories (events dropped, duplicated, reordered,
//! attributes altered, ids out of order, truncated) for a [`Replayer`], each replay bounded by a
//! timeout on a worker thread.

use super::Tape;
use prost::Message as _;
use reprise::api::temporal::api::enums::v1::EventType;
use reprise::history::{History, HistoryError, HistoryEvent};
use reprise::replay::{ReplayError, Replayer};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// Reads `bytes` as proto3 JSON and as protobuf: each reader answers a history or an error
/// naming the place. A history that reads also writes and reads back: protobuf unchanged, JSON
/// to the same text.
pub fn read_history(bytes: &[u8]) -> Result<(), String> {
    for (reader, result) in [
        ("json", reprise::history::from_json_slice(bytes)),
        ("protobuf", reprise::history::from_proto_bytes(bytes)),
    ] {
        match result {
            Ok(history) => round_trip(&history).map_err(|e| format!("{reader}: {e}"))?,
            Err(e) => names_the_place(&e).map_err(|m| format!("{reader}: {m}"))?,
        }
    }
    Ok(())
}

/// An error of a reader must say where: a JSON path or line/column, an event or byte offset,
/// or the field of an invalid history.
fn names_the_place(e: &HistoryError) -> Result<(), String> {
    let text = e.to_string();
    let placed = match e {
        HistoryError::JsonSyntax { .. } => text.contains("line"),
        HistoryError::JsonField { .. } | HistoryError::Invalid { .. } => !text.is_empty(),
        HistoryError::Protobuf { .. } => text.contains("byte") || text.contains("event"),
        _ => true,
    };
    if placed {
        Ok(())
    } else {
        Err(format!("the error does not name the place: {text}"))
    }
}

fn round_trip(history: &History) -> Result<(), String> {
    let bytes = reprise::history::to_proto_bytes(history);
    let again = reprise::history::from_proto_bytes(&bytes).map_err(|e| e.to_string())?;
    if &again != history {
        return Err("protobuf written and read back differs".into());
    }
    // JSON: what is written reads back and writes the same text again. (Not the same message:
    // proto3 JSON cannot hold an out-of-range timestamp or duration, which binary input may
    // carry; the writer normalizes them.)
    // A history with an enum number no enum knows (possible in binary input) cannot be written
    // as JSON by this writer: an error, which is an allowed answer.
    let Ok(text) = reprise::history::to_json_string(history) else {
        return Ok(());
    };
    let again = reprise::history::from_json_str(&text).map_err(|e| e.to_string())?;
    let text_again = reprise::history::to_json_string(&again).map_err(|e| e.to_string())?;
    if text_again != text {
        return Err("JSON written, read back and written again differs".into());
    }
    Ok(())
}

/// `base` with a few byte-level mutations from the tape: flips, insertions, deletions,
/// duplicated spans, and splices of JSON-significant characters.
pub fn mutate_bytes(base: &[u8], tape: &mut Tape<'_>) -> Vec<u8> {
    let mut out = base.to_vec();
    let edits = 1 + tape.below(6);
    for _ in 0..edits {
        if out.is_empty() {
            out.push(tape.byte());
            continue;
        }
        let at = tape.below(out.len());
        match tape.byte() % 6 {
            0 => out[at] ^= 1 << (tape.byte() % 8),
            1 => out.insert(at, tape.byte()),
            2 => {
                let n = (1 + tape.below(16)).min(out.len() - at);
                out.drain(at..at + n);
            }
            3 => {
                let n = (1 + tape.below(64)).min(out.len() - at);
                let span = out[at..at + n].to_vec();
                out.splice(at..at, span);
            }
            4 => {
                let special = [
                    b'{', b'}', b'[', b']', b'"', b',', b':', b'-', b'9', b'\\', 0xff,
                ];
                out[at] = special[tape.below(special.len())];
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// `history` with a few event-level mutations from the tape; ids are renumbered afterwards most
/// of the time (so that the mutation reaches the engine past the readers' id check).
pub fn mutate_history(history: &History, tape: &mut Tape<'_>) -> History {
    let mut events = history.events.clone();
    let edits = 1 + tape.below(4);
    for _ in 0..edits {
        if events.is_empty() {
            break;
        }
        let i = tape.below(events.len());
        match tape.byte() % 8 {
            0 => {
                events.remove(i);
            }
            1 => {
                let copy = events[i].clone();
                events.insert(i, copy);
            }
            2 => {
                let j = tape.below(events.len());
                events.swap(i, j);
            }
            3 => events.truncate(i.max(1)),
            4 => events[i].event_id = tape.i64(),
            5 => {
                events[i].event_type = i32::from(tape.byte() % 60);
            }
            _ => {
                // Attributes altered: the event's protobuf with a few bytes changed, when it
                // still decodes.
                let bytes = events[i].encode_to_vec();
                let changed = mutate_bytes(&bytes, tape);
                if let Ok(event) = HistoryEvent::decode(changed.as_slice()) {
                    events[i] = event;
                }
            }
        }
    }
    if !tape.one_in(4) {
        for (n, e) in events.iter_mut().enumerate() {
            e.event_id = n as i64 + 1;
        }
    }
    if let Some(first) = events.first_mut()
        && !tape.one_in(8)
    {
        // Mostly keep a start event first, so that the replay runs the workflow.
        if first.event_type != EventType::WorkflowExecutionStarted as i32
            && let Some(start) = history.events.first()
        {
            *first = HistoryEvent {
                event_id: first.event_id,
                ..start.clone()
            };
        }
    }
    History { events }
}

/// What a replay of a mutated history may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// The history replayed.
    Ok,
    /// A nondeterminism error.
    Nondeterminism,
    /// The history is invalid (a reader's or the engine's check).
    InvalidHistory,
    /// The workflow code failed its task (e.g. an argument no longer decodes).
    TaskFailed,
}

/// A replayer on a thread of its own: each replay is bounded by a timeout (a hang is a finding)
/// and a panic out of the replayer is caught and reported.
pub struct ReplayTarget {
    channel: Mutex<Channel>,
    timeout: Duration,
}

struct Channel {
    requests: mpsc::Sender<History>,
    answers: mpsc::Receiver<Result<Result<(), ReplayError>, String>>,
}

impl ReplayTarget {
    /// A target replaying with `replayer`, each replay within `timeout`.
    pub fn new(replayer: Replayer, timeout: Duration) -> Result<Self, String> {
        let (requests, inbox) = mpsc::channel::<History>();
        let (outbox, answers) = mpsc::channel();
        std::thread::Builder::new()
            .name("replay-target".into())
            .spawn(move || {
                for history in inbox {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        replayer.replay(&history)
                    }))
                    .map_err(|p| {
                        p.downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into())
                    });
                    if outbox.send(result).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(ReplayTarget {
            channel: Mutex::new(Channel { requests, answers }),
            timeout,
        })
    }

    /// Replays `history`: an allowed outcome, or `Err` for a panic, a hang or another error.
    pub fn replay(&self, history: History) -> Result<ReplayOutcome, String> {
        let events = history.events.len();
        let channel = self
            .channel
            .lock()
            .map_err(|_| "a replay panicked the target before".to_string())?;
        channel
            .requests
            .send(history)
            .map_err(|_| "the replay thread is gone (it hung or died before)".to_string())?;
        match channel.answers.recv_timeout(self.timeout) {
            Err(_) => Err(format!(
                "the replay of a {events}-event history did not end within {:?}",
                self.timeout
            )),
            Ok(Err(panic)) => Err(format!("the replay panicked: {panic}")),
            Ok(Ok(Ok(()))) => Ok(ReplayOutcome::Ok),
            Ok(Ok(Err(e))) => match e {
                ReplayError::Nondeterminism(_) => Ok(ReplayOutcome::Nondeterminism),
                ReplayError::InvalidHistory { .. }
                | ReplayError::History(_)
                | ReplayError::UnknownWorkflowType { .. } => Ok(ReplayOutcome::InvalidHistory),
                ReplayError::WorkflowTaskFailed { .. } => Ok(ReplayOutcome::TaskFailed),
                other => Err(format!("unexpected replay error: {other}")),
            },
        }
    }
}
