//! Update-with-start through Reprise's typed call, the same scenario on the official dev server
//! and on the bundled server: the first call starts the run, the second (`UseExisting`) updates
//! the running one, a `Fail` policy against the running workflow is refused the same way.

use reprise::api::temporal::api::enums::v1::WorkflowIdConflictPolicy;
use reprise::client::{Client, ClientError, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

#[derive(Default)]
struct Cart {
    items: State<u32>,
}

#[reprise::workflow]
impl Cart {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, limit: u32) -> WorkflowResult<u32> {
        ctx.wait_condition(|| self.items.get() >= limit).await?;
        Ok(self.items.get())
    }

    #[update]
    fn add(
        &self,
        _ctx: &WorkflowContext,
        n: u32,
    ) -> Result<u32, reprise::converter::ApplicationFailure> {
        self.items.update(|i| *i += n);
        Ok(self.items.get())
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    first: u32,
    second: u32,
    same_run: bool,
    refused: String,
    result: u32,
}

async fn scenario(target: String, prefix: &str) -> Outcome {
    let client = Client::connect(ClientOptions::new(target))
        .await
        .expect("connect");
    let queue = format!("{prefix}-uws");
    let worker = Worker::builder(client.clone(), &queue)
        .workflow::<Cart>()
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());
    let options = |policy| {
        WorkflowOptions::new(format!("{prefix}-cart"), &queue).with_id_conflict_policy(policy)
    };
    let (cart, first) = client
        .update_with_start(
            Cart::run,
            (10,),
            options(WorkflowIdConflictPolicy::UseExisting),
            Cart::add,
            (3,),
        )
        .await
        .expect("first update-with-start");
    let (again, second) = client
        .update_with_start(
            Cart::run,
            (10,),
            options(WorkflowIdConflictPolicy::UseExisting),
            Cart::add,
            (4,),
        )
        .await
        .expect("second update-with-start");
    let refused = match client
        .update_with_start(
            Cart::run,
            (10,),
            options(WorkflowIdConflictPolicy::Fail),
            Cart::add,
            (1,),
        )
        .await
    {
        Ok(_) => "accepted".to_string(),
        Err(ClientError::AlreadyStarted { .. }) => "already started".to_string(),
        Err(ClientError::Rpc { code, .. }) => format!("{code:?}"),
        Err(other) => format!("{other}"),
    };
    let same_run = cart.run_id() == again.run_id() || {
        let a = cart.describe().await.map(|d| d.run_id);
        let b = again.describe().await.map(|d| d.run_id);
        a.is_ok() && a.ok() == b.ok()
    };
    let (_, _) = client
        .update_with_start(
            Cart::run,
            (10,),
            options(WorkflowIdConflictPolicy::UseExisting),
            Cart::add,
            (5,),
        )
        .await
        .expect("third update-with-start");
    let result: u32 = tokio::time::timeout(Duration::from_secs(20), cart.result())
        .await
        .expect("the cart completes")
        .expect("result");
    stop.shutdown();
    let _ = worker.await;
    Outcome {
        first,
        second,
        same_run,
        refused,
        result,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_with_start_matches_the_official_server() {
    let official = match DevServer::shared() {
        Ok(s) => s.address().to_string(),
        Err(e) => panic!("official dev server unavailable: {e}"),
    };
    let limit = Duration::from_secs(60);
    let expected = tokio::time::timeout(limit, scenario(official, "official"))
        .await
        .expect("official scenario in time");
    assert_eq!(
        (expected.first, expected.second, expected.result),
        (3, 7, 12)
    );
    assert!(expected.same_run);
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("bundled server");
    let actual = tokio::time::timeout(limit, scenario(server.target(), "bundled"))
        .await
        .expect("bundled scenario in time");
    assert_eq!(actual, expected);
    server.shutdown().await.expect("shutdown");
}
