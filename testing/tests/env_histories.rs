//! Recorded histories: `env.save_history`, and a folder of files as named tests.

mod env_support;

use env_support::*;
use reprise::client::WorkflowOptions;
use reprise::replay::Replayer;
use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
use reprise_testing::env::history_tests;
use reprise_testing::{TestEnv, TestEnvError};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("nested")).expect("scratch dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_histories_become_named_tests_that_replay() -> Result<(), TestEnvError> {
    let dir = scratch("histories");
    let env = TestEnv::start().await?;
    env.worker("sleepers").workflow::<Sleeper>().start()?;
    for days in [1u64, 2] {
        let id = format!("sleep-{days}");
        let _: u64 = env
            .client()
            .start(
                Sleeper::run,
                (days,),
                WorkflowOptions::new(id.clone(), "sleepers"),
            )
            .await?
            .result()
            .await?;
        let path = if days == 1 {
            dir.join("one_day.json")
        } else {
            dir.join("nested/two_days.json")
        };
        env.save_history(&id, &path).await?;
    }
    std::fs::write(dir.join("notes.txt"), "not a history").expect("write");
    env.finish().await?;

    let tests = history_tests(&dir).expect("list");
    let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["nested/two_days", "one_day"]);

    let mut registry = WorkflowRegistry::new();
    registry.register_workflow::<Sleeper>()?;
    let replayer = Replayer::new(registry);
    for test in &tests {
        let replays = test.run(&replayer).expect("replays");
        assert_eq!(replays, 3, "the whole history and its two workflow tasks");
    }

    // Code that changed incompatibly: the same type name now completes without sleeping.
    let mut changed = WorkflowRegistry::new();
    changed.register(
        "Sleeper",
        |_ctx: WorkflowContext, (days,): (u64,)| async move { WorkflowResult::Ok(days) },
    )?;
    let error = tests[1].run(&Replayer::new(changed)).expect_err("diverges");
    assert!(error.contains("one_day.json"), "{error}");
    assert!(error.contains("StartTimer"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn a_missing_folder_is_an_error() {
    assert!(history_tests("/nonexistent/reprise/histories").is_err());
}
