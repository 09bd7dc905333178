//! The part of `OperatorService` the CLI and SDKs use: search attributes.

use super::super::namespaces::{Namespaces, SYSTEM_SEARCH_ATTRIBUTES};
use reprise::api::temporal::api::operatorservice::v1 as ops;
use reprise::api::temporal::api::operatorservice::v1::operator_service_server::OperatorService;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The `OperatorService` of one server.
pub(crate) struct Operator {
    pub(crate) namespaces: Arc<Namespaces>,
}

#[tonic::async_trait]
impl OperatorService for Operator {
    async fn add_search_attributes(
        &self,
        request: Request<ops::AddSearchAttributesRequest>,
    ) -> Result<Response<ops::AddSearchAttributesResponse>, Status> {
        let r = request.into_inner();
        let namespace = if r.namespace.is_empty() {
            "default".to_string()
        } else {
            r.namespace
        };
        if r.search_attributes.is_empty() {
            return Err(super::invalid("SearchAttributes are not set on request."));
        }
        let attributes = r.search_attributes.into_iter().collect();
        self.namespaces
            .add_search_attributes(&namespace, &attributes)?;
        Ok(Response::new(ops::AddSearchAttributesResponse {}))
    }

    async fn list_search_attributes(
        &self,
        request: Request<ops::ListSearchAttributesRequest>,
    ) -> Result<Response<ops::ListSearchAttributesResponse>, Status> {
        let r = request.into_inner();
        let namespace = if r.namespace.is_empty() {
            "default".to_string()
        } else {
            r.namespace
        };
        let record = self.namespaces.get(&namespace)?;
        Ok(Response::new(ops::ListSearchAttributesResponse {
            custom_attributes: record.search_attributes.into_iter().collect(),
            system_attributes: SYSTEM_SEARCH_ATTRIBUTES
                .iter()
                .map(|(n, t)| ((*n).to_string(), *t as i32))
                .collect(),
            storage_schema: Default::default(),
        }))
    }
}
