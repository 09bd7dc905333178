//! Task tokens: opaque bytes to clients, a small length-prefixed encoding to us.

use crate::store::RunKey;

/// What a task token refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// A workflow task: run, scheduled event id, attempt.
    Workflow {
        run: RunKey,
        scheduled_event_id: i64,
        attempt: i32,
    },
    /// An activity attempt.
    Activity {
        run: RunKey,
        scheduled_event_id: i64,
        attempt: i32,
    },
    /// A legacy query task.
    Query { run: RunKey, query_id: String },
}

const MAGIC: &[u8; 3] = b"RPT";

/// A token used with a request that names another namespace is refused, as the official
/// server does (a worker of namespace B must not complete A's tasks); an empty request
/// namespace means the token's.
pub(crate) fn check_namespace(request_namespace: &str, run: &RunKey) -> Result<(), tonic::Status> {
    if request_namespace.is_empty() || request_namespace == run.namespace {
        return Ok(());
    }
    Err(tonic::Status::invalid_argument(
        "Operation requested with a token from a different namespace.",
    ))
}

impl Token {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let (kind, run, a, b, s) = match self {
            Token::Workflow {
                run,
                scheduled_event_id,
                attempt,
            } => (1u8, run, *scheduled_event_id, i64::from(*attempt), ""),
            Token::Activity {
                run,
                scheduled_event_id,
                attempt,
            } => (2u8, run, *scheduled_event_id, i64::from(*attempt), ""),
            Token::Query { run, query_id } => (3u8, run, 0, 0, query_id.as_str()),
        };
        out.push(kind);
        for text in [
            run.namespace.as_str(),
            run.workflow_id.as_str(),
            run.run_id.as_str(),
            s,
        ] {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Token> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (&kind, mut rest) = rest.split_first()?;
        let mut texts = Vec::with_capacity(4);
        for _ in 0..4 {
            let (len, tail) = rest.split_at_checked(4)?;
            let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
            let (text, tail) = tail.split_at_checked(len)?;
            texts.push(String::from_utf8(text.to_vec()).ok()?);
            rest = tail;
        }
        let (a, rest) = rest.split_at_checked(8)?;
        let (b, rest) = rest.split_at_checked(8)?;
        if !rest.is_empty() {
            return None;
        }
        let a = i64::from_le_bytes(a.try_into().ok()?);
        let b = i32::try_from(i64::from_le_bytes(b.try_into().ok()?)).ok()?;
        let query_id = texts.pop()?;
        let run_id = texts.pop()?;
        let workflow_id = texts.pop()?;
        let namespace = texts.pop()?;
        let run = RunKey {
            namespace,
            workflow_id,
            run_id,
        };
        match kind {
            1 => Some(Token::Workflow {
                run,
                scheduled_event_id: a,
                attempt: b,
            }),
            2 => Some(Token::Activity {
                run,
                scheduled_event_id: a,
                attempt: b,
            }),
            3 => Some(Token::Query { run, query_id }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        let run = RunKey {
            namespace: "default".into(),
            workflow_id: "wf".into(),
            run_id: "r".into(),
        };
        for t in [
            Token::Workflow {
                run: run.clone(),
                scheduled_event_id: 2,
                attempt: 1,
            },
            Token::Activity {
                run: run.clone(),
                scheduled_event_id: 5,
                attempt: 3,
            },
            Token::Query {
                run,
                query_id: "q".into(),
            },
        ] {
            assert_eq!(Token::decode(&t.encode()), Some(t));
        }
        assert_eq!(Token::decode(b""), None);
        assert_eq!(Token::decode(b"RPT\x01\xff\xff\xff\xff"), None);
    }
}
