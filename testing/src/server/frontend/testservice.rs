//! `TestService`, the time-control API of Temporal's test server, served by a time-skipping
//! server: the official SDKs' time-skipping test environments (Python's
//! `WorkflowEnvironment.start_time_skipping`, Java's and .NET's test environments) drive the
//! clock through it — lock and unlock skipping around waits for results, sleep in workflow time,
//! read the time.

use super::super::TimeSkipping;
use crate::clock::Clock as _;
use reprise::api::google::protobuf::{Empty, Timestamp};
use reprise::api::temporal::api::testservice::v1 as ts;
use reprise::api::temporal::api::testservice::v1::test_service_server::TestService;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

/// The `TestService` of one time-skipping server.
pub(crate) struct TestControl {
    pub(crate) skipping: TimeSkipping,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl TestControl {
    /// Waits until the server's time reaches `deadline` (or the server stops).
    async fn until(&self, deadline: SystemTime) -> Result<(), Status> {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = self.skipping.clock().sleep_until(deadline) => Ok(()),
            _ = shutdown.wait_for(|s| *s) => Err(Status::unavailable("the server is shutting down")),
        }
    }

    fn unlock(&self) -> Result<(), Status> {
        if self.skipping.try_unlock() {
            Ok(())
        } else {
            Err(Status::failed_precondition(
                "UnlockTimeSkipping without a matching LockTimeSkipping: time skipping is not locked",
            ))
        }
    }
}

fn duration(d: Option<&reprise::api::google::protobuf::Duration>) -> Result<Duration, Status> {
    let d = d.ok_or_else(|| Status::invalid_argument("SleepRequest.duration is not set"))?;
    Duration::try_from(*d)
        .map(|d| d.min(crate::server::history::state::MAX_DURATION))
        .map_err(|_| Status::invalid_argument("SleepRequest.duration is negative or invalid"))
}

#[tonic::async_trait]
impl TestService for TestControl {
    async fn lock_time_skipping(
        &self,
        _request: Request<ts::LockTimeSkippingRequest>,
    ) -> Result<Response<ts::LockTimeSkippingResponse>, Status> {
        self.skipping.lock();
        Ok(Response::new(ts::LockTimeSkippingResponse {}))
    }

    async fn unlock_time_skipping(
        &self,
        _request: Request<ts::UnlockTimeSkippingRequest>,
    ) -> Result<Response<ts::UnlockTimeSkippingResponse>, Status> {
        self.unlock()?;
        Ok(Response::new(ts::UnlockTimeSkippingResponse {}))
    }

    async fn sleep(
        &self,
        request: Request<ts::SleepRequest>,
    ) -> Result<Response<ts::SleepResponse>, Status> {
        let by = duration(request.get_ref().duration.as_ref())?;
        let deadline = self.skipping.clock().now() + by;
        let _point = self.skipping.add_skip_point(deadline);
        self.until(deadline).await?;
        Ok(Response::new(ts::SleepResponse {}))
    }

    async fn sleep_until(
        &self,
        request: Request<ts::SleepUntilRequest>,
    ) -> Result<Response<ts::SleepResponse>, Status> {
        let deadline = request
            .get_ref()
            .timestamp
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("SleepUntilRequest.timestamp is not set"))?
            .to_system_time();
        let _point = self.skipping.add_skip_point(deadline);
        self.until(deadline).await?;
        Ok(Response::new(ts::SleepResponse {}))
    }

    async fn unlock_time_skipping_with_sleep(
        &self,
        request: Request<ts::SleepRequest>,
    ) -> Result<Response<ts::SleepResponse>, Status> {
        let by = duration(request.get_ref().duration.as_ref())?;
        let deadline = self.skipping.clock().now() + by;
        self.unlock()?;
        let _point = self.skipping.add_skip_point(deadline);
        let slept = self.until(deadline).await;
        self.skipping.lock();
        slept?;
        Ok(Response::new(ts::SleepResponse {}))
    }

    async fn get_current_time(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<ts::GetCurrentTimeResponse>, Status> {
        Ok(Response::new(ts::GetCurrentTimeResponse {
            time: Some(Timestamp::from(self.skipping.clock().now())),
        }))
    }
}
