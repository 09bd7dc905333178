//! The in-memory store: everything in maps behind locks, lost when the process ends.

use super::{NamespaceRecord, RunKey, Store, StoreError, Transition};
use reprise::api::temporal::api::history::v1::HistoryEvent;
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};

/// A [`Store`] in process memory. Executions are kept in shards (by workflow id) so that commits
/// of independent executions do not contend on one lock.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<RunKey, StoredRun>>>,
    visibility: super::visibility_index::VisibilityIndex,
    namespaces: RwLock<BTreeMap<String, NamespaceRecord>>,
}

#[derive(Debug, Default)]
struct StoredRun {
    version: u64,
    events: Vec<HistoryEvent>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore {
            shards: (0..16).map(|_| Mutex::new(HashMap::new())).collect(),
            visibility: Default::default(),
            namespaces: RwLock::new(BTreeMap::new()),
        }
    }

    fn shard(&self, run: &RunKey) -> &Mutex<HashMap<RunKey, StoredRun>> {
        let i = shard_index(&run.namespace, &run.workflow_id, self.shards.len());
        &self.shards[i]
    }
}

/// The shard of a workflow id, stable for the life of the process.
pub(super) fn shard_index(namespace: &str, workflow_id: &str, shards: usize) -> usize {
    // FNV-1a: cheap and deterministic (no per-process random keys).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in namespace.bytes().chain([0]).chain(workflow_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % shards.max(1) as u64) as usize
}

impl Store for MemoryStore {
    fn commit(&self, t: Transition<'_>) -> Result<(), StoreError> {
        {
            let mut shard = self.shard(t.run).lock().unwrap_or_else(|e| e.into_inner());
            let run = shard.entry(t.run.clone()).or_default();
            if run.version != t.expected_version {
                return Err(StoreError::Conflict {
                    workflow_id: t.run.workflow_id.clone(),
                    run_id: t.run.run_id.clone(),
                    expected: t.expected_version,
                    found: run.version,
                });
            }
            if let Some(first) = t.events.first() {
                let next = run.events.len() as i64 + 1;
                if first.event_id != next {
                    return Err(StoreError::Backend(format!(
                        "event {} appended where {next} was expected",
                        first.event_id
                    )));
                }
            }
            run.events.extend_from_slice(t.events);
            run.version = t.new_version;
        }
        if let Some(info) = t.visibility {
            self.visibility.insert(t.run, info);
        }
        Ok(())
    }

    fn read_events(
        &self,
        run: &RunKey,
        first_event_id: i64,
        max: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let shard = self.shard(run).lock().unwrap_or_else(|e| e.into_inner());
        let Some(stored) = shard.get(run) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(first_event_id.max(1) - 1).unwrap_or(usize::MAX);
        Ok(stored
            .events
            .iter()
            .skip(start)
            .take(max)
            .cloned()
            .collect())
    }

    fn visibility_records(
        &self,
        namespace: &str,
    ) -> Result<Vec<WorkflowExecutionInfo>, StoreError> {
        Ok(self.visibility.records(namespace))
    }

    fn delete_run(&self, run: &RunKey) -> Result<(), StoreError> {
        self.shard(run)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run);
        self.visibility.remove(run);
        Ok(())
    }

    fn put_namespace(&self, namespace: NamespaceRecord) -> Result<(), StoreError> {
        let mut map = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        map.insert(namespace.name.clone(), namespace);
        Ok(())
    }

    fn namespaces(&self) -> Result<Vec<NamespaceRecord>, StoreError> {
        let map = self.namespaces.read().unwrap_or_else(|e| e.into_inner());
        Ok(map.values().cloned().collect())
    }
}
