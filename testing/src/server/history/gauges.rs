//! Figures read from the engine when the metrics are scraped.

use super::Engine;
use crate::server::metrics::Sample;
use std::collections::BTreeMap;

impl Engine {
    /// Open runs per namespace (every namespace with a run in memory, zero included).
    pub(crate) fn open_runs(&self) -> Vec<Sample> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for (key, ms) in &shard.runs {
                *counts.entry(key.namespace.clone()).or_default() += u64::from(ms.is_open());
            }
        }
        counts
            .into_iter()
            .map(|(namespace, n)| (vec![("namespace", namespace)], n))
            .collect()
    }

    /// Tasks waiting per task queue.
    pub(crate) fn backlogs(&self) -> Vec<Sample> {
        self.matching
            .backlogs()
            .into_iter()
            .map(|(key, n)| {
                let kind = match key.queue_type {
                    crate::server::matching::QueueType::Workflow => "workflow",
                    crate::server::matching::QueueType::Activity => "activity",
                };
                (
                    vec![
                        ("namespace", key.namespace),
                        ("task_queue", key.name),
                        ("queue_type", kind.to_string()),
                    ],
                    n as u64,
                )
            })
            .collect()
    }
}
