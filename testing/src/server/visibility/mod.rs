//! Visibility: list and count executions with a query over system and custom search attributes.

mod query;

use super::errors;
use query::{Expr, Literal, Op};
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::common::v1::Payload;
use reprise::api::temporal::api::enums::v1::{IndexedValueType, WorkflowExecutionStatus};
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use tonic::Status;

/// A value of a search attribute of one execution.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
    /// Nanoseconds since the epoch.
    Time(i128),
    List(Vec<String>),
}

fn status_name(status: i32) -> &'static str {
    match WorkflowExecutionStatus::try_from(status) {
        Ok(WorkflowExecutionStatus::Running) => "Running",
        Ok(WorkflowExecutionStatus::Completed) => "Completed",
        Ok(WorkflowExecutionStatus::Failed) => "Failed",
        Ok(WorkflowExecutionStatus::Canceled) => "Canceled",
        Ok(WorkflowExecutionStatus::Terminated) => "Terminated",
        Ok(WorkflowExecutionStatus::ContinuedAsNew) => "ContinuedAsNew",
        Ok(WorkflowExecutionStatus::TimedOut) => "TimedOut",
        Ok(WorkflowExecutionStatus::Paused) => "Paused",
        _ => "Unspecified",
    }
}

fn nanos(t: &Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)
}

fn parse_time(text: &str) -> Option<i128> {
    Timestamp::parse_rfc3339(text).ok().map(|t| nanos(&t))
}

fn decode_custom(payload: &Payload, kind: IndexedValueType) -> Option<Value> {
    let json: serde_json::Value = serde_json::from_slice(&payload.data).ok()?;
    Some(match (kind, json) {
        (IndexedValueType::Datetime, serde_json::Value::String(s)) => Value::Time(parse_time(&s)?),
        (IndexedValueType::KeywordList, serde_json::Value::Array(items)) => Value::List(
            items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        (IndexedValueType::KeywordList, serde_json::Value::String(s)) => Value::List(vec![s]),
        (_, serde_json::Value::String(s)) => Value::Str(s),
        (_, serde_json::Value::Number(n)) => Value::Num(n.as_f64()?),
        (_, serde_json::Value::Bool(b)) => Value::Bool(b),
        _ => return None,
    })
}

/// The value of `field` for an execution, or `None` when it is not set.
fn field_value(info: &WorkflowExecutionInfo, field: &str, kind: IndexedValueType) -> Option<Value> {
    let execution = info.execution.as_ref();
    let time = |t: &Option<Timestamp>| t.as_ref().map(|t| Value::Time(nanos(t)));
    match field {
        "WorkflowId" => execution.map(|e| Value::Str(e.workflow_id.clone())),
        "RunId" => execution.map(|e| Value::Str(e.run_id.clone())),
        "WorkflowType" => info.r#type.as_ref().map(|t| Value::Str(t.name.clone())),
        "TaskQueue" => Some(Value::Str(info.task_queue.clone())),
        "ExecutionStatus" => Some(Value::Str(status_name(info.status).into())),
        "StartTime" => time(&info.start_time),
        "CloseTime" => time(&info.close_time),
        "ExecutionTime" => time(&info.execution_time),
        "HistoryLength" => Some(Value::Num(info.history_length as f64)),
        "HistorySizeBytes" => Some(Value::Num(info.history_size_bytes as f64)),
        "StateTransitionCount" => Some(Value::Num(info.state_transition_count as f64)),
        "ExecutionDuration" => info
            .execution_duration
            .as_ref()
            .map(|d| Value::Num(d.seconds as f64 * 1e9 + f64::from(d.nanos))),
        custom => info
            .search_attributes
            .as_ref()
            .and_then(|sa| sa.indexed_fields.get(custom))
            .and_then(|p| decode_custom(p, kind)),
    }
}

/// A literal converted to the type of the attribute it is compared with.
fn coerce(literal: &Literal, kind: IndexedValueType, field: &str) -> Result<Value, String> {
    Ok(match (kind, literal) {
        (IndexedValueType::Datetime, Literal::Str(s)) => Value::Time(
            parse_time(s).ok_or_else(|| format!("{field} needs an RFC 3339 time, got {s:?}"))?,
        ),
        (IndexedValueType::Datetime, Literal::Num(n)) => Value::Time(*n as i128),
        (IndexedValueType::Int | IndexedValueType::Double, Literal::Num(n)) => Value::Num(*n),
        (IndexedValueType::Int | IndexedValueType::Double, Literal::Str(s)) => Value::Num(
            s.parse()
                .map_err(|_| format!("{field} needs a number, got {s:?}"))?,
        ),
        (IndexedValueType::Bool, Literal::Bool(b)) => Value::Bool(*b),
        (IndexedValueType::Bool, Literal::Str(s)) => Value::Bool(s.eq_ignore_ascii_case("true")),
        (_, Literal::Str(s)) => Value::Str(s.clone()),
        (_, Literal::Num(n)) => Value::Num(*n),
        (_, Literal::Bool(b)) => Value::Bool(*b),
    })
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equals(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::List(items), Value::Str(s)) => items.contains(s),
        _ => compare(actual, wanted) == Some(Ordering::Equal),
    }
}

struct Evaluator<'a> {
    types: &'a BTreeMap<String, IndexedValueType>,
}

