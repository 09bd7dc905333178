//! Dropping a TestEnv runs the determinism check too, and panics with its message.

mod env_support;

use env_support::*;
use reprise::client::WorkflowOptions;
use reprise_testing::TestEnv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "determinism check failed for 1 run(s)")]
async fn dropping_an_env_with_a_nondeterministic_run_panics() {
    let env = TestEnv::start().await.expect("env");
    env.worker("orders")
        .workflow::<CounterWorkflow>()
        .activities(Payments)
        .start()
        .expect("worker");
    let result: String = env
        .client()
        .start(
            CounterWorkflow::run,
            ("o".into(),),
            WorkflowOptions::new("counter", "orders"),
        )
        .await
        .expect("start")
        .result()
        .await
        .expect("result");
    assert_eq!(result, "charged-o-1");
    // `env` is dropped here without finish(): the check runs and panics.
}
