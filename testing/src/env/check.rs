//! The automatic determinism check: every run replayed from its whole history and from every
//! workflow-task boundary as if the worker had lost its cache there.

use crate::store::{RunKey, Store};
use reprise::api::temporal::api::history::v1::History;
use reprise::converter::DataConverter;
use reprise::replay::{ReplayError, Replayer};
use reprise::workflow::WorkflowRegistry;
use std::fmt;

/// What a determinism check replayed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Runs replayed (those whose workflow type a worker of the env registered).
    pub runs: usize,
    /// Replays done: one from the whole history and one per workflow-task boundary, per run.
    pub replays: usize,
    /// Runs not replayed because no worker of the env registered their workflow type
    /// (`workflow_id/run_id (type)`).
    pub skipped: Vec<String>,
}

/// A run that did not replay.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunFailure {
    /// Workflow id.
    pub workflow_id: String,
    /// Run id.
    pub run_id: String,
    /// Workflow type.
    pub workflow_type: String,
    /// `None`: replaying the whole history failed. `Some(id)`: the history replayed whole,
    /// but a worker that lost its cached run before the workflow task started at event `id`
    /// (and processed that task and the later ones live) diverges.
    pub cache_lost_at: Option<i64>,
    /// The replay engine's error (event, what the history has, what the code did, file:line).
    pub error: ReplayError,
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workflow {} (id {}, run {}) ",
            self.workflow_type, self.workflow_id, self.run_id
        )?;
        match self.cache_lost_at {
            None => write!(f, "does not replay from its history:")?,
            Some(id) => write!(
                f,
                "diverges when a worker loses its cache before the workflow task started at \
                 event {id}:"
            )?,
        }
        write!(f, "\n  {}", self.error.to_string().replace('\n', "\n  "))
    }
}

/// The automatic determinism check failed: the workflow code depends on something besides its
/// history.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub struct DeterminismFailure {
    /// One entry per failing run.
    pub runs: Vec<RunFailure>,
}

impl fmt::Display for DeterminismFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "determinism check failed for {} run(s) (the workflow code depends on something \
             besides its history)",
            self.runs.len()
        )?;
        for run in &self.runs {
            write!(f, "\n{run}")?;
        }
        Ok(())
    }
}

/// Checks one history: the whole of it, then every boundary. Returns the replays done.
pub(crate) fn check_history(
    replayer: &Replayer,
    history: &History,
) -> Result<usize, (Option<i64>, ReplayError)> {
    replayer.replay(history).map_err(|e| (None, e))?;
    let boundaries = Replayer::task_boundaries(history);
    for &boundary in &boundaries {
        replayer
            .replay_from_task(history, boundary)
            .map_err(|e| (Some(boundary), e))?;
    }
    Ok(1 + boundaries.len())
}

/// Checks every run of `namespace` in `store` whose type `registry` knows.
pub(crate) fn check(
    store: &dyn Store,
    namespace: &str,
    registry: WorkflowRegistry,
    converter: DataConverter,
) -> Result<CheckReport, super::TestEnvError> {
    let replayer = Replayer::new(registry)
        .with_data_converter(converter)
        .with_namespace(namespace);
    let mut records = store.visibility_records(namespace)?;
    records.sort_by(|a, b| {
        (
            a.start_time.map(|t| (t.seconds, t.nanos)),
            a.execution.as_ref().map(|e| &e.run_id),
        )
            .cmp(&(
                b.start_time.map(|t| (t.seconds, t.nanos)),
                b.execution.as_ref().map(|e| &e.run_id),
            ))
    });
    let mut report = CheckReport::default();
    let mut failures = Vec::new();
    for record in records {
        let execution = record.execution.unwrap_or_default();
        let workflow_type = record.r#type.map(|t| t.name).unwrap_or_default();
        let key = RunKey {
            namespace: namespace.to_string(),
            workflow_id: execution.workflow_id.clone(),
            run_id: execution.run_id.clone(),
        };
        let history = History {
            events: store.read_events(&key, 1, usize::MAX)?,
        };
        if history.events.is_empty() {
            continue;
        }
        if !replayer.knows(&history) {
            report.skipped.push(format!(
                "{}/{} ({workflow_type})",
                execution.workflow_id, execution.run_id
            ));
            continue;
        }
        report.runs += 1;
        match check_history(&replayer, &history) {
            Ok(replays) => report.replays += replays,
            Err((cache_lost_at, error)) => failures.push(RunFailure {
                workflow_id: execution.workflow_id,
                run_id: execution.run_id,
                workflow_type,
                cache_lost_at,
                error,
            }),
        }
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(DeterminismFailure { runs: failures }.into())
    }
}