impl Evaluator<'_> {
    fn kind(&self, field: &str) -> Result<IndexedValueType, String> {
        self.types
            .get(field)
            .copied()
            .ok_or_else(|| format!("unknown search attribute {field:?}"))
    }

    /// Type-checks the literals of a filter once, before any execution is looked at.
    fn check(&self, e: &Expr) -> Result<(), String> {
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                self.check(a)?;
                self.check(b)
            }
            Expr::Not(a) => self.check(a),
            Expr::Compare(f, _, l) => coerce(l, self.kind(f)?, f).map(|_| ()),
            Expr::In(f, ls, _) => {
                let kind = self.kind(f)?;
                ls.iter().try_for_each(|l| coerce(l, kind, f).map(|_| ()))
            }
            Expr::Between(f, a, b) => {
                let kind = self.kind(f)?;
                coerce(a, kind, f)?;
                coerce(b, kind, f).map(|_| ())
            }
            Expr::IsNull(f, _) | Expr::StartsWith(f, _) => self.kind(f).map(|_| ()),
        }
    }

    fn eval(&self, e: &Expr, info: &WorkflowExecutionInfo) -> bool {
        let value = |f: &str| self.kind(f).ok().and_then(|k| field_value(info, f, k));
        let lit = |f: &str, l: &Literal| self.kind(f).ok().and_then(|k| coerce(l, k, f).ok());
        match e {
            Expr::And(a, b) => self.eval(a, info) && self.eval(b, info),
            Expr::Or(a, b) => self.eval(a, info) || self.eval(b, info),
            Expr::Not(a) => !self.eval(a, info),
            Expr::Compare(f, op, l) => {
                let (Some(actual), Some(wanted)) = (value(f), lit(f, l)) else {
                    return *op == Op::Ne && value(f).is_none();
                };
                match op {
                    Op::Eq => equals(&actual, &wanted),
                    Op::Ne => !equals(&actual, &wanted),
                    Op::Lt => compare(&actual, &wanted) == Some(Ordering::Less),
                    Op::Le => matches!(
                        compare(&actual, &wanted),
                        Some(Ordering::Less | Ordering::Equal)
                    ),
                    Op::Gt => compare(&actual, &wanted) == Some(Ordering::Greater),
                    Op::Ge => matches!(
                        compare(&actual, &wanted),
                        Some(Ordering::Greater | Ordering::Equal)
                    ),
                }
            }
            Expr::In(f, ls, negated) => {
                let found = value(f).is_some_and(|actual| {
                    ls.iter()
                        .filter_map(|l| lit(f, l))
                        .any(|w| equals(&actual, &w))
                });
                found != *negated
            }
            Expr::Between(f, low, high) => match (value(f), lit(f, low), lit(f, high)) {
                (Some(v), Some(lo), Some(hi)) => {
                    matches!(compare(&v, &lo), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(compare(&v, &hi), Some(Ordering::Less | Ordering::Equal))
                }
                _ => false,
            },
            Expr::IsNull(f, negated) => value(f).is_none() != *negated,
            Expr::StartsWith(f, prefix) => {
                matches!(value(f), Some(Value::Str(s)) if s.starts_with(prefix.as_str()))
            }
        }
    }
}

/// The executions matching `query`, sorted, with groups when the query has `GROUP BY`.
pub(crate) struct Matched {
    pub(crate) executions: Vec<WorkflowExecutionInfo>,
    pub(crate) group_by_status: bool,
}

/// Filters and sorts visibility records.
pub(crate) fn select(
    records: Vec<WorkflowExecutionInfo>,
    text: &str,
    types: &BTreeMap<String, IndexedValueType>,
) -> Result<Matched, Status> {
    let q =
        query::parse(text).map_err(|e| errors::invalid(format!("invalid query {text:?}: {e}")))?;
    let evaluator = Evaluator { types };
    if let Some(filter) = &q.filter {
        evaluator
            .check(filter)
            .map_err(|e| errors::invalid(format!("invalid query {text:?}: {e}")))?;
    }
    let group_by_status = match q.group_by.as_deref() {
        None => false,
        Some("ExecutionStatus") => true,
        Some(other) => {
            return Err(errors::invalid(format!(
                "GROUP BY {other} is not supported (only ExecutionStatus)"
            )));
        }
    };
    for (field, _) in &q.order_by {
        evaluator.kind(field).map_err(errors::invalid)?;
    }
    let mut executions: Vec<_> = records
        .into_iter()
        .filter(|info| q.filter.as_ref().is_none_or(|f| evaluator.eval(f, info)))
        .collect();
    if q.order_by.is_empty() {
        // Open executions first, then by close time and start time, newest first.
        let key = |i: &WorkflowExecutionInfo| {
            (
                i.close_time.as_ref().map_or(i128::MAX, nanos),
                i.start_time.as_ref().map_or(0, nanos),
            )
        };
        executions.sort_by(|a, b| {
            key(b).cmp(&key(a)).then_with(|| {
                let id = |i: &WorkflowExecutionInfo| i.execution.clone().unwrap_or_default().run_id;
                id(a).cmp(&id(b))
            })
        });
    } else {
        executions.sort_by(|a, b| {
            for (field, desc) in &q.order_by {
                let kind = types
                    .get(field)
                    .copied()
                    .unwrap_or(IndexedValueType::Keyword);
                let (va, vb) = (field_value(a, field, kind), field_value(b, field, kind));
                let ord = match (va, vb) {
                    (Some(x), Some(y)) => compare(&x, &y).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    Ok(Matched {
        executions,
        group_by_status,
    })
}

/// Counts per execution status, for `GROUP BY ExecutionStatus`.
pub(crate) fn status_groups(executions: &[WorkflowExecutionInfo]) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<&'static str, i64> = BTreeMap::new();
    for e in executions {
        *counts.entry(status_name(e.status)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}
