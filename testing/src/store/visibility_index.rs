//! The in-memory visibility index both stores keep: each run's latest visibility record, by
//! namespace (the memory store keeps only this; the SQLite store mirrors its table in it, since
//! list and count read every record of a namespace).

use super::RunKey;
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// Visibility records by namespace, then run.
#[derive(Debug, Default)]
pub(crate) struct VisibilityIndex(RwLock<HashMap<String, BTreeMap<RunKey, WorkflowExecutionInfo>>>);

impl VisibilityIndex {
    /// Sets (or replaces) the record of `run`.
    pub(crate) fn insert(&self, run: &RunKey, info: &WorkflowExecutionInfo) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(run.namespace.clone())
            .or_default()
            .insert(run.clone(), info.clone());
    }

    /// Forgets the record of `run`.
    pub(crate) fn remove(&self, run: &RunKey) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if let Some(records) = map.get_mut(&run.namespace) {
            records.remove(run);
        }
    }

    /// Every record of `namespace`, in no particular order.
    pub(crate) fn records(&self, namespace: &str) -> Vec<WorkflowExecutionInfo> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(namespace)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}
