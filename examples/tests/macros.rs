//! The authoring API end to end on the official dev server: typed starts, signals, queries and
//! updates, typed activities (renamed, blocking) and child workflows; names as registered.
#![allow(clippy::unwrap_used)]

use reprise::activity::ActivityRegistry;
use reprise::client::{Client, ClientError, ClientOptions, WorkflowOptions};
use reprise::replay::Replayer;
use reprise::worker::{Worker, WorkerOptions};
use reprise::workflow::{RegistrationError, WorkflowDefinition, WorkflowRegistry};
use reprise_examples::hello::{Greeter, OrderWorkflow, Payments};
use reprise_testing::DevServer;
use std::time::Duration;

fn registries() -> (WorkflowRegistry, ActivityRegistry) {
    let mut workflows = WorkflowRegistry::new();
    workflows
        .register_workflow::<OrderWorkflow>()
        .expect("register")
        .register_workflow::<Greeter>()
        .expect("register");
    let mut activities = ActivityRegistry::new();
    activities
        .register_activities(Payments { fee: 1 })
        .expect("register");
    (workflows, activities)
}

#[test]
fn names_come_from_the_types_and_attributes() {
    assert_eq!(OrderWorkflow::NAME, "OrderWorkflow");
    assert_eq!(Greeter::NAME, "GreeterWorkflow");
    let (workflows, activities) = registries();
    assert_eq!(
        workflows.workflow_types().collect::<Vec<_>>(),
        ["GreeterWorkflow", "OrderWorkflow"]
    );
    assert_eq!(
        activities.activity_types().collect::<Vec<_>>(),
        ["audit", "chargeCreditCard"]
    );
    assert_eq!(
        reprise::workflow::definition::handler_name_of::<OrderWorkflow, _>(
            &OrderWorkflow::add_item
        ),
        "addItem"
    );
}

#[test]
fn registering_twice_is_an_error() {
    let mut workflows = WorkflowRegistry::new();
    workflows
        .register_workflow::<OrderWorkflow>()
        .expect("first");
    assert_eq!(
        workflows.register_workflow::<OrderWorkflow>().unwrap_err(),
        RegistrationError::Duplicate("OrderWorkflow".into())
    );
    let mut activities = ActivityRegistry::new();
    activities
        .register_activities(Payments { fee: 0 })
        .expect("first");
    assert!(
        matches!(activities.register_activities(Payments { fee: 0 }), Err(RegistrationError::Duplicate(n)) if n == "chargeCreditCard")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_calls_end_to_end() {
    let server = match DevServer::shared() {
        Ok(s) => s,
        Err(e) => panic!("official dev server unavailable: {e}"),
    };
    let client = Client::connect(ClientOptions::new(server.address()))
        .await
        .expect("connect");
    let task_queue = format!("hello-{}", std::process::id());
    let (workflows, activities) = registries();
    let worker = Worker::new(
        client.clone(),
        WorkerOptions::new(&task_queue),
        workflows,
        activities,
    );
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());

    let handle = client
        .start(
            OrderWorkflow::run,
            ("o-1".to_string(), 40),
            WorkflowOptions::new(format!("order-{task_queue}"), &task_queue),
        )
        .await
        .expect("start");
    handle
        .signal(OrderWorkflow::add_item, ("apple".to_string(),))
        .await
        .expect("signal");
    assert_eq!(
        handle
            .update(OrderWorkflow::add_total, (5,))
            .await
            .expect("update"),
        5
    );
    match handle.update(OrderWorkflow::add_total, (-1,)).await {
        Err(ClientError::UpdateFailed(f)) => {
            assert!(f.message.contains("negative amount -1"), "{f}")
        }
        other => panic!("expected the validator to reject, got {other:?}"),
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (approved, items) = handle
            .query(OrderWorkflow::status, ())
            .await
            .expect("query");
        assert!(!approved);
        if items == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the item never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle
        .signal(OrderWorkflow::approve, ())
        .await
        .expect("approve");
    let result: String = handle.result().await.expect("result");
    assert_eq!(
        result,
        "charge-o-1-41 (13) Hello, bob! items=[\"apple\"] total=5"
    );

    let history = handle.fetch_history().await.expect("history");
    let (workflows, _) = registries();
    Replayer::new(workflows).replay(&history).expect("replays");
    let scheduled: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(reprise::api::temporal::api::history::v1::history_event::Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                a.activity_type.as_ref().map(|t| t.name.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(scheduled, ["chargeCreditCard", "audit"]);
    // Start and wait in one typed call.
    let greeting = client
        .execute(
            Greeter::run,
            ("ann".to_string(),),
            WorkflowOptions::new(format!("greet-{task_queue}"), &task_queue),
        )
        .await
        .expect("execute");
    assert_eq!(greeting, "Hello, ann!");
    shutdown.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(15), running).await;
}
