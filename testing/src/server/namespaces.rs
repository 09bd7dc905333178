//! Namespaces and their search attributes.

use super::errors;
use crate::store::{NamespaceRecord, Store};
use reprise::api::temporal::api::enums::v1::{
    ArchivalState, IndexedValueType, NamespaceState, ReplicationState,
};
use reprise::api::temporal::api::errordetails::v1::NamespaceAlreadyExistsFailure;
use reprise::api::temporal::api::namespace::v1 as nsv1;
use reprise::api::temporal::api::replication::v1 as repl;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::Status;

/// The search attributes every namespace has, as the official server lists them.
pub(crate) const SYSTEM_SEARCH_ATTRIBUTES: &[(&str, IndexedValueType)] = &[
    ("BatcherUser", IndexedValueType::Keyword),
    ("BinaryChecksums", IndexedValueType::KeywordList),
    ("BuildIds", IndexedValueType::KeywordList),
    ("CloseTime", IndexedValueType::Datetime),
    ("ExecutionDuration", IndexedValueType::Int),
    ("ExecutionStatus", IndexedValueType::Keyword),
    ("ExecutionTime", IndexedValueType::Datetime),
    ("HistoryLength", IndexedValueType::Int),
    ("HistorySizeBytes", IndexedValueType::Int),
    ("RunId", IndexedValueType::Keyword),
    ("StartTime", IndexedValueType::Datetime),
    ("StateTransitionCount", IndexedValueType::Int),
    ("TaskQueue", IndexedValueType::Keyword),
    ("TemporalChangeVersion", IndexedValueType::KeywordList),
    ("TemporalSchedulePaused", IndexedValueType::Bool),
    ("TemporalScheduledById", IndexedValueType::Keyword),
    ("TemporalScheduledStartTime", IndexedValueType::Datetime),
    ("WorkflowId", IndexedValueType::Keyword),
    ("WorkflowType", IndexedValueType::Keyword),
];

/// The namespace registry, on top of the store.
pub(crate) struct Namespaces {
    store: Arc<dyn Store>,
}

impl Namespaces {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Namespaces { store }
    }

    /// A namespace by name.
    pub(crate) fn get(&self, name: &str) -> Result<NamespaceRecord, Status> {
        if name.is_empty() {
            return Err(errors::invalid("namespace is not set on the request"));
        }
        self.store
            .namespaces()
            .map_err(errors::store)?
            .into_iter()
            .find(|n| n.name == name)
            .ok_or_else(|| errors::namespace_not_found(name))
    }

    /// Registers a new namespace; an existing name is `AlreadyExists`.
    pub(crate) fn register(&self, record: NamespaceRecord) -> Result<(), Status> {
        if self.get(&record.name).is_ok() {
            return Err(errors::with_detail(
                tonic::Code::AlreadyExists,
                "Namespace already exists.".into(),
                &NamespaceAlreadyExistsFailure {},
            ));
        }
        self.store.put_namespace(record).map_err(errors::store)
    }

    /// Every namespace.
    pub(crate) fn list(&self) -> Result<Vec<NamespaceRecord>, Status> {
        self.store.namespaces().map_err(errors::store)
    }

    /// Adds custom search attributes to a namespace.
    pub(crate) fn add_search_attributes(
        &self,
        name: &str,
        attributes: &BTreeMap<String, i32>,
    ) -> Result<(), Status> {
        let mut record = self.get(name)?;
        for (k, v) in attributes {
            if SYSTEM_SEARCH_ATTRIBUTES.iter().any(|(n, _)| n == k) {
                return Err(errors::invalid(format!(
                    "search attribute {k} is reserved by the system"
                )));
            }
            match IndexedValueType::try_from(*v) {
                Ok(IndexedValueType::Unspecified) | Err(_) => {
                    return Err(errors::invalid(format!(
                        "search attribute {k} has no valid type"
                    )));
                }
                Ok(_) => {}
            }
            if let Some(existing) = record.search_attributes.get(k)
                && existing != v
            {
                return Err(errors::invalid(format!(
                    "search attribute {k} already exists with another type"
                )));
            }
            record.search_attributes.insert(k.clone(), *v);
        }
        self.store.put_namespace(record).map_err(errors::store)
    }

    /// System and custom search attributes of a namespace: name → type.
    pub(crate) fn search_attribute_types(
        &self,
        name: &str,
    ) -> Result<BTreeMap<String, IndexedValueType>, Status> {
        let record = self.get(name)?;
        let mut all: BTreeMap<String, IndexedValueType> = SYSTEM_SEARCH_ATTRIBUTES
            .iter()
            .map(|(n, t)| ((*n).to_string(), *t))
            .collect();
        for (k, v) in record.search_attributes {
            all.insert(
                k,
                IndexedValueType::try_from(v).unwrap_or(IndexedValueType::Keyword),
            );
        }
        Ok(all)
    }
}

/// The `DescribeNamespace` answer for a record.
pub(crate) fn describe(record: &NamespaceRecord) -> ws::DescribeNamespaceResponse {
    ws::DescribeNamespaceResponse {
        namespace_info: Some(nsv1::NamespaceInfo {
            name: record.name.clone(),
            state: NamespaceState::Registered as i32,
            description: record.description.clone(),
            owner_email: record.owner_email.clone(),
            data: record.data.clone().into_iter().collect(),
            id: record.id.clone(),
            capabilities: Some(nsv1::namespace_info::Capabilities {
                eager_workflow_start: false,
                sync_update: true,
                async_update: true,
                ..Default::default()
            }),
            supports_schedules: false,
            ..Default::default()
        }),
        config: Some(nsv1::NamespaceConfig {
            workflow_execution_retention_ttl: Some(record.retention.into()),
            history_archival_state: ArchivalState::Disabled as i32,
            visibility_archival_state: ArchivalState::Disabled as i32,
            ..Default::default()
        }),
        replication_config: Some(repl::NamespaceReplicationConfig {
            active_cluster_name: "active".into(),
            clusters: vec![repl::ClusterReplicationConfig {
                cluster_name: "active".into(),
                ..Default::default()
            }],
            state: ReplicationState::Normal as i32,
        }),
        failover_version: 0,
        is_global_namespace: false,
        ..Default::default()
    }
}
