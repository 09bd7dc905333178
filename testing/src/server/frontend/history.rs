//! `GetWorkflowExecutionHistory` (pages, long poll, close-event filter) and its reverse.

use super::Frontend;
use crate::server::errors::invalid;
use crate::store::RunKey;
use reprise::api::temporal::api::enums::v1::HistoryEventFilterType;
use reprise::api::temporal::api::history::v1::History;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tokio::time::Instant;
use tonic::Status;

fn encode_token(run_id: &str, event_id: i64) -> Vec<u8> {
    let mut t = b"H".to_vec();
    t.extend_from_slice(&event_id.to_le_bytes());
    t.extend_from_slice(run_id.as_bytes());
    t
}

fn decode_token(token: &[u8]) -> Result<(String, i64), Status> {
    let bad = || invalid("next_page_token is not a history page token of this server");
    let rest = token.strip_prefix(b"H").ok_or_else(bad)?;
    let (id, run) = rest.split_at_checked(8).ok_or_else(bad)?;
    let id = i64::from_le_bytes(id.try_into().map_err(|_| bad())?);
    if id < 1 {
        return Err(bad());
    }
    let run = String::from_utf8(run.to_vec()).map_err(|_| bad())?;
    Ok((run, id))
}

/// A history page: the requested size, at most (and by default) the official 256.
fn page_size(requested: i32) -> usize {
    let max = crate::server::limits::HISTORY_MAX_PAGE_SIZE;
    usize::try_from(requested)
        .ok()
        .filter(|n| *n > 0)
        .map_or(max, |n| n.min(max))
}

impl Frontend {
    /// `GetWorkflowExecutionHistory`. The last page ends, as the official server's does, with
    /// the events of a started speculative workflow task or of a transient retry of a failing
    /// one, which are not stored (unless
    /// `stored_only`: the official server leaves them out for its CLI and UI).
    pub(super) async fn history(
        &self,
        req: ws::GetWorkflowExecutionHistoryRequest,
        deadline: Instant,
        stored_only: bool,
    ) -> Result<ws::GetWorkflowExecutionHistoryResponse, Status> {
        self.namespace(&req.namespace)?;
        let (workflow_id, run_id) = super::validate::execution(req.execution.as_ref())?;
        let (run_id, from) = if req.next_page_token.is_empty() {
            (run_id, 1)
        } else {
            decode_token(&req.next_page_token)?
        };
        let key: RunKey = self.engine.resolve(&req.namespace, &workflow_id, &run_id)?;
        let engine = &self.engine;
        let empty = |token: Vec<u8>| ws::GetWorkflowExecutionHistoryResponse {
            history: Some(History::default()),
            next_page_token: token,
            ..Default::default()
        };
        if req.history_event_filter_type == HistoryEventFilterType::CloseEvent as i32 {
            let closed = |ms: &crate::server::history::state::MutableState| {
                (!ms.is_open()).then_some(ms.next_event_id - 1)
            };
            let last = if req.wait_new_event {
                let _unlocked = self.result_waits.as_ref().map(|s| s.unlocked());
                engine.wait_for(&key, deadline, closed).await?
            } else {
                engine.read_run(&key, closed)?
            };
            return match last {
                Some(id) => Ok(ws::GetWorkflowExecutionHistoryResponse {
                    history: Some(History {
                        events: engine.read_events(&key, id, 1)?,
                    }),
                    ..Default::default()
                }),
                None => Ok(empty(Vec::new())),
            };
        }
        let state = |ms: &crate::server::history::state::MutableState| {
            // A started speculative task shows its two events; a transient retry shows its
            // scheduled event from the start (as the official server).
            let started_speculative = (ms.speculative.len() == 2 || ms.is_transient_task())
                .then(|| ms.speculative.clone());
            (ms.next_event_id, ms.is_open(), started_speculative)
        };
        let (next, open, speculative) = if req.wait_new_event {
            match engine
                .wait_for(&key, deadline, |ms| {
                    (ms.next_event_id > from || !ms.is_open()).then(|| state(ms))
                })
                .await?
            {
                Some(s) => s,
                None => return Ok(empty(encode_token(&key.run_id, from))),
            }
        } else {
            engine.read_run(&key, state)?
        };
        let size = page_size(req.maximum_page_size);
        let mut events = engine.read_events(&key, from, size)?;
        let after = from + events.len() as i64;
        let token = if after < next || (open && req.wait_new_event) {
            encode_token(&key.run_id, after)
        } else {
            Vec::new()
        };
        if token.is_empty()
            && !stored_only
            && after == next
            && let Some(speculative) = speculative
            && speculative.first().is_some_and(|e| e.event_id == next)
        {
            events.extend(speculative);
        }
        Ok(ws::GetWorkflowExecutionHistoryResponse {
            history: Some(History { events }),
            next_page_token: token,
            ..Default::default()
        })
    }

    pub(super) fn history_reverse(
        &self,
        req: ws::GetWorkflowExecutionHistoryReverseRequest,
    ) -> Result<ws::GetWorkflowExecutionHistoryReverseResponse, Status> {
        self.namespace(&req.namespace)?;
        let (workflow_id, run_id) = super::validate::execution(req.execution.as_ref())?;
        let (run_id, below) = if req.next_page_token.is_empty() {
            (run_id, None)
        } else {
            let (r, id) = decode_token(&req.next_page_token)?;
            (r, Some(id))
        };
        let key = self.engine.resolve(&req.namespace, &workflow_id, &run_id)?;
        let next = self.engine.read_run(&key, |ms| ms.next_event_id)?;
        let end = below.unwrap_or(next).min(next); // exclusive
        let size = page_size(req.maximum_page_size) as i64;
        let start = (end - size).max(1);
        let mut events =
            self.engine
                .read_events(&key, start, usize::try_from(end - start).unwrap_or(0))?;
        events.reverse();
        let token = if start > 1 {
            encode_token(&key.run_id, start)
        } else {
            Vec::new()
        };
        Ok(ws::GetWorkflowExecutionHistoryReverseResponse {
            history: Some(History { events }),
            next_page_token: token,
        })
    }
}
